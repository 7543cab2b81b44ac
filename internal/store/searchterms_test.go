package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// search returns the usernames of org's users that term finds, all pages.
func search(t *testing.T, s *store.Store, orgID int64, term string) []string {
	t.Helper()
	p, err := s.SearchUsers(context.Background(), store.UserQuery{OrgID: orgID, Search: term, Limit: 100, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return names(p.Users)
}

func TestSearchWords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		d.user(t, d.acme, "anna", "", "Anna  Jansen")
		d.user(t, d.acme, "jl", "", "Jean-Luc Picard")
		d.user(t, d.acme, "ob", "", "Máire O'Brien")
		d.user(t, d.acme, "emile", "Émile@Zola.example", "ÉMILE ZOLA")
		for _, tt := range []struct {
			search string
			want   []string
		}{
			{"jan", []string{"anna"}},
			{"jansen", []string{"anna"}},
			{"anna jan", []string{"anna"}},
			{"sen", []string{}},
			{"luc", []string{"jl"}},
			{"jean-l", []string{"jl"}},
			{"brien", []string{"ob"}},
			{"máire o'b", []string{"ob"}},
			{"émile zo", []string{"emile"}},
			{"ÉMILE@", []string{"emile"}},
			{"zola.example", []string{}},
		} {
			if got := search(t, d.s, d.acme.ID, tt.search); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("search %q: %v, want %v", tt.search, got, tt.want)
			}
		}
	})
}

func TestSearchIndexFollowsUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		ctx := context.Background()
		ed := d.user(t, d.acme, "ed", "ed@old.example", "Edward Oldname")
		edit := func(ch store.UserChanges) {
			t.Helper()
			if err := d.s.UpdateUser(ctx, d.acme.ID, ed.ID, ch, store.Event{OrgID: d.acme.ID, At: t0, Action: "user.edit"}); err != nil {
				t.Fatal(err)
			}
		}
		check := func(when string, found, gone []string) {
			t.Helper()
			for _, term := range found {
				if got := search(t, d.s, d.acme.ID, term); !reflect.DeepEqual(got, []string{"ed"}) {
					t.Errorf("%s: search %q found %v, want ed", when, term, got)
				}
			}
			for _, term := range gone {
				if got := search(t, d.s, d.acme.ID, term); len(got) != 0 {
					t.Errorf("%s: search %q found %v, want no one", when, term, got)
				}
			}
		}
		check("created", []string{"ed@old", "oldname", "edward"}, nil)
		email, name, lang := "ed@new.example", "Edward Newname", "nl"
		edit(store.UserChanges{Email: &email})
		check("a new email", []string{"ed@new", "oldname"}, []string{"ed@old"})
		edit(store.UserChanges{DisplayName: &name})
		check("a new display name", []string{"ed@new", "newname"}, []string{"oldname"})
		edit(store.UserChanges{Language: &lang})
		check("a new language", []string{"ed@new", "newname"}, nil)
		if err := d.s.DeleteUser(ctx, d.acme.ID, ed.ID, store.Event{OrgID: d.acme.ID, At: t0, Action: "user.delete"}); err != nil {
			t.Fatal(err)
		}
		check("deleted", nil, []string{"ed", "ed@new", "newname"})
		var left int
		if err := b.DB(t).QueryRow(fmt.Sprintf(`SELECT COUNT(*) FROM user_search_terms WHERE user_id = %d`, ed.ID)).Scan(&left); err != nil || left != 0 {
			t.Errorf("search terms of a deleted user: %d, %v", left, err)
		}

		admin, err := d.s.CreateProviderAdmin(ctx, store.User{Username: "root", Email: "root@provider.example", DisplayName: "Rosa Root",
			Role: store.RoleAdmin, Status: store.UserActive, CreatedAt: t0}, t0, store.Event{At: t0, Action: "user.add"})
		if err != nil {
			t.Fatal(err)
		}
		if got := search(t, d.s, admin.OrgID, "rosa"); !reflect.DeepEqual(got, []string{"root"}) {
			t.Errorf("search the provider's admins for rosa: %v", got)
		}
	})
}

// TestSearchIndexMigration undoes migration 0022, and those after it, on a
// directory and opens the store again: the migration's backfill must find
// everyone.
func TestSearchIndexMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		db := b.DB(t)
		// Only the migrations above the highest applied run again.
		for _, q := range []string{`DROP TABLE user_search_terms`, `DROP TABLE token_inventory`, `ALTER TABLE push_devices DROP COLUMN key_alg`,
			`DROP TABLE directories`, `ALTER TABLE users DROP COLUMN from_directory`, `ALTER TABLE users DROP COLUMN directory_disabled`,
			`DELETE FROM schema_migrations WHERE version >= 22`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s := b.Open(t, clock.NewFake(t0))
		for term, want := range map[string][]string{"a": {"alice", "annie", "carol"}, "bob.b": {"bob"}, "brock": {"erin"}} {
			if got := search(t, s, d.acme.ID, term); !reflect.DeepEqual(got, want) {
				t.Errorf("after the migration, search %q: %v, want %v", term, got, want)
			}
		}
		if got := search(t, s, d.other.ID, "zed"); !reflect.DeepEqual(got, []string{"zed"}) {
			t.Errorf("after the migration, the other organization's zed: %v", got)
		}
	})
}

// TestSearchPlans pages through one search by every plan SearchUsers
// has: the terms alone (a rare search), a walk that fills the page, and a
// walk whose window ends before the page is full.
func TestSearchPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		var want []string
		for i := range 30 {
			email, display := fmt.Sprintf("x%d@acme.example", i), "Bo Smit"
			if i%3 == 0 {
				email = fmt.Sprintf("jan%d@acme.example", i)
			}
			if i%5 == 0 || i > 25 {
				display = "Anna Jansen"
			}
			name := fmt.Sprintf("u%02d", i)
			d.user(t, d.acme, name, email, display)
			if i%3 == 0 || i%5 == 0 || i > 25 {
				want = append(want, name)
			}
		}
		for _, plan := range []struct {
			name         string
			rare, window int
		}{{"rare", 1000, 1}, {"a long walk", 1, 1000}, {"a short walk", 1, 1}} {
			t.Run(plan.name, func(t *testing.T) {
				store.SetSearchPlan(t, plan.rare, plan.window)
				for _, limit := range []int{1, 2, 7, 100} {
					var got []string
					after := ""
					for range 50 {
						p, err := d.s.SearchUsers(context.Background(), store.UserQuery{OrgID: d.acme.ID, Search: "JAN", After: after, Limit: limit, Now: t0})
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, names(p.Users)...)
						if p.Next == "" {
							break
						}
						if len(p.Users) != limit || p.Next != p.Users[limit-1].Username {
							t.Fatalf("limit %d after %q: %d users, next %q", limit, after, len(p.Users), p.Next)
						}
						after = p.Next
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("limit %d: %v, want %v", limit, got, want)
					}
				}
			})
		}
	})
}
