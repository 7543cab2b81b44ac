package directory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/directory"
	"github.com/twofold-mfa/twofold/internal/directory/ldaptest"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// env is a directory.Service on a real store, with organization acme.
type env struct {
	ctx   context.Context
	clock *clock.Fake
	store *store.Store
	admin *admin.Service
	svc   *directory.Service
	org   store.Org
}

func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	s := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{bytes.Repeat([]byte{7}, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: context.Background(), clock: clk, store: s,
		admin: &admin.Service{Store: s, Keys: keys, Hasher: &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}, Clock: clk, Actor: "test"},
		svc:   &directory.Service{Store: s, Keys: keys, Clock: clk, Actor: "test"}}
	if e.org, err = e.admin.CreateOrg(e.ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	return e
}

// connect points acme's directory at srv as its admin, over StartTLS
// with the test CA, plus more settings.
func (e *env) connect(t *testing.T, srv *ldaptest.Server, more map[string]string) {
	t.Helper()
	ch := map[string]string{"url": srv.URL, "ca_file": srv.CAFile, "bind_dn": ldaptest.ServiceDN, "base_dn": ldaptest.PeopleDN}
	for k, v := range more {
		ch[k] = v
	}
	pw := ldaptest.ServicePassword
	if _, err := e.svc.Set(e.ctx, e.org, ch, &pw); err != nil {
		t.Fatal(err)
	}
}

func (e *env) user(t *testing.T, name string) store.User {
	t.Helper()
	u, err := e.store.UserByName(e.ctx, e.org.ID, name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u
}

func (e *env) sync(t *testing.T, dry bool) directory.Report {
	t.Helper()
	r, err := e.svc.Sync(e.ctx, e.org, dry)
	if err != nil {
		t.Fatalf("sync (dry run %v): %v", dry, err)
	}
	return r
}

func counts(r directory.Report) string {
	return fmt.Sprintf("created %d, updated %d, disabled %d, enabled %d, unchanged %d, skipped %d",
		r.Created, r.Updated, r.Disabled, r.Enabled, r.Unchanged, len(r.Skipped))
}

func TestSync(t *testing.T) {
	srv := ldaptest.Start(t)
	admins := srv.Group(t, "twofold-admins", "uid=ann,"+ldaptest.PeopleDN)
	helpdesk := srv.Group(t, "helpdesk", "uid=bob,"+ldaptest.PeopleDN, "uid=ann,"+ldaptest.PeopleDN)
	ann := srv.Person(t, "Ann", "ann-pass", "ann@example.org", "Ann Admin", map[string][]string{"preferredLanguage": {"nl-NL"}})
	bob := srv.Person(t, "bob", "bob-pass", "bob@example.org", "Bob Helpdesk", nil)
	carol := srv.Person(t, "carol", "carol-pass", "carol@example.org", "Carol", nil)
	srv.Person(t, "dave", "dave-pass", "dave@example.org", "Dave", map[string][]string{"userAccountControl": {"514"}})
	srv.Person(t, "bad name", "x", "not-an-address", "Bad", nil)

	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		// A local user the directory does not know is left alone.
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "local-admin", Role: store.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		e.connect(t, srv, map[string]string{"language_attr": "preferredLanguage",
			"roles": "admin:" + admins + "; helpdesk:" + strings.ToUpper(helpdesk)})

		dry := e.sync(t, true)
		if got, want := counts(dry), "created 3, updated 0, disabled 0, enabled 0, unchanged 0, skipped 2"; got != want || !dry.DryRun {
			t.Fatalf("dry run: %s, want %s (%+v)", got, want, dry)
		}
		if _, err := e.store.UserByName(e.ctx, e.org.ID, "ann"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after a dry run, ann: %v; want no such user", err)
		}
		if d, _ := e.store.Directory(e.ctx, e.org.ID); !d.LastSyncAt.IsZero() {
			t.Fatalf("a dry run noted a sync at %v", d.LastSyncAt)
		}

		r := e.sync(t, false)
		if got, want := counts(r), "created 3, updated 0, disabled 0, enabled 0, unchanged 0, skipped 2"; got != want {
			t.Fatalf("first sync: %s, want %s (%+v)", got, want, r)
		}
		for _, w := range []struct{ name, email, display, lang, role string }{
			{"ann", "ann@example.org", "Ann Admin", "nl", store.RoleAdmin},
			{"bob", "bob@example.org", "Bob Helpdesk", "", store.RoleHelpdesk},
			{"carol", "carol@example.org", "Carol", "", store.RoleUser},
		} {
			u := e.user(t, w.name)
			if u.Email != w.email || u.DisplayName != w.display || u.Language != w.lang || u.Role != w.role || u.Status != store.UserActive || u.PasswordHash != "" {
				t.Errorf("user %s = %+v; want %+v, active, no password", w.name, u, w)
			}
		}
		if _, err := e.store.UserByName(e.ctx, e.org.ID, "dave"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dave, disabled in the directory: %v; want not created", err)
		}
		if again := e.sync(t, false); counts(again) != "created 0, updated 0, disabled 0, enabled 0, unchanged 3, skipped 2" {
			t.Errorf("a second sync with nothing changed: %s", counts(again))
		}

		// Changes in the directory: carol's address, bob leaves the
		// helpdesk group, ann is disabled, carol's entry later vanishes.
		srv.Replace(t, carol, "mail", "carol@new.example.org")
		srv.Replace(t, helpdesk, "member", ann)
		srv.Replace(t, ann, "userAccountControl", "514")
		r = e.sync(t, false)
		if got, want := counts(r), "created 0, updated 2, disabled 1, enabled 0, unchanged 0, skipped 2"; got != want {
			t.Fatalf("sync after changes: %s, want %s (%+v)", got, want, r.Changes)
		}
		if u := e.user(t, "carol"); u.Email != "carol@new.example.org" {
			t.Errorf("carol's email = %q, want the new one", u.Email)
		}
		if u := e.user(t, "bob"); u.Role != store.RoleUser {
			t.Errorf("bob's role = %q, want user once out of the group", u.Role)
		}
		if u := e.user(t, "ann"); u.Status != store.UserDisabled {
			t.Errorf("ann, disabled in the directory: %s", u.Status)
		}
		// An operator disables carol; then carol vanishes and returns:
		// the sync never enables a user an operator disabled.
		if err := e.admin.DisableUser(e.ctx, e.org, "carol"); err != nil {
			t.Fatal(err)
		}
		srv.Delete(t, carol)
		srv.Delete(t, bob)
		r = e.sync(t, false)
		if got, want := counts(r), "created 0, updated 0, disabled 1, enabled 0, unchanged 2, skipped 2"; got != want {
			t.Fatalf("sync after removals: %s, want %s (%+v)", got, want, r.Changes)
		}
		if u := e.user(t, "bob"); u.Status != store.UserDisabled {
			t.Errorf("bob, gone from the directory: %s, want disabled (not deleted)", u.Status)
		}
		srv.Replace(t, ann, "userAccountControl", "512")
		bob = srv.Person(t, "bob", "bob-pass", "bob@example.org", "Bob Helpdesk", nil)
		carol = srv.Person(t, "carol", "carol-pass", "carol@new.example.org", "Carol", nil)
		r = e.sync(t, false)
		if got, want := counts(r), "created 0, updated 0, disabled 0, enabled 2, unchanged 1, skipped 2"; got != want {
			t.Fatalf("sync after returns: %s, want %s (%+v)", got, want, r.Changes)
		}
		for name, want := range map[string]string{"ann": store.UserActive, "bob": store.UserActive, "carol": store.UserDisabled, "local-admin": store.UserActive} {
			if u := e.user(t, name); u.Status != want {
				t.Errorf("%s is %s, want %s", name, u.Status, want)
			}
		}
		// Put the directory back as the next backend's run expects it.
		srv.Replace(t, helpdesk, "member", bob, ann)
		srv.Replace(t, carol, "mail", "carol@example.org")

		var actions []string
		evs, err := e.store.Events(e.ctx, e.org.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if strings.HasPrefix(ev.Action, "directory.") {
				actions = append(actions, ev.Action)
			}
			if strings.Contains(ev.Detail, ldaptest.ServicePassword) {
				t.Errorf("event %s holds the bind password: %q", ev.Action, ev.Detail)
			}
		}
		if got := strings.Count(strings.Join(actions, " "), "directory.sync"); got != 5 {
			t.Errorf("%d directory.sync events, want one per sync (5, dry run not counted): %v", got, actions)
		}
	})
}

func TestSyncPages(t *testing.T) {
	srv := ldaptest.Start(t)
	for i := range 25 {
		srv.Person(t, fmt.Sprintf("user%02d", i), "pw", fmt.Sprintf("user%02d@example.org", i), fmt.Sprintf("User %d", i), nil)
	}
	e := newEnv(t, storetest.SQLite(t))
	// The server's size limit for the service account is 10 a search:
	// only paging gets them all.
	e.connect(t, srv, map[string]string{"page_size": "4"})
	if r := e.sync(t, false); r.Created != 25 || r.Found != 25 {
		t.Fatalf("paged sync: found %d, created %d; want 25", r.Found, r.Created)
	}
}

func TestConnectionSecurity(t *testing.T) {
	srv := ldaptest.Start(t)
	srv.Person(t, "ann", "ann-pass", "ann@example.org", "Ann", nil)
	for _, tc := range []struct {
		name     string
		settings map[string]string
		refused  string // "" when the sync works
	}{
		{"StartTLS with the test CA", map[string]string{"url": srv.URL, "ca_file": srv.CAFile}, ""},
		{"ldaps with the test CA", map[string]string{"url": srv.LDAPSURL, "ca_file": srv.CAFile}, ""},
		{"StartTLS with a certificate no CA trusted signed", map[string]string{"url": srv.URL, "ca_file": srv.OtherCAFile}, "certificate"},
		{"ldaps with the system's CAs", map[string]string{"url": srv.LDAPSURL, "ca_file": ""}, "certificate"},
		// Without allow_plaintext, ldap:// is StartTLS or nothing: a
		// certificate it cannot trust is no reason to go on in the clear.
		{"ldap:// without a trusted StartTLS", map[string]string{"url": srv.URL, "ca_file": ""}, "StartTLS"},
		{"plain ldap, allowed", map[string]string{"url": srv.URL, "ca_file": "", "allow_plaintext": "true"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, storetest.SQLite(t))
			e.connect(t, srv, tc.settings)
			_, err := e.svc.Sync(e.ctx, e.org, true)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("sync: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("sync: %v; want a refusal saying %q", err, tc.refused)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		cfg, err := e.svc.Config(e.ctx, e.org)
		if err != nil || cfg.Configured {
			t.Fatalf("Config before any setting: %+v, %v", cfg, err)
		}
		for _, tc := range []struct {
			key, value, says string
		}{
			{"url", "http://dc.example.org", "ldaps://"},
			{"url", "ldap://user:pw@dc.example.org", "ldaps://"},
			{"base_dn", "not a dn", "DN"},
			{"filter", "(objectClass=person", "filter"},
			{"page_size", "0", "1 to 5000"},
			{"sync_interval", "1m", "at least 5m"},
			{"timeout", "0s", "1s"},
			{"roles", "owner:cn=x,dc=example,dc=org", "helpdesk or admin"},
			{"username_attr", "", "empty"},
			{"ca_file", "/nonexistent/ca.pem", "CA file"},
			{"colour", "blue", "unknown directory setting"},
			{"password_auth", "true", "needs the directory's url and base_dn"},
		} {
			_, err := e.svc.Set(e.ctx, e.org, map[string]string{"url": "ldaps://dc.example.org", tc.key: tc.value}, nil)
			if !errors.Is(err, admin.ErrInvalid) && !strings.Contains(fmt.Sprint(err), "unknown") || !strings.Contains(fmt.Sprint(err), tc.says) {
				t.Errorf("%s=%q: %v; want a refusal saying %q", tc.key, tc.value, err, tc.says)
			}
		}
		if cfg, _ := e.svc.Config(e.ctx, e.org); cfg.Configured {
			t.Fatal("a refused change stored settings")
		}
		pw := "bind-secret"
		cfg, err = e.svc.Set(e.ctx, e.org, map[string]string{"url": "ldaps://dc.example.org:636", "base_dn": "dc=example,dc=org", "sync_interval": "1h"}, &pw)
		if err != nil || !cfg.Configured || !cfg.HasPassword || cfg.SyncInterval != time.Hour {
			t.Fatalf("Set = %+v, %v", cfg, err)
		}
		d, err := e.store.Directory(e.ctx, e.org.ID)
		if err != nil || bytes.Contains(d.BindPassword, []byte(pw)) || bytes.Contains(d.Settings, []byte(pw)) || len(d.BindPassword) == 0 {
			t.Fatalf("stored directory %+v, %v: the password must be sealed", d, err)
		}
		// Sealed to this organization's row: copied to another it does not open.
		other, err := e.admin.CreateOrg(e.ctx, "other", "Other")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.PutDirectory(e.ctx, store.Directory{OrgID: other.ID, Settings: d.Settings, BindPassword: d.BindPassword}, 0, store.Event{OrgID: other.ID, At: t0, Action: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Sync(e.ctx, other, true); err == nil || !strings.Contains(err.Error(), "cannot be opened") {
			t.Errorf("a sealed password copied to another organization: %v; want it refused", err)
		}
		// Nothing changed writes nothing; the password stays when not given.
		if cfg, err = e.svc.Set(e.ctx, e.org, map[string]string{"sync_interval": "60m"}, nil); err != nil || !cfg.HasPassword || cfg.Rev != 1 {
			t.Fatalf("an unchanged setting: %+v, %v; want revision 1 still, with the password", cfg, err)
		}
		empty := ""
		if cfg, err = e.svc.Set(e.ctx, e.org, nil, &empty); err != nil || cfg.HasPassword {
			t.Fatalf("removing the password: %+v, %v", cfg, err)
		}
		evs, err := e.store.Events(e.ctx, e.org.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, ev := range evs {
			if ev.Action == "directory.set" {
				details = append(details, ev.Detail)
			}
		}
		if len(details) != 2 || !strings.Contains(details[1], "bind password set") || !strings.Contains(details[0], "bind password removed") || strings.Contains(strings.Join(details, ""), pw) {
			t.Fatalf("directory.set events %q: want one per change, naming the password without its value", details)
		}
	})
}

func TestSyncLease(t *testing.T) {
	srv := ldaptest.Start(t)
	srv.Person(t, "ann", "ann-pass", "ann@example.org", "Ann", nil)
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.connect(t, srv, map[string]string{"sync_interval": "1h"})
		// Another instance holds the lease: no sync, scheduled or asked for.
		if ok, err := e.store.ClaimDirectorySync(e.ctx, e.org.ID, t0, t0.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		if _, err := e.svc.Sync(e.ctx, e.org, false); !errors.Is(err, directory.ErrBusy) {
			t.Fatalf("sync while another holds the lease: %v; want ErrBusy", err)
		}
		if n := e.svc.SyncDue(e.ctx); n != 0 {
			t.Fatalf("SyncDue under another's lease synced %d", n)
		}
		e.clock.Advance(2 * time.Minute) // the lease ran out: its holder died
		if n := e.svc.SyncDue(e.ctx); n != 1 {
			t.Fatalf("SyncDue once due synced %d, want 1", n)
		}
		if n := e.svc.SyncDue(e.ctx); n != 0 {
			t.Fatalf("SyncDue right after a sync synced %d, want 0", n)
		}
		d, _ := e.store.Directory(e.ctx, e.org.ID)
		// Two instances read the same last sync; only the first claim wins.
		now := e.clock.Now().Add(time.Hour)
		first, err1 := e.store.ClaimScheduledSync(e.ctx, e.org.ID, d.LastSyncAt, now, now.Add(time.Minute))
		second, err2 := e.store.ClaimScheduledSync(e.ctx, e.org.ID, d.LastSyncAt, now, now.Add(time.Minute))
		if !first || second || err1 != nil || err2 != nil {
			t.Fatalf("two claims of one due sync: %v %v (%v %v); want the first only", first, second, err1, err2)
		}
		if !strings.Contains(d.LastResult, "1 created") {
			t.Errorf("last result %q", d.LastResult)
		}
		if _, err := e.store.UserByName(e.ctx, e.org.ID, "ann"); err != nil {
			t.Errorf("the scheduled sync did not create ann: %v", err)
		}
	})
}

func TestSyncRefusesAnEmptyResult(t *testing.T) {
	srv := ldaptest.Start(t)
	ann := srv.Person(t, "ann", "ann-pass", "ann@example.org", "Ann", nil)
	e := newEnv(t, storetest.SQLite(t))
	e.connect(t, srv, nil)
	e.sync(t, false)
	srv.Delete(t, ann)
	if _, err := e.svc.Sync(e.ctx, e.org, false); err == nil || !strings.Contains(err.Error(), "no entries") {
		t.Fatalf("sync of an empty result: %v; want it refused", err)
	}
	if u := e.user(t, "ann"); u.Status != store.UserActive {
		t.Fatalf("ann after a refused sync: %s", u.Status)
	}
	evs, err := e.store.Events(e.ctx, e.org.ID, 1)
	if err != nil || evs[0].Action != "directory.sync" || evs[0].Result != "error" || !strings.Contains(evs[0].Detail, "no entries") {
		t.Fatalf("the refused sync's audit event: %+v, %v", evs, err)
	}
}

func TestSyncKeepsAnAddressAnEmailTokenNeeds(t *testing.T) {
	srv := ldaptest.Start(t)
	ann := srv.Person(t, "ann", "ann-pass", "ann@example.org", "Ann", nil)
	bob := srv.Person(t, "bob", "bob-pass", "bob@example.org", "Bob", nil)
	e := newEnv(t, storetest.SQLite(t))
	e.connect(t, srv, nil)
	e.sync(t, false)
	if _, err := e.admin.EnrollToken(e.ctx, e.org, "ann", "email", ""); err != nil {
		t.Fatal(err)
	}
	srv.Replace(t, ann, "mail")
	srv.Replace(t, bob, "mail")
	r := e.sync(t, false)
	if u := e.user(t, "ann"); u.Email != "ann@example.org" {
		t.Errorf("ann, whose email authenticator needs it, lost her address: %q", u.Email)
	}
	if u := e.user(t, "bob"); u.Email != "" {
		t.Errorf("bob's address %q, want it gone as from the directory", u.Email)
	}
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0], "ann: email address kept") {
		t.Errorf("skipped %q, want ann's address kept, with why", r.Skipped)
	}
}
