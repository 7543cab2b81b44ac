package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestServePurgesExpiredSessionsAndStopsTheJanitor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.env["TWOFOLD_LOG_LEVEL"] = "info"
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		s := b.Open(t, clock.System{})
		ctx := context.Background()
		org, err := s.OrgBySlug(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByName(ctx, org.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		yesterday := time.Now().Add(-24 * time.Hour)
		if err := s.CreateSession(ctx, store.Session{IDHash: []byte("expired"), OrgID: org.ID, UserID: u.ID, Stage: "done",
			CreatedAt: yesterday, LastSeenAt: yesterday, ExpiresAt: yesterday.Add(time.Hour)}, store.Event{}); err != nil {
			t.Fatal(err)
		}

		serveCtx, stop := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(serveCtx, []string{"serve"}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return in.env[k] })
		}()
		defer stop()
		waitForServer(t, &stdout, &stderr)
		const purged = `msg="janitor: removed expired rows" sessions=1 challenges=0`
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), purged) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(stderr.String(), purged) {
			t.Fatalf("serve did not purge the expired session at start; stderr:\n%s", stderr.String())
		}
		stop()
		select {
		case code := <-done:
			if code != 0 || strings.Contains(stderr.String(), "janitor: cannot") {
				t.Fatalf("serve stopped with %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
		}
	})
}

// TestServeKeepsMetricsOffThePublicListener runs serve and asks both
// listeners for the metrics after a refusal: the reason (unknown_user) is
// counted on the metrics listener and nowhere on the public one.
func TestServeKeepsMetricsOffThePublicListener(t *testing.T) {
	tests := []struct {
		name        string
		metricsAddr string
		wantMetrics bool
	}{
		{"metrics are served on their own listener", "127.0.0.1:0", true},
		{"off serves no metrics at all", "off", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInstallation(t, storetest.SQLite(t))
			in.env["TWOFOLD_METRICS_ADDR"] = tt.metricsAddr
			in.ok("", "org", "create", "acme")
			apiKey := strings.TrimSpace(in.ok("", "apikey", "create", "acme", "--name", "portal"))
			publicURL, stdout, _ := serveOnFreePort(t, in)
			client := trusting(t, filepath.Join(in.env["TWOFOLD_DATA_DIR"], "tls.crt"))

			req, _ := http.NewRequest("POST", publicURL+"/api/v1/validate", strings.NewReader(`{"username": "nobody", "code": "123456"}`))
			req.Header.Set("Authorization", "Bearer "+apiKey)
			req.Header.Set("Content-Type", "application/json")
			if status, body := fetch(t, client, req); status != http.StatusOK || !strings.Contains(body, "reject") {
				t.Fatalf("POST /api/v1/validate for an unknown user = %d %q, want 200 and reject", status, body)
			}

			for _, path := range []string{"/metrics", "/debug/pprof/"} {
				req, _ := http.NewRequest("GET", publicURL+path, nil)
				if status, body := fetch(t, client, req); status != http.StatusNotFound || strings.Contains(body, "unknown_user") {
					t.Errorf("GET %s on the public listener = %d %.200q, want 404 without the refusal reason", path, status, body)
				}
			}

			m := regexp.MustCompile(`metrics: +http://(\S+)/metrics`).FindStringSubmatch(stdout.String())
			if !tt.wantMetrics {
				if m != nil || !strings.Contains(stdout.String(), "metrics:    off") {
					t.Fatalf("with metrics off serve says:\n%s\nwant metrics: off and no address", stdout)
				}
				return
			}
			if m == nil {
				t.Fatalf("serve does not say where the metrics are:\n%s", stdout)
			}
			req, _ = http.NewRequest("GET", "http://"+m[1]+"/metrics", nil)
			status, body := fetch(t, http.DefaultClient, req)
			if want := `twofold_verifications_total{result="unknown_user"} 1`; status != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("GET /metrics on the metrics listener %s = %d, want 200 with %s; got:\n%.2000s", m[1], status, want, body)
			}
		})
	}
}

// serveOnFreePort runs serve for the rest of the test on a port of its
// own, so that links it makes lead to it, and returns its URL, what it
// prints and what it logs.
func serveOnFreePort(t *testing.T, in *installation) (publicURL string, stdout, stderr *syncBuffer) {
	t.Helper()
	port := freePort(t)
	publicURL = fmt.Sprintf("https://localhost:%d", port)
	in.env["TWOFOLD_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	in.env["TWOFOLD_PUBLIC_URL"] = publicURL
	stdout, stderr = startServer(t, in, publicURL)
	return publicURL, stdout, stderr
}

// fetch sends req and returns the status and body of the answer.
func fetch(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, string(b)
}

// TestBannerSaysTheAddressesListenedOn starts serve on port 0 for every
// listener: the banner must give the ports really bound (not the 0 asked
// for), and warn that the public URL's port does not lead there; with the
// public URL on the port served, there is no warning.
func TestBannerSaysTheAddressesListenedOn(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	in.env["TWOFOLD_PUBLIC_URL"] = "https://localhost:8443"
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return in.env[k] })
	}()
	waitForServer(t, &stdout, &stderr)
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`HTTPS: +listening on tcp 127\.0\.0\.1:[1-9]\d*\n`,
		`RADIUS: +listening on udp 127\.0\.0\.1:[1-9]\d* `,
		`metrics: +http://127\.0\.0\.1:[1-9]\d*/metrics`,
		`public URL: https://localhost:8443 `,
		`WARNING: +the public URL does not lead here: its port 8443 is not the port Twofold listens on \([1-9]\d*\)`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the banner lacks %s:\n%s", re, out)
		}
	}

	agreeing := newInstallation(t, storetest.SQLite(t))
	_, agreed, _ := serveOnFreePort(t, agreeing)
	if strings.Contains(agreed.String(), "WARNING") {
		t.Errorf("a public URL on the port served gets a warning:\n%s", agreed)
	}
}

// TestTuneGC: serve sets its garbage collector's settings, and leaves
// those given in the environment as they are.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, c := range []struct {
		gogc, memlimit string
		percent, limit int64
	}{
		{"", "", serveGCPercent, serveMemoryLimit},
		{"200", "", 200, serveMemoryLimit},
		{"", "1GiB", serveGCPercent, 1 << 30},
	} {
		t.Setenv("GOGC", c.gogc)
		t.Setenv("GOMEMLIMIT", c.memlimit)
		// What the runtime took from the environment at start.
		debug.SetGCPercent(200)
		debug.SetMemoryLimit(1 << 30)
		tuneGC()
		if got := debug.SetGCPercent(200); int64(got) != c.percent {
			t.Errorf("GOGC=%q: GC percent %d, want %d", c.gogc, got, c.percent)
		}
		if got := debug.SetMemoryLimit(-1); got != c.limit {
			t.Errorf("GOMEMLIMIT=%q: memory limit %d, want %d", c.memlimit, got, c.limit)
		}
	}
}

// TestIdleWatch: the unused heap goes back once a load is over — at
// the first tick without a collection — and neither while the
// collections go on nor again while the server stays idle.
func TestIdleWatch(t *testing.T) {
	// Each step is the collections made before a tick, and whether the
	// memory is to be handed back at that tick.
	steps := []struct {
		collections uint64
		free        bool
	}{
		{0, false}, // idle from the start: nothing to hand back
		{3, false}, // a load
		{5, false},
		{0, true}, // over
		{0, false},
		{0, false},
		{1, false}, // a little more work
		{0, true},
		{0, false},
	}
	var cycles uint64 = 7
	w := idleWatch{last: cycles, freed: cycles}
	for i, s := range steps {
		cycles += s.collections
		if got := w.idle(cycles); got != s.free {
			t.Fatalf("step %d (%d collections since the tick before): idle = %v, want %v", i, s.collections, got, s.free)
		}
		if s.free {
			cycles++ // debug.FreeOSMemory's own collection
			w.freedAt(cycles)
		}
	}
}
