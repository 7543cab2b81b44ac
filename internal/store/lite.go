package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// lite runs SQLite's validate path — the Subject read and the group
// committer's transactions — on zombiezen's binding, over the same
// modernc.org/sqlite/lib as database/sql's driver, on connections of its
// own. BenchmarkSubject and BenchmarkGuess measured 7.5 µs and 86
// allocations a Subject through database/sql, 4.0 µs and 9 here; 16.7 µs
// and 64 allocations a guess, 12.3 µs and 21: no conversion of every
// argument and column to and from driver values, no watch of the
// context per call, and no connection mutex taken per column, since each
// connection is used by one goroutine at a time (SQLITE_OPEN_NOMUTEX).
//
// w is the group committer's. It writes only while the committer holds
// database/sql's one writer connection, so that the process still has
// one writer at a time and no write waits on SQLite's busy handler for
// another of the same process.
type lite struct {
	// idle holds the reader connections not in use, the one used last
	// at the end, and free a token for each. A read takes the one used
	// last: SQLite drops a connection's page cache at its first read
	// after another connection's commit, so the fewer connections share
	// the reads, the fewer reads start cold. A server reads on one
	// connection while that keeps up, and on more only as reads overlap.
	// twofold loadtest radius on 2 CPUs answered 20,200/s with 4 readers
	// taken in turn, 21,000 with 4 taken last used first, 22,400 with 2
	// and 23,200 with 1.
	rmu    sync.Mutex
	idle   []*liteReader
	free   chan struct{}
	n      int           // reader connections
	closed chan struct{} // closed by close

	mu sync.Mutex // held while w is in use
	w  *liteConn
}

// liteConn is a connection with the statements prepared on it, by
// query. zombiezen's own cache (Conn.Prepare) clears a statement's
// bindings when it hands it out again, which makes SQLite prepare anew a
// statement whose plan looked at a bound value (a subjectSQL each time).
type liteConn struct {
	c     *sqlite.Conn
	stmts map[string]*sqlite.Stmt
}

// liteReader is a reader connection.
type liteReader struct {
	*liteConn
	subject *sqlite.Stmt
}

var errClosed = errors.New("store: closed")

// openLite opens the connections of the validate path on the SQLite
// database at path, which Open has migrated already.
func openLite(path string) (*lite, error) {
	// One reader per two CPUs: every answer waits for the one writer
	// too, which a reader outruns several times over, and a reader
	// that overlapping reads do not need starts cold (see idle).
	n := (runtime.GOMAXPROCS(0) + 1) / 2
	l := &lite{free: make(chan struct{}, n), closed: make(chan struct{})}
	var err error
	if l.w, err = openLiteConn(path, "PRAGMA foreign_keys = 1", "PRAGMA synchronous = NORMAL"); err != nil {
		return nil, err
	}
	for range n {
		c, err := openLiteConn(path, "PRAGMA query_only = 1")
		if err != nil {
			l.close()
			return nil, err
		}
		r := &liteReader{liteConn: c}
		l.idle = append(l.idle, r)
		l.free <- struct{}{}
		l.n++
		if r.subject, err = c.prepare(subjectSQL); err != nil {
			l.close()
			return nil, err
		}
	}
	return l, nil
}

func openLiteConn(path string, pragmas ...string) (*liteConn, error) {
	c, err := sqlite.OpenConn(path, sqlite.OpenReadWrite, sqlite.OpenNoMutex, sqlite.OpenWAL)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	// Other processes (the CLI beside a running server) write to the
	// same file, as for database/sql's connections (openSQLite).
	c.SetBusyTimeout(10 * time.Second)
	for _, p := range pragmas {
		if err := sqlitex.ExecuteTransient(c, p, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("store: open sqlite %s: %s: %w", path, p, err)
		}
	}
	return &liteConn{c: c, stmts: make(map[string]*sqlite.Stmt)}, nil
}

// prepare returns query prepared on c.
func (c *liteConn) prepare(query string) (*sqlite.Stmt, error) {
	if st := c.stmts[query]; st != nil {
		return st, nil
	}
	st, _, err := c.c.PrepareTransient(query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare %.40q: %w", query, err)
	}
	c.stmts[query] = st
	return st, nil
}

// run runs query with args, calling row, when not nil, for each row it
// returns.
func (c *liteConn) run(query string, args []any, row func(*sqlite.Stmt)) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	return run(st, args, row)
}

// run runs st with args, as liteConn.run.
func run(st *sqlite.Stmt, args []any, row func(*sqlite.Stmt)) error {
	defer st.Reset()
	for i, a := range args {
		switch a := a.(type) {
		case int64:
			st.BindInt64(i+1, a)
		case int:
			st.BindInt64(i+1, int64(a))
		case string:
			st.BindText(i+1, a)
		case []byte:
			st.BindBytes(i+1, a)
		case bool:
			st.BindBool(i+1, a)
		case nil:
			st.BindNull(i + 1)
		default:
			return fmt.Errorf("store: cannot bind %T", a)
		}
	}
	for {
		more, err := st.Step()
		if err != nil || !more {
			return err
		}
		if row != nil {
			row(st)
		}
	}
}

func (c *liteConn) close() error {
	for _, st := range c.stmts {
		st.Finalize()
	}
	return c.c.Close()
}

// close closes the connections, once those in use are back; a second
// close does nothing, as database/sql's.
func (l *lite) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return nil
	default:
		close(l.closed)
	}
	var err error
	if l.w != nil {
		err = l.w.close()
		l.w = nil
	}
	for range l.n {
		<-l.free
	}
	for _, r := range l.idle {
		err = errors.Join(err, r.close())
	}
	return err
}

// read runs fn on a reader connection.
func (l *lite) read(ctx context.Context, fn func(*liteReader) error) error {
	select {
	case <-l.closed:
		return errClosed
	default:
	}
	select {
	case <-l.free:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.rmu.Lock()
	r := l.idle[len(l.idle)-1]
	l.idle = l.idle[:len(l.idle)-1]
	l.rmu.Unlock()
	defer func() {
		l.rmu.Lock()
		l.idle = append(l.idle, r)
		l.rmu.Unlock()
		l.free <- struct{}{}
	}()
	return fn(r)
}

// inTx runs fn in a write transaction on w, committing only when fn
// succeeds. The caller holds database/sql's writer connection.
func (l *lite) inTx(fn func(liteTx) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return errClosed
	}
	if err := l.w.run("BEGIN IMMEDIATE", nil, nil); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	err := fn(liteTx{l.w})
	if err == nil {
		if err = l.w.run("COMMIT", nil, nil); err != nil {
			err = fmt.Errorf("store: commit: %w", err)
		}
	}
	// Some errors end the transaction themselves (SQLITE_FULL, for
	// one); the others leave it to be rolled back.
	if err != nil && !l.w.c.AutocommitEnabled() {
		if rerr := l.w.run("ROLLBACK", nil, nil); rerr != nil {
			err = errors.Join(err, fmt.Errorf("store: rollback: %w", rerr))
		}
	}
	return err
}

// liteTx is a write transaction on lite's writer. Its ExecContext is
// database/sql's, so that what a guess writes is written by the same
// code in it as in a database/sql transaction (see execer).
type liteTx struct{ c *liteConn }

// ExecContext runs query with args. The context is not watched: a
// group's transaction belongs to no one caller (see commitGroup).
func (t liteTx) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.c.run(query, args, nil); err != nil {
		return nil, err
	}
	return liteResult{int64(t.c.c.Changes()), t.c.c.LastInsertRowID()}, nil
}

// queryRow runs query with args and, when it returns a row, reads its
// first len(dest) columns into dest, each an *int64 or a *bool.
func (t liteTx) queryRow(_ context.Context, query string, args []any, dest ...any) (found bool, err error) {
	err = t.c.run(query, args, func(st *sqlite.Stmt) {
		found = true
		for i, d := range dest {
			switch d := d.(type) {
			case *int64:
				*d = st.ColumnInt64(i)
			case *bool:
				*d = st.ColumnBool(i)
			default:
				panic(fmt.Sprintf("store: cannot read a column into %T", d))
			}
		}
	})
	return found, err
}

type liteResult struct{ changes, lastID int64 }

func (r liteResult) LastInsertId() (int64, error) { return r.lastID, nil }
func (r liteResult) RowsAffected() (int64, error) { return r.changes, nil }

// execer is a write transaction as the statements of a guess use it:
// database/sql's (*sql.Tx), or lite's (liteTx).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// guessTx is the transaction guessIn makes a guess in: lite's, or on
// PostgreSQL database/sql's (sqlTx).
type guessTx interface {
	execer
	// queryRow reads the first row query returns into dest, and
	// reports whether there was one.
	queryRow(ctx context.Context, query string, args []any, dest ...any) (bool, error)
}

type sqlTx struct{ *sql.Tx }

func (t sqlTx) queryRow(ctx context.Context, query string, args []any, dest ...any) (bool, error) {
	err := t.QueryRowContext(ctx, query, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// subject is Subject on a reader connection.
func (l *lite) subject(ctx context.Context, orgID int64, username string) (subjectRows, error) {
	var rows subjectRows
	err := l.read(ctx, func(c *liteReader) error {
		return run(c.subject, []any{username, orgID}, func(st *sqlite.Stmt) {
			r := subjectRow{
				policyRev: st.ColumnInt64(0), orgActive: st.ColumnText(1) == OrgActive,
				user: st.ColumnType(2) != sqlite.TypeNull, userID: st.ColumnInt64(2), status: st.ColumnText(3),
				passwordHash: st.ColumnText(4), pinHash: st.ColumnText(5), lockedUntil: st.ColumnInt64(6),
			}
			if r.hasToken = st.ColumnType(7) != sqlite.TypeNull; r.hasToken {
				secret := make([]byte, st.ColumnLen(11))
				st.ColumnBytes(11, secret)
				r.token = Token{
					ID: st.ColumnInt64(7), Serial: st.ColumnText(8), Type: st.ColumnText(9), State: st.ColumnText(10),
					Secret: secret, Algorithm: st.ColumnText(12), Digits: int(st.ColumnInt64(13)),
					Period: int(st.ColumnInt64(14)), LastStep: st.ColumnInt64(15), Drift: int(st.ColumnInt64(16)),
				}
			}
			rows.add(r)
		})
	})
	return rows, err
}
