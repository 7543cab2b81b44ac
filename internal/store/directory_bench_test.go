package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// seedDirectory fills a new organization of the SQLite store at path with
// n users in one transaction: of every 20, 14 have an active token, 3 a
// pending invitation, 2 an expired one and 1 nothing; one in 100 is locked.
func seedDirectory(b *testing.B, path string, orgID int64, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
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
	now := ms(t0)
	for i := range n {
		locked := int64(0)
		if i%100 == 7 {
			locked = now + 10*60*1000
		}
		var uid int64
		name := fmt.Sprintf("user%06d", i)
		if err := user.QueryRow(orgID, name, name+"@acme.example", given[i%len(given)]+" "+family[i/len(given)%len(family)], now, locked).Scan(&uid); err != nil {
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
		if err := token.QueryRow(orgID, uid, fmt.Sprintf("TOTP%d-%08d", orgID, i), state, now).Scan(&tid); err != nil {
			b.Fatal(err)
		}
		if state == store.TokenAssigned {
			expires := now + 3600*1000
			if kind >= 17 {
				expires = now - 3600*1000
			}
			if _, err := enroll.Exec(orgID, tid, fmt.Sprintf("code%d-%d", orgID, i), expires, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// BenchmarkSearchUsers measures one page of 50 of an organization of
// 100,000 users on SQLite: each page is one query.
//
//	go test ./internal/store -run '^$' -bench SearchUsers -benchtime 200x
func BenchmarkSearchUsers(b *testing.B) {
	backend := storetest.SQLite(b)
	s := backend.Open(b, clock.NewFake(t0))
	ctx := context.Background()
	org, err := s.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{At: t0, Action: "org.create"})
	if err != nil {
		b.Fatal(err)
	}
	// Another organization's users share the indexes.
	other, err := s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{At: t0, Action: "org.create"})
	if err != nil {
		b.Fatal(err)
	}
	seedDirectory(b, backend.DSN, org.ID, 100_000)
	seedDirectory(b, backend.DSN, other.ID, 1_000)

	for _, bm := range []struct {
		name           string
		search, filter string
		after          string
	}{
		{"first page", "", "", ""},
		{"a page in the middle", "", "", "user050000"},
		{"username prefix", "user0421", "", ""},
		{"email prefix", "user09999", "", ""},
		{"display name part, common", "jansen", "", ""},
		{"display name part, nobody", "nobody-has-this", "", ""},
		{"filter no-authenticator", "", store.FilterNoAuthenticator, ""},
		{"filter pending", "", store.FilterPending, ""},
		{"filter expired", "", store.FilterExpired, ""},
		{"filter locked", "", store.FilterLocked, ""},
		{"display name part and filter expired", "müller", store.FilterExpired, ""},
		{"username prefix and filter locked", "user00", store.FilterLocked, ""},
	} {
		b.Run(bm.name, func(b *testing.B) {
			q := store.UserQuery{OrgID: org.ID, Search: bm.search, Filter: bm.filter, After: bm.after, Limit: 50, Now: t0}
			for b.Loop() {
				p, err := s.SearchUsers(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Users) == 0 && bm.search != "nobody-has-this" {
					b.Fatal("no users found")
				}
			}
		})
	}
}
