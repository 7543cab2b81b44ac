package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// bulk makes n users of org named prefix0…, every other one with an
// active token.
func bulk(org store.Org, prefix string, n int) []store.BulkUser {
	out := make([]store.BulkUser, n)
	for i := range out {
		name := fmt.Sprintf("%s%d", prefix, i)
		out[i] = store.BulkUser{
			User:   store.User{OrgID: org.ID, Username: name, DisplayName: "Bulk " + name, Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0},
			Events: []store.Event{{At: t0, Actor: "test", Action: "user.add", Target: "acme/" + name, Result: "ok"}},
		}
		if i%2 == 0 {
			out[i].Token = &store.Token{OrgID: org.ID, Serial: "BULK-" + name, Type: "totp", State: store.TokenActive,
				Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0, ActivatedAt: t0}
		}
	}
	return out
}

func TestAddUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		s := f.s
		sealed := func(i int, tk store.Token) ([]byte, error) {
			return fmt.Appendf(nil, "sealed %d:%s", i, store.SecretAD(tk)), nil
		}
		// More than one statement's worth, so that batches meet.
		users := bulk(f.org, "bulk", 1203)
		if err := s.AddUsers(ctx, users, sealed); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 1, 600, 1202} {
			u, err := s.UserByName(ctx, f.org.ID, fmt.Sprintf("bulk%d", i))
			if err != nil || u.ID != users[i].User.ID || u.DisplayName != fmt.Sprintf("Bulk bulk%d", i) {
				t.Fatalf("user %d: %+v, %v; want id %d", i, u, err, users[i].User.ID)
			}
			toks, err := s.Tokens(ctx, f.org.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				if len(toks) != 0 {
					t.Errorf("user %d has tokens %v, want none", i, toks)
				}
				continue
			}
			if len(toks) != 1 || toks[0].ID != users[i].Token.ID || toks[0].State != store.TokenActive || !toks[0].ActivatedAt.Equal(t0) {
				t.Fatalf("user %d's tokens = %+v; want the active one", i, toks)
			}
			if got, want := string(toks[0].Secret), fmt.Sprintf("sealed %d:%s", i, store.SecretAD(toks[0])); got != want {
				t.Errorf("secret = %q, want sealed for its own row: %q", got, want)
			}
		}
		evs, err := s.Events(ctx, f.org.ID, 2000)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(evs) - 3; n != 1203 { // setup wrote three
			t.Errorf("%d events written, want 1203", n)
		}

		// A taken username, or a serial, refuses the whole batch.
		for name, again := range map[string][]store.BulkUser{
			"username": append(bulk(f.org, "more", 10), bulk(f.org, "bulk", 1)...),
			"serial":   append(bulk(f.org, "more", 10), store.BulkUser{User: store.User{OrgID: f.org.ID, Username: "other", Role: "user", Status: "active"}, Token: &store.Token{OrgID: f.org.ID, Serial: "TOTP0001", Type: "totp", State: "active", Algorithm: "SHA1", Digits: 6, Period: 30}}),
		} {
			if err := s.AddUsers(ctx, again, sealed); !errors.Is(err, store.ErrExists) {
				t.Errorf("taken %s: err = %v, want ErrExists", name, err)
			}
			if _, err := s.UserByName(ctx, f.org.ID, "more0"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("taken %s: the batch's first user was added: %v", name, err)
			}
		}
		// A secret that fails to seal refuses it too.
		if err := s.AddUsers(ctx, bulk(f.org, "more", 3), func(int, store.Token) ([]byte, error) { return nil, errors.New("no key") }); err == nil {
			t.Error("a failed seal: no error")
		}
		if _, err := s.UserByName(ctx, f.org.ID, "more0"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed seal left its user: %v", err)
		}
		other, _ := s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", CreatedAt: t0}, store.Event{Action: "org.create"})
		mixed := append(bulk(f.org, "more", 1), bulk(other, "x", 1)...)
		if err := s.AddUsers(ctx, mixed, sealed); err == nil {
			t.Error("users of two organizations in one batch: no error")
		}
	})
}
