package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestDirectoryRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		ev := store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "directory.set", Target: "acme", Result: "ok"}
		if _, err := f.s.Directory(ctx, f.org.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Directory before any: %v, want ErrNotFound", err)
		}
		d := store.Directory{OrgID: f.org.ID, Settings: []byte(`{"url":"ldaps://dc"}`), BindPassword: []byte("sealed")}
		if err := f.s.PutDirectory(ctx, d, 0, ev); err != nil {
			t.Fatal(err)
		}
		if err := f.s.PutDirectory(ctx, d, 0, ev); !errors.Is(err, store.ErrChanged) {
			t.Fatalf("making it again: %v, want ErrChanged", err)
		}
		d.Settings = []byte(`{"url":"ldaps://dc2"}`)
		if err := f.s.PutDirectory(ctx, d, 1, ev); err != nil {
			t.Fatal(err)
		}
		if err := f.s.PutDirectory(ctx, d, 1, ev); !errors.Is(err, store.ErrChanged) {
			t.Fatalf("a change from an old revision: %v, want ErrChanged", err)
		}
		got, err := f.s.Directory(ctx, f.org.ID)
		if err != nil || string(got.Settings) != `{"url":"ldaps://dc2"}` || string(got.BindPassword) != "sealed" || got.Rev != 2 {
			t.Fatalf("Directory = %+v, %v", got, err)
		}
		all, err := f.s.Directories(ctx)
		if err != nil || len(all) != 1 || all[0].OrgID != f.org.ID {
			t.Fatalf("Directories = %+v, %v", all, err)
		}

		// The lease: one holder at a time until it runs out or ends.
		if ok, err := f.s.ClaimDirectorySync(ctx, f.org.ID, t0, t0.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("first claim: %v, %v", ok, err)
		}
		if ok, _ := f.s.ClaimDirectorySync(ctx, f.org.ID, t0.Add(30*time.Second), t0.Add(2*time.Minute)); ok {
			t.Fatal("a second claim under the lease succeeded")
		}
		if err := f.s.FinishDirectorySync(ctx, f.org.ID, t0.Add(40*time.Second), "3 created"); err != nil {
			t.Fatal(err)
		}
		got, _ = f.s.Directory(ctx, f.org.ID)
		if !got.LastSyncAt.Equal(t0.Add(40*time.Second)) || got.LastResult != "3 created" || !got.LeaseUntil.IsZero() {
			t.Fatalf("after the sync: %+v", got)
		}
		if ok, _ := f.s.ClaimScheduledSync(ctx, f.org.ID, t0, t0.Add(time.Hour), t0.Add(2*time.Hour)); ok {
			t.Fatal("a scheduled claim from a stale last sync succeeded")
		}
		if ok, _ := f.s.ClaimScheduledSync(ctx, f.org.ID, got.LastSyncAt, t0.Add(time.Hour), t0.Add(2*time.Hour)); !ok {
			t.Fatal("a scheduled claim from the last sync failed")
		}

		n, err := f.s.ResealDirectoryPasswords(ctx, func(d store.Directory) ([]byte, bool, error) {
			if string(store.DirectoryPasswordAD(d.OrgID)) != fmt.Sprintf("twofold directories.bind_password org=%d", f.org.ID) {
				t.Errorf("additional data %q", store.DirectoryPasswordAD(d.OrgID))
			}
			return []byte("resealed"), true, nil
		}, store.Event{At: t0, Action: "keys.rotate"})
		if got, _ := f.s.Directory(ctx, f.org.ID); n != 1 || err != nil || string(got.BindPassword) != "resealed" {
			t.Fatalf("ResealDirectoryPasswords = %d, %v; password %q", n, err, got.BindPassword)
		}
	})
}

func TestApplyAccountChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setupSignedIn(t, b)
		ev := func(action string) store.Event {
			return store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: action, Target: "acme", Result: "ok"}
		}
		accounts, err := f.s.Accounts(ctx, f.org.ID)
		if err != nil || len(accounts) != 2 {
			t.Fatalf("Accounts = %+v, %v", accounts, err)
		}
		alice, bob := accounts[0], accounts[1]
		alice.Email, alice.Role, alice.FromDirectory = "alice@new.example", store.RoleHelpdesk, true
		bob.Status, bob.FromDirectory, bob.DirectoryDisabled = store.UserDisabled, true, true
		carol := store.Account{Username: "carol", Email: "carol@example.org", DisplayName: "Carol", Language: "nl", Role: store.RoleUser, Status: store.UserActive, FromDirectory: true}
		changes := []store.AccountChange{
			{Account: alice, WasStatus: store.UserActive, EmailChanged: true, Event: ev("directory.user.update")},
			{Account: bob, WasStatus: store.UserActive, Event: ev("directory.user.disable")},
			{Account: carol, CreatedAt: t0, Event: ev("directory.user.create")},
		}
		// A name taken fails the whole.
		dup := append(changes, store.AccountChange{Account: store.Account{Username: "alice", Role: store.RoleUser, Status: store.UserActive}, Event: ev("directory.user.create")})
		if err := f.s.ApplyAccountChanges(ctx, f.org.ID, dup, ev("directory.sync")); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a sync creating a name taken: %v, want ErrExists", err)
		}
		if u, _ := f.s.UserByName(ctx, f.org.ID, "alice"); u.Email != "" {
			t.Fatalf("a failed sync changed alice: %+v", u)
		}
		// A user whose status changed since the sync read it fails the whole.
		stale := append([]store.AccountChange{}, changes...)
		stale[1].WasStatus = store.UserDisabled
		if err := f.s.ApplyAccountChanges(ctx, f.org.ID, stale, ev("directory.sync")); !errors.Is(err, store.ErrChanged) {
			t.Fatalf("a sync from a stale status: %v, want ErrChanged", err)
		}
		if err := f.s.ApplyAccountChanges(ctx, f.org.ID, changes, ev("directory.sync")); err != nil {
			t.Fatal(err)
		}
		after, err := f.s.Accounts(ctx, f.org.ID)
		if err != nil || len(after) != 3 {
			t.Fatalf("Accounts after = %+v, %v", after, err)
		}
		if after[0] != alice || after[1] != bob || after[2].Username != "carol" || after[2].Language != "nl" || !after[2].FromDirectory {
			t.Fatalf("Accounts after = %+v", after)
		}
		if got, want := f.access(t, f.bob, bobSessions), "sessions [], challenge expired"; got != want {
			t.Errorf("bob, disabled by the sync: %s, want %s", got, want)
		}
		if got, want := f.access(t, f.user, aliceSessions), "sessions [alice-browser alice-halfway], challenge expired"; got != want {
			t.Errorf("alice, whose address changed: %s, want %s", got, want)
		}
		// An operator's enable clears the mark: the sync will not treat
		// bob as its own to enable again once an operator has acted.
		if err := f.s.SetUserStatus(ctx, f.org.ID, bob.ID, store.UserActive, ev("user.enable")); err != nil {
			t.Fatal(err)
		}
		if as, _ := f.s.Accounts(ctx, f.org.ID); as[1].DirectoryDisabled {
			t.Fatal("an operator's enable kept directory_disabled")
		}
		if u, err := f.s.UserByName(ctx, f.org.ID, "carol"); err != nil || u.DisplayName != "Carol" {
			t.Fatalf("carol: %+v, %v", u, err)
		}
		if page, err := f.s.SearchUsers(ctx, store.UserQuery{OrgID: f.org.ID, Search: "carol", Limit: 10}); err != nil || len(page.Users) != 1 {
			t.Fatalf("carol is not found by the user search: %+v, %v", page, err)
		}
	})
}
