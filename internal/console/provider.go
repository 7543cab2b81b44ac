package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// providerRoutes are the service provider's console: the organizations
// it runs, their admins, and its own admins. permitted lets only the
// provider's admins in, whatever the action, so the routes name none.
func (s *Server) providerRoutes() []route {
	rt := func(pattern string, fresh bool, h handler) route {
		return route{pattern: pattern, scope: providerScope, fresh: fresh, h: h}
	}
	return []route{
		rt("GET /{$}", false, s.tenants),
		rt("POST /orgs", true, s.createTenant),
		rt("GET /orgs/{slug}", false, s.tenantPage),
		rt("POST /orgs/{slug}/rename", false, s.tenantChange("console.provider.org.rename", "name", func(r *http.Request, v *visit, org store.Org) (string, error) {
			_, err := v.admin.RenameOrg(r.Context(), org.Slug, r.PostFormValue("name"))
			return "console.provider.flash.renamed", err
		})),
		rt("POST /orgs/{slug}/disable", true, s.tenantChange("console.provider.org.status", "confirm", func(r *http.Request, v *visit, org store.Org) (string, error) {
			if err := confirmed(r, "confirm"); err != nil {
				return "", err
			}
			return "console.provider.flash.disabled", v.admin.DisableOrg(r.Context(), org.Slug)
		})),
		rt("POST /orgs/{slug}/enable", true, s.tenantChange("console.provider.org.status", "", func(r *http.Request, v *visit, org store.Org) (string, error) {
			return "console.provider.flash.enabled", v.admin.EnableOrg(r.Context(), org.Slug)
		})),
		rt("POST /orgs/{slug}/admins", true, s.tenantChange("console.provider.org.appoint", "username", s.appoint)),
		rt("GET /admins", false, s.providerAdmins),
		rt("POST /admins", true, s.addProviderAdmin),
	}
}

// Every form of an organization's page is on that page; the form that
// creates one is on the list.
func init() {
	forms["POST /admin/orgs"] = pageForm("/admin/")
	for _, post := range []string{"rename", "disable", "enable", "admins"} {
		forms["POST /admin/orgs/{slug}/"+post] = pageForm("/admin/orgs/{slug}")
	}
}

// ProviderOrgsView is the provider console's home (page
// "provider_orgs"): the organizations with their counts, and the form
// that creates one, posting slug, name and csrf_token to Action.
type ProviderOrgsView struct {
	Orgs   []ProviderOrgRow
	Action string
	Form   map[string]string // the fields as typed, after a refusal
}

// ProviderOrgRow is one organization in the list: its page (URL) and its
// own console.
type ProviderOrgRow struct {
	store.OrgSummary
	URL, Console string
}

func (s *Server) tenants(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.provider.orgs.title", nil)
	p.Flash = flash(r)
	s.showTenants(w, r, v, http.StatusOK, p, nil)
}

func (s *Server) showTenants(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, form map[string]string) {
	orgs, err := v.admin.Orgs(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	view := ProviderOrgsView{Action: v.home() + "orgs", Form: form}
	for _, o := range orgs {
		view.Orgs = append(view.Orgs, ProviderOrgRow{OrgSummary: o, URL: tenantURL(o.Slug), Console: consoleURL(orgScope, o.Org)})
	}
	p.Data = view
	s.show(w, status, "provider_orgs", p)
}

// createTenant creates an organization and goes on to its page, where
// its first admin is appointed.
func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, v *visit) {
	form := fields(r, "slug", "name")
	org, err := v.admin.CreateOrg(r.Context(), form["slug"], form["name"])
	if err != nil {
		bad, ok := badInput(err, fieldOf(err, "slug", map[string]string{"an organization's name": "name"}))
		if !ok {
			s.unavailable(w, r, err)
			return
		}
		p := refusedIn(s.page(w, r, v, "console.provider.orgs.title", nil), bad, "console.provider.orgs.create")
		s.showTenants(w, r, v, http.StatusBadRequest, p, form)
		return
	}
	page.Redirect(w, r, withDone(tenantURL(org.Slug), "console.provider.flash.created"))
}

// tenantURL is the provider console's page of an organization.
func tenantURL(slug string) string {
	return consoleURL(providerScope, store.Org{}) + "orgs/" + url.PathEscape(slug)
}

// ProviderOrgView is one organization's page in the provider's console
// (page "provider_org"): its forms post csrf_token to Base + "/rename"
// (name), "/disable" (confirm), "/enable" and "/admins" (username, email,
// display_name).
type ProviderOrgView struct {
	Org     store.Org
	Base    string
	Console string // the organization's own console
	Back    string // the list of organizations
	Admins  []store.UserRow
	// MoreAdmins says there are more admins than the page lists.
	MoreAdmins bool
	Form       map[string]string // the fields as typed, after a refusal
}

func (s *Server) tenantPage(w http.ResponseWriter, r *http.Request, v *visit) {
	org, ok := s.tenant(w, r)
	if !ok {
		return
	}
	p := s.page(w, r, v, "console.provider.org.title", nil)
	p.Flash = flash(r)
	s.showTenant(w, r, v, org, http.StatusOK, p, nil)
}

func (s *Server) showTenant(w http.ResponseWriter, r *http.Request, v *visit, org store.Org, status int, p page.Page, form map[string]string) {
	admins, err := v.admin.Users(r.Context(), org, admin.UserQuery{Role: store.RoleAdmin})
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	p.Title = "console.provider.org.title"
	p.Data = ProviderOrgView{
		Org: org, Base: tenantURL(org.Slug), Console: consoleURL(orgScope, org), Back: v.home(),
		Admins: admins.Users, MoreAdmins: admins.Next != "", Form: form,
	}
	s.show(w, status, "provider_org", p)
}

// tenant finds the organization the path names. The provider's own is
// not among them: it is not found (404), like one that does not exist.
func (s *Server) tenant(w http.ResponseWriter, r *http.Request) (store.Org, bool) {
	slug := r.PathValue("slug")
	org, err := s.Store.OrgBySlug(r.Context(), slug)
	if slug == store.ProviderSlug || errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, nil, http.StatusNotFound, "console.provider.error.no_org", "console.provider.error.no_org_next")
		return store.Org{}, false
	}
	if err != nil {
		s.unavailable(w, r, err)
		return store.Org{}, false
	}
	return org, true
}

// tenantChange is a form on an organization's page: do makes the
// change and returns the notice to show after it. A refusal shows the
// page again, with the error in the form headed form, on field unless
// do's error names its own.
func (s *Server) tenantChange(form, field string, do func(r *http.Request, v *visit, org store.Org) (done string, err error)) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		org, ok := s.tenant(w, r)
		if !ok {
			return
		}
		done, err := do(r, v, org)
		if err == nil {
			page.Redirect(w, r, withDone(tenantURL(org.Slug), done))
			return
		}
		bad, ok := badInput(err, field)
		if !ok {
			s.unavailable(w, r, err)
			return
		}
		p := refusedIn(s.page(w, r, v, "console.provider.org.title", nil), bad, form)
		s.showTenant(w, r, v, org, http.StatusBadRequest, p, fields(r, "name", "username", "email", "display_name"))
	}
}

// newUserFields are where admin.Service's refusals of a new user's
// details begin, by the field each is about (fieldOf); any other is
// about the username.
var newUserFields = map[string]string{"email": "email", "a display name": "display_name", "a service provider admin needs an email": "email"}

// appoint makes a user of org its admin: an existing one by their role,
// else a new one, who is mailed an invitation to set up an authenticator
// app when an address is given. An existing user's other details stay as
// they are.
func (s *Server) appoint(r *http.Request, v *visit, org store.Org) (string, error) {
	form := fields(r, "username", "email", "display_name")
	if form["username"] == "" {
		return "", refused{"console.provider.error.username", "username"}
	}
	_, err := v.admin.User(r.Context(), org, form["username"])
	if err == nil {
		return "console.provider.flash.appointed", v.admin.SetRole(r.Context(), org, form["username"], store.RoleAdmin)
	}
	if !errors.Is(err, admin.ErrInvalid) { // admin.User refuses only a user it does not find
		return "", err
	}
	u, err := v.admin.AddUser(r.Context(), org, admin.NewUser{
		Username: form["username"], Email: form["email"], DisplayName: form["display_name"], Role: store.RoleAdmin,
	})
	if errors.Is(err, admin.ErrInvalid) {
		return "", fieldError{err, fieldOf(err, "username", newUserFields)}
	}
	if err != nil {
		return "", err
	}
	if u.Email == "" {
		return "console.provider.flash.added_no_email", nil
	}
	if _, err := s.invite(r.Context(), v.admin, org, u.Username, "totp"); err != nil {
		s.Log.Warn("console: invitation not sent", "org", org.Slug, "user", u.Username, "err", err)
		return "console.provider.flash.added_not_invited", nil
	}
	return "console.provider.flash.added_invited", nil
}

// ProviderAdminsView lists the service provider's admins (page
// "provider_admins"), with the form that adds one, posting username,
// email, display_name and csrf_token to Action.
type ProviderAdminsView struct {
	Admins []store.User
	Action string
	Form   map[string]string // the fields as typed, after a refusal
}

func (s *Server) providerAdmins(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.provider.admins.title", nil)
	p.Flash = flash(r)
	s.showProviderAdmins(w, r, v, http.StatusOK, p, nil)
}

func (s *Server) showProviderAdmins(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, form map[string]string) {
	admins, err := v.admin.ProviderAdmins(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	p.Data = ProviderAdminsView{Admins: admins, Action: v.home() + "admins", Form: form}
	s.show(w, status, "provider_admins", p)
}

// addProviderAdmin adds an admin of the service provider and mails them
// an invitation to set up an authenticator app at once: without one they
// cannot sign in to the console.
func (s *Server) addProviderAdmin(w http.ResponseWriter, r *http.Request, v *visit) {
	form := fields(r, "username", "email", "display_name")
	u, err := v.admin.CreateProviderAdmin(r.Context(), admin.NewUser{Username: form["username"], Email: form["email"], DisplayName: form["display_name"]})
	if err != nil {
		bad, ok := badInput(err, fieldOf(err, "username", newUserFields))
		if !ok {
			s.unavailable(w, r, err)
			return
		}
		p := refusedIn(s.page(w, r, v, "console.provider.admins.title", nil), bad, "console.provider.admins.add")
		s.showProviderAdmins(w, r, v, http.StatusBadRequest, p, form)
		return
	}
	done := "console.provider.flash.admin_invited"
	if _, err := s.invite(r.Context(), v.admin, v.org, u.Username, "totp"); err != nil {
		s.Log.Warn("console: invitation not sent", "user", u.Username, "err", err)
		done = "console.provider.flash.admin_not_invited"
	}
	page.Redirect(w, r, withDone(v.home()+"admins", done))
}

// fields are the form's fields of these names, trimmed.
func fields(r *http.Request, names ...string) map[string]string {
	form := map[string]string{}
	for _, f := range names {
		form[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	return form
}

// fieldOf is the field an admin.Service refusal is about, told by how its
// message begins (admin names the input first): the field of the lead it
// begins with, else def.
func fieldOf(err error, def string, leads map[string]string) string {
	d := detail(err)
	for lead, field := range leads {
		if strings.HasPrefix(d, lead) {
			return field
		}
	}
	return def
}
