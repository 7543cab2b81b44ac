// Package server assembles Twofold's HTTP services and serves them until
// told to stop, then drains in-flight requests: the public one over TLS —
// liveness and readiness probes, the REST API and the pages — and, on a
// listener of its own, Prometheus metrics and pprof, which must never be
// public because the metrics name the reason of each refusal.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Pinger tells whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Parts are what the handler serves.
type Parts struct {
	DB    Pinger
	API   http.Handler // mounted at /api/v1/
	Pages http.Handler // the enrollment pages and portal: everything else
	// Console is the operator console, mounted at /admin/ and
	// /o/{org}/admin/; nil serves none.
	Console http.Handler
	// Push serves the Twofold Authenticator's device endpoints, mounted
	// at /push/v1/; nil serves none.
	Push http.Handler
	// App serves the Twofold Authenticator web app, mounted at /app/;
	// nil serves none.
	App http.Handler
	// OIDC is the OpenID Connect provider, mounted at OIDCPaths (each
	// organization's issuer is /o/{org}); nil serves none.
	OIDC      http.Handler
	OIDCPaths []string
	Log       *slog.Logger
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client, for the audit log and the per-address login throttle.
	TrustedProxies []netip.Prefix
}

// Handler returns the routes of the public HTTP service. It has no
// /metrics: see MetricsHandler.
func Handler(p Parts) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := p.DB.Ping(ctx); err != nil {
			p.Log.Warn("not ready: database does not answer", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "database unavailable")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/api/v1/", p.API)
	mux.Handle("/", p.Pages)
	if p.Push != nil {
		mux.Handle("/push/v1/", p.Push)
	}
	if p.App != nil {
		mux.Handle("/app/", p.App)
	}
	if p.Console != nil {
		mux.Handle("/admin/", p.Console)
		mux.Handle("/o/{org}/admin/", p.Console)
	}
	if p.OIDC != nil {
		for _, path := range p.OIDCPaths {
			mux.Handle(path, p.OIDC)
		}
	}
	if len(p.TrustedProxies) == 0 {
		return mux
	}
	return forwardedFor(p.TrustedProxies, mux)
}

// forwardedFor makes the RemoteAddr of a request that came through the
// trusted proxies the client's address as they recorded it: the rightmost
// X-Forwarded-For entry that is not itself a trusted proxy. Entries left of
// it were written by the client and prove nothing; a request from any
// other peer keeps its own address whatever its headers say.
func forwardedFor(trusted []netip.Prefix, next http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !isTrusted(peer.Addr()) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a hop that is no address: trust nothing beyond it
			}
			if !isTrusted(a) {
				r.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}

// MetricsHandler returns the routes of the private listener: GET /metrics
// with what reg gathers, and the runtime profiles under /debug/pprof/.
func MetricsHandler(reg prometheus.Gatherer, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	// pprof.Index serves the named profiles (heap, goroutine, …) too.
	// /debug/pprof/cmdline is left out on purpose: the command line may
	// carry a database or SMTP URL with its password.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// Serve answers requests on ln with h until ctx is done, then gives
// in-flight requests up to ten seconds to finish. With certFile and
// keyFile empty it serves plain HTTP (for use behind a TLS-terminating proxy).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return run(ctx, srv, ln, certFile, keyFile, log)
}

// ServeMetrics answers requests on ln with MetricsHandler(reg) over plain
// HTTP, as Prometheus scrapes, until ctx is done. ln should be private:
// loopback, or a network only the monitoring can reach.
func ServeMetrics(ctx context.Context, ln net.Listener, reg prometheus.Gatherer, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           MetricsHandler(reg, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A CPU profile or trace takes 30 s by default, and pprof
		// refuses one that would outlast the write timeout.
		WriteTimeout:   2 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return run(ctx, srv, ln, "", "", log.With("listener", "metrics"))
}

// run serves srv on ln (over TLS when certFile is set) until ctx is done,
// then shuts it down.
func run(ctx context.Context, srv *http.Server, ln net.Listener, certFile, keyFile string, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		if certFile == "" {
			errc <- srv.Serve(ln)
		} else {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
