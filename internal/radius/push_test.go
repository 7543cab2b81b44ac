package radius

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
)

const pushPolicy = `{"radius_mode": "password", "methods": ["app", "email", "push"], "push_number_matching": false, "radius_push_wait": "2s"}`

// newPushServer is newTestServer for alice with a push token, polling
// for push answers every millisecond.
func newPushServer(t *testing.T, policy string, configure ...func(*Config)) (*Server, *fakeCore, *clock.Fake) {
	t.Helper()
	s, f, clk := newTestServer(t, policy, append([]func(*Config){func(c *Config) { c.PushPoll = time.Millisecond }}, configure...)...)
	f.hasPush = true
	return s, f, clk
}

// challenged signs alice in with her password and returns the challenge's State.
func challenged(t *testing.T, s *Server, id byte, want string) []byte {
	t.Helper()
	req := request(t, id, "alice", "pw", nil, true)
	p := reply(t, req, s.Handle(context.Background(), req, gateway))
	if p.Code != radius.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(p) != message("nl", want) {
		t.Fatalf("right password: %v %q; want a challenge saying %q", p.Code, rfc2865.ReplyMessage_GetString(p), message("nl", want))
	}
	return rfc2865.State_Get(p)
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

func (f *fakeCore) counts() (pushes, checks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pushes), f.checks
}

// held sends req in the background; the answer arrives on the channel.
func held(s *Server, req []byte, release func()) <-chan []byte {
	done := make(chan []byte, 1)
	go func() { done <- s.handle(context.Background(), req, gateway, release) }()
	return done
}

func TestPushIsHeldForTheAnswer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer auth.Outcome // nil Reason and not Accepted: no answer
		typed  string
		want   radius.Code
	}{
		{"an approval accepts", auth.Outcome{Accepted: true}, "", radius.CodeAccessAccept},
		{"p asks for a push too", auth.Outcome{Accepted: true}, "p", radius.CodeAccessAccept},
		{"a denial rejects", auth.Outcome{Reason: auth.ErrPushDenied}, "1", radius.CodeAccessReject},
		{"no answer within radius_push_wait rejects", auth.Outcome{}, "", radius.CodeAccessReject},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, f, clk := newPushServer(t, pushPolicy)
			state := challenged(t, s, 1, msgAskCodePushEmail)
			req := withMessageAuthenticator(withCallingStation(request(t, 2, "alice", tt.typed, state, false), "203.0.113.5"), testSecret)
			done := held(s, req, func() {})
			eventually(t, "the held request polls", func() bool { _, checks := f.counts(); return checks > 0 })
			if tt.answer.Accepted || tt.answer.Reason != nil {
				f.answer("push1", tt.answer)
			} else {
				clk.Advance(2 * time.Second)
			}
			if p := reply(t, req, <-done); p.Code != tt.want {
				t.Fatalf("answer %v, want %v", p.Code, tt.want)
			}
			if len(f.pushes) != 1 || f.pushes[0].Source != "203.0.113.5" {
				t.Fatalf("pushes %+v; want one, from the Calling-Station-Id", f.pushes)
			}
		})
	}
}

// withCallingStation adds a Calling-Station-Id to a request without
// Message-Authenticator.
func withCallingStation(req []byte, id string) []byte {
	b := append(append(append([]byte(nil), req...), byte(rfc2865.CallingStationID_Type), byte(2+len(id))), id...)
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	return b
}

func TestPushRetransmissionStartsNoSecondPush(t *testing.T) {
	s, f, _ := newPushServer(t, pushPolicy)
	state := challenged(t, s, 1, msgAskCodePushEmail)
	req := request(t, 2, "alice", "", state, true)
	done := held(s, req, func() {})
	eventually(t, "the held request polls", func() bool { _, checks := f.counts(); return checks > 0 })
	if got := s.Handle(context.Background(), req, gateway); got != nil {
		t.Fatalf("a retransmission while held was answered with %d bytes; want it dropped for the held answer", len(got))
	}
	f.answer("push1", auth.Outcome{Accepted: true})
	first := <-done
	if p := reply(t, req, first); p.Code != radius.CodeAccessAccept {
		t.Fatalf("answer %v, want Access-Accept", p.Code)
	}
	if again := s.Handle(context.Background(), req, gateway); string(again) != string(first) {
		t.Fatal("a retransmission after the answer did not get the same answer")
	}
	if pushes, _ := f.counts(); pushes != 1 {
		t.Fatalf("%d pushes, want 1", pushes)
	}
}

func TestPushWithNumberMatchingShowsTheNumberFirst(t *testing.T) {
	s, f, _ := newPushServer(t, strings.Replace(pushPolicy, `"push_number_matching": false`, `"push_number_matching": true`, 1))
	state := challenged(t, s, 1, msgAskCodePushEmail)
	req := request(t, 2, "alice", "", state, true)
	p := reply(t, req, s.Handle(context.Background(), req, gateway))
	if want := fmt.Sprintf(message("nl", msgPushNumber), 42); p.Code != radius.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(p) != want {
		t.Fatalf("empty answer: %v %q; want a challenge saying %q", p.Code, rfc2865.ReplyMessage_GetString(p), want)
	}
	f.answer("push1", auth.Outcome{Accepted: true})
	req = request(t, 3, "alice", "", rfc2865.State_Get(p), true)
	if p := reply(t, req, s.Handle(context.Background(), req, gateway)); p.Code != radius.CodeAccessAccept {
		t.Fatalf("continuing after the approval: %v, want Access-Accept", p.Code)
	}
	if pushes, _ := f.counts(); pushes != 1 {
		t.Fatalf("%d pushes, want 1", pushes)
	}
}

func TestPushWithheldAsksForATypedCode(t *testing.T) {
	s, f, _ := newPushServer(t, pushPolicy)
	f.withhold = true
	state := challenged(t, s, 1, msgAskCodePushEmail)
	req := request(t, 2, "alice", "", state, true)
	p := reply(t, req, s.Handle(context.Background(), req, gateway))
	if p.Code != radius.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(p) != message("nl", msgPushTypeCode) {
		t.Fatalf("withheld push: %v %q; want a challenge for a typed code", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	req = request(t, 3, "alice", "123456", rfc2865.State_Get(p), true)
	if p := reply(t, req, s.Handle(context.Background(), req, gateway)); p.Code != radius.CodeAccessAccept {
		t.Fatalf("typed code after the withheld push: %v, want Access-Accept", p.Code)
	}
}

func TestPushOffered(t *testing.T) {
	for _, tt := range []struct {
		name    string
		policy  string
		hasPush bool
		want    string
	}{
		{"push and email", pushPolicy, true, msgAskCodePushEmail},
		{"push only", `{"radius_mode": "password", "methods": ["app", "push"]}`, true, msgAskCodePush},
		{"no push token", pushPolicy, false, msgAskCode},
		{"push not allowed", `{"radius_mode": "password", "methods": ["app", "email"]}`, true, msgAskCode},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, f, _ := newPushServer(t, tt.policy)
			f.hasPush = tt.hasPush
			state := challenged(t, s, 1, tt.want)
			if tt.want != msgAskCode {
				return
			}
			// An empty answer without push on offer mails a code, as before.
			req := request(t, 2, "alice", "", state, true)
			p := reply(t, req, s.Handle(context.Background(), req, gateway))
			if pushes, _ := f.counts(); pushes != 0 || rfc2865.ReplyMessage_GetString(p) != message("nl", msgMailed) {
				t.Fatalf("empty answer without push: %d pushes, %q; want a mailed code", pushes, rfc2865.ReplyMessage_GetString(p))
			}
		})
	}
	t.Run("e mails a code even where push is offered", func(t *testing.T) {
		s, f, _ := newPushServer(t, pushPolicy)
		state := challenged(t, s, 1, msgAskCodePushEmail)
		req := request(t, 2, "alice", "E", state, true)
		p := reply(t, req, s.Handle(context.Background(), req, gateway))
		if pushes, _ := f.counts(); pushes != 0 || rfc2865.ReplyMessage_GetString(p) != message("nl", msgMailed) {
			t.Fatalf("e: %d pushes, %v %q; want a mailed code", pushes, p.Code, rfc2865.ReplyMessage_GetString(p))
		}
	})
}

func TestHeldRequestsStayBounded(t *testing.T) {
	s, f, _ := newPushServer(t, pushPolicy, func(c *Config) { c.MaxHeld = 2 })
	var released atomic.Int32
	var waiting []<-chan []byte
	var reqs [][]byte
	for i := range byte(2) {
		state := challenged(t, s, 10+i, msgAskCodePushEmail)
		req := request(t, 20+i, "alice", "", state, true)
		reqs = append(reqs, req)
		waiting = append(waiting, held(s, req, func() { released.Add(1) }))
	}
	eventually(t, "both requests are held", func() bool { return len(s.held) == 2 })
	if got := released.Load(); got != 2 {
		t.Fatalf("%d held requests gave up their place among those evaluated, want 2", got)
	}

	// A third finds no place: no push is sent, a typed code is asked for.
	state := challenged(t, s, 30, msgAskCodePushEmail)
	req := request(t, 31, "alice", "", state, true)
	p := reply(t, req, s.handle(context.Background(), req, gateway, func() { released.Add(1) }))
	if p.Code != radius.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(p) != message("nl", msgPushTypeCode) {
		t.Fatalf("a request beyond MaxHeld: %v %q; want a challenge for a typed code", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	if pushes, _ := f.counts(); pushes != 2 || released.Load() != 2 {
		t.Fatalf("%d pushes, %d released; want 2 and 2", pushes, released.Load())
	}

	// Which held request sent which push is up to the scheduler.
	f.answer("push1", auth.Outcome{Accepted: true})
	f.answer("push2", auth.Outcome{Accepted: true})
	for i, done := range waiting {
		if p := reply(t, reqs[i], <-done); p.Code != radius.CodeAccessAccept {
			t.Fatalf("held request %d: %v, want Access-Accept", i+1, p.Code)
		}
	}
	if len(s.held) != 0 {
		t.Fatalf("%d places still taken after the answers, want 0", len(s.held))
	}
}

func TestPushSource(t *testing.T) {
	nas := netip.MustParseAddrPort("192.0.2.10:1812")
	for _, tt := range []struct{ station, want string }{
		{"", "192.0.2.10"},
		{"198.51.100.7", "198.51.100.7"},
		{"00-11-22-33-44-55", "00-11-22-33-44-55"},
		{"bad\x00value", "192.0.2.10"},
		{strings.Repeat("1", maxSourceLength+1), "192.0.2.10"},
	} {
		p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
		if tt.station != "" {
			rfc2865.CallingStationID_SetString(p, tt.station)
		}
		if got := pushSource(p, nas); got != tt.want {
			t.Errorf("pushSource(Calling-Station-Id %q) = %q, want %q", tt.station, got, tt.want)
		}
	}
}
