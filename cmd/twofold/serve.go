package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/api"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/authapp"
	"github.com/twofold-mfa/twofold/internal/console"
	"github.com/twofold-mfa/twofold/internal/janitor"
	"github.com/twofold-mfa/twofold/internal/oidc"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/selfsigned"
	"github.com/twofold-mfa/twofold/internal/server"
	"github.com/twofold-mfa/twofold/internal/web"
)

func (c *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the Twofold server",
		Long: `Run the Twofold server: HTTPS (enrollment pages, user portal, REST API,
health, readiness), RADIUS, and on a listener of their own Prometheus metrics
and pprof (TWOFOLD_METRICS_ADDR, 127.0.0.1:9464 unless set; off serves none).
Keep that listener private: the metrics say why each login was refused.

On first start it creates the data directory with the SQLite database, a master
key (keep it safe: without it the token secrets cannot be opened) and a
self-signed TLS certificate, the directory 0700 and each file 0600; it warns
at start about any of them that group or others may read. Set TWOFOLD_DATABASE_URL=postgres://… to use
PostgreSQL, and TWOFOLD_TLS_CERT/TWOFOLD_TLS_KEY for a real certificate.`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{settingsKey: settingsAll},
		RunE:        c.withApp(c.serve),
	}
}

// The garbage collector's settings for serve, unless GOGC or GOMEMLIMIT
// say otherwise. The live heap is a few MiB whatever the number of users,
// so it may grow to five times that before a collection (Go's default is
// twice): under RADIUS load that took a seventh off the CPU time per
// answer. A collection comes early rather than let Go's memory pass
// serveMemoryLimit, which keeps the server under 128 MiB resident under
// load (85 MiB at most here over HTTPS). A limit of 32 MiB held it under
// 64 MiB, but REST answers took a sixth more CPU time.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 64 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}

// returnWhenIdle gives the heap Go no longer uses back to the system
// (free) when an idleWatch of gcCycles says so, at each tick. Go's own
// scavenger hands it back too, but over minutes, and with serveGCPercent
// the heap a load leaves is five times the live one.
func returnWhenIdle(ctx context.Context, tick <-chan time.Time, gcCycles func() uint64, free func()) {
	n := gcCycles()
	w := idleWatch{last: n, freed: n}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if w.idle(gcCycles()) {
			free()
			w.freedAt(gcCycles()) // free collects too
		}
	}
}

// idleWatch tells, from the number of collections made at each tick,
// when a load is over: at the first tick with no collection since the
// tick before, if there was one since the memory was last handed back.
// So not while a load lasts, and not again while the server stays idle.
type idleWatch struct{ last, freed uint64 }

func (w *idleWatch) idle(cycles uint64) bool {
	idle := cycles == w.last && cycles != w.freed
	w.last = cycles
	return idle
}

// freedAt records that the memory was handed back, with cycles
// collections made by then.
func (w *idleWatch) freedAt(cycles uint64) { w.last, w.freed = cycles, cycles }

// gcCycles is the number of garbage collections the process has made.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func (c *cli) serve(cmd *cobra.Command, a *app, _ []string) error {
	tuneGC()
	cert, key, generated := a.cfg.CertFiles()
	if a.cfg.InsecureHTTP {
		cert, key = "", ""
	} else if generated {
		if _, err := selfsigned.Ensure(cert, key, certHosts(a.cfg.PublicURL), a.admin.Clock.Now(), nil); err != nil {
			return fmt.Errorf("self-signed certificate: %w", err)
		}
	}
	warnWideModes(a.log, a.cfg)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mailer, err := a.mailer()
	if err != nil {
		return err
	}
	render, err := web.NewRenderer()
	if err != nil {
		return err
	}
	hook, err := pushWebhook(a)
	if err != nil {
		return err
	}
	wp, err := webPush(a)
	if err != nil {
		return err
	}
	// Notices begun are delivered before the server exits.
	var notifiers push.Notifiers
	var appKey string
	if hook != nil {
		notifiers = append(notifiers, hook)
		defer hook.Wait()
	}
	if wp != nil {
		notifiers, appKey = append(notifiers, wp), push.ApplicationServerKey(wp.Key)
		defer wp.Wait()
	}
	var notifier auth.PushNotifier
	if len(notifiers) > 0 {
		notifier = notifiers
	}
	v := c.verifier(a, mailer, reg, notifier)
	// The lock mails still being sent go out before the store closes.
	defer v.Wait()
	pages := web.New(web.Config{
		Store: a.store, Verifier: v, Keys: a.keys, Admin: a.admin, Mailer: mailer, Render: render,
		Clock: a.admin.Clock, Rand: a.admin.Rand, Log: a.log,
	})
	consoleRender, err := console.NewRenderer()
	if err != nil {
		return err
	}
	ops := console.New(console.Config{
		Store: a.store, Verifier: v, Admin: a.admin, Directory: a.directory, Mailer: mailer, Render: consoleRender,
		Clock: a.admin.Clock, Rand: a.admin.Rand, Log: a.log,
	})
	oidcRender, err := oidc.NewRenderer()
	if err != nil {
		return err
	}
	provider := oidc.New(oidc.Config{
		Store: a.store, Portal: pages, Keys: a.keys, Render: oidcRender,
		Clock: a.admin.Clock, Rand: a.admin.Rand, Log: a.log, PublicURL: a.cfg.PublicURL,
	})
	// Closed when the server begins to shut down, to end the long polls.
	draining := make(chan struct{})
	phone, err := authapp.New()
	if err != nil {
		return fmt.Errorf("the authenticator web app: %w", err)
	}
	h := server.Handler(server.Parts{DB: a.store, API: api.New(v, a.store, a.log, api.WithClock(a.admin.Clock)), Pages: pages.Handler(),
		Console: ops.Handler(), App: phone, OIDC: provider.Handler(), OIDCPaths: oidc.Paths, Log: a.log, TrustedProxies: a.cfg.TrustedProxies,
		Push: &push.Handler{Store: a.store, Answers: v, Keys: a.keys, Notifier: mailer, Clock: a.admin.Clock, Log: a.log, PublicURL: a.cfg.PublicURL,
			Draining: draining, ApplicationServerKey: appKey}})
	if a.cfg.InsecureHTTP && len(a.cfg.TrustedProxies) == 0 && a.cfg.LoginRate > 0 {
		a.log.Warn("plain HTTP behind a proxy that is not named in trusted_proxies: every request seems to come from the proxy, so the audit log shows its address and password attempts are not limited per client; set TWOFOLD_TRUSTED_PROXIES to the proxy's address")
	}

	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Twofold running? choose another port with --http-addr)", a.cfg.HTTPAddr, err)
	}
	var metricsLn net.Listener
	if a.cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", a.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for metrics: %w (is another Twofold running? choose another address with --metrics-addr, or turn metrics off with --metrics-addr=off)", a.cfg.MetricsAddr, err)
		}
	}
	// One context ends every listener, so that when one fails the
	// others stop too instead of running on without it.
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	context.AfterFunc(ctx, func() { close(draining) })
	radiusAddr, err := c.startRadius(ctx, a, v)
	if err != nil {
		ln.Close()
		if metricsLn != nil {
			metricsLn.Close()
		}
		return err
	}
	defer startJanitor(ctx, a)()
	defer startDirectorySync(ctx, a)()
	idle := time.NewTicker(5 * time.Second)
	defer idle.Stop()
	go returnWhenIdle(ctx, idle.C, gcCycles, debug.FreeOSMemory)
	c.welcome(a, ln.Addr(), radiusAddr, metricsLn, cert, generated && cert != "")
	a.log.Info("serving", "addr", ln.Addr().String(), "database", a.store.Driver())

	metricsDone := make(chan error, 1)
	if metricsLn != nil {
		go func() {
			err := server.ServeMetrics(ctx, metricsLn, reg, a.log)
			cancel()
			metricsDone <- err
		}()
	} else {
		metricsDone <- nil
	}
	err = server.Serve(ctx, ln, h, cert, key, a.log)
	cancel()
	// Links promised to people asking for a password reset go out
	// before the store closes.
	pages.Wait()
	return errors.Join(err, <-metricsDone)
}

// startJanitor purges expired sessions and challenges until ctx is done
// or the returned stop is called; stop returns once the janitor has, so
// the store is not closed under a purge.
func startJanitor(ctx context.Context, a *app) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		janitor.New(janitor.Config{Store: a.store, Clock: a.admin.Clock, Log: a.log}).Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// startDirectorySync syncs the organizations whose directory has a
// sync_interval, until ctx is done or the returned stop is called; stop
// returns once no sync runs, so the store is not closed under one.
func startDirectorySync(ctx context.Context, a *app) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	svc := *a.directory
	svc.Actor = "directory sync"
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// welcome tells the operator where Twofold runs — the addresses really
// listened on, and whether the public URL in mails leads there — and
// what to do next. metrics is the metrics listener, nil when metrics are off.
func (c *cli) welcome(a *app, addr, radiusAddr net.Addr, metrics net.Listener, cert string, selfSigned bool) {
	scheme := "https"
	if cert == "" {
		scheme = "http"
	}
	_, port, _ := net.SplitHostPort(addr.String())
	w := c.stdout
	fmt.Fprintf(w, "Twofold is running at %s://localhost:%s  (health: /healthz, API: /api/v1/openapi.json)\n", scheme, port)
	fmt.Fprintf(w, "  %-11s listening on tcp %s\n", strings.ToUpper(scheme)+":", addr)
	fmt.Fprintf(w, "  RADIUS:     listening on udp %s (register gateways with: twofold radius client add ORG --name NAME --cidr ADDRESS)\n", radiusAddr)
	fmt.Fprintf(w, "  public URL: %s (the base of links in mails)\n", a.cfg.PublicURL)
	if msg := publicURLMismatch(a.cfg.PublicURL, addr, a.cfg.InsecureHTTP); msg != "" {
		fmt.Fprintf(w, "  WARNING:    the public URL does not lead here: %s;\n              links in mails will not work unless a proxy forwards them (set TWOFOLD_PUBLIC_URL)\n", msg)
	}
	fmt.Fprintf(w, "  database:   %s %s\n", a.store.Driver(), redact(a.cfg))
	if a.createdKey {
		fmt.Fprintf(w, "  master key: created %s — back it up; without it no token works\n", a.cfg.KeyFile())
	} else {
		fmt.Fprintf(w, "  master key: %s\n", a.cfg.KeyFile())
	}
	if selfSigned {
		fp, err := selfsigned.Fingerprint(cert)
		if err == nil {
			fmt.Fprintf(w, "  TLS:        self-signed certificate %s\n              SHA-256 %s\n              (set TWOFOLD_TLS_CERT and TWOFOLD_TLS_KEY for a real one)\n", cert, fp)
		}
	}
	if metrics != nil {
		fmt.Fprintf(w, "  metrics:    http://%s/metrics and /debug/pprof/ (keep this address private)\n", metrics.Addr())
	} else {
		fmt.Fprintf(w, "  metrics:    off (set TWOFOLD_METRICS_ADDR to serve them)\n")
	}
	outbox := "mail goes to " + a.cfg.OutboxDir() + " (set TWOFOLD_SMTP_URL to send it)"
	if a.cfg.SMTPURL != "" {
		outbox = "mail is sent over SMTP"
	}
	fmt.Fprintf(w, `  mail:       %s

Next, in another terminal (with "go run ./cmd/twofold" in place of "twofold" from a source checkout):
  twofold org create acme --name "Acme Corp"
  echo 'a long passphrase' | twofold user add acme/alice --email alice@acme.example --password-stdin
  twofold token enroll acme/alice      # mails alice the link to the enrollment page, and prints it
Then open the link, scan the QR code with an authenticator app, and sign in at %s://localhost:%s/o/acme/
Stop with Ctrl-C.
`, outbox, scheme, port)
}

// publicURLMismatch says how the public URL disagrees with the address
// the HTTPS server listens on, or "" when nothing is seen to disagree.
// Behind a TLS-terminating proxy (plain HTTP) they differ by design, so
// there is nothing to say; a host name is not resolved, so only a port,
// a scheme, or an address literal can be seen to disagree.
func publicURLMismatch(publicURL string, addr net.Addr, plainHTTP bool) string {
	u, err := url.Parse(publicURL)
	if plainHTTP || err != nil || u.Host == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	var problems []string
	if u.Scheme != "https" {
		problems = append(problems, fmt.Sprintf("it says %s:// but Twofold serves HTTPS", u.Scheme))
	}
	publicPort := u.Port()
	if publicPort == "" {
		publicPort = "443"
	}
	if publicPort != port {
		problems = append(problems, fmt.Sprintf("its port %s is not the port Twofold listens on (%s)", publicPort, port))
	}
	ip := net.ParseIP(host)
	publicHost := u.Hostname()
	publicIP := net.ParseIP(publicHost)
	switch {
	case ip == nil || ip.IsUnspecified():
		// Listening on every address: any host may lead here.
	case publicIP != nil && !publicIP.Equal(ip):
		problems = append(problems, fmt.Sprintf("its host %s is not the address Twofold listens on (%s)", publicHost, host))
	case ip.IsLoopback() && publicIP == nil && !strings.EqualFold(publicHost, "localhost"):
		problems = append(problems, fmt.Sprintf("Twofold listens only on the loopback address %s, which %s does not reach from another machine", host, publicHost))
	case !ip.IsLoopback() && strings.EqualFold(publicHost, "localhost"):
		problems = append(problems, fmt.Sprintf("localhost does not reach the address Twofold listens on (%s)", host))
	}
	return strings.Join(problems, "; ")
}

// certHosts are the names the self-signed certificate is valid for: the
// loopback names and the host of the public URL.
func certHosts(publicURL string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if u, err := url.Parse(publicURL); err == nil {
		if h := u.Hostname(); h != "" && !strings.EqualFold(h, "localhost") && h != "127.0.0.1" && h != "::1" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// pushWebhook is the webhook the configuration names, or nil.
func pushWebhook(a *app) (*push.Webhook, error) {
	if a.cfg.PushWebhookURL == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(a.cfg.PushWebhookSecretFile)
	if err != nil {
		return nil, fmt.Errorf("push webhook secret: %w", err)
	}
	secret := bytes.TrimSpace(raw)
	if len(secret) < 32 {
		return nil, fmt.Errorf("push webhook secret %s: %d bytes; make one of at least 32, e.g. with: openssl rand -hex 32 > %s",
			a.cfg.PushWebhookSecretFile, len(secret), a.cfg.PushWebhookSecretFile)
	}
	return &push.Webhook{
		URL: a.cfg.PushWebhookURL, Secret: secret, Orgs: a.store, Clock: a.admin.Clock, Log: a.log,
		Client: &http.Client{Timeout: 10 * time.Second}, Attempts: 5, Backoff: time.Second,
	}, nil
}
