package storetest

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
)

// SeedDirectory fills an organization of a SQLite backend with n users,
// as of now, in one transaction, for benchmarks at a realistic size: of
// every 20, 14 have an active token, 3 a pending invitation, 2 an expired
// one and 1 nothing; one in 100 is locked. It writes rows directly, as no
// operator would, because a hundred thousand audited changes take minutes.
func SeedDirectory(b testing.TB, be Backend, orgID int64, n int, now time.Time) {
	b.Helper()
	if be.Driver != "sqlite" {
		b.Fatalf("SeedDirectory fills SQLite, not %s", be.Driver)
	}
	db, err := sql.Open("sqlite", "file:"+be.DSN+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		st, err := tx.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	user := prep(`INSERT INTO users (org_id, username, email, display_name, created_at, locked_until) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`)
	token := prep(`INSERT INTO tokens (org_id, user_id, serial, type, state, secret, algorithm, digits, period, last_step, created_at)
		VALUES (?, ?, ?, 'totp', ?, x'00', 'SHA1', 6, 30, 0, ?) RETURNING id`)
	enroll := prep(`INSERT INTO enrollments (org_id, token_id, code_hash, status, expires_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)`)
	given := []string{"Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Iris", "Jan", "Kim", "Lars", "Mila", "Noah", "Olga"}
	family := []string{"de Vries", "Jansen", "Müller", "Schmidt", "Bakker", "Visser", "Smit", "Meyer", "Weber", "Wagner", "Becker", "Hoffmann", "Peters"}
	at := now.UnixMilli()
	for i := range n {
		locked := int64(0)
		if i%100 == 7 {
			locked = at + 10*60*1000
		}
		var uid int64
		name := fmt.Sprintf("user%06d", i)
		if err := user.QueryRow(orgID, name, name+"@acme.example", given[i%len(given)]+" "+family[i/len(given)%len(family)], at, locked).Scan(&uid); err != nil {
			b.Fatal(err)
		}
		kind := i % 20
		if kind == 19 {
			continue
		}
		state := store.TokenActive
		if kind >= 14 {
			state = store.TokenAssigned
		}
		var tid int64
		if err := token.QueryRow(orgID, uid, fmt.Sprintf("TOTP%d-%08d", orgID, i), state, at).Scan(&tid); err != nil {
			b.Fatal(err)
		}
		if state == store.TokenAssigned {
			expires := at + 3600*1000
			if kind >= 17 {
				expires = at - 3600*1000
			}
			if _, err := enroll.Exec(orgID, tid, fmt.Sprintf("code%d-%d", orgID, i), expires, at); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
