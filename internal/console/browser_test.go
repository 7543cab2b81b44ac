package console

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// browserViewports are the widths console pages are checked at: 320 px,
// the narrowest WCAG 1.4.10 (Reflow) asks for, where only the layout is
// checked, a phone and a PC; the phone and PC are photographed.
var browserViewports = []struct {
	width, height int64
	axe, shot     bool
}{{320, 640, false, false}, {375, 812, true, true}, {1280, 900, true, true}}

// seedConsole fills acme as an organization some weeks into its rollout:
// ann the admin, hal of the helpdesk, and 30 users — most with an app,
// some invited and not yet enrolled, one locked out — who have signed in
// (and failed to), and a RADIUS client and an API key. carol has an app,
// a second invitation waiting and a history. It returns ann.
func seedConsole(t *testing.T, s *site) *person {
	t.Helper()
	ann := s.person(s.org, "ann", store.RoleAdmin)
	s.person(s.org, "hal", store.RoleHelpdesk)
	names := []string{
		"Carol Jansen", "Daan de Vries", "Emma Bakker", "Finn Visser", "Greta Müller", "Hugo Smit",
		"Iris Meijer", "Jürgen Schäfer", "Kim de Boer", "Lars Mulder", "Mia van den Berg", "Noah Dekker",
		"Olivia van Dijk", "Pieter Bos", "Quinn Vos", "Rosa Peters", "Sven Hendriks", "Tess van Leeuwen",
		"Umar Dijkstra", "Vera Brouwer", "Willem de Graaf", "Xenia Koch", "Yara Wagner", "Zeno Becker",
		"Anouk Hoffmann", "Bram Schulz", "Charlotte van der Linden-Oosterhout", "Dirk Janssens", "Eva Maes", "Femke Willems",
	}
	var people []*person
	for i, name := range names {
		username := strings.ToLower(strings.Fields(name)[0])
		email := username + "." + strings.ToLower(strings.ReplaceAll(strings.Fields(name)[len(strings.Fields(name))-1], "ü", "ue")) + "@acme.example"
		switch {
		case i%5 == 3: // invited, the invitation not yet used
			if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: username, DisplayName: name, Email: email}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.admin.EnrollToken(s.ctx, s.org, username, "totp", ""); err != nil {
				t.Fatal(err)
			}
		case i%7 == 5: // added, nothing yet
			if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: username, DisplayName: name, Email: email}); err != nil {
				t.Fatal(err)
			}
		default:
			p := s.person(s.org, username, store.RoleUser)
			if _, err := s.admin.EditUser(s.ctx, s.org, username, admin.UserEdit{DisplayName: &name, Email: &email}); err != nil {
				t.Fatal(err)
			}
			people = append(people, p)
		}
	}
	// Sign-ins, accepted and not, for the audit log and the dashboard.
	for i, p := range people {
		code := s.code(p)
		if i%4 == 1 {
			code = "000000"
		}
		if _, err := s.verifier.Verify(s.ctx, auth.Request{OrgID: s.org.ID, Username: p.name, Code: code, Actor: "radius:vpn-gateway"}); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Advance(30 * time.Second)
	// carol: more sign-ins and a second authenticator on its way.
	carol := people[0]
	for range 3 {
		if _, err := s.verifier.Verify(s.ctx, auth.Request{OrgID: s.org.ID, Username: carol.name, Code: s.code(carol), Actor: "api:intranet"}); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(30 * time.Second)
	}
	if _, err := s.admin.EnrollToken(s.ctx, s.org, carol.name, "totp", "Spare phone"); err != nil {
		t.Fatal(err)
	}
	// One user locked out by wrong codes.
	locked := people[len(people)-1]
	for range 6 {
		if _, err := s.verifier.Verify(s.ctx, auth.Request{OrgID: s.org.ID, Username: locked.name, Code: "123456"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.admin.AddRadiusClient(s.ctx, s.org, admin.NewRadiusClient{Name: "vpn-gateway", Address: "192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.AddOIDCClient(s.ctx, s.org, admin.NewOIDCClient{Name: "Wiki", RedirectURIs: []string{"https://wiki.acme.example/oauth2/callback"}, FirstParty: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.admin.CreateAPIKey(s.ctx, s.org, "intranet"); err != nil {
		t.Fatal(err)
	}
	return ann
}

// TestConsolePassesAxe signs in to a live console through its login page
// in headless Chromium and visits every page there is to see — both
// consoles, the sign-in and re-authentication pages and a page with an
// error — in every language, with the real stylesheet behind the real
// Content-Security-Policy. Each must pass axe-core's WCAG 2.2 A and AA
// rules with every <details> open, at a phone's and a PC's width, and not
// scroll sideways there or at 320 px. On the way the admin adds a user
// through the form. With TWOFOLD_SCREENSHOTS set to a directory, the
// English pages are photographed there, whole, at 375 and 1280 px
// (docs/screenshots).
func TestConsolePassesAxe(t *testing.T) {
	axeJS := pagetest.AxeJS(t)
	s := newSite(t, storetest.SQLite(t))
	// The test server's certificate is its own.
	tab := pagetest.Browser(t, chromedp.IgnoreCertErrors)
	shotDir := os.Getenv("TWOFOLD_SCREENSHOTS")

	ann := seedConsole(t, s)
	// A hardware token in stock, so that a user's page offers it.
	if _, err := (&importer.Importer{Admin: s.admin}).ImportTokens(s.ctx, s.org,
		strings.NewReader("HW-0001,3132333435363738393031323334353637383930,totp,6,30\n"), importer.TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	root := s.provider()
	if _, err := s.admin.CreateOrg(s.ctx, "globex", "Globex Ltd"); err != nil {
		t.Fatal(err)
	}
	s.person(s.orgNamed("globex"), "gina", store.RoleAdmin)
	// A directory connected, synced once, and unreachable now: a sync
	// shows the page with its error.
	bindPassword := "service-account-secret"
	if _, err := s.directory.Set(s.ctx, s.org, map[string]string{"url": "ldaps://127.0.0.1:1", "timeout": "1s",
		"bind_dn": "cn=twofold,ou=services,dc=acme,dc=example", "base_dn": "ou=staff,dc=acme,dc=example",
		"roles": "admin:cn=twofold-admins,ou=groups,dc=acme,dc=example", "sync_interval": "1h"}, &bindPassword); err != nil {
		t.Fatal(err)
	}
	if err := s.store.FinishDirectorySync(s.ctx, s.org.ID, t0, "31 found: 0 created, 2 updated, 1 disabled, 0 enabled, 28 unchanged, 0 skipped"); err != nil {
		t.Fatal(err)
	}

	checked := 0
	// check looks at the page the tab shows, which answered with status:
	// axe at each width, no sideways scrolling, and in English a
	// screenshot named console-<name>-<width>.png.
	check := func(ctx context.Context, name, lang string) {
		t.Helper()
		checked++
		where := fmt.Sprintf("%s (%s)", name, lang)
		if styled, err := pagetest.Styled(ctx, "/static/style.css"); err != nil || !styled {
			t.Fatalf("%s: the stylesheet did not load (%v)", where, err)
		}
		if shotDir != "" && lang == "en" {
			for _, vp := range browserViewports {
				if !vp.shot {
					continue
				}
				png, err := pagetest.Screenshot(ctx, vp.width, vp.height, true)
				if err != nil {
					t.Fatalf("%s at %dpx: screenshot: %v", where, vp.width, err)
				}
				if err := os.WriteFile(filepath.Join(shotDir, fmt.Sprintf("console-%s-%d.png", name, vp.width)), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := pagetest.InjectAxe(ctx, axeJS); err != nil {
			t.Fatalf("%s: inject axe-core: %v", where, err)
		}
		for _, vp := range browserViewports {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
				t.Fatalf("%s: viewport: %v", where, err)
			}
			scroll, wide, err := pagetest.Overflow(ctx, vp.width)
			if err != nil {
				t.Fatalf("%s at %dpx: scrollWidth: %v", where, vp.width, err)
			}
			if scroll > 0 {
				t.Errorf("%s at %dpx wide scrolls sideways: %dpx wide (WCAG 1.4.10); too wide: %s", where, vp.width, scroll, wide)
			}
			if !vp.axe {
				continue
			}
			violations, err := pagetest.RunAxe(ctx)
			if err != nil {
				t.Fatalf("%s at %dpx: axe.run: %v", where, vp.width, err)
			}
			for _, v := range violations {
				t.Errorf("%s at %dpx wide: %s", where, vp.width, v)
			}
		}
		// Back to the PC's width for what comes next.
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatalf("%s: viewport: %v", where, err)
		}
	}
	// step runs actions that load a page under a timeout, and checks the
	// page answered with status.
	step := func(what string, status int64, actions ...chromedp.Action[chromedp.Void]) context.Context {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 60*time.Second)
		t.Cleanup(cancel)
		resp, err := chromedp.RunResponse(ctx, actions...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != status {
			t.Fatalf("%s: status %d, want %d", what, resp.Status, status)
		}
		return ctx
	}
	visit := func(name, lang, path string, status int64) context.Context {
		t.Helper()
		ctx := step(path, status, chromedp.Navigate(s.srv.URL+path))
		check(ctx, name, lang)
		return ctx
	}
	// signIn types the operator's name, password and code into the login
	// page the tab shows and submits it.
	signIn := func(p *person) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#username"), p.name),
			chromedp.SendKeys(chromedp.CSS("#password"), p.password),
			chromedp.SendKeys(chromedp.CSS("#code"), s.code(p)),
		); err != nil {
			t.Fatalf("sign in %s: %v", p.name, err)
		}
		step("sign in "+p.name, http.StatusOK, chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
		s.clock.Advance(30 * time.Second)
		if got, _ := chromedp.Run(ctx, chromedp.Location()); got != s.srv.URL+home(p.org) {
			t.Fatalf("sign in %s: at %s, want %s", p.name, got, home(p.org))
		}
	}

	// Not signed in: the sign-in pages, choosing the language by the
	// switcher's ?lang=, which is then remembered.
	langs := make([]string, len(i18n.Languages))
	for i, l := range i18n.Languages {
		langs[i] = l.Code
		visit("login", l.Code, "/o/acme/admin/login?lang="+l.Code, http.StatusOK)
		visit("provider-login", l.Code, "/admin/login", http.StatusOK)
	}

	// ann signs in through the form, in English.
	step("login", http.StatusOK, chromedp.Navigate(s.srv.URL+"/o/acme/admin/login?lang=en"))
	signIn(ann)

	// The journey: ann adds a user through the form and lands on their
	// page, which says so.
	ctx := step("new user", http.StatusOK, chromedp.Navigate(s.srv.URL+"/o/acme/admin/users/new"))
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#username"), "nadia"),
		chromedp.SendKeys(chromedp.CSS("#display_name"), "Nadia El Amrani"),
		chromedp.SendKeys(chromedp.CSS("#email"), "nadia.elamrani@acme.example"),
	); err != nil {
		t.Fatalf("new user form: %v", err)
	}
	ctx = step("add the user", http.StatusOK, chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
	if got, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(got, s.srv.URL+"/o/acme/admin/users/nadia?") {
		t.Fatalf("after adding a user: at %s", got)
	}
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.notice-ok`)))
	if want := i18n.T("en", "console.flash.user_added_invited"); err != nil || strings.TrimSpace(notice) != want {
		t.Errorf("after adding a user: notice %q (%v)", notice, err)
	}
	h1, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
	if !strings.Contains(h1, "nadia") && !strings.Contains(h1, "Nadia") {
		t.Errorf("after adding a user: heading %q", h1)
	}
	check(ctx, "user-added", "en")

	usersCSV := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(usersCSV, []byte("username,email,display name,language\nolga,olga.nowak@acme.example,Olga Nowak,nl\nnadia,,Nadia again,\nPeter,peter@acme.example,Peter Paulsen,de\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, lang := range langs {
		base := "/o/acme/admin/"
		visit("dashboard", lang, base+"?lang="+lang, http.StatusOK)
		visit("users", lang, base+"users", http.StatusOK)
		visit("users-search", lang, base+"users?q=van", http.StatusOK)
		visit("users-pending", lang, base+"users?filter="+store.FilterPending, http.StatusOK)
		visit("users-locked", lang, base+"users?filter="+store.FilterLocked, http.StatusOK)
		ctx := visit("user", lang, base+"users/carol", http.StatusOK)
		visit("users-new", lang, base+"users/new", http.StatusOK)
		visit("enrollments", lang, base+"enrollments", http.StatusOK)
		visit("rollout", lang, base+"enrollments/rollout", http.StatusOK)
		visit("tokens", lang, base+"tokens", http.StatusOK)
		visit("policy", lang, base+"policy", http.StatusOK)
		visit("integrations", lang, base+"integrations", http.StatusOK)
		visit("audit", lang, base+"audit", http.StatusOK)
		visit("settings", lang, base+"settings", http.StatusOK)
		ctx = visit("directory", lang, base+"directory", http.StatusOK)
		ctx = step("directory sync", http.StatusBadGateway, chromedp.Click(chromedp.CSS(`form[action$="/directory/sync"] button`)))
		check(ctx, "directory-error", lang)
		visit("reauth", lang, base+"reauth?next="+base+"users/carol", http.StatusOK)
		visit("import", lang, base+"import", http.StatusOK)

		// A preview of a CSV of users, one row refused, uploaded through
		// the form.
		ctx = step("import", http.StatusOK, chromedp.Navigate(s.srv.URL+base+"import"))
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(`#file-users`, []string{usersCSV})); err != nil {
			t.Fatalf("import form: %v", err)
		}
		ctx = step("import preview", http.StatusOK, chromedp.Click(chromedp.CSS(`form[action$="/import/users/preview"] button[type="submit"]`)))
		check(ctx, "import-preview", lang)

		// A page with an error: a new password for carol that its
		// confirmation does not repeat, typed into the user's page.
		ctx = step("user", http.StatusOK, chromedp.Navigate(s.srv.URL+base+"users/carol"))
		if err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => { d.open = true })`),
			chromedp.SendKeys(chromedp.CSS("#new_password"), "a long new password 1"),
			chromedp.SendKeys(chromedp.CSS("#new_password_confirm"), "a long new password 2"),
		); err != nil {
			t.Fatalf("password form: %v", err)
		}
		ctx = step("bad password change", http.StatusBadRequest, chromedp.Click(chromedp.CSS(`form[action$="/password"] button[type="submit"]`)))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement.classList.contains("error-summary")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("bad password change (%s): the error summary has not the focus", lang)
		}
		check(ctx, "user-error", lang)
	}

	// The import itself, the good rows only: its page once done.
	ctx = step("import", http.StatusOK, chromedp.Navigate(s.srv.URL+"/o/acme/admin/import?lang=en"))
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(`#file-users`, []string{usersCSV}), chromedp.Click(chromedp.CSS(`#skip_bad`))); err != nil {
		t.Fatalf("import form: %v", err)
	}
	ctx = step("import users", http.StatusOK, chromedp.Click(chromedp.CSS(`form[action$="/import/users/preview"] button[formaction$="/import/users"]`)))
	// The job's page reloads itself until the import is done, and a
	// reload that lands while the browser looks destroys what it looks
	// in: such an error means only "look again".
	for deadline := time.Now().Add(30 * time.Second); ; {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.querySelector("main h1") && !document.querySelector("#progress")`))
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish in 30 s (last error: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	check(ctx, "import-done", "en")
	if _, err := s.admin.User(s.ctx, s.org, "olga"); err != nil {
		t.Errorf("after the import through the page: %v", err)
	}

	// The provider's console, signed in as root through its form.
	step("provider login", http.StatusOK, chromedp.Navigate(s.srv.URL+"/admin/login?lang=en"))
	signIn(root)
	for _, lang := range langs {
		visit("provider-orgs", lang, "/admin/?lang="+lang, http.StatusOK)
		visit("provider-org", lang, "/admin/orgs/acme", http.StatusOK)
		visit("provider-admins", lang, "/admin/admins", http.StatusOK)
		visit("provider-policy", lang, "/admin/policy", http.StatusOK)
		visit("provider-reauth", lang, "/admin/reauth?next=/admin/admins", http.StatusOK)
	}
	t.Logf("checked %d pages at %d widths", checked, len(browserViewports))
}
