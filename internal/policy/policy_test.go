package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Policy)
		want   string // substring of the error; empty means valid
	}{
		{"a combined login form is allowed", func(p *Policy) { p.LoginForm = "combined" }, ""},
		{"an unknown login form is refused", func(p *Policy) { p.LoginForm = "three-step" }, "login_form"},
		{"threshold of one is allowed", func(p *Policy) { p.LockoutThreshold = 1 }, ""},
		{"threshold of zero is refused", func(p *Policy) { p.LockoutThreshold = 0 }, "lockout_threshold"},
		{"threshold above a hundred is refused", func(p *Policy) { p.LockoutThreshold = 101 }, "lockout_threshold"},
		{"a hard limit of a hundred is allowed", func(p *Policy) { p.LockoutHardLimit = 100 }, ""},
		{"a hard limit above a hundred is refused", func(p *Policy) { p.LockoutHardLimit = 101 }, "lockout_hard_limit"},
		{"a hard limit of zero is refused", func(p *Policy) { p.LockoutHardLimit = 0 }, "lockout_hard_limit"},
		{"unknown algorithm is refused", func(p *Policy) { p.OTPAlgorithm = "MD5" }, "otp_algorithm"},
		{"seven digits are refused", func(p *Policy) { p.OTPDigits = 7 }, "otp_digits"},
		{"a 45 second period is refused", func(p *Policy) { p.OTPPeriod = Duration(45 * time.Second) }, "otp_period"},
		{"a 60 second period is allowed", func(p *Policy) { p.OTPPeriod = Duration(time.Minute) }, ""},
		{"a resync window smaller than the hotp window is refused", func(p *Policy) { p.ResyncWindow = 5 }, "resync_window"},
		{"radius mode password is allowed", func(p *Policy) { p.RadiusMode = RadiusPassword }, ""},
		{"radius mode password+code is allowed", func(p *Policy) { p.RadiusMode = RadiusPasswordCode }, ""},
		{"an unknown radius mode is refused", func(p *Policy) { p.RadiusMode = "pin" }, "radius_mode"},
		{"known radius attributes are allowed", func(p *Policy) {
			p.RadiusAttributes = []string{"Filter-Id=vpn-users", "Class=staff", "Session-Timeout=28800", "Idle-Timeout=900", "Reply-Message=Hi"}
		}, ""},
		{"an unknown radius attribute is refused", func(p *Policy) { p.RadiusAttributes = []string{"Framed-IP-Address=10.0.0.1"} }, "radius_attributes"},
		{"a radius attribute without a value is refused", func(p *Policy) { p.RadiusAttributes = []string{"Filter-Id="} }, "radius_attributes"},
		{"a radius attribute without = is refused", func(p *Policy) { p.RadiusAttributes = []string{"Filter-Id"} }, "radius_attributes"},
		{"a session timeout that is not a number is refused", func(p *Policy) { p.RadiusAttributes = []string{"Session-Timeout=1h"} }, "Session-Timeout"},
		{"a control character in a radius attribute is refused", func(p *Policy) { p.RadiusAttributes = []string{"Filter-Id=a\x00b"} }, "radius_attributes"},
		{"a ten second lock is refused", func(p *Policy) { p.LockoutDuration = Duration(10 * time.Second) }, "lockout_duration"},
		{"an IANA time zone is allowed", func(p *Policy) { p.TimeZone = "Europe/Amsterdam" }, ""},
		{"an unknown time zone is refused", func(p *Policy) { p.TimeZone = "Europe/Atlantis" }, "time_zone"},
		{"no time zone is refused", func(p *Policy) { p.TimeZone = "" }, "time_zone"},
		{"the server's own zone is refused", func(p *Policy) { p.TimeZone = "Local" }, "time_zone"},
		{"keeping audit events forever is allowed", func(p *Policy) { p.AuditRetention = 0 }, ""},
		{"keeping audit events a day is allowed", func(p *Policy) { p.AuditRetention = Duration(24 * time.Hour) }, ""},
		{"keeping audit events ten years is allowed", func(p *Policy) { p.AuditRetention = Duration(87600 * time.Hour) }, ""},
		{"keeping audit events less than a day is refused", func(p *Policy) { p.AuditRetention = Duration(23 * time.Hour) }, "audit_retention"},
		{"keeping audit events past ten years is refused", func(p *Policy) { p.AuditRetention = Duration(87601 * time.Hour) }, "audit_retention"},
		{"a negative audit retention is refused", func(p *Policy) { p.AuditRetention = Duration(-24 * time.Hour) }, "audit_retention"},
		{"a temporary code valid 30 days is allowed", func(p *Policy) { p.TempCodeLifetime = Duration(720 * time.Hour) }, ""},
		{"a temporary code valid longer than 30 days is refused", func(p *Policy) { p.TempCodeLifetime = Duration(721 * time.Hour) }, "temp_code_lifetime"},
		{"a temporary code of ten uses is allowed", func(p *Policy) { p.TempCodeUses = 10 }, ""},
		{"a temporary code of no uses is refused", func(p *Policy) { p.TempCodeUses = 0 }, "temp_code_uses"},
		{"a temporary code of eleven uses is refused", func(p *Policy) { p.TempCodeUses = 11 }, "temp_code_uses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.change(&p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLocation(t *testing.T) {
	for _, tt := range []struct{ zone, want string }{
		{"UTC", "UTC"},
		{"Europe/Amsterdam", "Europe/Amsterdam"},
		{"Europe/Atlantis", "UTC"},
	} {
		p := Default()
		p.TimeZone = tt.zone
		if got := p.Location().String(); got != tt.want {
			t.Errorf("time_zone %q: Location() = %s, want %s", tt.zone, got, tt.want)
		}
	}
}

func TestParseKeepsDefaultsForMissingKeys(t *testing.T) {
	p, err := Parse([]byte(`{"lockout_threshold": 3, "lockout_duration": "1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.LockoutThreshold = 3
	want.LockoutDuration = Duration(time.Hour)
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("Parse() = %+v, want %+v", p, want)
	}
}

func TestParseRefusesInvalidPolicies(t *testing.T) {
	for _, in := range []string{`{"lockout_threshold": 0}`, `{"otp_period": "soon"}`, `not json`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) = nil error, want one", in)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	b, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"lockout_duration":"10m0s"`) {
		t.Fatalf("json = %s, want durations written as text", b)
	}
	p, err := Parse(b)
	if err != nil || !reflect.DeepEqual(p, Default()) {
		t.Fatalf("Parse(Marshal(Default())) = %+v, %v; want Default()", p, err)
	}
}
