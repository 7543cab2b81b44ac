package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twofold-mfa/twofold/internal/selfsigned"
)

type pinger struct{ down atomic.Bool }

func (p *pinger) Ping(context.Context) error {
	if p.down.Load() {
		return errors.New("down")
	}
	return nil
}

func TestPublicHandlerOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := selfsigned.Ensure(cert, key, []string{"localhost", "127.0.0.1"}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	db := &pinger{}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.URL.Path) })
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "page "+r.URL.Path, http.StatusNotFound) })
	push := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "push "+r.URL.Path) })
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app "+r.URL.Path) })
	h := Handler(Parts{DB: db, API: api, Pages: pages, Push: push, App: app, Log: slog.New(slog.DiscardHandler)})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, cert, key, slog.New(slog.DiscardHandler)) }()

	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + ln.Addr().String()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		path     string
		status   int
		contains string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		// Metrics and profiles are only on the private listener: here
		// they are pages like any other, which do not exist.
		{"/metrics", 404, "page /metrics"},
		{"/debug/pprof/", 404, "page /debug/pprof/"},
		{"/api/v1/validate", 200, "api /api/v1/validate"},
		{"/push/v1/requests", 200, "push /push/v1/requests"},
		{"/app/", 200, "app /app/"},
		{"/app/sw.js", 200, "app /app/sw.js"},
		{"/nowhere", 404, "page /nowhere"},
	}
	for _, tt := range tests {
		if status, body := get(tt.path); status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, status, body, tt.status, tt.contains)
		}
	}
	db.down.Store(true)
	if status, _ := get("/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the database down = %d, want 503", status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve() after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestMetricsListener(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "twofold_test_total", Help: "test"}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeMetrics(ctx, ln, reg, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()

	tests := []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/metrics", 200, "twofold_test_total"},
		{"GET", "/debug/pprof/", 200, "goroutine"},
		{"GET", "/debug/pprof/heap?debug=1", 200, "heap profile"},
		{"GET", "/debug/pprof/symbol", 200, "num_symbols"},
		// The command line may hold a database password.
		{"GET", "/debug/pprof/cmdline", 404, ""},
		// The private listener serves nothing of the public service.
		{"GET", "/healthz", 404, ""},
		{"POST", "/metrics", 405, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.contains) {
			t.Errorf("%s %s = %d %.200q, want %d containing %q", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.contains)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeMetrics() after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ServeMetrics did not return after its context ended")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("the metrics listener %s still accepts connections after shutdown", ln.Addr())
	}
}
