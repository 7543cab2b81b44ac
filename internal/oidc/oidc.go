// Package oidc makes Twofold an OpenID Connect provider: each organization
// is an issuer at /o/{org}, with discovery, JWKS, authorization, token,
// userinfo, revocation and end-session endpoints (zitadel/oidc's op
// package speaks the protocol; this package is its storage and its login).
//
// Only the authorization code flow is served, with PKCE (S256) required of
// every client, public or confidential. The sign-in is the portal's own
// (package web), under the organization's policy; the portal session is
// the single sign-on session. Claims tell what this sign-in used: amr per
// RFC 8176, acr, auth_time; max_age, prompt=login and acr_values asking for
// two factors are met by a new sign-in or answered with an error, never by
// less. Codes are used once, refresh tokens rotate, and a reused one
// revokes what it was granted. ID tokens are signed with keys Twofold
// makes, publishes before use and rotates, kept sealed with the master key.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/web"
)

// Store is what the provider needs from persistence.
type Store interface {
	OrgBySlug(ctx context.Context, slug string) (store.Org, error)
	UserByID(ctx context.Context, orgID, id int64) (store.User, error)
	Ping(ctx context.Context) error

	OIDCClient(ctx context.Context, orgID int64, clientID string) (store.OIDCClient, error)
	CreateOIDCAuthRequest(ctx context.Context, a store.OIDCAuthRequest) error
	OIDCAuthRequestByID(ctx context.Context, orgID int64, id string, now time.Time) (store.OIDCAuthRequest, error)
	CompleteOIDCAuthRequest(ctx context.Context, orgID int64, id string, userID int64, signIn string, now time.Time, e store.Event) error
	SetOIDCCode(ctx context.Context, orgID int64, id string, codeHash []byte) error
	ConsumeOIDCCode(ctx context.Context, orgID int64, codeHash []byte, now time.Time, reused store.Event) (store.OIDCAuthRequest, error)
	DeleteOIDCAuthRequest(ctx context.Context, orgID int64, id string) error
	CreateOIDCGrant(ctx context.Context, g store.OIDCGrant, t store.OIDCTokens) error
	OIDCGrantByAccessToken(ctx context.Context, orgID int64, accessID string, now time.Time) (store.OIDCGrant, error)
	OIDCGrantByRefreshToken(ctx context.Context, orgID int64, hash []byte, now time.Time, reused store.Event) (store.OIDCGrant, error)
	RotateOIDCRefreshToken(ctx context.Context, orgID int64, hash []byte, t store.OIDCTokens, now time.Time, reused store.Event) error
	RevokeOIDCRefreshToken(ctx context.Context, orgID int64, clientID string, hash []byte, now time.Time, e store.Event) error
	RevokeOIDCAccessToken(ctx context.Context, orgID int64, clientID, accessID string, now time.Time) error
	OIDCKeys(ctx context.Context, orgID int64, now time.Time) ([]store.OIDCKey, error)
	AddOIDCKey(ctx context.Context, k store.OIDCKey, keepOld time.Duration, e store.Event) error
}

// Portal is the portal's sign-in, which the provider's login is.
type Portal interface {
	// SignedIn reports the request's signed-in portal session in org.
	SignedIn(r *http.Request, org store.Org) (web.Portal, bool, error)
	// SignOut ends it.
	SignOut(w http.ResponseWriter, r *http.Request, org store.Org)
}

// Sealer seals the signing keys and the access tokens.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Config holds the provider's parts.
type Config struct {
	Store  Store
	Portal Portal
	Keys   Sealer
	Render *page.Renderer
	Clock  clock.Clock
	Rand   io.Reader
	Log    *slog.Logger
	// PublicURL is the base of the issuers: PublicURL + "/o/{org}".
	PublicURL string
}

// Provider serves every organization's OpenID Connect provider.
type Provider struct {
	Config
	site page.Site

	mu  sync.Mutex
	ops map[int64]*op.Provider // by organization id
	// opened holds the signing keys opened, by key id: opening (sealed,
	// then RSA) is not free.
	opened sync.Map
}

// Lifetimes.
const (
	requestLifetime = 10 * time.Minute // from the application's redirect to the code exchange
	accessLifetime  = time.Hour
	idTokenLifetime = time.Hour
	refreshLifetime = 14 * 24 * time.Hour // a refresh token not used within this ends
	grantLifetime   = 30 * 24 * time.Hour // and a grant, however refreshed
)

// New returns a Provider.
func New(c Config) *Provider {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	return &Provider{Config: c, ops: map[int64]*op.Provider{},
		site: page.Site{Render: c.Render, Forms: forms, Rand: c.Rand, Log: c.Log}}
}

// Paths are the route patterns the provider answers, for the server's
// mux: the issuer's endpoints (op's defaults, under /o/{org}) and the
// pages between the authorization request and the sign-in.
var Paths = []string{
	"/o/{org}/.well-known/openid-configuration",
	"/o/{org}/authorize",
	"/o/{org}/authorize/callback",
	"/o/{org}/oauth/token",
	"/o/{org}/oauth/introspect",
	"/o/{org}/userinfo",
	"/o/{org}/revoke",
	"/o/{org}/end_session",
	"/o/{org}/keys",
	"/o/{org}/oidc/",
}

// Handler returns the provider's routes (Paths).
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	pages := http.NewServeMux()
	pages.HandleFunc("GET /o/{org}/oidc/continue", p.withOrg(p.continueSignIn))
	pages.HandleFunc("POST /o/{org}/oidc/consent", p.withOrg(p.consent))
	guarded := page.Guard(pages, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, r, nil, nil, http.StatusForbidden, "error.csrf", "error.csrf_next")
	}), 16<<10)
	mux.Handle("/o/{org}/oidc/", guarded)
	protocol := p.withOrg(p.serveProtocol)
	for _, path := range Paths {
		if path != "/o/{org}/oidc/" {
			mux.Handle(path, protocol)
		}
	}
	return mux
}

// forms names the page of each form post answered with a page.
var forms = page.Forms{
	"POST /o/{org}/oidc/consent": {Path: "/o/{org}/oidc/continue", Query: map[string]string{"id": "id"}},
}

// withOrg resolves the organization of /o/{org}/; a disabled one has no
// provider.
func (p *Provider) withOrg(h func(http.ResponseWriter, *http.Request, store.Org)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org, err := p.Store.OrgBySlug(r.Context(), r.PathValue("org"))
		if errors.Is(err, store.ErrNotFound) || (err == nil && org.Status == store.OrgDisabled) {
			http.Error(w, "no such issuer", http.StatusNotFound)
			return
		}
		if err != nil {
			p.Log.Error("oidc: organization", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		h(w, r, org)
	}
}

type exchangeKey struct{}

// exchange is the request and its writer, for what op's storage does to
// the browser (ending the portal session at end_session).
type exchange struct {
	w http.ResponseWriter
	r *http.Request
}

// serveProtocol hands the request to the organization's op.Provider,
// whose routes are relative to the issuer.
func (p *Provider) serveProtocol(w http.ResponseWriter, r *http.Request, org store.Org) {
	o, err := p.provider(org)
	if err != nil {
		p.Log.Error("oidc: provider", "org", org.Slug, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == "/o/"+org.Slug+oidc.DiscoveryEndpoint {
		p.discovery(w, r, org, o)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, &exchange{w: w, r: r}))
	http.StripPrefix("/o/"+org.Slug, o).ServeHTTP(w, r)
}

// discovery is op's discovery document, told true to what is served:
// the code flow alone (op lists the implicit flow and device
// authorization, which the storage refuses), PKCE S256, and the acr
// values Twofold tells.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request, org store.Org, o *op.Provider) {
	ctx := op.ContextWithIssuer(r.Context(), p.Issuer(org))
	d := op.CreateDiscoveryConfig(ctx, o, o.Storage())
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{"query"}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	d.DeviceAuthorizationEndpoint, d.CheckSessionIframe = "", ""
	d.ACRValuesSupported = acrValues
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.RequestParameterSupported = false
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if err := json.NewEncoder(w).Encode(d); err != nil {
		p.Log.Warn("oidc: discovery", "err", err)
	}
}

// Issuer is the issuer of org's provider.
func (p *Provider) Issuer(org store.Org) string { return p.PublicURL + "/o/" + org.Slug }

// provider returns org's op.Provider, making it on first use.
func (p *Provider) provider(org store.Org) (*op.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o, ok := p.ops[org.ID]; ok {
		return o, nil
	}
	st := &storage{p: p, org: org}
	cfg := &op.Config{
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: p.PublicURL + "/o/" + org.Slug + "/login?done=signed_out",
		SupportedUILocales:       []language.Tag{language.English, language.Dutch, language.German},
		SupportedScopes:          knownScopes,
		SupportedClaims: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
			"name", "preferred_username", "email"},
	}
	opts := []op.Option{op.WithCrypto(&tokenCrypto{keys: p.Keys, org: org}), op.WithLogger(p.Log)}
	if strings.HasPrefix(p.PublicURL, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(cfg, st, op.StaticIssuer(p.Issuer(org)), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider of %s: %w", org.Slug, err)
	}
	p.ops[org.ID] = o
	return o, nil
}

// knownScopes are the scopes served (admin.OIDCScopes), in the order the
// consent page lists them.
var knownScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess}
