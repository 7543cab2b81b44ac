package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// activePush allows push and activates a push token for user, as the app
// would with its activation string.
func (f *fixture) activePush(user string) {
	f.t.Helper()
	if _, err := f.svc.SetPolicy(f.ctx, f.org, map[string]string{"methods": "app,email,push"}); err != nil {
		f.t.Fatal(err)
	}
	org, err := f.svc.Org(f.ctx, f.org.Slug)
	if err != nil {
		f.t.Fatal(err)
	}
	f.org = org
	en, err := f.svc.EnrollToken(f.ctx, f.org, user, "push", "")
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := push.ParseActivation(en.Activation)
	if err != nil {
		f.t.Fatal(err)
	}
	dev := store.PushDevice{TokenID: en.Token.ID, PublicKey: make([]byte, 32), CreatedAt: f.clk.Now()}
	if err := f.st.ActivatePushToken(f.ctx, secret.HashToken(strings.ToLower(a.Code)), dev, f.clk.Now(), store.Event{OrgID: f.org.ID, Action: "push.activate"}); err != nil {
		f.t.Fatal(err)
	}
}

// pushChallenge starts a push for alice with her password and returns
// the transaction id and the number.
func (f *fixture) pushChallenge(t *testing.T) (string, int) {
	t.Helper()
	got := f.validate(f.srv, f.jsonBody(map[string]any{"username": "alice", "password": alicePassword, "methods": []string{"push"}}))
	checkJSONHeaders(t, "push challenge", got)
	var a struct {
		Result        string   `json:"result"`
		TransactionID string   `json:"transaction_id"`
		Methods       []string `json:"methods"`
		Number        int      `json:"number"`
	}
	if err := json.Unmarshal(got.body, &a); err != nil || got.status != http.StatusOK || a.Result != "challenge" ||
		a.TransactionID == "" || len(a.Methods) != 1 || a.Methods[0] != "push" || a.Number < 10 || a.Number > 99 {
		t.Fatalf("push challenge: %d %s", got.status, got.body)
	}
	return a.TransactionID, a.Number
}

// answerPush answers the push of txid as alice's device would.
func (f *fixture) answerPush(t *testing.T, txid, decision string, number int) {
	t.Helper()
	r, err := f.st.PushRequestByTxHash(f.ctx, f.org.ID, secret.HashToken(txid))
	if err != nil {
		t.Fatal(err)
	}
	if r.Application != "vpn" {
		t.Errorf("the push names the application %q, want the API key's name vpn", r.Application)
	}
	if _, err := f.v.AnswerPush(f.ctx, auth.PushAnswer{OrgID: f.org.ID, UserID: r.UserID, RequestID: r.ID, Decision: decision, Number: number,
		Event: store.Event{OrgID: f.org.ID, Action: "push.answer"}}); err != nil {
		t.Fatal(err)
	}
}

// collections counts the audited collections of pushes.
func (f *fixture) collections() map[string]int {
	n := map[string]int{}
	for _, e := range f.events(1000) {
		if e.Action == "push.check" {
			n[e.Result]++
		}
	}
	return n
}

func TestPushChallenge(t *testing.T) {
	for _, tc := range []struct {
		decision string
		right    bool
		status   string
		result   string // of the collection in the audit log
	}{
		{store.PushApprove, true, "accepted", "accept"},
		{store.PushApprove, false, "denied", "wrong_number"},
		{store.PushDeny, false, "denied", "denied"},
		{store.PushReport, false, "denied", "fraud"},
		{"", false, "expired", "expired"},
	} {
		t.Run(tc.result, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				f := newFixture(t, b)
				f.activePush("alice")
				txid, number := f.pushChallenge(t)
				f.wantStatus(t, "A new push", f.key, txid, "pending")
				switch {
				case tc.decision == "":
					f.clk.Advance(2*time.Minute + time.Second)
				case !tc.right:
					f.answerPush(t, txid, tc.decision, 10+(number-9)%90)
				default:
					f.answerPush(t, txid, tc.decision, number)
				}
				// The first read collects; the later ones say the same
				// and count nothing again.
				for range 3 {
					f.wantStatus(t, "An answered push", f.key, txid, tc.status)
				}
				if got := f.collections(); len(got) != 1 || got[tc.result] != 1 {
					t.Errorf("collections %v, want one %s", got, tc.result)
				}
				failures := 0
				if tc.result != "accept" && tc.result != "expired" {
					failures = 1
				}
				if u := f.user("alice"); u.TotalFailures != failures {
					t.Errorf("failures %d, want %d", u.TotalFailures, failures)
				}
			})
		})
	}
}

func TestPushChallengeRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		f.activePush("alice")
		wrong := f.validate(f.srv, f.jsonBody(map[string]any{"username": "alice", "password": "Tr0ub4dor&3", "methods": []string{"push"}}))
		f.wantAnswer(t, "A wrong password", wrong, reject, "")
		noPush := f.validate(f.srv, f.jsonBody(map[string]any{"username": "bob", "methods": []string{"push"}}))
		f.wantAnswer(t, "A user without a push token", noPush, reject, "")
		if n, err := f.st.PendingPushRequests(f.ctx, f.user("alice").ID, f.clk.Now()); err != nil || len(n) != 0 {
			t.Fatalf("pushes sent for refused requests: %v, %v", n, err)
		}
		// The fatigue limit: three open at once, then a typed code.
		for range 3 {
			f.pushChallenge(t)
		}
		withheld := f.validate(f.srv, f.jsonBody(map[string]any{"username": "alice", "password": alicePassword, "methods": []string{"push"}}))
		f.wantAnswer(t, "A fourth push", withheld, codeRequired, "")
		// With email as well, a withheld push falls back to neither:
		// alice has no email token, so a typed code it is.
		both := f.validate(f.srv, f.jsonBody(map[string]any{"username": "alice", "password": alicePassword, "methods": []string{"push", "email"}}))
		f.wantAnswer(t, "A fourth push or an email", both, codeRequired, "")
	})
}

// Applications polling one answered push through two instances at once
// all read the same status; it is collected, and counted, once.
func TestConcurrentPushPolling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		f.activePush("alice")
		other := f.newInstance()
		txid, number := f.pushChallenge(t)
		f.answerPush(t, txid, store.PushApprove, number)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				srv := f.srv
				if i%2 == 1 {
					srv = other.srv
				}
				req, err := http.NewRequest(http.MethodGet, srv.URL+prefixTransactions+txid, nil)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+f.key)
				if got := f.do(req); got.status != http.StatusOK || string(got.body) != `{"status":"accepted"}` {
					t.Errorf("poll: %d %s", got.status, got.body)
				}
			})
		}
		wg.Wait()
		if got := f.collections(); len(got) != 1 || got["accept"] != 1 {
			t.Errorf("collections %v, want one accept", got)
		}
	})
}
