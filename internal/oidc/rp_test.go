package oidc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	twomail "github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/oidc"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/server"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/web"
)

var cheap = &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}

// op is a running Twofold — portal and OpenID Connect provider — on a
// real store.
type op struct {
	t        *testing.T
	ctx      context.Context
	clock    *clock.Fake
	store    *store.Store
	admin    *admin.Service
	verifier *auth.Verifier
	srv      *httptest.Server
	orgs     map[string]store.Org
}

func newOP(t *testing.T, b storetest.Backend) *op {
	t.Helper()
	// Near the real time: op stamps ID tokens with the wall clock, and
	// the relying party checks them against it.
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	st := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &op{t: t, ctx: context.Background(), clock: clk, store: st, orgs: map[string]store.Org{}}
	o.srv = httptest.NewUnstartedServer(nil)
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	o.admin = &admin.Service{Store: st, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: o.srv.URL, Actor: "test"}
	sender, err := twomail.New("", t.TempDir(), "Twofold <twofold@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	mails, err := compose.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	mailer := &compose.Mailer{Render: mails, Sender: sender, PublicURL: o.srv.URL}
	o.verifier = auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap, Sender: compose.CodeSender{Store: st, Mailer: mailer}})
	render, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	pages := web.New(web.Config{Store: st, Verifier: o.verifier, Keys: keys, Admin: o.admin, Clock: clk, Render: render, Mailer: mailer})
	t.Cleanup(pages.Wait)
	oidcRender, err := oidc.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	provider := oidc.New(oidc.Config{Store: st, Portal: pages, Keys: keys, Render: oidcRender, Clock: clk, PublicURL: o.srv.URL})
	o.srv.Config.Handler = server.Handler(server.Parts{DB: st, Pages: pages.Handler(), OIDC: provider.Handler(), OIDCPaths: oidc.Paths,
		API: http.NotFoundHandler()})
	return o
}

func (o *op) org(slug string, changes map[string]string) store.Org {
	o.t.Helper()
	org, err := o.admin.CreateOrg(o.ctx, slug, strings.ToUpper(slug[:1])+slug[1:])
	if err != nil {
		o.t.Fatal(err)
	}
	if len(changes) > 0 {
		if _, err := o.admin.SetPolicy(o.ctx, org, changes); err != nil {
			o.t.Fatal(err)
		}
		if org, err = o.store.OrgBySlug(o.ctx, slug); err != nil {
			o.t.Fatal(err)
		}
	}
	o.orgs[slug] = org
	return org
}

func (o *op) user(org store.Org, name string) {
	o.t.Helper()
	if _, err := o.admin.AddUser(o.ctx, org, admin.NewUser{Username: name, Email: name + "@example.org", DisplayName: "User " + name, Password: "correct horse battery"}); err != nil {
		o.t.Fatal(err)
	}
}

// app gives a user of org an active authenticator app.
func (o *op) app(org store.Org, name string) *otp.Generator {
	o.t.Helper()
	en, err := o.admin.EnrollToken(o.ctx, org, name, "totp", "")
	if err != nil {
		o.t.Fatal(err)
	}
	g := generator(o.t, en.URI)
	if out, err := o.verifier.Activate(o.ctx, auth.Request{OrgID: org.ID, Username: name, Code: o.code(g)}, en.Token.Serial); err != nil || !out.Accepted {
		o.t.Fatalf("activate: %+v %v", out, err)
	}
	o.clock.Advance(60 * time.Second)
	return g
}

func generator(t *testing.T, uri string) *otp.Generator {
	t.Helper()
	k, err := otp.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	g, err := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (o *op) code(g *otp.Generator) string {
	return g.Code(uint64(otp.Step(o.clock.Now(), 30*time.Second)))
}

// client registers an application of org whose redirect URI is the
// relying party's.
func (o *op) client(org store.Org, name string, rpURL string, public, firstParty bool) admin.OIDCClientAdded {
	o.t.Helper()
	c, err := o.admin.AddOIDCClient(o.ctx, org, admin.NewOIDCClient{Name: name, RedirectURIs: []string{rpURL + "/cb"}, LogoutURIs: []string{rpURL + "/bye"},
		Public: public, FirstParty: firstParty})
	if err != nil {
		o.t.Fatal(err)
	}
	return c
}

// rp is a relying party as an application builds one: golang.org/x/oauth2
// for the code flow with PKCE, coreos/go-oidc to verify the ID token.
type rp struct {
	t        *testing.T
	srv      *httptest.Server
	ctx      context.Context // carries the HTTP client that trusts the provider's certificate
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	conf     oauth2.Config
	results  chan result

	mu      sync.Mutex
	pending map[string]flow
}

// flow is one authorization the relying party started, by its state.
type flow struct {
	verifier, nonce string
	// wrongVerifier exchanges the code with another verifier than the
	// one whose challenge was sent.
	wrongVerifier bool
}

// result is what the relying party got back at its redirect URI.
type result struct {
	err     string // the error the provider answered, or the exchange's
	code    string
	token   *oauth2.Token
	idToken *gooidc.IDToken
	claims  claims
	info    *gooidc.UserInfo
}

type claims struct {
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
}

func newRP(t *testing.T, o *op, org store.Org) *rp {
	t.Helper()
	r := &rp{t: t, results: make(chan result, 8), pending: map[string]flow{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	r.ctx = gooidc.ClientContext(context.Background(), o.srv.Client())
	return r
}

// connect points the relying party at org's issuer as client c.
func (r *rp) connect(o *op, org store.Org, c admin.OIDCClientAdded) {
	r.t.Helper()
	var err error
	if r.provider, err = gooidc.NewProvider(r.ctx, o.srv.URL+"/o/"+org.Slug); err != nil {
		r.t.Fatalf("discovery: %v", err)
	}
	r.verifier = r.provider.Verifier(&gooidc.Config{ClientID: c.Client.ClientID})
	r.conf = oauth2.Config{ClientID: c.Client.ClientID, ClientSecret: c.Secret, Endpoint: r.provider.Endpoint(), RedirectURL: r.srv.URL + "/cb",
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}
}

// authURL starts an authorization with extra parameters.
func (r *rp) authURL(wrongVerifier bool, extra ...oauth2.AuthCodeOption) (string, string) {
	r.t.Helper()
	return r.start(wrongVerifier, true, extra...)
}

// start starts an authorization, with a nonce or without.
func (r *rp) start(wrongVerifier, nonce bool, extra ...oauth2.AuthCodeOption) (string, string) {
	r.t.Helper()
	state, verifier := rand(r.t), oauth2.GenerateVerifier()
	f := flow{verifier: verifier, wrongVerifier: wrongVerifier}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, extra...)
	if nonce {
		f.nonce = rand(r.t)
		opts = append(opts, gooidc.Nonce(f.nonce))
	}
	r.mu.Lock()
	r.pending[state] = f
	r.mu.Unlock()
	return r.conf.AuthCodeURL(state, opts...), state
}

func rand(t *testing.T) string {
	s, err := secret.Token(nil, 16)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rp) serve(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/bye":
		io.WriteString(w, "signed out")
		return
	case "/cb":
	default:
		http.NotFound(w, req)
		return
	}
	q := req.URL.Query()
	r.mu.Lock()
	f, ok := r.pending[q.Get("state")]
	delete(r.pending, q.Get("state"))
	r.mu.Unlock()
	var res result
	defer func() {
		select {
		case r.results <- res:
		default:
			r.t.Errorf("a result nobody waited for: %+v", res)
		}
		fmt.Fprintf(w, "<!doctype html><title>done</title><p id=done>%s</p>", res.err)
	}()
	if !ok {
		res.err = "state unknown"
		return
	}
	if e := q.Get("error"); e != "" {
		res.err = e
		return
	}
	res.code = q.Get("code")
	verifier := f.verifier
	if f.wrongVerifier {
		verifier = oauth2.GenerateVerifier()
	}
	tok, err := r.conf.Exchange(r.ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		res.err = oauthError(err)
		return
	}
	res.token = tok
	raw, _ := tok.Extra("id_token").(string)
	if res.idToken, err = r.verifier.Verify(r.ctx, raw); err != nil {
		res.err = "id token: " + err.Error()
		return
	}
	if err := res.idToken.Claims(&res.claims); err != nil {
		res.err = err.Error()
		return
	}
	if res.claims.Nonce != f.nonce {
		res.err = "nonce mismatch"
		return
	}
	if res.info, err = r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		res.err = "userinfo: " + err.Error()
	}
}

// oauthError is the OAuth error code of a failed token request.
func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return err.Error()
}

func (r *rp) result(t *testing.T) result {
	t.Helper()
	select {
	case res := <-r.results:
		return res
	case <-time.After(20 * time.Second):
		t.Fatal("the relying party got nothing at its redirect URI")
		return result{}
	}
}

// browser helpers: every step waits for the page it leads to.

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		body, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("browser at %s: %v\n%s", loc, err, body)
	}
}

// waitFor waits until the browser has loaded a page whose address
// starts with prefix. It asks again and again: a page that navigates
// while asked ends the question with an error.
func waitFor(prefix string) chromedp.Action[chromedp.Void] {
	eval := chromedp.Evaluate[bool](fmt.Sprintf(`location.href.startsWith(%q) && document.readyState === "complete"`, prefix))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			if ok, err := eval(ctx, t); err == nil && ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", prefix, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// goTo sends the browser to u, from the page's own script: pages that
// redirect on by themselves do not fail the action.
func goTo(u string) chromedp.Action[chromedp.Void] {
	eval := chromedp.Evaluate[bool](fmt.Sprintf(`(location.href = %q, true)`, u))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := eval(ctx, t)
		return chromedp.Void{}, err
	}
}

// click clicks the element sel finds, from the page's own script: a
// click that navigates does not fail the action.
func click(sel string) chromedp.Action[chromedp.Void] {
	eval := chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := eval(ctx, t)
		return chromedp.Void{}, err
	}
}

// signIn fills the portal's sign-in: password, then the code.
func signIn(t *testing.T, ctx context.Context, o *op, org store.Org, user string, g *otp.Generator) {
	t.Helper()
	base := o.srv.URL + "/o/" + org.Slug
	do(t, ctx, waitFor(base+"/login"))
	// A person takes a moment to type.
	o.clock.Advance(time.Second)
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		click(`form button[type=submit]`))
	if g == nil {
		return
	}
	do(t, ctx, waitFor(base+"/login/code"),
		chromedp.SendKeys(chromedp.CSS(`#code`), o.code(g)),
		click(`form[action$="/login/code"] button[type=submit]`))
	o.clock.Advance(30 * time.Second)
}

func TestRelyingParty(t *testing.T) {
	storetest.Each(t, relyingParty)
}

func relyingParty(t *testing.T, b storetest.Backend) {
	o := newOP(t, b)
	acme := o.org("acme", nil)
	beta := o.org("beta", map[string]string{"mfa_required": "false"})
	o.user(acme, "alice")
	alice := o.app(acme, "alice")
	o.user(acme, "newbie")
	o.user(beta, "bob")

	r := newRP(t, o, acme)
	wiki := o.client(acme, "Wiki", r.srv.URL, false, true)
	r.connect(o, acme, wiki)
	tab := pagetest.Browser(t, chromedp.IgnoreCertErrors)

	// The first sign-in: the portal asks the password and the code; the
	// application learns it took both.
	start := o.clock.Now()
	u, _ := r.authURL(false)
	do(t, tab, goTo(u))
	signIn(t, tab, o, acme, "alice", alice)
	do(t, tab, waitFor(r.srv.URL+"/cb"))
	first := r.result(t)
	if first.err != "" {
		t.Fatalf("sign-in with password and code: %s", first.err)
	}
	if got := strings.Join(first.claims.AMR, " "); got != "pwd otp mfa" || first.claims.ACR != "urn:twofold:loa:2fa" {
		t.Errorf("amr %q, acr %q; want pwd otp mfa and urn:twofold:loa:2fa", got, first.claims.ACR)
	}
	if at := time.Unix(first.claims.AuthTime, 0); at.Before(start.Add(-time.Second)) || at.After(o.clock.Now()) {
		t.Errorf("auth_time %v, want the sign-in's time (between %v and %v)", at, start, o.clock.Now())
	}
	if first.info == nil || first.idToken.Subject == "" || first.info.Subject != first.idToken.Subject || first.info.Email != "alice@example.org" {
		t.Errorf("userinfo %+v; want alice's, of the ID token's subject", first.info)
	}
	var profile struct {
		PreferredUsername string `json:"preferred_username"`
	}
	if err := first.info.Claims(&profile); err != nil || profile.PreferredUsername != "alice" {
		t.Errorf("userinfo preferred_username %q, %v; want alice", profile.PreferredUsername, err)
	}
	if first.token.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}

	t.Run("single sign-on asks nothing again", func(t *testing.T) {
		u, _ := r.authURL(false)
		do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
		res := r.result(t)
		if res.err != "" || res.claims.AuthTime != first.claims.AuthTime {
			t.Fatalf("second authorization: %q, auth_time %d; want the first sign-in's %d", res.err, res.claims.AuthTime, first.claims.AuthTime)
		}
	})

	t.Run("max_age=0 asks for a new sign-in", func(t *testing.T) {
		o.clock.Advance(2 * time.Minute)
		u, _ := r.authURL(false, oauth2.SetAuthURLParam("max_age", "0"))
		do(t, tab, goTo(u))
		signIn(t, tab, o, acme, "alice", alice)
		do(t, tab, waitFor(r.srv.URL+"/cb"))
		res := r.result(t)
		if res.err != "" || res.claims.AuthTime <= first.claims.AuthTime {
			t.Fatalf("max_age=0: %q, auth_time %d; want a new sign-in after %d", res.err, res.claims.AuthTime, first.claims.AuthTime)
		}
	})

	t.Run("prompt=login asks for a new sign-in", func(t *testing.T) {
		o.clock.Advance(time.Minute)
		u, _ := r.authURL(false, oauth2.SetAuthURLParam("prompt", "login"))
		do(t, tab, goTo(u))
		signIn(t, tab, o, acme, "alice", alice)
		do(t, tab, waitFor(r.srv.URL+"/cb"))
		if res := r.result(t); res.err != "" {
			t.Fatalf("prompt=login: %q", res.err)
		}
	})

	t.Run("a code used twice revokes what it gave", func(t *testing.T) {
		u, _ := r.authURL(false)
		do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
		res := r.result(t)
		if res.err != "" {
			t.Fatal(res.err)
		}
		_, err := r.conf.Exchange(r.ctx, res.code, oauth2.VerifierOption("x"))
		if oauthError(err) != "invalid_grant" {
			t.Fatalf("the code again: %v, want invalid_grant", err)
		}
		if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(res.token)); err == nil {
			t.Fatal("the first exchange's access token still works after its code was used again")
		}
		if _, err := refresh(r, res.token.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Fatalf("the first exchange's refresh token after its code was used again: %v, want invalid_grant", err)
		}
	})

	t.Run("refresh tokens rotate, and a reused one revokes its family", func(t *testing.T) {
		next, err := refresh(r, first.token.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if next.RefreshToken == "" || next.RefreshToken == first.token.RefreshToken || next.AccessToken == first.token.AccessToken {
			t.Fatalf("refreshed: %+v; want a new refresh token and access token", next)
		}
		if raw, _ := next.Extra("id_token").(string); raw != "" {
			idt, err := r.verifier.Verify(r.ctx, raw)
			var c claims
			if err != nil || idt.Claims(&c) != nil || strings.Join(c.AMR, " ") != "pwd otp mfa" || c.AuthTime != first.claims.AuthTime {
				t.Errorf("refreshed ID token: %v %+v; want the sign-in's amr and auth_time", err, c)
			}
		}
		if _, err := refresh(r, first.token.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Fatalf("the old refresh token again: %v, want invalid_grant", err)
		}
		if _, err := refresh(r, next.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Fatalf("the new refresh token after the old one's reuse: %v, want invalid_grant (the family is revoked)", err)
		}
		if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(next)); err == nil {
			t.Fatal("the family's access token still works after the reuse")
		}
	})

	t.Run("PKCE is required, S256 only, and checked", func(t *testing.T) {
		noRedirect := noRedirect(o)
		for name, params := range map[string]url.Values{
			"no challenge":     {},
			"plain challenge":  {"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"plain"}},
			"challenge alone":  {"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}},
			"method not known": {"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"S512"}},
		} {
			q := url.Values{"client_id": {wiki.Client.ClientID}, "redirect_uri": {r.srv.URL + "/cb"}, "response_type": {"code"},
				"scope": {"openid"}, "state": {"s1"}}
			for k, v := range params {
				q[k] = v
			}
			resp, err := noRedirect.Get(r.provider.Endpoint().AuthURL + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), r.srv.URL+"/cb") || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s1" {
				t.Errorf("%s: %d to %s; want invalid_request at the redirect URI with the state", name, resp.StatusCode, loc)
			}
		}
		u, _ := r.authURL(true)
		do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
		if res := r.result(t); res.err != "invalid_grant" {
			t.Fatalf("the code with the wrong verifier: %q, want invalid_grant", res.err)
		}
	})

	t.Run("a redirect URI not registered gets no redirect", func(t *testing.T) {
		noRedirect := noRedirect(o)
		for _, uri := range []string{"https://evil.example/cb", r.srv.URL + "/cb/", r.srv.URL + "/cb?x=1", strings.ToUpper(r.srv.URL) + "/cb"} {
			q := url.Values{"client_id": {wiki.Client.ClientID}, "redirect_uri": {uri}, "response_type": {"code"}, "scope": {"openid"},
				"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"S256"}}
			resp, err := noRedirect.Get(r.provider.Endpoint().AuthURL + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("redirect_uri %s: %d to %q; want 400 and no redirect", uri, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("acr_values asking for two factors get them or an error", func(t *testing.T) {
		// alice's session has two factors: it satisfies.
		u, _ := r.authURL(false, oauth2.SetAuthURLParam("acr_values", "urn:twofold:loa:2fa"))
		do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
		if res := r.result(t); res.err != "" || res.claims.ACR != "urn:twofold:loa:2fa" {
			t.Fatalf("acr_values 2fa with a two-factor session: %q %q", res.err, res.claims.ACR)
		}
		// bob's organization asks no second factor, and bob has none.
		br := newRP(t, o, beta)
		br.connect(o, beta, o.client(beta, "Shop", br.srv.URL, false, true))
		btab := pagetest.Browser(t, chromedp.IgnoreCertErrors)
		u, _ = br.authURL(false)
		do(t, btab, goTo(u))
		signIn(t, btab, o, beta, "bob", nil)
		do(t, btab, waitFor(br.srv.URL+"/cb"))
		res := br.result(t)
		if res.err != "" || strings.Join(res.claims.AMR, " ") != "pwd" || res.claims.ACR != "urn:twofold:loa:1fa" {
			t.Fatalf("bob's password-only sign-in: %q, amr %v, acr %q; want pwd and 1fa", res.err, res.claims.AMR, res.claims.ACR)
		}
		// Asked for two factors, the session is not enough: a new sign-in,
		// which cannot do better, ends in an error, never in one factor.
		u, _ = br.authURL(false, oauth2.SetAuthURLParam("acr_values", "urn:twofold:loa:2fa"))
		do(t, btab, goTo(u))
		signIn(t, btab, o, beta, "bob", nil)
		do(t, btab, waitFor(br.srv.URL+"/cb"))
		if res := br.result(t); res.err != "unmet_authentication_requirements" {
			t.Fatalf("acr_values 2fa for a user without a second factor: %q, want unmet_authentication_requirements", res.err)
		}

		t.Run("tokens of one organization are refused by another", func(t *testing.T) {
			if _, err := br.provider.UserInfo(br.ctx, oauth2.StaticTokenSource(first.token)); err == nil {
				t.Error("beta's userinfo took acme's access token")
			}
			raw, _ := first.token.Extra("id_token").(string)
			if _, err := br.provider.Verifier(&gooidc.Config{ClientID: wiki.Client.ClientID}).Verify(br.ctx, raw); err == nil {
				t.Error("beta's keys verify acme's ID token")
			}
			if _, err := br.provider.Verifier(&gooidc.Config{ClientID: wiki.Client.ClientID, SkipIssuerCheck: true}).Verify(br.ctx, raw); err == nil {
				t.Error("beta's keys verify acme's ID token's signature")
			}
			// acme's client is unknown at beta's authorization endpoint.
			q := url.Values{"client_id": {wiki.Client.ClientID}, "redirect_uri": {r.srv.URL + "/cb"}, "response_type": {"code"}, "scope": {"openid"},
				"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"S256"}}
			noRedirect := noRedirect(o)
			resp, err := noRedirect.Get(br.provider.Endpoint().AuthURL + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("acme's client at beta: %d to %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			// acme's client at beta's token endpoint with a code of acme's.
			u, _ := r.authURL(false)
			do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
			res := r.result(t)
			cross := r.conf
			cross.Endpoint = br.provider.Endpoint()
			if _, err := cross.Exchange(r.ctx, res.code, oauth2.VerifierOption("x")); err == nil {
				t.Error("beta's token endpoint took acme's client and code")
			}
		})
	})

	t.Run("forced enrollment at the first sign-in", func(t *testing.T) {
		ntab := pagetest.Browser(t, chromedp.IgnoreCertErrors)
		u, _ := r.authURL(false)
		do(t, ntab, goTo(u))
		signIn(t, ntab, o, acme, "newbie", nil)
		base := o.srv.URL + "/o/acme"
		do(t, ntab, waitFor(base+"/login/enroll"))
		uri, err := chromedp.Run(ntab, chromedp.Evaluate[string](`document.querySelector('a[href^="otpauth:"]').href`))
		if err != nil {
			t.Fatalf("the enrollment page's otpauth link: %v", err)
		}
		g := generator(t, uri)
		do(t, ntab, chromedp.SendKeys(chromedp.CSS(`#code`), o.code(g)),
			click(`form[action$="/login/enroll"] button[type=submit]`),
			waitFor(base+"/backup"),
			click(`#saved`),
			click(`form[action$="/backup/done"] button[type=submit]`),
			waitFor(base+"/setup/email"),
			click(`button[value=skip]`),
			waitFor(r.srv.URL+"/cb"))
		res := r.result(t)
		if res.err != "" || strings.Join(res.claims.AMR, " ") != "pwd otp mfa" {
			t.Fatalf("after forced enrollment: %q, amr %v; want pwd otp mfa", res.err, res.claims.AMR)
		}
	})

	t.Run("prompt=none, no nonce, an unknown parameter, client_secret_post, userinfo by POST", func(t *testing.T) {
		u, _ := r.authURL(false, oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("x-unknown", "1"))
		do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
		if res := r.result(t); res.err != "" {
			t.Fatalf("prompt=none signed in, with an unknown parameter: %q", res.err)
		}
		u, _ = r.start(false, false)
		do(t, tab, goTo(u), waitFor(r.srv.URL+"/cb"))
		if res := r.result(t); res.err != "" || res.claims.Nonce != "" {
			t.Fatalf("without a nonce: %q, nonce %q", res.err, res.claims.Nonce)
		}
		post := newRP(t, o, acme)
		post.connect(o, acme, o.client(acme, "Posting", post.srv.URL, false, true))
		post.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		u, _ = post.authURL(false)
		do(t, tab, goTo(u), waitFor(post.srv.URL+"/cb"))
		res := post.result(t)
		if res.err != "" {
			t.Fatalf("client_secret_post: %q", res.err)
		}
		req, _ := http.NewRequest("POST", post.provider.UserInfoEndpoint(), nil)
		req.Header.Set("Authorization", "Bearer "+res.token.AccessToken)
		resp, err := o.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"sub":"`+res.idToken.Subject+`"`) {
			t.Fatalf("userinfo by POST: %d %s", resp.StatusCode, body)
		}
		// Nobody signed in: prompt=none answers login_required.
		fresh := pagetest.Browser(t, chromedp.IgnoreCertErrors)
		u, _ = r.authURL(false, oauth2.SetAuthURLParam("prompt", "none"))
		do(t, fresh, goTo(u), waitFor(r.srv.URL+"/cb"))
		if res := r.result(t); res.err != "login_required" {
			t.Fatalf("prompt=none signed out: %q, want login_required", res.err)
		}
	})

	t.Run("a third-party application asks the user first", func(t *testing.T) {
		tr := newRP(t, o, acme)
		tr.connect(o, acme, o.client(acme, "Partner", tr.srv.URL, false, false))
		u, _ := tr.authURL(false)
		do(t, tab, goTo(u), waitFor(o.srv.URL+"/o/acme/oidc/continue"), click(`button[value=deny]`), waitFor(tr.srv.URL+"/cb"))
		if res := tr.result(t); res.err != "access_denied" {
			t.Fatalf("consent refused: %q, want access_denied", res.err)
		}
		u, _ = tr.authURL(false)
		do(t, tab, goTo(u), waitFor(o.srv.URL+"/o/acme/oidc/continue"), click(`button[value=allow]`), waitFor(tr.srv.URL+"/cb"))
		if res := tr.result(t); res.err != "" || res.claims.AuthTime == 0 {
			t.Fatalf("consent given: %q", res.err)
		}
	})

	t.Run("end_session ends the portal session, and goes only to a registered address", func(t *testing.T) {
		raw, _ := first.token.Extra("id_token").(string)
		endURL := o.srv.URL + "/o/acme/end_session"
		noRedirect := noRedirect(o)
		resp, err := noRedirect.Get(endURL + "?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "https://evil.example") {
			t.Fatalf("end_session went to an address not registered: %s", loc)
		}
		do(t, tab, goTo(endURL+"?"+url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {r.srv.URL + "/bye"}, "state": {"z"}}.Encode()),
			waitFor(r.srv.URL+"/bye"))
		// Signed out: the next authorization asks for the sign-in.
		u, _ := r.authURL(false)
		do(t, tab, goTo(u), waitFor(o.srv.URL+"/o/acme/login"))
	})
}

// refresh exchanges a refresh token at the token endpoint, as the
// application does.
func refresh(r *rp, token string) (*oauth2.Token, error) {
	return r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: token, Expiry: time.Unix(1, 0)}).Token()
}

// noRedirect is a client of the provider that shows redirects instead of
// following them.
func noRedirect(o *op) *http.Client {
	c := *o.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
