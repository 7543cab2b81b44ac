package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// t0 is the start of a TOTP step.
var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// period is the default TOTP period.
const period = 30 * time.Second

// alicePassword is the password of the fixture's user alice.
const alicePassword = "correct horse battery"

// fixture is an organization "acme" on a real store, with the real
// verifier served by an httptest server, an API key named "vpn" and these
// users:
//
//	alice  password alicePassword, an active TOTP token
//	bob    no password, an active TOTP token
//	carol  no password, an active TOTP token
//	dave   no token
//	erin   a suspended token only
//
// The clock stands one step after the tokens were activated, so each
// token's code for the current step is fresh.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	backend storetest.Backend
	clk     *clock.Fake
	keys    *secret.Keyring
	hasher  *secret.Hasher
	svc     *admin.Service
	org     store.Org
	key     string // the plaintext API key
	logs    *logBuffer
	log     *slog.Logger
	client  *http.Client

	*instance // the first server instance

	mail *codeRecorder // the codes mailed

	mu      sync.Mutex
	secrets map[string][]byte // TOTP secret by username
	said    []string          // codes and passwords sent, which no log may show
	hotp    []*hotpUser       // users of the parallel benchmark
}

// instance is one server: a store connection pool, a verifier and an HTTP server.
type instance struct {
	st  *store.Store
	v   *auth.Verifier
	h   http.Handler
	srv *httptest.Server
}

func newFixture(t testing.TB, b storetest.Backend) *fixture {
	t.Helper()
	ctx := context.Background()
	mk := make([]byte, 32)
	rand.Read(mk)
	keys, err := secret.NewKeyring([][]byte{mk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	f := &fixture{
		t: t, ctx: ctx, backend: b, clk: clock.NewFake(t0), keys: keys,
		hasher:  &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}},
		logs:    logs,
		log:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: dropTime})),
		secrets: make(map[string][]byte),
		mail:    &codeRecorder{},
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000},
			Timeout:   time.Minute,
		},
	}
	f.instance = f.newInstance()
	f.svc = &admin.Service{Store: f.st, Keys: keys, Hasher: f.hasher, Clock: f.clk, PublicURL: "https://twofold.test", Actor: "test"}
	if f.org, err = f.svc.CreateOrg(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if f.key, _, err = f.svc.CreateAPIKey(ctx, f.org, "vpn"); err != nil {
		t.Fatal(err)
	}
	f.addUser("alice", alicePassword, true)
	f.addUser("bob", "", true)
	f.addUser("carol", "", true)
	f.addUser("dave", "", false)
	f.addUser("erin", "", true)
	en, err := f.svc.Serial(ctx, f.org, "erin", "", store.TokenActive)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChangeToken(ctx, f.org, "erin", en, "suspend"); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(period)

	t.Cleanup(func() {
		f.client.CloseIdleConnections()
		f.checkLogs()
	})
	return f
}

// newInstance starts another server on a store of its own on the same
// database, as a second Twofold instance would be.
func (f *fixture) newInstance() *instance {
	st := f.backend.Open(f.t, f.clk)
	v := auth.NewVerifier(auth.Config{Store: st, Keys: f.keys, Sender: f.mail, Rand: rand.Reader, Clock: f.clk, Hasher: f.hasher, Log: f.log})
	h := New(v, st, f.log, WithClock(f.clk))
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", h)
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	return &instance{st: st, v: v, h: h, srv: srv}
}

// addUser adds a user, with an active TOTP token if token is set.
func (f *fixture) addUser(name, password string, token bool) {
	f.t.Helper()
	if _, err := f.svc.AddUser(f.ctx, f.org, admin.NewUser{Username: name, Password: password}); err != nil {
		f.t.Fatal(err)
	}
	if !token {
		return
	}
	en, err := f.svc.EnrollToken(f.ctx, f.org, name, "totp", "phone")
	if err != nil {
		f.t.Fatal(err)
	}
	k, err := otp.ParseURI(en.URI)
	if err != nil {
		f.t.Fatal(err)
	}
	f.secrets[name] = k.Secret
	out, err := f.v.Activate(f.ctx, auth.Request{OrgID: f.org.ID, Username: name, Code: f.code(name, 0), Actor: "test"}, en.Token.Serial)
	if err != nil || !out.Accepted {
		f.t.Fatalf("activate %s's token: %+v, %v", name, out, err)
	}
}

// addEmailUser adds a user with an active email token and no other.
func (f *fixture) addEmailUser(name, password string) store.User {
	f.t.Helper()
	u, err := f.svc.AddUser(f.ctx, f.org, admin.NewUser{Username: name, Email: name + "@acme.test", Password: password})
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = f.st.CreateToken(f.ctx, store.Token{
		OrgID: f.org.ID, UserID: u.ID, Serial: "EM-" + name, Type: "email", Name: "mail", State: store.TokenActive,
		Algorithm: "SHA1", Digits: 6, LastStep: 0, CreatedAt: f.clk.Now(),
	}, func(t store.Token) ([]byte, error) {
		return f.keys.Seal([]byte("x"), store.SecretAD(t))
	}, nil, store.Event{OrgID: f.org.ID, At: f.clk.Now(), Actor: "test", Action: "token.create", Target: name, Result: "ok"})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// codeRecorder stands in for the mailer of emailed codes: it remembers
// the codes sent. Mail itself is tested elsewhere.
type codeRecorder struct {
	mu    sync.Mutex
	codes []sentCode
}

type sentCode struct {
	OrgID, UserID int64
	Code          string
	Valid         time.Duration
}

func (m *codeRecorder) BackupCodeUsed(context.Context, int64, int64, int, time.Time) error {
	return nil
}

func (m *codeRecorder) AccountLocked(context.Context, int64, int64, time.Time, time.Time) error {
	return nil
}

func (m *codeRecorder) PushFraud(context.Context, int64, int64, string, string, time.Time) error {
	return nil
}

func (m *codeRecorder) SendCode(_ context.Context, orgID, userID int64, code string, valid time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes = append(m.codes, sentCode{orgID, userID, code, valid})
	return nil
}

// sent returns the codes mailed so far.
func (m *codeRecorder) sent() []sentCode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentCode(nil), m.codes...)
}

// code returns user's code for the current step plus offset.
func (f *fixture) code(user string, offset int64) string {
	f.t.Helper()
	g, err := otp.NewGenerator(f.secrets[user], otp.SHA1, 6)
	if err != nil {
		f.t.Fatal(err)
	}
	c := g.Code(uint64(otp.Step(f.clk.Now(), period) + offset))
	f.remember(c)
	return c
}

// wrongCode returns a code that user's token does not show at any step
// near the current one.
func (f *fixture) wrongCode(user string) string {
	f.t.Helper()
	near := map[string]bool{}
	for off := int64(-3); off <= 3; off++ {
		near[f.code(user, off)] = true
	}
	for n := 0; ; n++ {
		c := strings.Repeat(string(rune('0'+n%10)), 6)
		if !near[c] {
			return c
		}
	}
}

func (f *fixture) remember(s string) {
	f.mu.Lock()
	f.said = append(f.said, s)
	f.mu.Unlock()
}

// body returns a validate body; a password is sent when one is given.
func (f *fixture) body(username, code string, password ...string) string {
	m := map[string]string{"username": username, "code": code}
	for _, p := range password {
		m["password"] = p
		f.remember(p)
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// result is an HTTP answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

// validate posts body to srv's validate endpoint with the API key;
// change, if given, alters the request before it is sent.
func (f *fixture) validate(srv *httptest.Server, body string, change ...func(*http.Request)) result {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+pathValidate, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.key)
	req.Header.Set("Content-Type", "application/json")
	for _, c := range change {
		c(req)
	}
	return f.do(req)
}

func (f *fixture) do(req *http.Request) result {
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

// events returns the organization's newest events first.
func (f *fixture) events(n int) []store.Event {
	f.t.Helper()
	es, err := f.st.Events(f.ctx, f.org.ID, n)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func (f *fixture) lastEvent() store.Event {
	f.t.Helper()
	es := f.events(1)
	if len(es) == 0 {
		f.t.Fatal("no audit events")
	}
	return es[0]
}

func (f *fixture) user(name string) store.User {
	f.t.Helper()
	u, err := f.st.UserByName(f.ctx, f.org.ID, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// checkLogs fails the test if a log line shows the API key, a code or a password.
func (f *fixture) checkLogs() {
	logs := f.logs.String()
	if strings.Contains(logs, f.key) || strings.Contains(logs, f.key[len("tfk_"):]) {
		f.t.Errorf("the log shows the API key:\n%s", logs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.said {
		if s != "" && strings.Contains(logs, s) {
			f.t.Errorf("the log shows the code or password %q:\n%s", s, logs)
		}
	}
}

// logBuffer collects log output from concurrent requests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the logged records at level.
func (b *logBuffer) records(t testing.TB, level slog.Level) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == level.String() {
			out = append(out, rec)
		}
	}
	return out
}

// dropTime leaves the time out of log lines, so that its digits cannot
// pass for a code that leaked.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// withoutDate returns h without the Date header, which differs between
// any two responses.
func withoutDate(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Date")
	return h
}
