package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// IntegrationsView lists the organization's API keys, RADIUS clients and
// applications that sign in with Twofold (OpenID Connect) (page
// "integrations"), with the forms that add and revoke them. A new key's
// or client's secret is in Shown, this once.
type IntegrationsView struct {
	Base    string // the page; forms post to Base + "/…"
	Keys    []store.APIKey
	Clients []store.RadiusClient
	Apps    []store.OIDCClient
	Issuer  string // the organization's OpenID Connect issuer
	Shown   *ShownSecret
	Form    map[string]string // the fields as typed, after a refusal
}

// ShownSecret is a secret shown once, just made.
type ShownSecret struct {
	Kind     string // "apikey", "radius" or "oidc"
	Name     string
	ClientID string // an application's client id
	Secret   string
	Warning  string // what the operator should know about it, in English from admin
}

func (s *Server) integrationRoutes(org func(string, admin.Action, handler) route, fresh func(route) route) []route {
	return []route{
		org("GET /integrations", admin.IntegrationsWrite, s.integrations),
		fresh(org("POST /integrations/apikeys", admin.IntegrationsWrite, s.createAPIKey)),
		org("POST /integrations/apikeys/revoke", admin.IntegrationsWrite, s.revokeAPIKey),
		fresh(org("POST /integrations/radius", admin.IntegrationsWrite, s.addRadiusClient)),
		org("POST /integrations/radius/remove", admin.IntegrationsWrite, s.removeRadiusClient),
		fresh(org("POST /integrations/oidc", admin.IntegrationsWrite, s.addOIDCClient)),
		org("POST /integrations/oidc/remove", admin.IntegrationsWrite, s.removeOIDCClient),
	}
}

func init() {
	for _, post := range []string{"apikeys", "apikeys/revoke", "radius", "radius/remove", "oidc", "oidc/remove"} {
		forms["POST /o/{org}/admin/integrations/"+post] = pageForm("/o/{org}/admin/integrations")
	}
}

func (s *Server) integrations(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.integrations.title", nil)
	p.Flash = flash(r)
	s.showIntegrations(w, r, v, http.StatusOK, p, nil, nil)
}

func (s *Server) showIntegrations(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, shown *ShownSecret, form map[string]string) {
	keys, err := v.admin.APIKeys(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	clients, err := v.admin.RadiusClients(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	apps, err := v.admin.OIDCClients(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	p.Data = IntegrationsView{Base: v.home() + "integrations", Keys: keys, Clients: clients, Apps: apps,
		Issuer: strings.TrimSuffix(v.admin.PublicURL, "/") + "/o/" + v.org.Slug, Shown: shown, Form: form}
	s.show(w, status, "integrations", p)
}

// integrationRefused shows the page again with what was wrong with the
// form headed form.
func (s *Server) integrationRefused(w http.ResponseWriter, r *http.Request, v *visit, form, field string, err error, typed map[string]string) {
	if !errors.Is(err, admin.ErrInvalid) {
		s.unavailable(w, r, err)
		return
	}
	p := s.page(w, r, v, "console.integrations.title", nil)
	bad := invalidInput(err, field)
	p.Error, p.ErrorArgs, p.ErrorField, p.ErrorForm = bad.Error, bad.ErrorArgs, bad.ErrorField, form
	s.showIntegrations(w, r, v, http.StatusBadRequest, p, nil, typed)
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, v *visit) {
	name := strings.TrimSpace(r.PostFormValue("key_name"))
	key, k, err := v.admin.CreateAPIKey(r.Context(), v.org, name)
	if err != nil {
		s.integrationRefused(w, r, v, "console.integrations.apikeys", "key_name", err, map[string]string{"key_name": name})
		return
	}
	p := s.page(w, r, v, "console.integrations.title", nil)
	p.Flash = "console.flash.apikey_created"
	s.showIntegrations(w, r, v, http.StatusOK, p, &ShownSecret{Kind: "apikey", Name: k.Name, Secret: key}, nil)
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := v.admin.RevokeAPIKey(r.Context(), v.org, r.PostFormValue("name")); err != nil {
		s.integrationRefused(w, r, v, "console.integrations.apikeys", "", err, nil)
		return
	}
	page.Redirect(w, r, withDone(v.home()+"integrations", "console.flash.apikey_revoked"))
}

func (s *Server) addRadiusClient(w http.ResponseWriter, r *http.Request, v *visit) {
	typed := map[string]string{}
	for _, f := range []string{"client_name", "address", "secret", "legacy"} {
		typed[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	added, err := v.admin.AddRadiusClient(r.Context(), v.org, admin.NewRadiusClient{
		Name: typed["client_name"], Address: typed["address"], Secret: r.PostFormValue("secret"),
		AllowMissingMessageAuthenticator: typed["legacy"] != "",
	})
	if err != nil {
		delete(typed, "secret")
		s.integrationRefused(w, r, v, "console.integrations.radius", radiusField(err, typed["address"]), err, typed)
		return
	}
	p := s.page(w, r, v, "console.integrations.title", nil)
	p.Flash = "console.flash.radius_added"
	shown := &ShownSecret{Kind: "radius", Name: added.Client.Name, Warning: added.Warning}
	if added.Generated {
		shown.Secret = added.Secret
	}
	s.showIntegrations(w, r, v, http.StatusOK, p, shown, nil)
}

// radiusField is the field a refusal of a new RADIUS client is about:
// the address when it does not parse, the secret when admin says so (its
// rules are admin's), else the name.
func radiusField(err error, address string) string {
	if _, perr := admin.ParseClientAddress(address); perr != nil {
		return "address"
	}
	if strings.Contains(err.Error(), "shared secret") {
		return "secret"
	}
	return "client_name"
}

func (s *Server) removeRadiusClient(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := v.admin.RemoveRadiusClient(r.Context(), v.org, r.PostFormValue("name")); err != nil {
		s.integrationRefused(w, r, v, "console.integrations.radius", "", err, nil)
		return
	}
	page.Redirect(w, r, withDone(v.home()+"integrations", "console.flash.radius_removed"))
}

func (s *Server) addOIDCClient(w http.ResponseWriter, r *http.Request, v *visit) {
	typed := map[string]string{}
	for _, f := range []string{"app_name", "redirect_uris", "logout_uris", "public", "first_party"} {
		typed[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	added, err := v.admin.AddOIDCClient(r.Context(), v.org, admin.NewOIDCClient{
		Name: typed["app_name"], RedirectURIs: strings.Fields(typed["redirect_uris"]), LogoutURIs: strings.Fields(typed["logout_uris"]),
		Public: typed["public"] != "", FirstParty: typed["first_party"] != "",
	})
	if err != nil {
		s.integrationRefused(w, r, v, "console.integrations.oidc", oidcField(err), err, typed)
		return
	}
	p := s.page(w, r, v, "console.integrations.title", nil)
	p.Flash = "console.flash.oidc_added"
	s.showIntegrations(w, r, v, http.StatusOK, p, &ShownSecret{Kind: "oidc", Name: added.Client.Name, ClientID: added.Client.ClientID, Secret: added.Secret}, nil)
}

// oidcField is the field a refusal of a new application is about.
func oidcField(err error) string {
	switch msg := err.Error(); {
	case strings.Contains(msg, "post-logout"):
		return "logout_uris"
	case strings.Contains(msg, "redirect URI"):
		return "redirect_uris"
	}
	return "app_name"
}

func (s *Server) removeOIDCClient(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := v.admin.RemoveOIDCClient(r.Context(), v.org, r.PostFormValue("client_id")); err != nil {
		s.integrationRefused(w, r, v, "console.integrations.oidc", "", err, nil)
		return
	}
	page.Redirect(w, r, withDone(v.home()+"integrations", "console.flash.oidc_removed"))
}
