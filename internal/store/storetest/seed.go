package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
)

// SeedDirectory fills an organization of a backend with n users, as of
// now, in one transaction, for benchmarks at a realistic size: of every
// 20, 14 have an active token, 3 a pending invitation, 2 an expired one
// and 1 nothing; one in 100 is locked. It writes rows directly, as no
// operator would, because a hundred thousand audited changes take
// minutes, a few hundred rows an INSERT, because a row a statement takes
// minutes on PostgreSQL too; and then has the store rebuild its search
// index, as the migration that made it did.
func SeedDirectory(b testing.TB, be Backend, orgID int64, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	tx, err := be.DB(b).BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	given := []string{"Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Iris", "Jan", "Kim", "Lars", "Mila", "Noah", "Olga"}
	family := []string{"de Vries", "Jansen", "Müller", "Schmidt", "Bakker", "Visser", "Smit", "Meyer", "Weber", "Wagner", "Becker", "Hoffmann", "Peters"}
	at := now.UnixMilli()
	var users [][]any
	for i := range n {
		locked := int64(0)
		if i%100 == 7 {
			locked = at + 10*60*1000
		}
		name := fmt.Sprintf("user%06d", i)
		users = append(users, []any{orgID, name, name + "@acme.example", given[i%len(given)] + " " + family[i/len(given)%len(family)], at, locked})
	}
	insertRows(b, be, tx, `users (org_id, username, email, display_name, created_at, locked_until)`, users)
	userIDs := ids(b, be, tx, `SELECT username, id FROM users WHERE org_id = ?`, orgID)

	var tokens [][]any
	for i := range n {
		kind := i % 20
		if kind == 19 {
			continue
		}
		state := store.TokenActive
		if kind >= 14 {
			state = store.TokenAssigned
		}
		tokens = append(tokens, []any{orgID, userIDs[fmt.Sprintf("user%06d", i)], fmt.Sprintf("TOTP%d-%08d", orgID, i), "totp", state,
			[]byte{0}, "SHA1", 6, 30, 0, at})
	}
	insertRows(b, be, tx, `tokens (org_id, user_id, serial, type, state, secret, algorithm, digits, period, last_step, created_at)`, tokens)
	tokenIDs := ids(b, be, tx, `SELECT serial, id FROM tokens WHERE org_id = ?`, orgID)

	var enrollments [][]any
	for i := range n {
		if kind := i % 20; kind >= 14 && kind < 19 {
			expires := at + 3600*1000
			if kind >= 17 {
				expires = at - 3600*1000
			}
			enrollments = append(enrollments, []any{orgID, tokenIDs[fmt.Sprintf("TOTP%d-%08d", orgID, i)], []byte(fmt.Sprintf("code%d-%d", orgID, i)),
				store.EnrollmentPending, expires, at})
		}
	}
	insertRows(b, be, tx, `enrollments (org_id, token_id, code_hash, status, expires_at, created_at)`, enrollments)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := be.Open(b, clock.NewFake(now)).RebuildSearchIndex(ctx); err != nil {
		b.Fatal(err)
	}
	// PostgreSQL plans by statistics its autovacuum gathers some time
	// after a bulk load; a benchmark measures the plans it settles on.
	if be.Driver == "postgres" {
		if _, err := be.DB(b).ExecContext(ctx, `ANALYZE users, tokens, enrollments, user_search_terms`); err != nil {
			b.Fatal(err)
		}
	}
}

// insertRows inserts rows into table (its name and columns), a few
// hundred a statement.
func insertRows(b testing.TB, be Backend, tx *sql.Tx, table string, rows [][]any) {
	b.Helper()
	for len(rows) > 0 {
		batch := rows[:min(len(rows), 500)]
		rows = rows[len(batch):]
		var values []string
		var args []any
		for _, r := range batch {
			marks := make([]string, len(r))
			for i := range r {
				args = append(args, r[i])
				marks[i] = placeholder(be, len(args))
			}
			values = append(values, "("+strings.Join(marks, ", ")+")")
		}
		if _, err := tx.Exec(`INSERT INTO `+table+` VALUES `+strings.Join(values, ", "), args...); err != nil {
			b.Fatalf("seed %s: %v", table, err)
		}
	}
}

// ids maps the key in the first column of what query selects (with
// orgID for its one placeholder) to the id in the second.
func ids(b testing.TB, be Backend, tx *sql.Tx, query string, orgID int64) map[string]int64 {
	b.Helper()
	rows, err := tx.Query(strings.Replace(query, "?", placeholder(be, 1), 1), orgID)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var key string
		var id int64
		if err := rows.Scan(&key, &id); err != nil {
			b.Fatal(err)
		}
		out[key] = id
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// placeholder is the n-th placeholder of a statement in be's SQL.
func placeholder(be Backend, n int) string {
	if be.Driver == "postgres" {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}
