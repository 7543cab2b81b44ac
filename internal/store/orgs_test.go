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

func ev(orgID int64, action string) store.Event {
	return store.Event{OrgID: orgID, At: t0, Actor: "test", Action: action, Target: "x", Result: "ok"}
}

// lastAction returns the newest audit event's action of orgID.
func lastAction(t *testing.T, s *store.Store, orgID int64) string {
	t.Helper()
	evs, err := s.Events(context.Background(), orgID, 1)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v, %v", evs, err)
	}
	return evs[0].Action
}

func TestOrgSummaries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b) // acme with alice
		s := f.s
		for i := range 2 {
			if _, err := s.CreateUser(ctx, store.User{OrgID: f.org.ID, Username: fmt.Sprintf("u%d", i), Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0},
				ev(f.org.ID, "user.add")); err != nil {
				t.Fatal(err)
			}
		}
		empty, err := s.CreateOrg(ctx, store.Org{Slug: "beta", Name: "Beta", Policy: []byte(`{}`), CreatedAt: t0.Add(time.Hour)}, ev(0, "org.create"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateProviderAdmin(ctx, store.User{Username: "root", Role: store.RoleAdmin, Status: store.UserActive, CreatedAt: t0}, t0, ev(0, "admin.create")); err != nil {
			t.Fatal(err)
		}
		got, err := s.OrgSummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			slug, name, status string
			users, active      int
			created            time.Time
		}{
			{"acme", "Acme", store.OrgActive, 3, 1, t0}, // alice's token
			{"beta", "Beta", store.OrgActive, 0, 0, t0.Add(time.Hour)},
		}
		if len(got) != len(want) {
			t.Fatalf("OrgSummaries = %+v, want %d organizations (the provider's not among them)", got, len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Slug != w.slug || g.Name != w.name || g.Status != w.status || g.Users != w.users || g.ActiveTokens != w.active || !g.CreatedAt.Equal(w.created) {
				t.Errorf("organization %d = %s %q %s users=%d active=%d created=%v; want %s %q %s users=%d active=%d created=%v",
					i, g.Slug, g.Name, g.Status, g.Users, g.ActiveTokens, g.CreatedAt, w.slug, w.name, w.status, w.users, w.active, w.created)
			}
		}
		if got[1].ID != empty.ID {
			t.Errorf("beta has id %d, want %d", got[1].ID, empty.ID)
		}
	})
}

func TestRenameOrg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if err := f.s.RenameOrg(ctx, f.org.ID, "Acme Corporation", ev(f.org.ID, "org.rename")); err != nil {
			t.Fatal(err)
		}
		if o, _ := f.s.OrgByID(ctx, f.org.ID); o.Name != "Acme Corporation" {
			t.Errorf("name after rename = %q", o.Name)
		}
		if a := lastAction(t, f.s, f.org.ID); a != "org.rename" {
			t.Errorf("last event %q, want org.rename", a)
		}
		for _, tt := range []struct {
			name string
			id   int64
		}{{"the same name again", f.org.ID}, {"an unknown organization", f.org.ID + 100}} {
			if err := f.s.RenameOrg(ctx, tt.id, "Acme Corporation", ev(f.org.ID, "org.rename.again")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", tt.name, err)
			}
		}
		if a := lastAction(t, f.s, f.org.ID); a != "org.rename" {
			t.Errorf("a refused rename wrote event %q", a)
		}
	})
}

func TestSetOrgStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		s := f.s
		if o, _ := s.OrgByID(ctx, f.org.ID); o.Status != store.OrgActive || f.org.Status != store.OrgActive {
			t.Fatalf("a new organization is %q (returned %q), want active", o.Status, f.org.Status)
		}
		sid := []byte("session-of-alice")
		if err := s.CreateSession(ctx, store.Session{IDHash: sid, OrgID: f.org.ID, UserID: f.user.ID, Stage: "full",
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, store.Event{}); err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateChallenge(ctx, store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.tok.ID, TxIDHash: []byte("tx"),
			Kind: store.ChallengeEmail, CodeMAC: []byte("mac"), Status: store.ChallengePending, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0},
			store.SendLimit{Every: time.Second, Max: 5, Window: time.Minute}, ev(f.org.ID, "challenge.email"))
		if err != nil {
			t.Fatal(err)
		}

		if err := s.SetOrgStatus(ctx, f.org.ID, store.OrgDisabled, ev(f.org.ID, "org.disable")); err != nil {
			t.Fatal(err)
		}
		if o, _ := s.OrgByID(ctx, f.org.ID); o.Status != store.OrgDisabled {
			t.Errorf("status after disable = %q", o.Status)
		}
		sub, err := s.Subject(ctx, f.org.ID, "alice")
		if err != nil || !sub.OrgDisabled {
			t.Errorf("Subject(alice) of a disabled organization: OrgDisabled=%v, %v; want true", sub.OrgDisabled, err)
		}
		if sub, err := s.Subject(ctx, f.org.ID, "nobody"); !errors.Is(err, store.ErrNotFound) || !sub.OrgDisabled {
			t.Errorf("Subject(nobody) of a disabled organization: OrgDisabled=%v, %v; want true and ErrNotFound", sub.OrgDisabled, err)
		}
		if _, err := s.SessionByHash(ctx, sid, t0, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session after disable: err = %v, want ErrNotFound", err)
		}
		if got, _ := s.ChallengeByTxID(ctx, f.org.ID, c.TxIDHash); got.Status != store.ChallengeExpired {
			t.Errorf("pending challenge after disable is %q, want expired", got.Status)
		}
		if err := s.SetOrgStatus(ctx, f.org.ID, store.OrgDisabled, ev(f.org.ID, "org.disable.again")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("disabling twice: err = %v, want ErrNotFound", err)
		}
		if a := lastAction(t, s, f.org.ID); a != "org.disable" {
			t.Errorf("last event %q, want org.disable", a)
		}

		if err := s.SetOrgStatus(ctx, f.org.ID, store.OrgActive, ev(f.org.ID, "org.enable")); err != nil {
			t.Fatal(err)
		}
		if sub, err := s.Subject(ctx, f.org.ID, "alice"); err != nil || sub.OrgDisabled {
			t.Errorf("Subject(alice) after enable: OrgDisabled=%v, %v; want false", sub.OrgDisabled, err)
		}
	})
}

func TestSetUserRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if err := f.s.SetUserRole(ctx, f.org.ID, f.user.ID, store.RoleHelpdesk, ev(f.org.ID, "user.role")); err != nil {
			t.Fatal(err)
		}
		if u, _ := f.s.UserByName(ctx, f.org.ID, "alice"); u.Role != store.RoleHelpdesk {
			t.Errorf("role = %q, want helpdesk", u.Role)
		}
		other, err := f.s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, ev(0, "org.create"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			orgID int64
			role  string
		}{
			{"the role the user has", f.org.ID, store.RoleHelpdesk},
			{"a user of another organization", other.ID, store.RoleAdmin},
		} {
			if err := f.s.SetUserRole(ctx, tt.orgID, f.user.ID, tt.role, ev(f.org.ID, "user.role.again")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", tt.name, err)
			}
		}
		if u, _ := f.s.UserByName(ctx, f.org.ID, "alice"); u.Role != store.RoleHelpdesk {
			t.Errorf("role after refusals = %q, want helpdesk", u.Role)
		}
		if a := lastAction(t, f.s, f.org.ID); a != "user.role" {
			t.Errorf("last event %q, want user.role", a)
		}
	})
}

func TestProviderAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		s := setup(t, b).s
		if us, err := s.ProviderAdmins(ctx); err != nil || len(us) != 0 {
			t.Fatalf("ProviderAdmins before any = %v, %v", us, err)
		}
		var orgID int64
		for _, name := range []string{"zoe", "root"} {
			u, err := s.CreateProviderAdmin(ctx, store.User{Username: name, Role: store.RoleAdmin, Status: store.UserActive, CreatedAt: t0}, t0, ev(0, "admin.create"))
			if err != nil {
				t.Fatalf("CreateProviderAdmin(%s): %v", name, err)
			}
			if orgID != 0 && u.OrgID != orgID {
				t.Errorf("%s is in organization %d, the first admin in %d", name, u.OrgID, orgID)
			}
			orgID = u.OrgID
		}
		if _, err := s.CreateProviderAdmin(ctx, store.User{Username: "root", Role: store.RoleAdmin, Status: store.UserActive, CreatedAt: t0}, t0, ev(0, "admin.create")); !errors.Is(err, store.ErrExists) {
			t.Errorf("second root: err = %v, want ErrExists", err)
		}
		org, err := s.OrgBySlug(ctx, store.ProviderSlug)
		if err != nil || org.ID != orgID || org.Name != store.ProviderName || org.Status != store.OrgActive {
			t.Fatalf("provider organization = %+v, %v", org, err)
		}
		evs, err := s.Events(ctx, orgID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		if fmt.Sprint(actions) != "[admin.create admin.create org.create]" {
			t.Errorf("provider organization's events = %v, want the two admins and its creation once", actions)
		}
		us, err := s.ProviderAdmins(ctx)
		if err != nil || len(us) != 2 || us[0].Username != "root" || us[1].Username != "zoe" {
			t.Fatalf("ProviderAdmins = %+v, %v; want root and zoe", us, err)
		}
		// Provider admins sign in like anyone: the verification core finds them.
		if sub, err := s.Subject(ctx, orgID, "root"); err != nil || sub.UserID != us[0].ID {
			t.Errorf("Subject(root) = %+v, %v", sub, err)
		}
	})
}

func TestSetOrgSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if f.org.OrgSettings != (store.OrgSettings{}) || f.org.LogoHash != "" {
			t.Fatalf("a new organization has settings %+v, logo %q; want none", f.org.OrgSettings, f.org.LogoHash)
		}
		set := store.OrgSettings{SupportContact: "IT helpdesk, +31 20 123 4567", ContinueURL: "https://intranet.acme.example/", SenderName: "Acme IT"}
		if err := f.s.SetOrgSettings(ctx, f.org.ID, store.OrgSettings{}, set, ev(f.org.ID, "org.settings")); err != nil {
			t.Fatal(err)
		}
		for _, read := range []func() (store.Org, error){
			func() (store.Org, error) { return f.s.OrgByID(ctx, f.org.ID) },
			func() (store.Org, error) { return f.s.OrgBySlug(ctx, "acme") },
		} {
			if o, err := read(); err != nil || o.OrgSettings != set {
				t.Errorf("settings read back = %+v, %v; want %+v", o.OrgSettings, err, set)
			}
		}
		if a := lastAction(t, f.s, f.org.ID); a != "org.settings" {
			t.Errorf("last event %q, want org.settings", a)
		}

		// A change made from a copy read before another change of a
		// different setting keeps that one; of the same setting, it is
		// refused.
		other := set
		other.SenderName = "Acme"
		if err := f.s.SetOrgSettings(ctx, f.org.ID, set, other, ev(f.org.ID, "org.settings.sender")); err != nil {
			t.Fatal(err)
		}
		stale := set
		stale.SupportContact = ""
		if err := f.s.SetOrgSettings(ctx, f.org.ID, set, stale, ev(f.org.ID, "org.settings.support")); err != nil {
			t.Fatal(err)
		}
		want := store.OrgSettings{ContinueURL: set.ContinueURL, SenderName: "Acme"}
		if o, _ := f.s.OrgByID(ctx, f.org.ID); o.OrgSettings != want {
			t.Errorf("after two changes of different settings: %+v, want %+v", o.OrgSettings, want)
		}
		lost := set
		lost.SenderName = "Acme Corporation"
		for _, tt := range []struct {
			name     string
			orgID    int64
			from, to store.OrgSettings
			err      error
		}{
			{"a change of a setting changed meanwhile", f.org.ID, set, lost, store.ErrChanged},
			{"no change", f.org.ID, want, want, store.ErrNotFound},
			{"an unknown organization", f.org.ID + 100, want, set, store.ErrChanged},
		} {
			if err := f.s.SetOrgSettings(ctx, tt.orgID, tt.from, tt.to, ev(f.org.ID, "org.settings.refused")); !errors.Is(err, tt.err) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			}
		}
		if o, _ := f.s.OrgByID(ctx, f.org.ID); o.OrgSettings != want {
			t.Errorf("after refusals: %+v, want %+v", o.OrgSettings, want)
		}
		if a := lastAction(t, f.s, f.org.ID); a != "org.settings.support" {
			t.Errorf("a refused change wrote event %q", a)
		}
	})
}

func TestOrgLogo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if _, _, err := f.s.OrgLogo(ctx, f.org.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("OrgLogo without one: err = %v, want ErrNotFound", err)
		}
		for _, logo := range []struct {
			data []byte
			typ  string
		}{
			{[]byte("\x89PNG\r\n\x1a\n first"), "image/png"},
			{[]byte("GIF89a second, \x00 with a zero byte"), "image/gif"},
		} {
			if err := f.s.SetOrgLogo(ctx, f.org.ID, logo.data, logo.typ, ev(f.org.ID, "org.logo")); err != nil {
				t.Fatal(err)
			}
			data, typ, err := f.s.OrgLogo(ctx, f.org.ID)
			if err != nil || string(data) != string(logo.data) || typ != logo.typ {
				t.Errorf("OrgLogo = %q, %q, %v; want %q, %q", data, typ, err, logo.data, logo.typ)
			}
			if o, _ := f.s.OrgBySlug(ctx, "acme"); o.LogoHash != store.LogoHash(logo.data) || len(o.LogoHash) != 64 {
				t.Errorf("LogoHash = %q, want the logo's SHA-256 %q", o.LogoHash, store.LogoHash(logo.data))
			}
		}
		if err := f.s.SetOrgLogo(ctx, f.org.ID, []byte("GIF89a second, \x00 with a zero byte"), "image/gif", ev(f.org.ID, "org.logo.again")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the same logo again: err = %v, want ErrNotFound", err)
		}
		if err := f.s.SetOrgLogo(ctx, f.org.ID+100, []byte("x"), "image/gif", ev(f.org.ID, "org.logo.unknown")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an unknown organization: err = %v, want ErrNotFound", err)
		}
		if err := f.s.RemoveOrgLogo(ctx, f.org.ID, ev(f.org.ID, "org.logo.remove")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.OrgLogo(ctx, f.org.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OrgLogo after removal: err = %v, want ErrNotFound", err)
		}
		if o, _ := f.s.OrgByID(ctx, f.org.ID); o.LogoHash != "" {
			t.Errorf("LogoHash after removal = %q", o.LogoHash)
		}
		if err := f.s.RemoveOrgLogo(ctx, f.org.ID, ev(f.org.ID, "org.logo.remove.again")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing twice: err = %v, want ErrNotFound", err)
		}
		if a := lastAction(t, f.s, f.org.ID); a != "org.logo.remove" {
			t.Errorf("last event %q, want org.logo.remove", a)
		}
	})
}
