package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/directory"
	twomail "github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/server"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/web"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 10, 0, time.UTC)

var cheap = &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}

// site is a running Twofold — portal and console behind the server's
// own routes — on a real store, mailing to an outbox.
type site struct {
	t         testing.TB
	ctx       context.Context
	clock     *clock.Fake
	store     *store.Store
	admin     *admin.Service
	directory *directory.Service
	verifier  *auth.Verifier
	console   *Server
	portal    *web.Server // whose Wait lets the mails it sends after an answer arrive
	srv       *httptest.Server
	outbox    string
	org       store.Org // acme
}

func newSite(t testing.TB, b storetest.Backend) *site {
	t.Helper()
	clk := clock.NewFake(t0)
	st := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, ctx: context.Background(), clock: clk, store: st, outbox: t.TempDir()}
	s.srv = httptest.NewUnstartedServer(nil)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	sender, err := twomail.New("", s.outbox, "Twofold <twofold@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	mails, err := compose.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	mailer := &compose.Mailer{Render: mails, Sender: sender, PublicURL: s.srv.URL}
	s.admin = &admin.Service{Store: st, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: s.srv.URL, Actor: "test"}
	s.verifier = auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap, Sender: compose.CodeSender{Store: st, Mailer: mailer}})
	// Mails sent in the background reach the outbox before it goes.
	t.Cleanup(s.verifier.Wait)
	portalRender, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	s.portal = web.New(web.Config{Store: st, Verifier: s.verifier, Keys: keys, Admin: s.admin, Clock: clk, Render: portalRender, Mailer: mailer})
	render, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	s.directory = &directory.Service{Store: st, Keys: keys, Clock: clk, Actor: "test"}
	s.console = New(Config{Store: st, Verifier: s.verifier, Admin: s.admin, Directory: s.directory, Mailer: mailer, Render: render, Clock: clk,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	s.srv.Config.Handler = server.Handler(server.Parts{DB: st, API: http.NotFoundHandler(), Pages: s.portal.Handler(), Console: s.console.Handler()})
	if s.org, err = s.admin.CreateOrg(s.ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	return s
}

// person is an account with a password and an active authenticator app.
type person struct {
	org      store.Org
	name     string
	password string
	gen      *otp.Generator
	serial   string
}

const testPassword = "correct horse battery staple"

// person adds a user of org with role, a password and an active app.
func (s *site) person(org store.Org, name, role string) *person {
	s.t.Helper()
	n := admin.NewUser{Username: name, Email: name + "@" + org.Slug + ".example", Password: testPassword, Role: role}
	var err error
	if org.Slug == store.ProviderSlug {
		_, err = s.admin.CreateProviderAdmin(s.ctx, n)
	} else {
		_, err = s.admin.AddUser(s.ctx, org, n)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	en, err := s.admin.EnrollToken(s.ctx, org, name, "totp", "")
	if err != nil {
		s.t.Fatal(err)
	}
	k, err := otp.ParseURI(en.URI)
	if err != nil {
		s.t.Fatal(err)
	}
	g, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	p := &person{org: org, name: name, password: testPassword, gen: g, serial: en.Token.Serial}
	if out, err := s.verifier.Activate(s.ctx, auth.Request{OrgID: org.ID, Username: name, Code: s.code(p)}, en.Token.Serial); err != nil || !out.Accepted {
		s.t.Fatalf("activate %s: %+v %v", name, out, err)
	}
	s.clock.Advance(30 * time.Second)
	return p
}

// code is the person's app's code now.
func (s *site) code(p *person) string {
	return p.gen.Code(uint64(otp.Step(s.clock.Now(), 30*time.Second)))
}

// browser is a new client with a cookie jar of its own, which does not
// follow redirects.
func (s *site) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := s.srv.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// home is the console of org.
func home(org store.Org) string {
	if org.Slug == store.ProviderSlug {
		return "/admin/"
	}
	return "/o/" + org.Slug + "/admin/"
}

// signIn signs p in to their organization's console in a new browser.
func (s *site) signIn(p *person) *http.Client {
	s.t.Helper()
	c := s.browser()
	r := s.post(c, home(p.org)+"login", url.Values{"username": {p.name}, "password": {p.password}, "code": {s.code(p)}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != home(p.org) {
		s.t.Fatalf("sign in %s: %d %s\n%s", p.name, r.status, r.header.Get("Location"), r.body)
	}
	s.clock.Advance(30 * time.Second)
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

func (s *site) do(c *http.Client, req *http.Request) response {
	s.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// An error summary links to the field it is about: that field must
	// be on the page, or the link leads nowhere.
	for _, m := range summaryLinkRE.FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(string(b), `id="`+m[1]+`"`) {
			s.t.Errorf("%s %s: the error summary links to #%s, which the page lacks", req.Method, req.URL.Path, m[1])
		}
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

var summaryLinkRE = regexp.MustCompile(`<li><a href="#([^"]+)">`)

func (s *site) get(c *http.Client, path string) response {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	return s.do(c, req)
}

// post submits a form with the browser's CSRF token, as a page would.
func (s *site) post(c *http.Client, path string, form url.Values) response {
	s.t.Helper()
	if form.Get("csrf_token") == "" {
		form.Set("csrf_token", s.csrf(c))
	}
	req, _ := http.NewRequest("POST", s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(c, req)
}

// csrf returns the browser's CSRF cookie, fetching a page first if needed.
func (s *site) csrf(c *http.Client) string {
	u, _ := url.Parse(s.srv.URL)
	for range 2 {
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == "__Host-twofold-csrf" {
				return ck.Value
			}
		}
		s.get(c, "/admin/login")
	}
	s.t.Fatal("no CSRF cookie")
	return ""
}

// mails returns the messages in the outbox, oldest first.
func (s *site) mails() []*mail.Message {
	s.t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
	sort.Strings(names)
	var ms []*mail.Message
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			s.t.Fatal(err)
		}
		m, err := mail.ReadMessage(strings.NewReader(string(b)))
		if err != nil {
			s.t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func location(r response) string {
	if r.status != http.StatusSeeOther {
		return ""
	}
	return r.header.Get("Location")
}

func has(t *testing.T, r response, what ...string) {
	t.Helper()
	for _, w := range what {
		if !strings.Contains(r.body, w) {
			t.Errorf("page (%d) lacks %q", r.status, w)
		}
	}
}
