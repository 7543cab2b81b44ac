package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// forms names the page each form post's form is on (page.Forms).
var forms = page.Forms{
	"POST /o/{org}/admin/login":  {Path: "/o/{org}/admin/login", Query: map[string]string{"next": "next"}},
	"POST /o/{org}/admin/reauth": {Path: "/o/{org}/admin/reauth", Query: map[string]string{"next": "next"}},
	"POST /admin/login":          {Path: "/admin/login", Query: map[string]string{"next": "next"}},
	"POST /admin/reauth":         {Path: "/admin/reauth", Query: map[string]string{"next": "next"}},
}

// section is one part of a console, for its navigation.
type section struct {
	label   string // catalogue key
	path    string // under the console's home: "" for the home itself
	pattern string // the route that shows it
	// also is a path whose pages belong to the section too: the
	// organizations' own pages under the provider's home.
	also string
}

// sections are the parts of each console, in the navigation's order.
var sections = map[scope][]section{
	orgScope: {
		{"console.nav.dashboard", "", "GET /{$}", ""},
		{"console.nav.users", "users", "GET /users", ""},
		{"console.nav.import", "import", "GET /import", ""},
		{"console.nav.enrollments", "enrollments", "GET /enrollments", ""},
		{"console.nav.tokens", "tokens", "GET /tokens", ""},
		{"console.nav.policy", "policy", "GET /policy", ""},
		{"console.nav.settings", "settings", "GET /settings", ""},
		{"console.nav.directory", "directory", "GET /directory", ""},
		{"console.nav.integrations", "integrations", "GET /integrations", ""},
		{"console.nav.audit", "audit", "GET /audit", ""},
	},
	providerScope: {
		{"console.nav.orgs", "", "GET /{$}", "orgs"},
		{"console.nav.default_policy", "policy", "GET /policy", ""},
		{"console.nav.admins", "admins", "GET /admins", ""},
	},
}

// page fills what every console page has: the organization, its time
// zone, the operator, and once signed in the navigation.
func (s *Server) page(w http.ResponseWriter, r *http.Request, v *visit, title string, data any) page.Page {
	p := s.site.Page(w, r, title, data)
	p.In(v.org)
	if v.op.ID != 0 {
		p.User = v.op.Username
		p.Nav = s.nav(r, v)
		p.SignOut = v.home() + "logout"
	}
	return p
}

// nav lists the sections the operator's role may see, marking the one
// the request's path is in.
func (s *Server) nav(r *http.Request, v *visit) []page.NavLink {
	home := v.home()
	rest := strings.TrimPrefix(r.URL.Path, home)
	sc := scopeOf(v.org)
	var links []page.NavLink
	for _, sec := range sections[sc] {
		rt, ok := s.route(sc, sec.pattern)
		if !ok || !permitted(sc, v.op.Role, rt.action) {
			continue
		}
		current := within(rest, sec.path) || (sec.also != "" && within(rest, sec.also))
		links = append(links, page.NavLink{Label: sec.label, URL: home + sec.path, Current: current})
	}
	return links
}

// within reports whether the path rest (under a console's home) is the
// section at path or one of its pages.
func within(rest, path string) bool {
	return rest == path || (path != "" && strings.HasPrefix(rest, path+"/"))
}

// route finds the route of scope with pattern.
func (s *Server) route(sc scope, pattern string) (route, bool) {
	for _, rt := range s.routes {
		if rt.scope == sc && rt.pattern == pattern {
			return rt, true
		}
	}
	return route{}, false
}

// show renders a page.
func (s *Server) show(w http.ResponseWriter, status int, name string, p page.Page) {
	s.site.Show(w, status, name, p)
}

// fail shows the friendly error page, with a way back to the console
// when the request is under one. err, when not nil, is logged: it is a
// failure of Twofold, not of the person.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, status int, message, next string) {
	if err != nil {
		s.Log.Error("console page failed", "path", r.URL.Path, "err", err)
	}
	view := page.ErrorView{Status: status, Message: message, Next: next}
	p := s.site.Page(w, r, "error.title", view)
	if org, ok := s.pathOrg(r); ok {
		p.Org = &page.OrgView{Slug: org.Slug, Name: org.Name}
		view.BackURL = consoleURL(scopeOf(org), org)
		p.Data = view
	}
	s.show(w, status, "error", p)
}

// pathOrg is the organization whose console a request's path is under,
// read from the path itself (a CSRF refusal comes before routing).
func (s *Server) pathOrg(r *http.Request) (store.Org, bool) {
	slug := store.ProviderSlug
	if rest, ok := strings.CutPrefix(r.URL.Path, "/o/"); ok {
		slug, _, _ = strings.Cut(rest, "/")
		if slug == store.ProviderSlug {
			return store.Org{}, false
		}
	} else if !strings.HasPrefix(r.URL.Path, "/admin/") {
		return store.Org{}, false
	}
	org, err := s.Store.OrgBySlug(r.Context(), slug)
	return org, err == nil
}

// unavailable is the answer when the database or mail cannot be reached.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
}

// pageForm is the page a form is on, when it takes nothing from the form.
func pageForm(path string) page.Form { return page.Form{Path: path} }

// withQuery is the page at path (escaped already) with the query
// parameter name=value.
func withQuery(path, name, value string) string {
	return path + "?" + url.Values{name: {value}}.Encode()
}
