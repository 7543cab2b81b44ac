package push

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Bounds of a subscription: push services' endpoints are a few hundred
// characters; the keys have fixed sizes (RFC 8291 section 2).
const (
	maxEndpoint = 1024
	authSize    = 16
)

// ParseVAPIDKey reads a VAPID private key (RFC 8292): a P-256 key in PEM,
// as "EC PRIVATE KEY" (openssl ecparam -genkey) or "PRIVATE KEY" (PKCS #8).
func ParseVAPIDKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block; make the file with: twofold webpush keygen FILE")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM %q block, not a private key; make the file with: twofold webpush keygen FILE", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable private key: %w", err)
	}
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 (prime256v1) key, which VAPID needs; make one with: twofold webpush keygen FILE")
	}
	return k, nil
}

// NewVAPIDKey makes a VAPID private key in PEM ("EC PRIVATE KEY"), for
// ParseVAPIDKey.
func NewVAPIDKey() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// ApplicationServerKey is k's public key as a browser subscribes with it.
func ApplicationServerKey(k *ecdsa.PrivateKey) string {
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		// A key ParseVAPIDKey returned is always on P-256.
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(pub)
}

// ParseSubscription reads the body of PUT PathSubscription into the
// subscription of token tokenID, or says what is wrong with it.
func ParseSubscription(body []byte, tokenID int64, now time.Time) (store.WebPushSubscription, error) {
	var req SubscriptionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return store.WebPushSubscription{}, errors.New("the body must be one JSON object, as PushSubscription.toJSON() gives")
	}
	if len(req.Endpoint) > maxEndpoint {
		return store.WebPushSubscription{}, fmt.Errorf("the endpoint is longer than %d characters", maxEndpoint)
	}
	if u, err := url.Parse(req.Endpoint); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return store.WebPushSubscription{}, errors.New("the endpoint must be an https:// URL without a user name or fragment")
	}
	p256dh, err := base64.RawURLEncoding.Strict().DecodeString(req.Keys.P256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(p256dh)
	}
	if err != nil || len(p256dh) != 65 {
		return store.WebPushSubscription{}, errors.New("keys.p256dh must be an uncompressed P-256 point in unpadded base64url")
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(req.Keys.Auth)
	if err != nil || len(secret) != authSize {
		return store.WebPushSubscription{}, errors.New("keys.auth must be 16 bytes in unpadded base64url")
	}
	return store.WebPushSubscription{TokenID: tokenID, Endpoint: req.Endpoint, P256dh: p256dh, Auth: secret, CreatedAt: now}, nil
}

// WebPushStore is what sending Web Push messages needs of the database.
type WebPushStore interface {
	OrgByID(ctx context.Context, id int64) (store.Org, error)
	WebPushSubscriptions(ctx context.Context, orgID int64, username string) ([]store.WebPushSubscription, error)
	DeleteWebPushSubscription(ctx context.Context, tokenID int64, endpoint string, e store.Event) error
}

// WebPush sends a Web Push message (RFC 8291, aes128gcm, with VAPID, RFC
// 8292) to each subscription of the user of every push request made
// (auth.PushNotifier), in the background. Each is tried once: the app polls
// while it is open, and a request lives minutes. A subscription the push
// service says is gone (404, 410) is deleted.
type WebPush struct {
	Key *ecdsa.PrivateKey
	// Contact is the operator's mailto: or https: URL, which push
	// services are told (the VAPID "sub").
	Contact string
	Store   WebPushStore
	// Client should not follow redirects: an endpoint is the browser's
	// push service, and nowhere else.
	Client *http.Client
	Clock  clock.Clock
	Log    *slog.Logger

	background
}

// PushWaiting sends the messages of n.
func (w *WebPush) PushWaiting(ctx context.Context, n auth.PushNotice) {
	w.start(ctx, w.Log, "web push", n.RequestID, func(ctx context.Context) error { return w.deliver(ctx, n) })
}

func (w *WebPush) deliver(ctx context.Context, n auth.PushNotice) error {
	subs, err := w.Store.WebPushSubscriptions(ctx, n.OrgID, n.Username)
	if err != nil || len(subs) == 0 {
		return err
	}
	org, err := w.Store.OrgByID(ctx, n.OrgID)
	if err != nil {
		return fmt.Errorf("organization %d: %w", n.OrgID, err)
	}
	msg, err := json.Marshal(WebPushMessage{Org: org.Name, Application: n.Application, RequestID: n.RequestID,
		ExpiresAt: n.ExpiresAt.UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	// A message arriving after the request expired would only mislead.
	ttl := max(int(n.ExpiresAt.Sub(w.Clock.Now())/time.Second), 0)
	priv, err := w.Key.Bytes()
	if err != nil {
		return err
	}
	opts := &webpush.Options{HTTPClient: w.Client, Subscriber: strings.TrimPrefix(w.Contact, "mailto:"), TTL: ttl,
		Urgency: webpush.UrgencyHigh, VAPIDPublicKey: ApplicationServerKey(w.Key),
		VAPIDPrivateKey: base64.RawURLEncoding.EncodeToString(priv)}
	var errs []error
	for _, sub := range subs {
		if err := w.send(ctx, org, n, sub, msg, opts); err != nil {
			errs = append(errs, fmt.Errorf("token %s: %w", sub.Serial, err))
		}
	}
	return errors.Join(errs...)
}

func (w *WebPush) send(ctx context.Context, org store.Org, n auth.PushNotice, sub store.WebPushSubscription, msg []byte, opts *webpush.Options) error {
	resp, err := webpush.SendNotificationWithContext(ctx, msg, &webpush.Subscription{Endpoint: sub.Endpoint,
		Keys: webpush.Keys{P256dh: base64.RawURLEncoding.EncodeToString(sub.P256dh), Auth: base64.RawURLEncoding.EncodeToString(sub.Auth)}}, opts)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		// The browser unsubscribed or the push service forgot it: no
		// message will reach it again until the app subscribes anew.
		err := w.Store.DeleteWebPushSubscription(ctx, sub.TokenID, sub.Endpoint, store.Event{OrgID: n.OrgID, At: w.Clock.Now(),
			Actor: "webpush", Action: "webpush.gone", Target: org.Slug + "/" + n.Username + " " + sub.Serial, Result: "ok",
			Detail: "the push service answered " + resp.Status})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("gone (%s), and not deleted: %w", resp.Status, err)
		}
		w.Log.Info("web push: subscription gone; deleted", "token", sub.Serial, "status", resp.StatusCode)
		return nil
	}
	return fmt.Errorf("the push service answered %s", resp.Status)
}
