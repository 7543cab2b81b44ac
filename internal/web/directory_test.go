package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/directory/ldaptest"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestDirectoryPasswords: with password_auth, the portal's sign-in and
// every later proof of the password ask the directory, and the password
// is not changed here.
func TestDirectoryPasswords(t *testing.T) {
	srv := ldaptest.Start(t)
	srv.Person(t, "dora", "dora-directory-pass", "dora@acme.example", "Dora", nil)
	s := newSite(t, storetest.SQLite(t))
	pw := ldaptest.ServicePassword
	if _, err := s.directory.Set(s.ctx, s.org, map[string]string{"url": srv.URL, "ca_file": srv.CAFile, "bind_dn": ldaptest.ServiceDN,
		"base_dn": ldaptest.PeopleDN, "password_auth": "true"}, &pw); err != nil {
		t.Fatal(err)
	}
	if _, err := s.directory.Sync(s.ctx, s.org, false); err != nil {
		t.Fatal(err)
	}
	g := s.active("dora")
	if p := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"dora"}, "password": {"wrong"}}); p.status == http.StatusSeeOther {
		t.Fatalf("a wrong password signed in: %s", p.header.Get("Location"))
	}
	c := s.login("dora", "dora-directory-pass", g)

	dash := s.get(c, "/o/acme/")
	has(t, dash, en("dashboard.password_directory"), `id="backup-password"`)
	if strings.Contains(dash.body, `id="new_password"`) {
		t.Fatal("the dashboard offers to change a password the directory keeps")
	}
	p := s.post(c, "/o/acme/password", url.Values{"password": {"dora-directory-pass"}, "new_password": {"a brand new passphrase"}, "new_password_confirm": {"a brand new passphrase"}})
	has(t, p, en("error.password_directory"))
	if u, _ := s.store.UserByName(s.ctx, s.org.ID, "dora"); u.PasswordHash != "" {
		t.Fatal("a password was stored for a directory user")
	}
	// No reset link: the password is reset in the directory.
	before := len(s.mails())
	s.post(s.browser(), "/o/acme/login/forgot", url.Values{"username": {"dora"}})
	s.web.Wait()
	if n := len(s.mails()); n != before {
		t.Fatalf("a reset link was mailed for a directory password (%d mails, had %d)", n, before)
	}
	if evs, _ := s.store.Events(s.ctx, s.org.ID, 1); evs[0].Action != "password.reset" || evs[0].Result != "directory" {
		t.Fatalf("the refused reset's event: %+v", evs[0])
	}
	// Backup codes ask for the password, the directory's.
	if p := s.post(c, "/o/acme/backup", url.Values{"password": {"wrong"}}); !strings.Contains(p.body, `aria-invalid="true"`) {
		t.Fatalf("backup codes with a wrong directory password: %d", p.status)
	}
	if p := s.post(c, "/o/acme/backup", url.Values{"password": {"dora-directory-pass"}}); p.status != http.StatusSeeOther {
		t.Fatalf("backup codes with the directory password: %d\n%s", p.status, p.body)
	}
}
