package push_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// hook is an operator's notification system receiving webhooks: it
// answers each delivery with the next of statuses (then 200), and keeps
// what came.
type hook struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	sigs     []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, body)
	h.sigs = append(h.sigs, r.Header.Get(push.WebhookHeader))
	if len(h.statuses) > 0 {
		w.WriteHeader(h.statuses[0])
		h.statuses = h.statuses[1:]
	}
}

func TestWebhook(t *testing.T) {
	for _, tc := range []struct {
		name       string
		statuses   []int
		deliveries int
	}{
		{"delivered at once", nil, 1},
		{"tried again after a 503 and a 429", []int{503, 429}, 3},
		{"given up after the attempts", []int{500, 500, 500, 500}, 3},
		{"a 4xx is not tried again", []int{404}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, storetest.SQLite(t))
			h := &hook{statuses: tc.statuses}
			srv := httptest.NewTLSServer(h)
			t.Cleanup(srv.Close)
			key := []byte(strings.Repeat("s", 32))
			wh := &push.Webhook{URL: srv.URL + "/twofold", Secret: key, Orgs: e.store, Client: srv.Client(),
				Clock: e.clock, Log: slog.New(slog.DiscardHandler), Attempts: 3, Backoff: time.Millisecond}
			v := auth.NewVerifier(auth.Config{Store: e.store, Keys: e.keys, Clock: e.clock, PushWaiting: wh})
			newDevice(1).mustActivate(t, e, e.enroll("alice", "push"))

			p, err := v.StartPush(e.ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Actor: "api:vpn", Source: "192.0.2.7"}, "vpn")
			if err != nil {
				t.Fatal(err)
			}
			wh.Wait()
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.bodies) != tc.deliveries {
				t.Fatalf("%d deliveries, want %d", len(h.bodies), tc.deliveries)
			}
			body := h.bodies[len(h.bodies)-1]
			var n push.Notice
			if err := json.Unmarshal(body, &n); err != nil {
				t.Fatal(err)
			}
			req, err := e.store.PushRequestByTxHash(e.ctx, e.org.ID, secret.HashToken(p.TransactionID))
			if err != nil {
				t.Fatal(err)
			}
			want := push.Notice{Event: "push.waiting", Org: "acme", Username: "alice", RequestID: req.ID, Application: "vpn",
				Source: "192.0.2.7", CreatedAt: e.clock.Now().UTC(), ExpiresAt: p.ExpiresAt.UTC()}
			if n != want {
				t.Errorf("notice %+v, want %+v", n, want)
			}
			if strings.Contains(string(body), "number") {
				t.Errorf("the notice gives the number away: %s", body)
			}
			if got, want := h.sigs[len(h.sigs)-1], push.WebhookSignature(key, e.clock.Now().Unix(), body); got != want {
				t.Errorf("signature %q, want %q", got, want)
			}
			if push.WebhookSignature([]byte(strings.Repeat("x", 32)), e.clock.Now().Unix(), body) == h.sigs[0] {
				t.Error("another secret signs alike")
			}
		})
	}
}
