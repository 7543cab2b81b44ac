// Package store persists Twofold's organizations, users, tokens,
// enrollments, API keys and audit events in SQLite (the embedded default) or
// PostgreSQL (for several instances). Both run the same SQL: the dialects
// differ only in placeholders, two column types and connection setup.
//
// The store owns the invariants that need the database to be atomic: single
// use of a code (Consume) and bounded guessing (ReserveAttempt) are each one
// conditional UPDATE whose affected rows decide; Guess makes both in one
// transaction that holds the user's row from the lock check to the commit.
// A change to what lets a user in (password, tokens, status) ends the
// user's sessions and pending challenges in the change's own transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound means the row asked for does not exist (in that organization).
	ErrNotFound = errors.New("store: not found")
	// ErrExists means a row with the same unique key exists already.
	ErrExists = errors.New("store: already exists")
	// ErrNotConsumed means a conditional update matched no row: the step or
	// counter was used already, or the token changed state meanwhile.
	ErrNotConsumed = errors.New("store: not consumed")
)

// Token states.
const (
	TokenAssigned  = "assigned"
	TokenActive    = "active"
	TokenSuspended = "suspended"
	TokenLocked    = "locked"
	TokenRevoked   = "revoked"
)

// User statuses and roles.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
	RoleUser     = "user"
	RoleAdmin    = "admin"
	// RoleHelpdesk is a narrower organization role: finding users and
	// helping them back in, nothing else (see admin.Allowed).
	RoleHelpdesk = "helpdesk"
)

// Organization statuses.
const (
	OrgActive   = "active"
	OrgDisabled = "disabled"
)

// Enrollment statuses.
const (
	EnrollmentPending   = "pending"
	EnrollmentCompleted = "completed"
	EnrollmentExpired   = "expired"
	EnrollmentCancelled = "cancelled"
)

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	d dialect
	// w takes every write. For SQLite it holds a single connection, so
	// writers queue in Go instead of spinning on SQLITE_BUSY; r serves
	// reads from a pool of its own, which WAL lets run beside the writer.
	// For PostgreSQL both are the same pool.
	w, r  *sql.DB
	clock clock.Clock

	subject, reserve, release, resetFailures, completeEnrollment, insertEvent, apiKey, accessRevision, orgByID *sql.Stmt

	// lite is SQLite's validate path, on a binding of its own (see lite);
	// nil for PostgreSQL.
	lite *lite
	// group gathers the guesses made at once (see Guess).
	group together[*guess]
	// reads gathers the Subject reads made at once on PostgreSQL (see
	// readSubjects).
	reads together[*subjectRead]
	// pg is what a group of guesses on PostgreSQL sends (see pgGroup).
	pg pgGuessSQL
}

// Open connects to the database, brings its schema up to date and
// prepares the statements of the validate path. driver is "sqlite" (dsn is
// a file path) or "postgres" (dsn is a postgres:// URL). clk stamps the
// migrations it applies.
func Open(ctx context.Context, driver, dsn string, clk clock.Clock) (*Store, error) {
	s := &Store{clock: clk}
	var err error
	switch driver {
	case "sqlite":
		s.d = sqliteDialect
		s.w, s.r, err = openSQLite(dsn)
	case "postgres":
		s.d = postgresDialect
		s.pg = newPGGuessSQL(s.d)
		s.w, err = openPostgres(dsn)
		s.r = s.w
	default:
		return nil, fmt.Errorf("store: unknown driver %q", driver)
	}
	if err != nil {
		return nil, err
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: connect to %s database: %w", driver, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.d.name == "sqlite" {
		if s.lite, err = openLite(dsn); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func openSQLite(path string) (w, r *sql.DB, err error) {
	if err := createPrivate(path); err != nil {
		return nil, nil, err
	}
	// busy_timeout still matters: other processes (the CLI beside a
	// running server) write to the same file.
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	if w, err = sql.Open("sqlite", dsn); err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if r, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return w, r, nil
}

// createPrivate creates the SQLite database file, if it does not exist yet,
// readable and writable by its owner alone. SQLite itself would create it
// 0644 less the umask, and its -wal and -shm files take the database
// file's mode, so creating it first keeps the password and PIN hashes in
// all three from other users of the machine. An empty file is an empty
// database to SQLite.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create sqlite database: %w", err)
	}
	// A umask that takes the owner's bits would leave a file the
	// server cannot write; this one is set exactly.
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("store: create sqlite database %s: %w", path, err)
	}
	return nil
}

func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse postgres url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	n := max(8, 4*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// Close releases the database connections.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if s.lite != nil {
		err = errors.Join(err, s.lite.close())
	}
	return err
}

// Ping reports whether the database answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Driver reports "sqlite" or "postgres".
func (s *Store) Driver() string { return s.d.name }

// dialect is everything that differs between SQLite and PostgreSQL.
type dialect struct {
	name string
	// numbered placeholders: PostgreSQL wants $1, $2 where SQLite takes ?.
	numbered bool
	// types substituted into migrations.
	identity, bytes string
	// bytewise is the collation that compares strings byte by byte,
	// which a prefix range and keyset paging need (see SearchUsers).
	bytewise string
	// lockMigrations serialises concurrent migrators inside the
	// migration transaction; empty where the transaction itself does.
	lockMigrations string
	// forUpdate ends a SELECT that must lock its rows until the
	// transaction ends; empty for SQLite, whose write transactions run
	// one at a time anyway.
	forUpdate string
}

var (
	sqliteDialect = dialect{
		name:     "sqlite",
		identity: "INTEGER PRIMARY KEY",
		bytes:    "BLOB",
		bytewise: "COLLATE BINARY",
	}
	postgresDialect = dialect{
		name:           "postgres",
		numbered:       true,
		identity:       "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
		bytes:          "BYTEA",
		bytewise:       `COLLATE "C"`,
		lockMigrations: "SELECT pg_advisory_xact_lock(7307001)",
		forUpdate:      " FOR UPDATE",
	}
)

// q rewrites a query written with ? placeholders for the dialect. The
// queries are our own constants, so there are no ? inside string literals.
func (d dialect) q(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// ms converts a time to the stored Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts stored Unix milliseconds back; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// inTx runs fn in a write transaction, committing only when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
