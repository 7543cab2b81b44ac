package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/directory"
	"github.com/twofold-mfa/twofold/internal/directory/ldaptest"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// directoryForm is the directory form as a browser posts it unchanged,
// but for changes.
func (s *site) directoryForm(changes map[string]string) url.Values {
	s.t.Helper()
	cfg, err := s.directory.Config(s.ctx, s.org)
	if err != nil {
		s.t.Fatal(err)
	}
	form := url.Values{}
	for _, st := range cfg.List() {
		form.Set(st.Key, st.Value)
	}
	for k, v := range changes {
		form.Set(k, v)
	}
	return form
}

func TestDirectoryPage(t *testing.T) {
	srv := ldaptest.Start(t)
	srv.Person(t, "carol", "carol-pass", "carol@example.org", "Carol Example", nil)
	srv.Person(t, "dan", "dan-pass", "dan@example.org", "Dan Example", nil)
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)

		r := s.get(c, "/o/acme/admin/directory")
		if r.status != http.StatusOK {
			t.Fatalf("directory page: %d", r.status)
		}
		for _, k := range directory.Keys() {
			has(t, r, `name="`+k+`"`, en("console.directory.field."+k+".label"))
		}
		has(t, r, en("console.directory.not_configured"), `name="bind_password" type="password" value="" autocomplete="new-password"`, en("console.nav.directory"))

		// A bad value is refused on its field, and nothing is stored.
		r = s.post(c, "/o/acme/admin/directory", s.directoryForm(map[string]string{"url": "http://dc.example.org", "base_dn": ldaptest.PeopleDN}))
		if r.status != http.StatusBadRequest {
			t.Fatalf("a bad URL: %d, want 400", r.status)
		}
		has(t, r, `<a href="#url">`, `id="url-error"`, `aria-invalid="true"`, `value="http://dc.example.org"`)
		if cfg, _ := s.directory.Config(s.ctx, s.org); cfg.Configured {
			t.Fatal("a refused form stored settings")
		}

		form := s.directoryForm(map[string]string{"url": srv.LDAPSURL, "ca_file": srv.CAFile, "bind_dn": ldaptest.ServiceDN, "base_dn": ldaptest.PeopleDN})
		form.Set("bind_password", ldaptest.ServicePassword)
		r = s.post(c, "/o/acme/admin/directory", form)
		if location(r) != "/o/acme/admin/directory?done=console.flash.directory" {
			t.Fatalf("saving: %d %s\n%s", r.status, location(r), r.body)
		}
		r = s.get(c, location(r))
		has(t, r, en("console.flash.directory"), en("console.directory.bind_password_set"), en("console.directory.never_synced"), `value="`+srv.LDAPSURL+`"`)
		if strings.Contains(r.body, ldaptest.ServicePassword) {
			t.Fatal("the page shows the bind password")
		}
		// The form sent back unchanged keeps the password and writes nothing.
		if r = s.post(c, "/o/acme/admin/directory", s.directoryForm(nil)); location(r) != "/o/acme/admin/directory?done=console.flash.directory_unchanged" {
			t.Fatalf("unchanged: %d %s", r.status, location(r))
		}
		if cfg, _ := s.directory.Config(s.ctx, s.org); !cfg.HasPassword || cfg.Rev != 1 {
			t.Fatalf("after an unchanged post: %+v", cfg)
		}

		r = s.post(c, "/o/acme/admin/directory/dry-run", url.Values{})
		if r.status != http.StatusOK {
			t.Fatalf("dry run: %d\n%s", r.status, r.body)
		}
		has(t, r, en("console.directory.report_dry"), "would create 2", "<th scope=\"row\">carol</th>", "<th scope=\"row\">dan</th>")
		if _, err := s.store.UserByName(s.ctx, s.org.ID, "carol"); err == nil {
			t.Fatal("a dry run created carol")
		}
		r = s.post(c, "/o/acme/admin/directory/sync", url.Values{})
		has(t, r, en("console.directory.report"), "2 found: 2 created")
		if u, err := s.store.UserByName(s.ctx, s.org.ID, "carol"); err != nil || u.DisplayName != "Carol Example" {
			t.Fatalf("carol after the sync: %+v, %v", u, err)
		}
		evs, _ := s.store.Events(s.ctx, s.org.ID, 1)
		if evs[0].Action != "directory.sync" || evs[0].Actor != "ann" {
			t.Fatalf("last event %+v, want ann's directory.sync", evs[0])
		}

		// The directory unreachable: the page says why, nothing changes.
		r = s.post(c, "/o/acme/admin/directory", s.directoryForm(map[string]string{"url": "ldaps://127.0.0.1:1", "timeout": "1s"}))
		if location(r) == "" {
			t.Fatalf("pointing elsewhere: %d", r.status)
		}
		r = s.post(c, "/o/acme/admin/directory/sync", url.Values{})
		if r.status != http.StatusBadGateway {
			t.Fatalf("sync of an unreachable directory: %d, want 502", r.status)
		}
		has(t, r, "could not be synced", "127.0.0.1:1")

		// Removing the password.
		form = s.directoryForm(nil)
		form.Set("bind_password_remove", "1")
		s.post(c, "/o/acme/admin/directory", form)
		if cfg, _ := s.directory.Config(s.ctx, s.org); cfg.HasPassword {
			t.Fatal("the password stayed after its removal")
		}
	})
}

// TestDirectoryReportPassesAxe shows the directory page after a dry run
// and a sync against a real slapd in headless Chromium: the report must
// pass axe-core at a phone's and a PC's width and not scroll sideways at
// 320 px. With TWOFOLD_SCREENSHOTS set to a directory, it is photographed
// there at 390 and 1280 px.
func TestDirectoryReportPassesAxe(t *testing.T) {
	axeJS := pagetest.AxeJS(t)
	srv := ldaptest.Start(t)
	admins := srv.Group(t, "twofold-admins", "uid=marit,"+ldaptest.PeopleDN)
	for _, p := range [][3]string{{"marit", "Marit Jansen", "512"}, {"jonas", "Jonas Müller", "512"}, {"sofie", "Sofie de Vries-van der Linden", "514"}, {"pieter", "Pieter Bos", "512"}} {
		srv.Person(t, p[0], p[0]+"-pass", p[0]+"@acme.example", p[1], map[string][]string{"userAccountControl": {p[2]}})
	}
	s := newSite(t, storetest.SQLite(t))
	ann := s.person(s.org, "ann", store.RoleAdmin)
	bindPassword := ldaptest.ServicePassword
	if _, err := s.directory.Set(s.ctx, s.org, map[string]string{"url": srv.URL, "ca_file": srv.CAFile, "bind_dn": ldaptest.ServiceDN,
		"base_dn": ldaptest.PeopleDN, "roles": "admin:" + admins}, &bindPassword); err != nil {
		t.Fatal(err)
	}
	tab := pagetest.Browser(t, chromedp.IgnoreCertErrors)
	shotDir := os.Getenv("TWOFOLD_SCREENSHOTS")
	run := func(what string, status int64, actions ...chromedp.Action[chromedp.Void]) context.Context {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 60*time.Second)
		t.Cleanup(cancel)
		resp, err := chromedp.RunResponse(ctx, actions...)
		if err != nil || resp.Status != status {
			t.Fatalf("%s: %v, status %v; want %d", what, err, resp, status)
		}
		return ctx
	}
	ctx := run("login", http.StatusOK, chromedp.Navigate(s.srv.URL+"/o/acme/admin/login?lang=en"))
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#username"), ann.name), chromedp.SendKeys(chromedp.CSS("#password"), ann.password),
		chromedp.SendKeys(chromedp.CSS("#code"), s.code(ann))); err != nil {
		t.Fatal(err)
	}
	run("sign in", http.StatusOK, chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
	for _, step := range []struct{ name, button string }{{"dry-run", "/directory/dry-run"}, {"synced", "/directory/sync"}} {
		run("directory", http.StatusOK, chromedp.Navigate(s.srv.URL+"/o/acme/admin/directory"))
		ctx := run(step.name, http.StatusOK, chromedp.Click(chromedp.CSS(`form[action$="`+step.button+`"] button`)))
		if shotDir != "" {
			for _, w := range []int64{390, 1280} {
				// The report, where a phone's window starts after the buttons.
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 900), chromedp.ScrollIntoView(chromedp.CSS(".report"))); err != nil {
					t.Fatal(err)
				}
				png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(shotDir, fmt.Sprintf("console-directory-%s-%d.png", step.name, w)), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := pagetest.InjectAxe(ctx, axeJS); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int64{320, 390, 1280} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 900)); err != nil {
				t.Fatal(err)
			}
			if scroll, wide, err := pagetest.Overflow(ctx, w); err != nil || scroll > 0 {
				t.Errorf("%s at %dpx scrolls sideways by %dpx (%v): %s", step.name, w, scroll, err, wide)
			}
			if w == 320 {
				continue
			}
			violations, err := pagetest.RunAxe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range violations {
				t.Errorf("%s at %dpx: %s", step.name, w, v)
			}
		}
	}
	if u, err := s.store.UserByName(s.ctx, s.org.ID, "marit"); err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("marit after the sync: %+v, %v", u, err)
	}
}
