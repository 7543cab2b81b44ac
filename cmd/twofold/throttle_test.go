package main

import (
	"net/netip"
	"testing"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/config"
)

func TestLoginThrottle(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	tests := []struct {
		name string
		cfg  config.Config
		want auth.Throttle
	}{
		{"the rate is attempts per minute and the burst", config.Config{LoginRate: 30}, auth.Throttle{PerMinute: 30, Burst: 30}},
		{"off is no limit", config.Config{LoginRate: 0}, auth.Throttle{PerMinute: -1}},
		{"behind an unnamed proxy every client looks alike: no limit", config.Config{LoginRate: 30, InsecureHTTP: true}, auth.Throttle{PerMinute: -1}},
		{"behind a named proxy the clients are told apart", config.Config{LoginRate: 30, InsecureHTTP: true, TrustedProxies: proxy}, auth.Throttle{PerMinute: 30, Burst: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loginThrottle(tt.cfg); got != tt.want {
				t.Fatalf("loginThrottle = %+v, want %+v", got, tt.want)
			}
		})
	}
}
