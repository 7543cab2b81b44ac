package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwardedForTrustsOnlyTheProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("2001:db8::1/128")}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"a request from no proxy keeps its address", "192.0.2.7:5555", []string{"198.51.100.1"}, "192.0.2.7:5555"},
		{"the proxy's client is the last hop", "10.0.0.2:443", []string{"198.51.100.1"}, "198.51.100.1:0"},
		{"hops the client wrote are not believed", "10.0.0.2:443", []string{"203.0.113.66, 198.51.100.1"}, "198.51.100.1:0"},
		{"a chain of trusted proxies is walked back", "10.0.0.2:443", []string{"198.51.100.1, 10.0.0.3", "10.0.0.4"}, "198.51.100.1:0"},
		{"an IPv6 proxy works too", "[2001:db8::1]:443", []string{"2001:db8::99"}, "[2001:db8::99]:0"},
		{"garbage stops the walk", "10.0.0.2:443", []string{"198.51.100.1, nonsense"}, "10.0.0.2:443"},
		{"a proxy without the header is the client", "10.0.0.2:443", nil, "10.0.0.2:443"},
		{"an IPv4-mapped proxy address is the proxy", "[::ffff:10.0.0.2]:443", []string{"198.51.100.1"}, "198.51.100.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := forwardedFor(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Fatalf("RemoteAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzForwardedFor(f *testing.F) {
	f.Add("10.0.0.2:443", "198.51.100.1, 10.0.0.3")
	f.Add("192.0.2.7:1", "::1")
	f.Add("[::ffff:10.0.0.9]:1", ",,, 10.0.0.1 ,")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		var got string
		h := forwardedFor(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got == peer {
			return
		}
		a, err := netip.ParseAddrPort(got)
		if err != nil {
			t.Fatalf("RemoteAddr rewritten to %q, which is no address", got)
		}
		if p, err := netip.ParseAddrPort(peer); err != nil || !trusted[0].Contains(p.Addr().Unmap()) {
			t.Fatalf("peer %q is no trusted proxy, yet RemoteAddr became %q", peer, got)
		}
		if trusted[0].Contains(a.Addr()) {
			t.Fatalf("RemoteAddr became %q, a trusted proxy", got)
		}
	})
}
