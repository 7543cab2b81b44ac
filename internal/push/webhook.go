package push

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
)

// WebhookHeader carries a webhook's signature: "t=<unix seconds>,
// v1=<hex HMAC-SHA256 of the secret over t + "." + body>". The time is in
// the signature, so that a receiver refusing old times refuses replays.
const WebhookHeader = "Twofold-Webhook-Signature"

// Notice is the body of the webhook that tells the operator's own
// notification system a push request waits. It carries no number: the
// number is for the sign-in screen alone, or number matching would prove
// nothing.
type Notice struct {
	Event       string    `json:"event"` // "push.waiting"
	Org         string    `json:"org"`   // the organization's slug
	Username    string    `json:"username"`
	RequestID   string    `json:"request_id"`
	Application string    `json:"application"`
	Source      string    `json:"source"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// OrgFinder finds an organization, to name it in a notice.
type OrgFinder interface {
	OrgByID(ctx context.Context, id int64) (store.Org, error)
}

// Webhook posts a signed Notice to URL for every push request made
// (auth.PushNotifier), in the background: a sign-in never waits for it.
// A delivery that fails for the network or a 5xx or 429 answer is tried
// again, Attempts times at most, waiting Backoff and then twice as long
// each time; any other answer ends it.
type Webhook struct {
	URL      string
	Secret   []byte
	Orgs     OrgFinder
	Client   *http.Client
	Clock    clock.Clock
	Log      *slog.Logger
	Attempts int
	Backoff  time.Duration

	background
}

// PushWaiting sends the notice of n.
func (w *Webhook) PushWaiting(ctx context.Context, n auth.PushNotice) {
	w.start(ctx, w.Log, "push webhook", n.RequestID, func(ctx context.Context) error { return w.deliver(ctx, n) })
}

func (w *Webhook) deliver(ctx context.Context, n auth.PushNotice) error {
	org, err := w.Orgs.OrgByID(ctx, n.OrgID)
	if err != nil {
		return fmt.Errorf("organization %d: %w", n.OrgID, err)
	}
	body, err := json.Marshal(Notice{Event: "push.waiting", Org: org.Slug, Username: n.Username, RequestID: n.RequestID,
		Application: n.Application, Source: n.Source, CreatedAt: n.CreatedAt.UTC(), ExpiresAt: n.ExpiresAt.UTC()})
	if err != nil {
		return err
	}
	wait := w.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := w.post(ctx, body)
		if err == nil || !retry || attempt >= w.Attempts {
			return err
		}
		w.Log.Info("push webhook: trying again", "request", n.RequestID, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
}

// post makes one delivery; retry says whether another may succeed.
func (w *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(WebhookHeader, WebhookSignature(w.Secret, w.Clock.Now().Unix(), body))
	resp, err := w.Client.Do(req)
	if err != nil {
		return true, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("answered %s", resp.Status)
	}
	return false, fmt.Errorf("answered %s; not trying again", resp.Status)
}

// WebhookSignature is the WebhookHeader value of body sent at ts.
func WebhookSignature(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "t=" + strconv.FormatInt(ts, 10) + ", v1=" + hex.EncodeToString(mac.Sum(nil))
}
