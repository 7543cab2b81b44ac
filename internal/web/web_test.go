package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/directory"
	"github.com/twofold-mfa/twofold/internal/i18n"
	twomail "github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/web"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 10, 0, time.UTC)

var cheap = &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}

// site is a running portal on a real store, with a browser of its own.
type site struct {
	t      *testing.T
	ctx    context.Context
	clock  *clock.Fake
	store  *store.Store
	admin  *admin.Service
	srv    *httptest.Server
	client *http.Client
	outbox string
	org    store.Org
	// verifier is the portal's verification core, which mails email codes
	// and checks passwords in a directory where the organization has one.
	verifier  *auth.Verifier
	directory *directory.Service
	// web is the portal, whose Wait lets the mails it sends after an
	// answer arrive.
	web *web.Server
	// What a table's setup made for its case: backup codes, an app.
	backupCodes []string
	gen         *otp.Generator
}

func newSite(t *testing.T, b storetest.Backend) *site {
	t.Helper()
	clk := clock.NewFake(t0)
	st := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, ctx: context.Background(), clock: clk, store: st, outbox: t.TempDir()}
	render, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	sender, err := twomail.New("", s.outbox, "Twofold <twofold@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewUnstartedServer(nil)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	s.admin = &admin.Service{Store: st, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: s.srv.URL, Actor: "test"}
	mails, err := compose.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	mailer := &compose.Mailer{Render: mails, Sender: sender, PublicURL: s.srv.URL}
	s.directory = &directory.Service{Store: st, Keys: keys, Clock: clk, Actor: "test"}
	s.verifier = auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap, Sender: compose.CodeSender{Store: st, Mailer: mailer},
		Directory: s.directory})
	s.web = web.New(web.Config{
		Store: st, Verifier: s.verifier, Keys: keys, Admin: s.admin, Clock: clk, Render: render, Mailer: mailer,
	})
	s.srv.Config.Handler = s.web.Handler()
	// The mails sent in the background (a lock notice, say) are written
	// to the outbox before the test's temporary directory goes.
	t.Cleanup(func() {
		s.verifier.Wait()
		s.web.Wait()
	})
	s.client = s.browser()
	if s.org, err = s.admin.CreateOrg(s.ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	return s
}

// browser is a new client with a cookie jar of its own.
func (s *site) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := s.srv.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (s *site) do(c *http.Client, req *http.Request) page {
	s.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

func (s *site) get(c *http.Client, path string) page {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	return s.do(c, req)
}

// post submits a form with the browser's CSRF token, as the page would.
func (s *site) post(c *http.Client, path string, form url.Values) page {
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
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-twofold-csrf" {
			return ck.Value
		}
	}
	s.get(c, "/o/acme/login")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-twofold-csrf" {
			return ck.Value
		}
	}
	s.t.Fatal("no CSRF cookie")
	return ""
}

func (s *site) addUser(name, password string) {
	s.t.Helper()
	if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: name, Email: name + "@acme.example", Password: password}); err != nil {
		s.t.Fatal(err)
	}
}

// enroll assigns a TOTP token and returns its link and code generator.
func (s *site) enroll(user string) (link string, g *otp.Generator) {
	s.t.Helper()
	en, err := s.admin.EnrollToken(s.ctx, s.org, user, "totp", "")
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimPrefix(en.Link, s.srv.URL), s.generator(en)
}

// generator makes the codes an app shows for the token en assigned.
func (s *site) generator(en admin.Enrolled) *otp.Generator {
	s.t.Helper()
	k, err := otp.ParseURI(en.URI)
	if err != nil {
		s.t.Fatal(err)
	}
	g, err := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	if err != nil {
		s.t.Fatal(err)
	}
	return g
}

func (s *site) code(g *otp.Generator) string {
	return g.Code(uint64(otp.Step(s.clock.Now(), 30*time.Second)))
}

// active enrolls and activates a token for user and moves two steps on.
func (s *site) active(user string) *otp.Generator {
	s.t.Helper()
	link, g := s.enroll(user)
	code := link[strings.Index(link, "=")+1:]
	en, err := s.store.EnrollmentByCodeHash(s.ctx, secret.HashToken(code))
	if err != nil {
		s.t.Fatal(err)
	}
	v := auth.NewVerifier(auth.Config{Store: s.store, Keys: s.admin.Keys, Clock: s.clock, Hasher: cheap})
	if out, err := v.Activate(s.ctx, auth.Request{OrgID: s.org.ID, Username: user, Code: s.code(g)}, en.Token.Serial); err != nil || !out.Accepted {
		s.t.Fatalf("activate: %+v %v", out, err)
	}
	s.clock.Advance(60 * time.Second)
	return g
}

// login signs user in with a fresh browser and returns it.
func (s *site) login(user, password string, g *otp.Generator) *http.Client {
	s.t.Helper()
	c := s.browser()
	p := s.post(c, "/o/acme/login", url.Values{"username": {user}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login/code" {
		s.t.Fatalf("login: %d %s, want a redirect to the code step", p.status, p.header.Get("Location"))
	}
	p = s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(g)}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/" {
		s.t.Fatalf("code: %d %s, want a redirect to the dashboard\n%s", p.status, p.header.Get("Location"), p.body)
	}
	s.clock.Advance(30 * time.Second)
	return c
}

// mails returns the messages in the outbox, oldest first.
func (s *site) mails() []*mail.Message {
	s.t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
	sort.Strings(names)
	var ms []*mail.Message
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			s.t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		if err != nil {
			s.t.Fatal(err)
		}
		b, _ := io.ReadAll(m.Body)
		m.Body = strings.NewReader(string(b))
		ms = append(ms, m)
		f.Close()
	}
	return ms
}

func has(t *testing.T, p page, what ...string) {
	t.Helper()
	for _, w := range what {
		if !strings.Contains(p.body, w) {
			t.Errorf("page (%d) lacks %q", p.status, w)
		}
	}
}

// en is the English message key as a page shows it; a key missing from
// the catalogue fails the test rather than matching its own marker.
// lockedText is the error that says a lock ends at until, as a page
// shown now says it.
func (s *site) lockedText(until time.Time) string {
	return html.EscapeString(i18n.T("en", "error.locked_until", i18n.Moment("en", nil, until, s.clock.Now())))
}

func en(key string) string {
	if !slices.Contains(i18n.Keys(), key) {
		panic("the catalogue has no message " + key)
	}
	return html.EscapeString(i18n.T("en", key))
}

// TestHandlersUseKnownMessages reads the handlers for the message keys
// they name and checks each is in the catalogue, in every language.
func TestHandlersUseKnownMessages(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	key := regexp.MustCompile(`"((?:error|flash|hint|[a-z_]+)\.[a-z_.]+)"`)
	known := map[string]bool{}
	for _, k := range i18n.Keys() {
		known[k] = true
	}
	audit := map[string]bool{"portal.login": true, "portal.logout": true, "token.rename": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "render.go" || f == "views.go" {
			continue // the renderer builds keys from prefixes; it has tests of its own
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(src), -1) {
			if audit[m[1]] {
				continue
			}
			checked++
			if !known[m[1]] {
				t.Errorf("%s uses message %q, which the catalogue lacks", f, m[1])
			}
		}
	}
	if checked < 20 {
		t.Fatalf("found only %d message keys in the handlers; the pattern is broken", checked)
	}
}

func TestEnrollmentByInvitation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "")
		link, g := s.enroll("alice")
		p := s.get(s.client, link)
		if p.status != 200 {
			t.Fatalf("GET %s: %d", link, p.status)
		}
		has(t, p, `src="data:image/png;base64,`, `href="otpauth://totp/`, `name="code"`, `autocomplete="one-time-code"`, `inputmode="numeric"`, "Acme Corp")
		if !regexp.MustCompile(`[A-Z2-7]{4} [A-Z2-7]{4} [A-Z2-7]{4}`).MatchString(p.body) {
			t.Error("the secret is not shown in groups of four")
		}
		enrollment := link[strings.Index(link, "=")+1:]
		p = s.post(s.client, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {"000000"}})
		has(t, p, en("error.code_wrong"))
		p = s.post(s.client, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {s.code(g)}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/backup" {
			t.Fatalf("correct first code: %d %s, want the backup codes step", p.status, p.header.Get("Location"))
		}
		s.finishSetup(s.client, "/o/acme/enrolled")
		has(t, s.get(s.client, "/o/acme/enrolled"), `href="/o/acme/login"`)
		if p = s.get(s.client, link); p.status != http.StatusGone {
			t.Fatalf("used link: %d, want 410", p.status)
		}
		tokens, _ := s.store.Tokens(s.ctx, s.org.ID, 1)
		if len(tokens) != 1 || tokens[0].State != store.TokenActive {
			t.Fatalf("tokens after enrollment: %+v", tokens)
		}
	})
}

func TestEnrollmentAsksForThePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		link, _ := s.enroll("alice")
		enrollment := link[strings.Index(link, "=")+1:]
		p := s.get(s.client, link)
		has(t, p, `name="password"`)
		if strings.Contains(p.body, "data:image/png") {
			t.Fatal("the QR code is shown before the password")
		}
		p = s.post(s.client, "/enroll", url.Values{"code": {enrollment}, "password": {"wrong"}})
		has(t, p, en("error.password_wrong"))
		p = s.post(s.client, "/enroll", url.Values{"code": {enrollment}, "password": {"correct horse"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("right password: %d", p.status)
		}
		has(t, s.get(s.client, link), "data:image/png")
		if p := s.get(s.browser(), link); strings.Contains(p.body, "data:image/png") {
			t.Fatal("another browser sees the QR code without the password")
		}
	})
}

func TestEnrollmentLinkThatCannotBeUsed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "")
		tests := []struct {
			name   string
			link   func() string
			status int
		}{
			{"an unknown code", func() string { return "/enroll?code=nosuchcode" }, 404},
			{"no code", func() string { return "/enroll" }, 404},
			{"an expired link", func() string {
				link, _ := s.enroll("alice")
				s.clock.Advance(73 * time.Hour)
				return link
			}, 410},
			{"a cancelled link", func() string {
				link, _ := s.enroll("alice")
				tok := s.lastToken("alice")
				if err := s.store.CancelEnrollment(s.ctx, s.org.ID, tok.ID, store.Event{OrgID: s.org.ID, Action: "enrollment.cancel"}); err != nil {
					t.Fatal(err)
				}
				return link
			}, 410},
			{"a link replaced by a resend", func() string {
				link, _ := s.enroll("alice")
				tok := s.lastToken("alice")
				if err := s.store.RenewEnrollment(s.ctx, s.org.ID, tok.ID, secret.HashToken("newcode"), s.clock.Now().Add(time.Hour), store.Event{OrgID: s.org.ID, Action: "enrollment.resend"}); err != nil {
					t.Fatal(err)
				}
				return link
			}, 410}, // gone, and the page says a newer link was sent
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := s.get(s.client, tt.link())
				if p.status != tt.status {
					t.Fatalf("status %d, want %d", p.status, tt.status)
				}
				if strings.Contains(p.body, "data:image/png") || strings.Contains(p.body, `name="code"`) {
					t.Fatal("a dead link still shows the enrollment")
				}
			})
		}
	})
}

func (s *site) lastToken(user string) store.Token {
	s.t.Helper()
	u, err := s.store.UserByName(s.ctx, s.org.ID, user)
	if err != nil {
		s.t.Fatal(err)
	}
	ts, err := s.store.Tokens(s.ctx, s.org.ID, u.ID)
	if err != nil || len(ts) == 0 {
		s.t.Fatalf("tokens: %v %v", ts, err)
	}
	return ts[len(ts)-1]
}

func TestFormsNeedTheCSRFToken(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	s.addUser("alice", "correct horse")
	for _, token := range []string{"", "wrong-token-wrong-token-wrong-token"} {
		p := s.post(s.client, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}, "csrf_token": {token}})
		if token == "" {
			// post fills in the right token when none is given: send none at all.
			req, _ := http.NewRequest("POST", s.srv.URL+"/o/acme/login", strings.NewReader("username=alice&password=correct+horse"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p = s.do(s.client, req)
		}
		if p.status != http.StatusForbidden {
			t.Errorf("token %q: status %d, want 403", token, p.status)
		}
		has(t, p, en("error.csrf"))
	}
	req, _ := http.NewRequest("POST", s.srv.URL+"/o/acme/login", strings.NewReader(url.Values{"username": {"alice"}, "password": {"correct horse"}, "csrf_token": {s.csrf(s.client)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := s.do(s.client, req); p.status != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", p.status)
	}
}

func TestLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")

		if p := s.get(s.browser(), "/o/acme/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login" {
			t.Fatalf("dashboard without a session: %d %s", p.status, p.header.Get("Location"))
		}
		// Wrong password and unknown user get the same answer.
		wrong := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"alice"}, "password": {"nope"}})
		unknown := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"mallory"}, "password": {"nope"}})
		has(t, wrong, en("error.login_failed"))
		has(t, unknown, en("error.login_failed"))
		if wrong.status != unknown.status {
			t.Errorf("statuses differ: %d and %d", wrong.status, unknown.status)
		}
		c := s.login("alice", "correct horse", g)
		p := s.get(c, "/o/acme/")
		if p.status != 200 {
			t.Fatalf("dashboard: %d", p.status)
		}
		has(t, p, "alice")
		p = s.post(c, "/o/acme/logout", url.Values{})
		if p.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.status)
		}
		if p := s.get(c, "/o/acme/"); p.status != http.StatusSeeOther {
			t.Fatalf("dashboard after logout: %d, want a redirect", p.status)
		}
	})
}

func TestSessionRotatesAtLogin(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	s.addUser("alice", "correct horse")
	g := s.active("alice")
	c := s.browser()
	s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
	before := s.cookie(c, "__Host-twofold-session")
	s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(g)}})
	after := s.cookie(c, "__Host-twofold-session")
	if before == "" || after == "" || before == after {
		t.Fatalf("session cookie before %q, after %q: want a new one at login", before, after)
	}
	// The half-way session's id is worth nothing now.
	old := s.browser()
	u, _ := url.Parse(s.srv.URL)
	old.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-twofold-session", Value: before, Path: "/", Secure: true}})
	if p := s.get(old, "/o/acme/"); p.status != http.StatusSeeOther {
		t.Fatalf("old session id: %d, want a redirect to login", p.status)
	}
}

func (s *site) cookie(c *http.Client, name string) string {
	u, _ := url.Parse(s.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func TestLockedUserIsRefusedAtTheCodeStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.browser()
		s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
		for range 5 {
			s.post(c, "/o/acme/login/code", url.Values{"code": {"000000"}})
		}
		p := s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(g)}})
		if p.status != 200 || p.header.Get("Location") != "" {
			t.Fatalf("correct code while locked: %d %s, want the code page again", p.status, p.header.Get("Location"))
		}
		// Past the password the user is told until when, not blamed.
		has(t, p, s.lockedText(s.clock.Now().Add(10*time.Minute)))
		if strings.Contains(p.body, en("error.code_wrong")) {
			t.Error("a locked user is told the code was wrong")
		}
	})
}

func TestFirstLoginWalksThroughEnrollment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("bob", "correct horse")
		c := s.browser()
		p := s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		if p.header.Get("Location") != "/o/acme/login/enroll" {
			t.Fatalf("login without an authenticator: %d %s, want the enrollment step", p.status, p.header.Get("Location"))
		}
		p = s.get(c, "/o/acme/login/enroll")
		uri := regexp.MustCompile(`href="(otpauth://[^"]+)"`).FindStringSubmatch(p.body)
		if uri == nil {
			t.Fatalf("no otpauth link on the enrollment step:\n%s", p.body)
		}
		k, err := otp.ParseURI(strings.ReplaceAll(uri[1], "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		g, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
		// Reloading shows the same token, not a new one.
		if again := s.get(c, "/o/acme/login/enroll"); !strings.Contains(again.body, uri[1]) {
			t.Fatal("reloading the enrollment step made another token")
		}
		p = s.post(c, "/o/acme/login/enroll", url.Values{"code": {s.code(g)}})
		if p.header.Get("Location") != "/o/acme/backup" {
			t.Fatalf("first code: %d %s, want the backup codes step", p.status, p.header.Get("Location"))
		}
		s.finishSetup(c, "/o/acme/?done=added")
		if tok := s.lastToken("bob"); tok.State != store.TokenActive {
			t.Fatalf("token is %s, want active", tok.State)
		}
	})
}

func TestDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		serial := s.lastToken("alice").Serial

		p := s.post(c, "/o/acme/tokens/rename", url.Values{"serial": {serial}, "name": {"My phone"}})
		if p.header.Get("Location") != "/o/acme/?done=renamed" {
			t.Fatalf("rename: %d %s", p.status, p.header.Get("Location"))
		}
		has(t, s.get(c, "/o/acme/?done=renamed"), "My phone", en("flash.token_renamed"))

		// Changing the password: each mistake is said, nothing changes.
		for _, tt := range []struct{ current, next, confirm, want string }{
			{"correct horse", "new password 1", "new password 2", "error.password_mismatch"},
			{"wrong", "new password 1", "new password 1", "error.password_wrong"},
		} {
			p := s.post(c, "/o/acme/password", url.Values{"password": {tt.current}, "new_password": {tt.next}, "new_password_confirm": {tt.confirm}})
			has(t, p, en(tt.want))
		}
		p = s.post(c, "/o/acme/password", url.Values{"password": {"correct horse"}, "new_password": {"battery staple"}, "new_password_confirm": {"battery staple"}})
		if p.header.Get("Location") != "/o/acme/?done=password" {
			t.Fatalf("change password: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		c = s.login("alice", "battery staple", g)

		// Removing needs the password and a current code.
		has(t, s.get(c, "/o/acme/tokens/remove?serial="+serial), `name="password"`, `name="code"`)
		p = s.post(c, "/o/acme/tokens/remove", url.Values{"serial": {serial}, "password": {"battery staple"}, "code": {"000000"}})
		has(t, p, en("error.confirm_failed"))
		p = s.post(c, "/o/acme/tokens/remove", url.Values{"serial": {serial}, "password": {"battery staple"}, "code": {s.code(g)}})
		if p.header.Get("Location") != "/o/acme/?done=removed" {
			t.Fatalf("remove: %d %s", p.status, p.header.Get("Location"))
		}
		if tok := s.lastToken("alice"); tok.State != store.TokenRevoked {
			t.Fatalf("removed token is %s", tok.State)
		}
		var subjects []string
		for _, m := range s.mails() {
			subjects = append(subjects, m.Header.Get("Subject"))
		}
		if len(subjects) != 2 {
			t.Fatalf("mails %q, want one for the password and one for the removal", subjects)
		}
	})
}

func TestAddAuthenticator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		p := s.post(c, "/o/acme/add", url.Values{})
		if p.header.Get("Location") != "/o/acme/add/verify" {
			t.Fatalf("add: %d %s", p.status, p.header.Get("Location"))
		}
		ms := s.mails()
		if len(ms) != 1 {
			t.Fatalf("%d mails, want the verification code", len(ms))
		}
		body, _ := io.ReadAll(ms[0].Body)
		code := regexp.MustCompile(`\b\d{6}\b`).FindString(string(body))
		if code == "" {
			t.Fatalf("no code in the mail:\n%s", body)
		}
		has(t, s.post(c, "/o/acme/add/verify", url.Values{"code": {"999999"}}), en("error.email_code_wrong"))
		p = s.post(c, "/o/acme/add/verify", url.Values{"code": {code}})
		if p.header.Get("Location") != "/o/acme/add/password" {
			t.Fatalf("verify: %d %s", p.status, p.header.Get("Location"))
		}
		p = s.post(c, "/o/acme/add/password", url.Values{"password": {"correct horse"}})
		if p.header.Get("Location") != "/o/acme/add/choose" {
			t.Fatalf("password: %d %s, want the choice of app or email", p.status, p.header.Get("Location"))
		}
		has(t, s.get(c, "/o/acme/add/choose"), `value="app"`, `value="email"`, en("method.weaker"))
		p = s.post(c, "/o/acme/add/choose", url.Values{"method": {"app"}})
		if p.header.Get("Location") != "/o/acme/add/app" {
			t.Fatalf("choose app: %d %s", p.status, p.header.Get("Location"))
		}
		p = s.get(c, "/o/acme/add/app")
		uri := regexp.MustCompile(`href="(otpauth://[^"]+)"`).FindStringSubmatch(p.body)
		if uri == nil {
			t.Fatal("no otpauth link")
		}
		k, _ := otp.ParseURI(strings.ReplaceAll(uri[1], "&amp;", "&"))
		g2, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
		p = s.post(c, "/o/acme/add/app", url.Values{"code": {s.code(g2)}})
		if p.header.Get("Location") != "/o/acme/?done=added" {
			t.Fatalf("first code: %d %s", p.status, p.header.Get("Location"))
		}
		if tok := s.lastToken("alice"); tok.State != store.TokenActive {
			t.Fatalf("new token is %s", tok.State)
		}
		if ms := s.mails(); len(ms) != 2 || ms[1].Header.Get("Subject") == ms[0].Header.Get("Subject") {
			t.Fatalf("%d mails, want the verification code and then the notice that an authenticator was added", len(ms))
		}
	})
}

func TestCombinedLogin(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	if err := s.store.SetPolicy(s.ctx, s.org.ID, s.org.PolicyRev, []byte(`{"login_form": "combined"}`), store.Event{OrgID: s.org.ID, Action: "policy.set"}); err != nil {
		t.Fatal(err)
	}
	s.org, _ = s.store.OrgBySlug(s.ctx, "acme")
	s.addUser("alice", "correct horse")
	g := s.active("alice")
	c := s.browser()
	has(t, s.get(c, "/o/acme/login"), `name="username"`, `name="code"`, `name="password"`)
	p := s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}, "code": {"000000"}})
	has(t, p, en("error.login_failed"))
	// A malformed code reads the same for every username, known or not.
	for _, u := range []string{"alice", "nobody"} {
		p := s.post(c, "/o/acme/login", url.Values{"username": {u}, "password": {"correct horse"}, "code": {"abcdefg"}})
		has(t, p, en("error.code_malformed"))
	}
	p = s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}, "code": {s.code(g)}})
	if p.header.Get("Location") != "/o/acme/" {
		t.Fatalf("combined login: %d %s", p.status, p.header.Get("Location"))
	}
}

func TestPagesAreProtected(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	p := s.get(s.client, "/o/acme/login")
	for header, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	} {
		if !strings.Contains(p.header.Get(header), want) {
			t.Errorf("%s = %q, want it to contain %q", header, p.header.Get(header), want)
		}
	}
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
	if p := s.get(s.client, "/o/nosuch/login"); p.status != 404 {
		t.Errorf("unknown organization: %d", p.status)
	}
}

func TestLanguage(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	req, _ := http.NewRequest("GET", s.srv.URL+"/o/acme/login", nil)
	req.Header.Set("Accept-Language", "nl-NL,nl;q=0.9,en;q=0.5")
	if p := s.do(s.browser(), req); !strings.Contains(p.body, `lang="nl"`) {
		t.Error("Accept-Language nl did not give a Dutch page")
	}
	c := s.browser()
	s.get(c, "/o/acme/login?lang=de")
	if p := s.get(c, "/o/acme/login"); !strings.Contains(p.body, `lang="de"`) {
		t.Error("the language chosen with ?lang=de was not remembered")
	}
}

func TestCodeFieldsSayThePINComesFirst(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	if err := s.store.SetPolicy(s.ctx, s.org.ID, s.org.PolicyRev, []byte(`{"login_form": "combined", "pin_mode": "server"}`), store.Event{OrgID: s.org.ID, Action: "policy.set"}); err != nil {
		t.Fatal(err)
	}
	has(t, s.get(s.browser(), "/o/acme/login"), en("login_code.pin_help"))
}
