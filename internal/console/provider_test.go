package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// provider makes the service provider's organization with a first admin,
// zoe, and returns root, an admin who can sign in.
func (s *site) provider() *person {
	s.t.Helper()
	if _, err := s.admin.CreateProviderAdmin(s.ctx, admin.NewUser{Username: "zoe", Email: "zoe@provider.example"}); err != nil {
		s.t.Fatal(err)
	}
	prov, err := s.store.OrgBySlug(s.ctx, store.ProviderSlug)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.person(prov, "root", store.RoleAdmin)
}

func (s *site) orgNamed(slug string) store.Org {
	s.t.Helper()
	org, err := s.store.OrgBySlug(s.ctx, slug)
	if err != nil {
		s.t.Fatalf("organization %s: %v", slug, err)
	}
	return org
}

// refusedOn fails unless r is the page again (400) with the error on
// field, and the language switcher links to page.
func refusedOn(t *testing.T, r response, field, page string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("want a refusal (400), got %d %q\n%s", r.status, location(r), r.body)
	}
	has(t, r, `id="`+field+`-error"`, `href="#`+field+`"`, `href="`+page+`?lang=nl"`)
}

func TestProviderConsoleOrganizations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		root := s.provider()
		c := s.signIn(root)

		r := s.get(c, "/admin/")
		if r.status != http.StatusOK {
			t.Fatalf("home: %d %q", r.status, location(r))
		}
		has(t, r, "Acme Corp", `href="/admin/orgs/acme"`, `href="/o/acme/admin/"`, en("console.nav.admins"))
		if strings.Contains(r.body, store.ProviderSlug) {
			t.Error("the provider's own organization is listed")
		}

		// Bad input is refused on its field and creates nothing.
		refusedOn(t, s.post(c, "/admin/orgs", url.Values{"slug": {"Not A Slug"}, "name": {"Globex"}}), "slug", "/admin/")
		refusedOn(t, s.post(c, "/admin/orgs", url.Values{"slug": {"acme"}, "name": {"Acme again"}}), "slug", "/admin/")
		refusedOn(t, s.post(c, "/admin/orgs", url.Values{"slug": {"globex"}, "name": {"Glo\x07bex"}}), "name", "/admin/")
		if orgs, _ := s.admin.Orgs(s.ctx); len(orgs) != 1 {
			t.Fatalf("refused posts made organizations: %+v", orgs)
		}

		r = s.post(c, "/admin/orgs", url.Values{"slug": {"globex"}, "name": {"Globex"}})
		if location(r) != "/admin/orgs/globex?done=console.provider.flash.created" {
			t.Fatalf("create: %d %q\n%s", r.status, location(r), r.body)
		}
		r = s.get(c, location(r))
		has(t, r, en("console.provider.flash.created"), "<h1>Globex</h1>", en("console.provider.org.no_admins"))

		// Rename.
		refusedOn(t, s.post(c, "/admin/orgs/globex/rename", url.Values{"name": {""}}), "name", "/admin/orgs/globex")
		if r := s.post(c, "/admin/orgs/globex/rename", url.Values{"name": {"Globex Corporation"}}); location(r) != "/admin/orgs/globex?done=console.provider.flash.renamed" {
			t.Fatalf("rename: %d %q", r.status, location(r))
		}
		globex := s.orgNamed("globex")
		if globex.Name != "Globex Corporation" {
			t.Fatalf("renamed to %q", globex.Name)
		}

		// Appoint an existing user, then a new one, who is invited.
		ann := s.person(globex, "ann", store.RoleUser)
		if r := s.post(c, "/admin/orgs/globex/admins", url.Values{"username": {"ANN"}}); location(r) != "/admin/orgs/globex?done=console.provider.flash.appointed" {
			t.Fatalf("appoint ann: %d %q\n%s", r.status, location(r), r.body)
		}
		if u, _ := s.admin.User(s.ctx, globex, "ann"); u.Role != store.RoleAdmin {
			t.Fatalf("ann is %s, want admin", u.Role)
		}
		refusedOn(t, s.post(c, "/admin/orgs/globex/admins", url.Values{"username": {"ann"}}), "username", "/admin/orgs/globex")
		refusedOn(t, s.post(c, "/admin/orgs/globex/admins", url.Values{"username": {"hank"}, "email": {"not an address"}}), "email", "/admin/orgs/globex")
		if _, err := s.admin.User(s.ctx, globex, "hank"); err == nil {
			t.Fatal("a refused appointment added hank")
		}
		before := len(s.mails())
		r = s.post(c, "/admin/orgs/globex/admins", url.Values{"username": {"hank"}, "email": {"hank@globex.example"}, "display_name": {"Hank Scorpio"}})
		if location(r) != "/admin/orgs/globex?done=console.provider.flash.added_invited" {
			t.Fatalf("appoint hank: %d %q\n%s", r.status, location(r), r.body)
		}
		mails := s.mails()
		if len(mails) != before+1 || !strings.Contains(mails[len(mails)-1].Header.Get("To"), "hank@globex.example") {
			t.Fatalf("hank's invitation: %d mails, was %d", len(mails), before)
		}
		if u, _ := s.admin.User(s.ctx, globex, "hank"); u.Role != store.RoleAdmin || u.DisplayName != "Hank Scorpio" {
			t.Fatalf("hank = %+v", u)
		}
		r = s.get(c, "/admin/orgs/globex")
		has(t, r, "ann", "Hank Scorpio", "hank@globex.example")

		// Disable: asked to confirm, then every sign-in of globex's users
		// is refused and their sessions end.
		annConsole := s.signIn(ann)
		refusedOn(t, s.post(c, "/admin/orgs/globex/disable", url.Values{}), "confirm", "/admin/orgs/globex")
		if r := s.post(c, "/admin/orgs/globex/disable", url.Values{"confirm": {"1"}}); location(r) != "/admin/orgs/globex?done=console.provider.flash.disabled" {
			t.Fatalf("disable: %d %q", r.status, location(r))
		}
		if s.orgNamed("globex").Status != store.OrgDisabled {
			t.Fatal("globex is not disabled")
		}
		if location(s.get(annConsole, "/o/globex/admin/")) == "" {
			t.Error("ann's console session outlived the organization's disabling")
		}
		login := url.Values{"username": {"ann"}, "password": {ann.password}, "code": {s.code(ann)}}
		if r := s.post(s.browser(), "/o/globex/admin/login", login); r.status != http.StatusUnauthorized {
			t.Errorf("ann signed in to a disabled organization's console: %d %q", r.status, location(r))
		}
		has(t, s.get(c, "/admin/"), en("console.provider.state.disabled"))

		s.clock.Advance(30 * time.Second)
		if r := s.post(c, "/admin/orgs/globex/enable", url.Values{}); location(r) != "/admin/orgs/globex?done=console.provider.flash.enabled" {
			t.Fatalf("enable: %d %q", r.status, location(r))
		}
		s.signIn(ann)

		// The provider's own organization is no tenant: not found.
		for _, path := range []string{"/admin/orgs/" + store.ProviderSlug, "/admin/orgs/nosuch"} {
			if r := s.get(c, path); r.status != http.StatusNotFound {
				t.Errorf("GET %s: %d", path, r.status)
			}
		}
		if r := s.post(c, "/admin/orgs/"+store.ProviderSlug+"/disable", url.Values{"confirm": {"1"}}); r.status != http.StatusNotFound {
			t.Errorf("disable the provider: %d", r.status)
		}
		if r := s.post(c, "/admin/orgs/"+store.ProviderSlug+"/admins", url.Values{"username": {"mallory"}}); r.status != http.StatusNotFound {
			t.Errorf("appoint in the provider: %d", r.status)
		}

		// A stale sign-in asks again before creating an organization.
		s.clock.Advance(freshFor + time.Minute)
		if r := s.post(c, "/admin/orgs", url.Values{"slug": {"initech"}}); location(r) != "/admin/reauth?next=%2Fadmin%2F" {
			t.Fatalf("stale create: %d %q", r.status, location(r))
		}
		if _, err := s.store.OrgBySlug(s.ctx, "initech"); err == nil {
			t.Fatal("created before re-authenticating")
		}
	})
}

func TestProviderConsoleAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		c := s.signIn(s.provider())
		has(t, s.get(c, "/admin/admins"), "root@_provider.example", "zoe@provider.example")

		refusedOn(t, s.post(c, "/admin/admins", url.Values{"username": {"pat"}}), "email", "/admin/admins")
		refusedOn(t, s.post(c, "/admin/admins", url.Values{"username": {"zoe"}, "email": {"z@provider.example"}}), "username", "/admin/admins")
		before := len(s.mails())
		r := s.post(c, "/admin/admins", url.Values{"username": {"pat"}, "email": {"pat@provider.example"}, "display_name": {"Pat"}})
		if location(r) != "/admin/admins?done=console.provider.flash.admin_invited" {
			t.Fatalf("add pat: %d %q\n%s", r.status, location(r), r.body)
		}
		mails := s.mails()
		if len(mails) != before+1 || !strings.Contains(mails[len(mails)-1].Header.Get("To"), "pat@provider.example") {
			t.Fatalf("pat's invitation: %d mails, was %d", len(mails), before)
		}
		admins, err := s.admin.ProviderAdmins(s.ctx)
		if err != nil || len(admins) != 3 {
			t.Fatalf("provider admins = %+v, %v", admins, err)
		}
		has(t, s.get(c, "/admin/admins?done=console.provider.flash.admin_invited"), "pat@provider.example", en("console.provider.flash.admin_invited"))
	})
}

func TestProviderConsoleIsNotForOrgAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.provider()
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		// A session of acme's console is none of the provider's.
		for _, path := range []string{"/admin/", "/admin/orgs/acme", "/admin/admins"} {
			if got := location(s.get(c, path)); got != withQuery("/admin/login", "next", path) {
				t.Errorf("GET %s as acme's admin: %q", path, got)
			}
		}
		if r := s.post(c, "/admin/orgs/acme/disable", url.Values{"confirm": {"1"}}); location(r) != "/admin/login" {
			t.Errorf("disable acme as its admin: %d %q", r.status, location(r))
		}
		if s.orgNamed("acme").Status != store.OrgActive {
			t.Fatal("acme's admin disabled acme")
		}
		// Nor do acme's credentials sign in here.
		r := s.post(s.browser(), "/admin/login", url.Values{"username": {"ann"}, "password": {ann.password}, "code": {s.code(ann)}})
		if r.status != http.StatusUnauthorized {
			t.Fatalf("acme's admin at /admin/login: %d %q", r.status, location(r))
		}
	})
}
