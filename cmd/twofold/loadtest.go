package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/loadtest"
)

// loadtestFlags are what both load tests take.
type loadtestFlags struct {
	users       int
	usersFile   string
	concurrency int
	duration    time.Duration
	requests    int
	wrong       bool
	serverPID   int
	keep        bool
	// radius
	addr, secretFile string
	noAnswerMA       bool
	// rest
	url, apiKeyFile string
	insecure        bool
}

func (c *cli) loadtestCmd() *cobra.Command {
	var f loadtestFlags
	cmd := &cobra.Command{
		Use:   "loadtest radius|rest",
		Short: "Measure a running server: one-time codes of many users over RADIUS or the REST API",
		Long: `Measure a running server under load, as gateways or applications would load it.

Without --users-file, the load test makes a throw-away organization
"loadtest-XXXX" in the server's database (the same --data-dir or
--database-url as "twofold serve") with --users synthetic users, each with an
active TOTP token, and a RADIUS client for one address of 127.0.0.0/8 (radius)
or an API key (rest); running servers take both within a second. At the end
it removes the client or revokes the key and disables the organization,
unless --keep.

With --users-file it sends codes for the users of a seed file written by
"twofold user import --synthetic" (or lines of username<TAB>base32 secret, as
FreeRADIUS's rlm_totp benchmark has them) to any server: give the shared
secret (--secret-file) or the API key (--api-key-file).

Each user is sent at most one code per 30 s step, so a server that refuses a
code used before answers as one that does not; a run that has used every
user's code of the step stops early and says so. RADIUS requests carry a
Message-Authenticator, from one UDP socket per worker; answers must carry a
valid Response Authenticator and Message-Authenticator or count as errors.
REST requests go over keep-alive HTTPS connections, one per worker.

It prints requests/s, latency p50/p99/p99.9, accepts, rejects and errors,
and with --server-pid the server's CPU time per answer (from /proc/PID/stat),
then one line "result key=value ..." for scripts.`,
		Example: `  twofold loadtest radius --users 100000 --concurrency 16 --duration 10s --server-pid "$(pidof twofold)"
  twofold loadtest rest --users 100000 --url https://127.0.0.1:8443 --insecure
  twofold loadtest radius --users-file /tmp/frpeer/users.tsv --secret-file /tmp/frpeer/shared_secret --addr 127.0.0.1:18120`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"radius", "rest"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "radius" && args[0] != "rest" {
				return fmt.Errorf("%w: loadtest radius or loadtest rest, not %q", admin.ErrInvalid, args[0])
			}
			if f.usersFile != "" {
				return c.loadtestFromFile(cmd.Context(), args[0], f)
			}
			return c.withApp(func(cmd *cobra.Command, a *app, _ []string) error {
				return c.loadtestThrowaway(cmd.Context(), a, args[0], f)
			})(cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.users, "users", 10000, "synthetic users to make in the throw-away organization: at least requests/s × 30 for a whole step")
	fl.StringVar(&f.usersFile, "users-file", "", "send codes for the users of this file instead of making an organization")
	fl.IntVar(&f.concurrency, "concurrency", 16, "requests in flight, each from a worker with its own socket or connection")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "how long to send requests")
	fl.IntVar(&f.requests, "requests", 0, "stop after this many requests (0: at --duration)")
	fl.BoolVar(&f.wrong, "wrong", false, "send wrong codes: the reject path, then the locked path")
	fl.IntVar(&f.serverPID, "server-pid", 0, "the server's process id, to report its CPU time per answer")
	fl.BoolVar(&f.keep, "keep", false, "keep the throw-away organization's RADIUS client or API key (it stays enabled)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:1812", "radius: the server's address")
	fl.StringVar(&f.secretFile, "secret-file", "", "radius with --users-file: a file holding the shared secret")
	fl.BoolVar(&f.noAnswerMA, "answers-without-message-authenticator", false, "radius: take answers that carry no Message-Authenticator, as FreeRADIUS 3.2.1 sends them (the Response Authenticator is still checked)")
	fl.StringVar(&f.url, "url", "https://127.0.0.1:8443", "rest: the server's base URL")
	fl.StringVar(&f.apiKeyFile, "api-key-file", "", "rest with --users-file: a file holding the API key")
	fl.BoolVar(&f.insecure, "insecure", false, "rest: accept any certificate (a self-signed one on loopback)")
	return cmd
}

// loadtestFromFile runs against any server, with users from a file.
func (c *cli) loadtestFromFile(ctx context.Context, kind string, f loadtestFlags) error {
	file, err := os.Open(f.usersFile)
	if err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	accounts, err := loadtest.ReadAccounts(file)
	file.Close()
	if err != nil {
		return err
	}
	var credential string
	switch kind {
	case "radius":
		if credential, err = readCredential(f.secretFile, "--secret-file", "the shared secret"); err != nil {
			return err
		}
	case "rest":
		if credential, err = readCredential(f.apiKeyFile, "--api-key-file", "the API key"); err != nil {
			return err
		}
	}
	return c.runLoadtest(ctx, kind, f, accounts, credential, nil)
}

func readCredential(path, flag, what string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: with --users-file, name a file holding %s with %s", admin.ErrInvalid, what, flag)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", flag, path)
	}
	return s, nil
}

// loadtestThrowaway makes an organization of synthetic users in the
// server's database, runs, and closes what it opened.
func (c *cli) loadtestThrowaway(ctx context.Context, a *app, kind string, f loadtestFlags) error {
	slug := "loadtest-" + strings.ToLower(rand.Text()[:8])
	a.admin.Actor = "loadtest"
	im, done := c.importer(a, "users")
	start := time.Now()
	pr, pw := io.Pipe()
	accountsCh := make(chan []loadtest.Account, 1)
	errCh := make(chan error, 1)
	go func() {
		as, err := loadtest.ReadAccounts(pr)
		pr.CloseWithError(err)
		accountsCh <- as
		errCh <- err
	}()
	org, err := im.Synthetic(ctx, slug, f.users, pw)
	pw.CloseWithError(err)
	done()
	accounts, rerr := <-accountsCh, <-errCh
	if err != nil {
		return err
	}
	if rerr != nil {
		return rerr
	}
	fmt.Fprintf(c.stderr, "made organization %s with %d synthetic users in %s\n", slug, len(accounts), time.Since(start).Round(time.Millisecond))
	var credential string
	var source net.IP
	cleanup := func() error { return nil }
	switch kind {
	case "radius":
		// One address of the loopback range of its own, since every
		// client has a range no other has.
		b := make([]byte, 3)
		rand.Read(b)
		source = net.IPv4(127, b[0], b[1], max(b[2], 2))
		added, err := a.admin.AddRadiusClient(ctx, org, admin.NewRadiusClient{Name: "loadtest", Address: source.String()})
		if err != nil {
			return err
		}
		credential = added.Secret
		cleanup = func() error { return a.admin.RemoveRadiusClient(context.WithoutCancel(ctx), org, "loadtest") }
	case "rest":
		key, _, err := a.admin.CreateAPIKey(ctx, org, "loadtest")
		if err != nil {
			return err
		}
		credential = key
		cleanup = func() error { return a.admin.RevokeAPIKey(context.WithoutCancel(ctx), org, "loadtest") }
	}
	// Running servers read new clients and keys within a second.
	time.Sleep(1500 * time.Millisecond)
	err = c.runLoadtest(ctx, kind, f, accounts, credential, source)
	if f.keep {
		fmt.Fprintf(c.stderr, "kept organization %s and its %s client\n", slug, kind)
		return err
	}
	cerr := cleanup()
	if cerr == nil {
		cerr = a.admin.DisableOrg(context.WithoutCancel(ctx), slug)
	}
	if cerr != nil {
		return errors.Join(err, fmt.Errorf("closing the throw-away organization %s: %w", slug, cerr))
	}
	fmt.Fprintf(c.stderr, "disabled organization %s\n", slug)
	return err
}

func (c *cli) runLoadtest(ctx context.Context, kind string, f loadtestFlags, accounts []loadtest.Account, credential string, source net.IP) error {
	cfg := loadtest.Config{Accounts: accounts, Concurrency: f.concurrency, Duration: f.duration, Requests: f.requests,
		Wrong: f.wrong, ServerPID: f.serverPID}
	what := ""
	switch kind {
	case "radius":
		r := loadtest.RADIUS{Addr: f.addr, Secret: []byte(credential), Source: source, AnswersWithoutMessageAuthenticator: f.noAnswerMA}
		cfg.NewWorker = r.NewWorker
		what = "RADIUS " + f.addr
	case "rest":
		r := loadtest.REST{URL: f.url, APIKey: credential, Insecure: f.insecure}
		client := r.Client(f.concurrency)
		cfg.NewWorker = func() (loadtest.Worker, error) { return r.NewWorker(client), nil }
		what = "REST " + f.url
	}
	res, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.Print(c.stdout, fmt.Sprintf("%s, %d users, %d in flight", what, len(accounts), f.concurrency))
	return nil
}
