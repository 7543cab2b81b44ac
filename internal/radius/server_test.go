package radius

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 10, 0, time.UTC)

const testSecret = "a-shared-secret-of-some-length"

// fakeCore knows alice (password "pw", code 123456, emailed code 654321).
// With hasPush she has a push token; her pushes show 42 and stay pending
// until answered.
type fakeCore struct {
	mu       sync.Mutex
	verified []auth.Request
	policy   string

	hasPush  bool
	withhold bool                    // StartPush answers ErrPushWithheld
	pushes   []auth.Request          // as started
	checks   int                     // CheckPush calls
	answers  map[string]auth.Outcome // by transaction id
}

func (f *fakeCore) Verify(_ context.Context, r auth.Request) (auth.Outcome, error) {
	f.mu.Lock()
	f.verified = append(f.verified, r)
	f.mu.Unlock()
	ok := r.Username == "alice" && (!r.CheckPassword || r.Password == "pw") &&
		((r.TransactionID == "" && r.Code == "123456") || (r.TransactionID == "tx1" && r.Code == "654321"))
	return auth.Outcome{Accepted: ok}, nil
}

func (f *fakeCore) CheckPassword(_ context.Context, r auth.Request) (auth.Outcome, error) {
	return auth.Outcome{Accepted: r.Username == "alice" && r.Password == "pw"}, nil
}

func (f *fakeCore) StartEmail(_ context.Context, r auth.Request, _ bool) (string, error) {
	return "tx1", nil
}

func (f *fakeCore) StartPush(_ context.Context, r auth.Request, _ string) (auth.PushStart, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.withhold {
		return auth.PushStart{}, auth.ErrPushWithheld
	}
	f.pushes = append(f.pushes, r)
	return auth.PushStart{TransactionID: fmt.Sprintf("push%d", len(f.pushes)), Number: 42}, nil
}

func (f *fakeCore) CheckPush(_ context.Context, r auth.Request) (auth.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	if out, ok := f.answers[r.TransactionID]; ok {
		delete(f.answers, r.TransactionID)
		return out, nil
	}
	return auth.Outcome{Pending: true}, nil
}

// answer answers the push named txid with out.
func (f *fakeCore) answer(txid string, out auth.Outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answers == nil {
		f.answers = map[string]auth.Outcome{}
	}
	f.answers[txid] = out
}

func (f *fakeCore) Tokens(context.Context, int64, int64) ([]store.Token, error) {
	if !f.hasPush {
		return nil, nil
	}
	return []store.Token{{Type: "push", State: store.TokenActive}}, nil
}

func (f *fakeCore) RadiusClients(context.Context, int64) ([]store.RadiusClient, error) {
	return []store.RadiusClient{
		{ID: 1, OrgID: 7, Name: "vpn", CIDR: "192.0.2.0/24", Secret: []byte(testSecret), RequireMessageAuthenticator: true},
		{ID: 2, OrgID: 7, Name: "old", CIDR: "192.0.2.99/32", Secret: []byte(testSecret)},
	}, nil
}

func (f *fakeCore) AccessRevision(context.Context) (int64, error) { return 1, nil }

func (f *fakeCore) OrgPolicy(context.Context, int64) (policy.Policy, error) {
	return policy.Parse([]byte(f.policy))
}

func (f *fakeCore) UserByName(_ context.Context, _ int64, u string) (store.User, error) {
	return store.User{Username: u, Language: "nl"}, nil
}

func (f *fakeCore) Audit(context.Context, store.Event) error { return nil }

type plainKeys struct{}

func (plainKeys) Open(sealed, _ []byte) ([]byte, error) { return sealed, nil }

// newTestServer returns a server whose core is a fakeCore with the given
// policy; configure changes the rest of its Config.
func newTestServer(t testing.TB, policy string, configure ...func(*Config)) (*Server, *fakeCore, *clock.Fake) {
	f := &fakeCore{policy: policy}
	clk := clock.NewFake(t0)
	c := Config{Store: f, Keys: plainKeys{}, Verifier: f, Clock: clk}
	for _, fn := range configure {
		fn(&c)
	}
	return New(c), f, clk
}

var gateway = netip.MustParseAddrPort("192.0.2.10:40000")

// request builds an Access-Request as a gateway would, with a
// Message-Authenticator unless without is set.
func request(t testing.TB, id byte, user, password string, state []byte, withMA bool) []byte {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	p.Identifier = id
	rfc2865.UserName_SetString(p, user)
	rfc2865.UserPassword_SetString(p, password)
	if state != nil {
		rfc2865.State_Set(p, state)
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if withMA {
		b = withMessageAuthenticator(b, testSecret)
	}
	return b
}

// reply checks an answer's authenticators and returns it parsed.
func reply(t testing.TB, req, b []byte) *radius.Packet {
	t.Helper()
	if b == nil {
		t.Fatal("no answer, want one")
	}
	if !radius.IsAuthenticResponse(b, req, []byte(testSecret)) {
		t.Fatal("the Response Authenticator does not verify")
	}
	if b[20] != typeMessageAuthenticator {
		t.Fatalf("first attribute %d, want Message-Authenticator", b[20])
	}
	check := append([]byte(nil), b...)
	copy(check[4:20], req[4:20])
	if err := checkRequest(check, []byte(testSecret)); err != nil {
		t.Fatalf("the answer's Message-Authenticator: %v", err)
	}
	p, err := radius.Parse(b, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCodeMode(t *testing.T) {
	s, _, _ := newTestServer(t, `{"radius_attributes": ["Filter-Id=vpn-users", "Session-Timeout=3600"]}`)
	ctx := context.Background()

	req := request(t, 1, "alice", "123456", nil, true)
	p := reply(t, req, s.Handle(ctx, req, gateway))
	if p.Code != radius.CodeAccessAccept {
		t.Fatalf("right code: %v, want Access-Accept", p.Code)
	}
	if rfc2865.FilterID_GetString(p) != "vpn-users" || rfc2865.SessionTimeout_Get(p) != 3600 ||
		len(rfc2865.Class_Get(p)) == 0 || rfc2865.ReplyMessage_GetString(p) == "" {
		t.Fatalf("accept attributes: %+v; want Filter-Id, Session-Timeout, Class and Reply-Message", p.Attributes)
	}

	req = request(t, 2, "alice", "000000", nil, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessReject || len(p.Attributes) != 1 {
		t.Fatalf("wrong code: %v with %d attributes, want a bare Access-Reject", p.Code, len(p.Attributes))
	}
}

func TestDrops(t *testing.T) {
	s, f, _ := newTestServer(t, `{}`)
	ctx := context.Background()
	tests := []struct {
		name   string
		packet []byte
		from   netip.AddrPort
	}{
		{"a request from an unknown address is dropped", request(t, 1, "alice", "123456", nil, true), netip.MustParseAddrPort("198.51.100.1:1812")},
		{"a request without Message-Authenticator is dropped", request(t, 2, "alice", "123456", nil, false), gateway},
		{"a request with a wrong Message-Authenticator is dropped", func() []byte {
			b := request(t, 3, "alice", "123456", nil, true)
			b[len(b)-1] ^= 1
			return b
		}(), gateway},
		{"an Accounting-Request is dropped", func() []byte {
			b := request(t, 4, "alice", "123456", nil, true)
			b[0] = byte(radius.CodeAccountingRequest)
			return b
		}(), gateway},
		{"a truncated packet is dropped", request(t, 5, "alice", "123456", nil, true)[:30], gateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Handle(ctx, tt.packet, tt.from); got != nil {
				t.Fatalf("answered %d bytes, want no answer", len(got))
			}
		})
	}
	if len(f.verified) != 0 {
		t.Fatalf("%d dropped requests reached the verifier", len(f.verified))
	}
	// A client registered without the requirement may leave it out.
	req := request(t, 6, "alice", "123456", nil, false)
	if p := reply(t, req, s.Handle(ctx, req, netip.MustParseAddrPort("192.0.2.99:1000"))); p.Code != radius.CodeAccessAccept {
		t.Fatalf("old client without Message-Authenticator: %v, want Access-Accept", p.Code)
	}
}

func TestRetransmissionIsAnsweredFromCache(t *testing.T) {
	s, f, clk := newTestServer(t, `{}`)
	ctx := context.Background()
	req := request(t, 9, "alice", "123456", nil, true)
	first := s.Handle(ctx, req, gateway)
	again := s.Handle(ctx, req, gateway)
	if string(first) != string(again) || len(f.verified) != 1 {
		t.Fatalf("retransmission: same answer %v, %d verifications; want the same answer and 1", string(first) == string(again), len(f.verified))
	}
	// From another port it is another request.
	s.Handle(ctx, req, netip.AddrPortFrom(gateway.Addr(), 40001))
	if len(f.verified) != 2 {
		t.Fatalf("the same packet from another port: %d verifications, want 2", len(f.verified))
	}
	clk.Advance(DefaultRetransmitWindow + time.Second)
	s.sweep()
	s.Handle(ctx, req, gateway)
	if len(f.verified) != 3 {
		t.Fatalf("after the retransmission window: %d verifications, want 3", len(f.verified))
	}
}

func TestNewAuthenticatorUnderTheSameIdentifierIsANewRequest(t *testing.T) {
	s, f, _ := newTestServer(t, `{}`)
	ctx := context.Background()
	first := request(t, 9, "alice", "123456", nil, true)
	second := request(t, 9, "alice", "123456", nil, true) // another Request Authenticator
	reply(t, first, s.Handle(ctx, first, gateway))
	reply(t, second, s.Handle(ctx, second, gateway))
	if len(f.verified) != 2 {
		t.Fatalf("a new authenticator under identifier 9: %d verifications, want 2", len(f.verified))
	}
	// Its answer replaced the first one's: one entry for the identifier,
	// and the second request's retransmission is answered from it.
	if n := s.answers.len(); n != 1 {
		t.Fatalf("the cache holds %d answers for one identifier, want 1", n)
	}
	reply(t, second, s.Handle(ctx, second, gateway))
	if len(f.verified) != 2 {
		t.Fatalf("the second request's retransmission was evaluated again")
	}
}

func TestRetransmissionCacheStaysBounded(t *testing.T) {
	var logged bytes.Buffer
	s, f, _ := newTestServer(t, `{}`, func(c *Config) {
		c.MaxAnswers = 3
		c.Log = slog.New(slog.NewTextHandler(&logged, nil))
	})
	ctx := context.Background()
	var reqs [][]byte
	for id := range byte(10) {
		req := request(t, id, "alice", "000000", nil, true)
		reply(t, req, s.Handle(ctx, req, gateway))
		reqs = append(reqs, req)
		if n := s.answers.len(); n > 3 {
			t.Fatalf("after %d requests the cache holds %d answers, want at most 3", id+1, n)
		}
	}
	s.sweep()
	if !strings.Contains(logged.String(), "forgotten=7") {
		t.Fatalf("no warning that 7 answers were forgotten; logged:\n%s", logged.String())
	}
	tests := []struct {
		name          string
		req           []byte
		verifications int // more than before
	}{
		{"the newest request's retransmission is answered from the cache", reqs[9], 0},
		{"the third newest is still cached", reqs[7], 0},
		{"the oldest request's retransmission is evaluated again", reqs[0], 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.verified)
			reply(t, tt.req, s.Handle(ctx, tt.req, gateway))
			if got := len(f.verified) - before; got != tt.verifications {
				t.Fatalf("%d verifications, want %d", got, tt.verifications)
			}
		})
	}
}

func TestPendingChallengesStayBounded(t *testing.T) {
	s, _, _ := newTestServer(t, `{"radius_mode": "password"}`, func(c *Config) { c.MaxChallenges = 3 })
	ctx := context.Background()
	var states [][]byte
	for id := range byte(10) {
		req := request(t, id, "alice", "pw", nil, true)
		p := reply(t, req, s.Handle(ctx, req, gateway))
		if p.Code != radius.CodeAccessChallenge {
			t.Fatalf("password %d: %v, want Access-Challenge", id+1, p.Code)
		}
		states = append(states, rfc2865.State_Get(p))
		if n := s.pending.len(); n > 3 {
			t.Fatalf("after %d challenges %d are pending, want at most 3", id+1, n)
		}
	}
	tests := []struct {
		name  string
		state []byte
		want  radius.Code
	}{
		{"the newest challenge still takes its code", states[9], radius.CodeAccessAccept},
		{"the third newest still takes its code", states[7], radius.CodeAccessAccept},
		{"the oldest challenge was forgotten", states[0], radius.CodeAccessReject},
		{"the fourth newest was forgotten", states[6], radius.CodeAccessReject},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, byte(100+i), "alice", "123456", tt.state, true)
			if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != tt.want {
				t.Fatalf("code with this State: %v, want %v", p.Code, tt.want)
			}
		})
	}
}

func TestPasswordModeChallenge(t *testing.T) {
	s, f, clk := newTestServer(t, `{"radius_mode": "password"}`)
	ctx := context.Background()

	req := request(t, 1, "alice", "wrong", nil, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessReject {
		t.Fatalf("wrong password: %v, want Access-Reject", p.Code)
	}

	req = request(t, 2, "alice", "pw", nil, true)
	p := reply(t, req, s.Handle(ctx, req, gateway))
	state := rfc2865.State_Get(p)
	if p.Code != radius.CodeAccessChallenge || len(state) == 0 || rfc2865.ReplyMessage_GetString(p) != message("nl", msgAskCode) {
		t.Fatalf("right password: %v, State %q, %q; want an Access-Challenge in Dutch", p.Code, state, rfc2865.ReplyMessage_GetString(p))
	}
	req = request(t, 3, "alice", "123456", state, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessAccept {
		t.Fatalf("code after the challenge: %v, want Access-Accept", p.Code)
	}
	if v := f.verified[len(f.verified)-1]; v.CheckPassword || v.Code != "123456" || v.Actor != "radius:vpn" || v.Source != "192.0.2.10" {
		t.Fatalf("verified %+v; want the code alone, audited as radius:vpn from 192.0.2.10", v)
	}
	req = request(t, 4, "alice", "123456", state, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessReject {
		t.Fatalf("a State used again: %v, want Access-Reject", p.Code)
	}

	// An empty answer mails a code; the next challenge waits for it.
	req = request(t, 5, "alice", "pw", nil, true)
	state = rfc2865.State_Get(reply(t, req, s.Handle(ctx, req, gateway)))
	req = request(t, 6, "alice", "", state, true)
	p = reply(t, req, s.Handle(ctx, req, gateway))
	if p.Code != radius.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(p) != message("nl", msgMailed) {
		t.Fatalf("empty answer: %v %q; want a challenge saying a code was mailed", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	req = request(t, 7, "alice", "654321", rfc2865.State_Get(p), true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessAccept {
		t.Fatalf("mailed code: %v, want Access-Accept", p.Code)
	}

	// A State for another user, or an expired one, is refused.
	req = request(t, 8, "alice", "pw", nil, true)
	state = rfc2865.State_Get(reply(t, req, s.Handle(ctx, req, gateway)))
	req = request(t, 9, "mallory", "123456", state, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessReject {
		t.Fatalf("another user's State: %v, want Access-Reject", p.Code)
	}
	req = request(t, 10, "alice", "pw", nil, true)
	state = rfc2865.State_Get(reply(t, req, s.Handle(ctx, req, gateway)))
	clk.Advance(DefaultChallengeTTL)
	req = request(t, 11, "alice", "123456", state, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessReject {
		t.Fatalf("expired State: %v, want Access-Reject", p.Code)
	}
}

func TestPasswordCodeMode(t *testing.T) {
	s, f, _ := newTestServer(t, `{"radius_mode": "password+code"}`)
	ctx := context.Background()
	req := request(t, 1, "alice", "pw123456", nil, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessAccept {
		t.Fatalf("password+code: %v, want Access-Accept", p.Code)
	}
	if v := f.verified[0]; !v.CheckPassword || v.Password != "pw" || v.Code != "123456" {
		t.Fatalf("verified %+v; want password pw and code 123456", v)
	}
	req = request(t, 2, "alice", "pw", nil, true)
	if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessChallenge {
		t.Fatalf("password without a code: %v, want Access-Challenge", p.Code)
	}
}

// withProxyState appends Proxy-State attributes to a request, as a proxy
// between the gateway and Twofold does (RFC 2865 section 5.33).
func withProxyState(req []byte, states ...[]byte) []byte {
	b := bytes.Clone(req)
	for _, s := range states {
		b = append(append(b, byte(rfc2865.ProxyState_Type), byte(2+len(s))), s...)
	}
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	return b
}

// proxyStates returns the values of a packet's Proxy-State attributes in order.
func proxyStates(t testing.TB, b []byte) [][]byte {
	t.Helper()
	b, err := wellFormed(b)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for a := b[20:]; len(a) > 0; a = a[a[1]:] {
		if radius.Type(a[0]) == rfc2865.ProxyState_Type {
			out = append(out, a[2:a[1]])
		}
	}
	return out
}

func TestAnswersEchoProxyState(t *testing.T) {
	states := [][]byte{[]byte("proxy-one"), {0x00, 0xff, 0x0a}, []byte("proxy-one"), bytes.Repeat([]byte{'s'}, 253)}
	tests := []struct {
		name     string
		policy   string
		password string
		state    []byte
		proxied  [][]byte
		want     radius.Code
	}{
		{"an Access-Accept carries every Proxy-State in order", `{}`, "123456", nil, states, radius.CodeAccessAccept},
		{"an Access-Reject carries every Proxy-State in order", `{}`, "000000", nil, states, radius.CodeAccessReject},
		{"an Access-Challenge carries every Proxy-State in order", `{"radius_mode": "password"}`, "pw", nil, states, radius.CodeAccessChallenge},
		{"a reject before the core carries every Proxy-State in order", `{"radius_mode": "password"}`, "123456", []byte("no-such-state"), states, radius.CodeAccessReject},
		{"a request without Proxy-State gets none back", `{}`, "123456", nil, nil, radius.CodeAccessAccept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newTestServer(t, tt.policy)
			req := withMessageAuthenticator(withProxyState(request(t, 1, "alice", tt.password, tt.state, false), tt.proxied...), testSecret)
			out := s.Handle(context.Background(), req, gateway)
			if p := reply(t, req, out); p.Code != tt.want {
				t.Fatalf("answer %v, want %v", p.Code, tt.want)
			}
			if got := proxyStates(t, out); !slices.EqualFunc(got, tt.proxied, bytes.Equal) {
				t.Fatalf("the answer carries Proxy-State %q, want %q", got, tt.proxied)
			}
		})
	}
}

// FuzzHandle feeds arbitrary datagrams from a registered client's address:
// the server must not panic, and whatever it answers must be a
// well-formed, authentic response with the Message-Authenticator first and
// the request's Proxy-State attributes.
func FuzzHandle(f *testing.F) {
	f.Add(request(f, 1, "alice", "123456", nil, true))
	f.Add(request(f, 2, "alice", "pw", []byte("state"), true))
	f.Add(request(f, 3, "alice", "123456", nil, false))
	f.Add(unhex(f, rfcRequest))
	f.Add([]byte{1, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, packet []byte) {
		// A server per input: a cached answer to an earlier input with the
		// same identifier and authenticator would carry that one's Proxy-State.
		s, _, _ := newTestServer(t, `{"radius_mode": "password+code"}`)
		for _, from := range []netip.AddrPort{gateway, netip.MustParseAddrPort("192.0.2.99:1")} {
			out := s.Handle(context.Background(), packet, from)
			if out == nil {
				continue
			}
			b, err := wellFormed(out)
			if err != nil || len(b) != len(out) || out[20] != typeMessageAuthenticator {
				t.Fatalf("answer %x is not a well-formed response with the Message-Authenticator first", out)
			}
			if !radius.IsAuthenticResponse(out, packet, []byte(testSecret)) {
				t.Fatalf("answer %x does not verify", out)
			}
			if got, want := proxyStates(t, out), proxyStates(t, packet); !slices.EqualFunc(got, want, bytes.Equal) {
				t.Fatalf("answer %x carries Proxy-State %q, want the request's %q", out, got, want)
			}
		}
	})
}
