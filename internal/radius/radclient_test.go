package radius

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// radclientRun sends one Access-Request with FreeRADIUS's radclient,
// waiting timeout seconds per try, and returns what came back
// ("Access-Accept", …, or "" for nothing) and radclient's output.
func radclientRun(t *testing.T, addr string, timeout, tries int, attrs ...string) (string, string) {
	t.Helper()
	path := testenv.Command(t, "radclient", "freeradius-utils")
	cmd := exec.Command(path, "-x", "-r", fmt.Sprint(tries), "-t", fmt.Sprint(timeout), addr, "auth", testSecret)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, ", ") + "\n")
	out, _ := cmd.CombinedOutput()
	m := regexp.MustCompile(`Received (Access-\w+)`).FindStringSubmatch(string(out))
	if m == nil {
		return "", string(out)
	}
	return m[1], string(out)
}

// receivedState returns the State of the answer in radclient's output,
// or "" when it has none.
func receivedState(out string) string {
	_, received, _ := strings.Cut(out, "Received Access-")
	if m := regexp.MustCompile(`State = (0x[0-9a-f]+)`).FindStringSubmatch(received); m != nil {
		return m[1]
	}
	return ""
}

// pushEnv is a RADIUS server on the real core and store, serving on a
// UDP port, for alice (password "correct horse") with an active TOTP
// token and an active push token.
type pushEnv struct {
	t     *testing.T
	ctx   context.Context
	addr  string
	st    *store.Store
	v     *auth.Verifier
	svc   *admin.Service
	org   store.Org
	alice store.User
	totp  *otp.Generator
	step  int64 // the TOTP step the activation used
}

func newPushEnv(t *testing.T, b storetest.Backend) *pushEnv {
	testenv.Command(t, "radclient", "freeradius-utils")
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.System{}
	st := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cheap := &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}
	e := &pushEnv{t: t, ctx: ctx, st: st, svc: &admin.Service{Store: st, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: "https://mfa.example", Actor: "test"}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.org, err = e.svc.CreateOrg(ctx, "acme", "Acme")
	must(err)
	e.alice, err = e.svc.AddUser(ctx, e.org, admin.NewUser{Username: "alice", Password: "correct horse"})
	must(err)
	_, err = e.svc.AddRadiusClient(ctx, e.org, admin.NewRadiusClient{Name: "vpn", Address: "127.0.0.1", Secret: testSecret})
	must(err)
	e.setPolicy(map[string]string{"radius_mode": "password", "methods": "app,push", "push_number_matching": "false"})

	v := auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap})
	e.v = v
	en, err := e.svc.EnrollToken(ctx, e.org, "alice", "totp", "")
	must(err)
	k, err := otp.ParseURI(en.URI)
	must(err)
	e.totp, err = otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	must(err)
	e.step = otp.Step(clk.Now(), k.Period)
	out, err := v.Activate(ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Code: e.totp.Code(uint64(e.step))}, en.Token.Serial)
	if err != nil || !out.Accepted {
		t.Fatalf("activate TOTP: %+v, %v", out, err)
	}
	pen, err := e.svc.EnrollToken(ctx, e.org, "alice", "push", "")
	must(err)
	a, err := push.ParseActivation(pen.Activation)
	must(err)
	must(st.ActivatePushToken(ctx, secret.HashToken(strings.ToLower(a.Code)),
		store.PushDevice{TokenID: pen.Token.ID, PublicKey: make([]byte, 32), Name: "phone", CreatedAt: clk.Now()},
		clk.Now(), store.Event{OrgID: e.org.ID, At: clk.Now(), Action: "push.activate"}))

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(err)
	e.addr = conn.LocalAddr().String()
	s := New(Config{Store: st, Keys: keys, Verifier: v, Clock: clk})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

func (e *pushEnv) setPolicy(changes map[string]string) {
	e.t.Helper()
	if _, err := e.svc.SetPolicy(e.ctx, e.org, changes); err != nil {
		e.t.Fatal(err)
	}
	org, err := e.st.OrgBySlug(e.ctx, e.org.Slug)
	if err != nil {
		e.t.Fatal(err)
	}
	e.org = org
}

// challenge sends alice's password and returns the challenge's State.
func (e *pushEnv) challenge() string {
	e.t.Helper()
	got, out := radclientRun(e.t, e.addr, 5, 1, pap("alice", "correct horse")...)
	state := receivedState(out)
	if got != "Access-Challenge" || state == "" {
		e.t.Fatalf("password: got %q, want Access-Challenge with State\n%s", got, out)
	}
	return state
}

// answerPush waits for alice's newest pending push, waits a little more,
// and answers it as her device would; it returns the request and how many
// were pending.
func (e *pushEnv) answerPush(decision string, after time.Duration) (store.PushRequest, int) {
	for {
		pending, err := e.st.PendingPushRequests(e.ctx, e.alice.ID, time.Now())
		if err != nil {
			e.t.Error(err)
			return store.PushRequest{}, 0
		}
		if len(pending) > 0 && time.Since(pending[len(pending)-1].CreatedAt) < time.Second {
			p := pending[len(pending)-1]
			time.Sleep(after)
			if _, err := e.v.AnswerPush(e.ctx, auth.PushAnswer{OrgID: e.org.ID, UserID: p.UserID, RequestID: p.ID, Decision: decision, Number: p.Number,
				Event: store.Event{OrgID: e.org.ID, Action: "push.answer"}}); err != nil {
				e.t.Error(err)
			}
			return p, len(pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pushesStarted counts alice's push requests sent, from the audit log.
func (e *pushEnv) pushesStarted() int {
	e.t.Helper()
	evs, err := e.st.Events(e.ctx, e.org.ID, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Action == "push.start" && ev.Result == "ok" {
			n++
		}
	}
	return n
}

func pap(user, password string) []string {
	return []string{fmt.Sprintf("User-Name = %q", user), fmt.Sprintf("User-Password = %q", password), "Message-Authenticator = 0x00"}
}

func TestPushWithRadclient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newPushEnv(t, b)
		second := func(state, password string, timeout, tries int) (string, string) {
			return radclientRun(t, e.addr, timeout, tries, append(pap("alice", password), "State = "+state, `Calling-Station-Id = "203.0.113.5"`)...)
		}

		t.Run("an approved push accepts the held request", func(t *testing.T) {
			state := e.challenge()
			answered := make(chan store.PushRequest, 1)
			go func() { p, _ := e.answerPush(store.PushApprove, 0); answered <- p }()
			if got, out := second(state, "", 10, 1); got != "Access-Accept" || !strings.Contains(out, "Message-Authenticator") {
				t.Fatalf("got %q, want Access-Accept with Message-Authenticator\n%s", got, out)
			}
			if p := <-answered; p.Application != "vpn" || p.Source != "203.0.113.5" {
				t.Fatalf("push request from %q at %q, want vpn and the Calling-Station-Id", p.Application, p.Source)
			}
		})
		t.Run("a denied push rejects", func(t *testing.T) {
			state := e.challenge()
			go e.answerPush(store.PushDeny, 0)
			if got, out := second(state, "p", 10, 1); got != "Access-Reject" {
				t.Fatalf("got %q, want Access-Reject\n%s", got, out)
			}
		})
		t.Run("an unanswered push rejects after radius_push_wait", func(t *testing.T) {
			e.setPolicy(map[string]string{"radius_push_wait": "1s"})
			state := e.challenge()
			start := time.Now()
			if got, out := second(state, "", 10, 1); got != "Access-Reject" || time.Since(start) < time.Second {
				t.Fatalf("got %q after %v, want Access-Reject after radius_push_wait\n%s", got, time.Since(start), out)
			}
		})
		t.Run("a retransmission while held sends no second push", func(t *testing.T) {
			e.setPolicy(map[string]string{"radius_push_wait": "10s"})
			state := e.challenge()
			before := e.pushesStarted()
			pending := make(chan int, 1)
			// radclient resends every second; the approval comes after some.
			go func() { _, n := e.answerPush(store.PushApprove, 2500*time.Millisecond); pending <- n }()
			got, out := second(state, "", 1, 6)
			if got != "Access-Accept" || strings.Count(out, "Sent Access-Request") < 2 {
				t.Fatalf("got %q after %d sends, want Access-Accept after retransmissions\n%s", got, strings.Count(out, "Sent Access-Request"), out)
			}
			// One push is still pending from the unanswered one before.
			if n, started := <-pending, e.pushesStarted()-before; n != 2 || started != 1 {
				t.Fatalf("%d pending while held and %d pushes started, want 2 and 1\n%s", n, started, out)
			}
		})
		t.Run("past push_rate a typed code is asked for, and answers the same challenge", func(t *testing.T) {
			e.setPolicy(map[string]string{"push_rate": "4/1h"})
			state := e.challenge()
			got, out := second(state, "", 5, 1)
			state = receivedState(out)
			if got != "Access-Challenge" || state == "" || !strings.Contains(out, message("en", msgPushTypeCode)) {
				t.Fatalf("got %q, want Access-Challenge asking for a typed code\n%s", got, out)
			}
			if got, out := second(state, e.totp.Code(uint64(e.step+1)), 5, 1); got != "Access-Accept" {
				t.Fatalf("typed TOTP code: got %q, want Access-Accept\n%s", got, out)
			}
		})
	})
}
