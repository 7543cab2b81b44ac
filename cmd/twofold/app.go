package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/config"
	"github.com/twofold-mfa/twofold/internal/directory"
	"github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// cli carries what every command shares: its streams and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	lines          *bufio.Scanner // over stdin, made on first use
}

// app is an opened installation: configuration, database and keys.
type app struct {
	cfg   config.Config
	store *store.Store
	keys  *secret.Keyring
	admin *admin.Service
	// directory keeps organizations' directories and syncs them.
	directory *directory.Service
	log       *slog.Logger
	// createdKey tells serve to say that it made a new master key.
	createdKey bool
}

func (a *app) Close() { a.store.Close() }

// mailer builds what writes and sends Twofold's mail: over SMTP when
// TWOFOLD_SMTP_URL is set, into the outbox directory otherwise.
func (a *app) mailer() (*compose.Mailer, error) {
	render, err := compose.NewRenderer()
	if err != nil {
		return nil, err
	}
	sender, err := mail.New(a.cfg.SMTPURL, a.cfg.OutboxDir(), a.cfg.Sender())
	if err != nil {
		return nil, err
	}
	return &compose.Mailer{Render: render, Sender: sender, PublicURL: a.cfg.PublicURL}, nil
}

// open reads the configuration, makes the data directory and master key on
// first use, and opens the database (applying its migrations).
func (c *cli) open(cmd *cobra.Command) (*app, error) {
	cfg, err := config.Load(cmd.Flags(), c.getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, fs.ErrNotExist) {
		c.sayFirstRun(cfg)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	keys, created, err := loadKeys(cfg)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(cmd.Context(), cfg.Driver(), cfg.DSN(), clock.System{})
	if err != nil {
		return nil, fmt.Errorf("%w\n(the database is %s; check %s)", err, redact(cfg), databaseSetting(cfg))
	}
	return &app{
		cfg: cfg, store: s, keys: keys, log: log, createdKey: created,
		admin: &admin.Service{
			Store: s, Keys: keys, Hasher: &secret.Hasher{Params: secret.DefaultParams, Rand: rand.Reader},
			Clock: clock.System{}, Rand: rand.Reader, PublicURL: cfg.PublicURL, Actor: "cli",
		},
		directory: &directory.Service{Store: s, Keys: keys, Clock: clock.System{}, Log: log, Actor: "cli"},
	}, nil
}

// sayFirstRun tells the operator, on standard error, that this command is
// making a new installation and where, so that running it in the wrong
// directory (and so beside the real data) is noticed at once, with the
// setting that points elsewhere.
func (c *cli) sayFirstRun(cfg config.Config) {
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		dir = cfg.DataDir
	}
	what := "the master key"
	if cfg.Driver() == "sqlite" {
		what = "a new SQLite database " + redact(cfg) + " and the master key"
	}
	fmt.Fprintf(c.stderr, "twofold: no data directory at %s: creating it, with %s\n  (to use another, set --data-dir or TWOFOLD_DATA_DIR; for PostgreSQL, --database-url)\n", dir, what)
}

// loadKeys reads the master key file. The default file in the data
// directory is created on first use; a file named explicitly must exist,
// because every instance has to share the same one.
func loadKeys(cfg config.Config) (*secret.Keyring, bool, error) {
	path := cfg.KeyFile()
	keys, err := secret.LoadKeyFile(path, rand.Reader)
	if err == nil {
		return keys, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if cfg.MasterKeyFile != "" {
		return nil, false, fmt.Errorf("master key file %s does not exist: copy it from the instance that made it (all instances share one), or unset TWOFOLD_MASTER_KEY_FILE to make one in the data directory", path)
	}
	keys, err = secret.CreateKeyFile(path, rand.Reader)
	return keys, err == nil, err
}

func databaseSetting(cfg config.Config) string {
	if cfg.Driver() == "postgres" {
		return "TWOFOLD_DATABASE_URL and that PostgreSQL is running"
	}
	return "that the data directory is writable"
}

// redact names the database without its password.
func redact(cfg config.Config) string {
	if u, err := url.Parse(cfg.DSN()); err == nil && u.User != nil {
		return u.Redacted()
	}
	return cfg.DSN()
}

// line reads the next line of standard input, without its line ending.
func (c *cli) line(what string) (string, error) {
	if c.lines == nil {
		c.lines = bufio.NewScanner(c.stdin)
	}
	if !c.lines.Scan() {
		if err := c.lines.Err(); err != nil {
			return "", fmt.Errorf("read %s from standard input: %w", what, err)
		}
		return "", fmt.Errorf("expected %s on standard input, got nothing (pipe it in, e.g. echo … | twofold …)", what)
	}
	return strings.TrimRight(c.lines.Text(), "\r"), nil
}

// orgUser splits ORG/USER.
func orgUser(arg string) (org, user string, err error) {
	org, user, ok := strings.Cut(arg, "/")
	if !ok || org == "" || user == "" {
		return "", "", fmt.Errorf("%q should be ORG/USER, for example acme/alice", arg)
	}
	return org, user, nil
}
