package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func ms(t time.Time) int64 { return t.UnixMilli() }

// BenchmarkSearchUsers measures one page of 50 of an organization of
// 100,000 users, on SQLite and (when configured) PostgreSQL: each page is
// at most four queries.
//
//	go test ./internal/store -run '^$' -bench SearchUsers -benchtime 100x
func BenchmarkSearchUsers(b *testing.B) {
	storetest.EachB(b, benchmarkSearchUsers)
}

func benchmarkSearchUsers(b *testing.B, backend storetest.Backend) {
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
	storetest.SeedDirectory(b, backend, org.ID, 100_000, t0)
	storetest.SeedDirectory(b, backend, other.ID, 1_000, t0)

	for _, bm := range []struct {
		name           string
		search, filter string
		after          string
	}{
		{"first page", "", "", ""},
		{"a page in the middle", "", "", "user050000"},
		{"username prefix", "user0421", "", ""},
		{"username prefix, common", "user0", "", ""},
		{"username prefix, common far ahead", "user09", "", ""},
		{"email prefix", "user09999", "", ""},
		{"display name part, common", "jansen", "", ""},
		{"display name from its first word on", "anna jan", "", ""},
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
