package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/web"
)

// errUnmet is RFC 9470's answer when the sign-in could not be what
// acr_values asked for (OpenID Connect Core, errata set 2).
func errUnmet() *oidc.Error {
	return &oidc.Error{ErrorType: "unmet_authentication_requirements",
		Description: "the sign-in could not use two factors"}
}

// continueSignIn is where op sends the browser with a new authorization
// request, and where the portal sends it back once signed in. A portal
// session whose sign-in does what the request asks completes it (after
// the consent of a third-party application's user); otherwise the browser
// goes to the portal's sign-in, which comes back here.
func (p *Provider) continueSignIn(w http.ResponseWriter, r *http.Request, org store.Org) {
	p.proceed(w, r, org, r.URL.Query().Get("id"), false)
}

// consent takes the consent page's answer.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request, org store.Org) {
	id := r.PostFormValue("id")
	if r.PostFormValue("decision") != "allow" {
		a, ok := p.request(w, r, org, id)
		if ok {
			p.refuse(w, r, org, a, oidc.ErrAccessDenied().WithDescription("the user did not allow the application"))
		}
		return
	}
	p.proceed(w, r, org, id, true)
}

// request finds a pending request of org, or shows the error page.
func (p *Provider) request(w http.ResponseWriter, r *http.Request, org store.Org, id string) (*authRequest, bool) {
	row, err := p.Store.OIDCAuthRequestByID(r.Context(), org.ID, id, p.Clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, &org, nil, http.StatusBadRequest, "oidc.request_gone", "oidc.request_gone_next")
		return nil, false
	}
	var a *authRequest
	if err == nil {
		a, err = newAuthRequest(row)
	}
	if err != nil {
		p.fail(w, r, &org, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
		return nil, false
	}
	return a, true
}

func (p *Provider) proceed(w http.ResponseWriter, r *http.Request, org store.Org, id string, consented bool) {
	a, ok := p.request(w, r, org, id)
	if !ok {
		return
	}
	c, err := p.Store.OIDCClient(r.Context(), org.ID, a.row.ClientID)
	if err != nil {
		p.fail(w, r, &org, nil, http.StatusBadRequest, "oidc.request_gone", "oidc.request_gone_next")
		return
	}
	if a.Done() {
		// A reload after completion: op answers it (once).
		p.showBack(w, r, org, a, c)
		return
	}
	portal, signedIn, err := p.Portal.SignedIn(r, org)
	if err != nil {
		p.fail(w, r, &org, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
		return
	}
	now := p.Clock.Now()
	if !signedIn || !satisfies(a, portal, now) {
		switch {
		case slices.Contains(a.req.Prompt, oidc.PromptNone):
			p.refuse(w, r, org, a, oidc.ErrLoginRequired())
		case signedIn && portal.SignIn.At.After(a.row.CreatedAt):
			// Signed in for this very request, and still short of it:
			// another sign-in would end the same way.
			if wantsTwoFactors(a.req.ACRValues) {
				p.refuse(w, r, org, a, errUnmet())
			} else {
				p.refuse(w, r, org, a, oidc.ErrLoginRequired().WithDescription("the sign-in was not of the user the application named"))
			}
		default:
			// A sign-in too old or too weak for the request: a new one,
			// from the start, replaces it.
			if signedIn {
				p.Portal.SignOut(w, r, org)
			}
			web.Continue(w, org, continueURL(org, id))
			http.Redirect(w, r, "/o/"+org.Slug+"/login", http.StatusFound)
		}
		return
	}
	u, err := p.Store.UserByID(r.Context(), org.ID, portal.UserID)
	if err != nil {
		p.fail(w, r, &org, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
		return
	}
	needsConsent := !c.FirstParty || slices.Contains(a.req.Prompt, oidc.PromptConsent)
	if needsConsent && !consented {
		if slices.Contains(a.req.Prompt, oidc.PromptNone) {
			p.refuse(w, r, org, a, &oidc.Error{ErrorType: "consent_required", Description: "the user must allow the application first"})
			return
		}
		p.showConsent(w, r, org, a, c, u)
		return
	}
	in := claimsOf(portal.SignIn)
	raw, err := json.Marshal(in)
	if err != nil {
		p.fail(w, r, &org, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	e := store.Event{OrgID: org.ID, At: now, Actor: u.Username, Action: "oidc.authorize", Target: c.Name, Result: "ok",
		Detail: "acr=" + in.ACR + " amr=" + strings.Join(in.AMR, ","), Source: page.Source(r)}
	if err := p.Store.CompleteOIDCAuthRequest(r.Context(), org.ID, a.row.ID, u.ID, string(raw), now, e); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			p.fail(w, r, &org, nil, http.StatusBadRequest, "oidc.request_gone", "oidc.request_gone_next")
			return
		}
		p.fail(w, r, &org, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
		return
	}
	p.showBack(w, r, org, a, c)
}

// BackView is the page that sends the browser back to the application.
type BackView struct {
	Client string
	URL    string
	// Refused: the application is told the sign-in did not succeed.
	Refused bool
}

// showBack sends the browser on to op's callback, which answers the
// application, by a page that goes there at once: a redirect would end a
// form post's navigation (the sign-in's, the consent's) on another site,
// which the pages' Content-Security-Policy (form-action 'self') stops.
func (p *Provider) showBack(w http.ResponseWriter, r *http.Request, org store.Org, a *authRequest, c store.OIDCClient) {
	p.back(w, r, org, BackView{Client: c.Name, URL: callbackURL(org, a.row.ID)})
}

func (p *Provider) back(w http.ResponseWriter, r *http.Request, org store.Org, v BackView) {
	pg := p.page(w, r, "oidc_back.title", &org, v)
	pg.RefreshURL = v.URL
	p.site.Show(w, http.StatusOK, "oidc_back", pg)
}

// satisfies reports whether the portal session's sign-in does what the
// request asks: recent enough for max_age (prompt=login is max_age=0),
// two factors for acr_values asking for them, and the user of an
// id_token_hint. A sign-in made after the request was, satisfies any
// max_age.
func satisfies(a *authRequest, portal web.Portal, now time.Time) bool {
	at := portal.SignIn.At
	if a.req.MaxAge != nil && !at.After(a.row.CreatedAt) && now.Sub(at) > time.Duration(*a.req.MaxAge)*time.Second {
		return false
	}
	if wantsTwoFactors(a.req.ACRValues) && claimsOf(portal.SignIn).ACR != acrTwoFactor {
		return false
	}
	return a.req.HintSubject == "" || a.req.HintSubject == subject(portal.UserID)
}

func callbackURL(org store.Org, id string) string {
	return "/o/" + org.Slug + "/authorize/callback?id=" + url.QueryEscape(id)
}

// refuse answers the application with err at its redirect URI (already
// checked against the client's), as op does, by the page that goes back
// (showBack says why not a redirect).
func (p *Provider) refuse(w http.ResponseWriter, r *http.Request, org store.Org, a *authRequest, e *oidc.Error) {
	o, err := p.provider(org)
	if err != nil {
		p.fail(w, r, &org, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
		return
	}
	if err := p.Store.DeleteOIDCAuthRequest(r.Context(), org.ID, a.row.ID); err != nil {
		p.Log.Warn("oidc: drop refused request", "err", err)
	}
	e.State = a.GetState()
	to, err := op.AuthResponseURL(a.GetRedirectURI(), a.GetResponseType(), a.GetResponseMode(), e, o.Encoder())
	if err != nil {
		p.fail(w, r, &org, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	name := a.row.ClientID
	if c, err := p.Store.OIDCClient(r.Context(), org.ID, a.row.ClientID); err == nil {
		name = c.Name
	}
	p.Log.Info("oidc: authorization refused", "org", org.Slug, "client", name, "error", e.ErrorType)
	p.back(w, r, org, BackView{Client: name, URL: to, Refused: true})
}

// ConsentView is the consent page: which application asks, for whom, and
// what it will get.
type ConsentView struct {
	Action   string
	ID       string
	Client   string
	Username string
	// Scopes are the catalogue keys of what the application gets.
	Scopes []string
}

func (p *Provider) showConsent(w http.ResponseWriter, r *http.Request, org store.Org, a *authRequest, c store.OIDCClient, u store.User) {
	view := ConsentView{Action: "/o/" + org.Slug + "/oidc/consent", ID: a.row.ID, Client: c.Name, Username: u.Username}
	for _, s := range knownScopes {
		if slices.Contains(a.req.Scopes, s) {
			view.Scopes = append(view.Scopes, "oidc_consent.scope."+s)
		}
	}
	pg := p.page(w, r, "oidc_consent.title", &org, view)
	p.site.Show(w, http.StatusOK, "oidc_consent", pg)
}

// page fills what every page has, in org.
func (p *Provider) page(w http.ResponseWriter, r *http.Request, title string, org *store.Org, data any) page.Page {
	pg := p.site.Page(w, r, title, data)
	pg.Loc = time.UTC
	if org != nil {
		pg.In(*org)
	}
	return pg
}

// fail shows the friendly error page, with a way back to the portal; err,
// when not nil, is a failure of Twofold and is logged.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, org *store.Org, err error, status int, message, next string) {
	if err != nil {
		p.Log.Error("oidc: page failed", "path", r.URL.Path, "err", err)
	}
	view := page.ErrorView{Status: status, Message: message, Next: next}
	if org != nil {
		view.BackURL = "/o/" + org.Slug + "/"
	}
	p.site.Show(w, status, "error", p.page(w, r, "error.title", org, view))
}
