// Package storetest opens real databases for tests: a fresh SQLite file, and
// a fresh schema in the PostgreSQL database named by
// TWOFOLD_TEST_POSTGRES_URL, so every test of code above the store runs
// against both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// Backend names a database and how to open a store on it.
type Backend struct {
	Driver string
	DSN    string
}

// Open opens another store on the backend, as a second server instance
// would; it is closed when the test ends.
func (b Backend) Open(t testing.TB, clk clock.Clock) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), b.Driver, b.DSN, clk)
	if err != nil {
		t.Fatalf("open %s store: %v", b.Driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DB opens the backend's database itself, beneath the store, for what
// no store method does: seeding rows in bulk, undoing a migration. It is
// closed when the test ends.
func (b Backend) DB(t testing.TB) *sql.DB {
	t.Helper()
	var db *sql.DB
	switch b.Driver {
	case "sqlite":
		var err error
		if db, err = sql.Open("sqlite", "file:"+b.DSN+"?_pragma=busy_timeout(10000)"); err != nil {
			t.Fatalf("open %s: %v", b.DSN, err)
		}
	case "postgres":
		cfg, err := pgx.ParseConfig(b.DSN)
		if err != nil {
			t.Fatalf("parse %s: %v", b.DSN, err)
		}
		db = stdlib.OpenDB(*cfg)
	default:
		t.Fatalf("unknown driver %q", b.Driver)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// SQLite returns a backend on a new database file in the test's temporary directory.
func SQLite(t testing.TB) Backend {
	t.Helper()
	return Backend{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "twofold.db")}
}

// Postgres returns a backend on a new, empty schema that is dropped when
// the test ends. Without TWOFOLD_TEST_POSTGRES_URL the test is skipped
// (failed under TWOFOLD_REQUIRE_ALL=1).
func Postgres(t testing.TB) Backend {
	t.Helper()
	base := testenv.PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TWOFOLD_TEST_POSTGRES_URL: %v", err)
	}
	name := "twofold_test_" + strings.ToLower(rand.Text()[:12])
	if err := execPostgres(base, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("create schema: %v (is PostgreSQL running at %s?)", err, base)
	}
	t.Cleanup(func() {
		if err := execPostgres(base, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return Backend{Driver: "postgres", DSN: u.String()}
}

// Each runs fn as a subtest for each backend: "sqlite" always, and
// "postgres" when PostgreSQL is configured.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachB is Each for benchmarks.
func EachB(b *testing.B, fn func(b *testing.B, be Backend)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { fn(b, SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, Postgres(b)) })
}

func execPostgres(dsn, query string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	_, err = db.Exec(query)
	return err
}
