package push_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/hkdf"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// testVAPID is the server's VAPID key in the tests, made once.
var testVAPID = sync.OnceValue(func() *ecdsa.PrivateKey {
	pemKey, err := push.NewVAPIDKey()
	if err != nil {
		panic(err)
	}
	k, err := push.ParseVAPIDKey(pemKey)
	if err != nil {
		panic(err)
	}
	return k
})

const testContact = "mailto:mfa-ops@acme.example"

// browser is a browser's Web Push subscription: its key pair and
// authentication secret, made here as a browser makes them.
type browser struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t *testing.T) *browser {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{priv: priv, auth: make([]byte, 16)}
	rand.Read(b.auth)
	return b
}

// subscription is what the web app PUTs for b at endpoint.
func (b *browser) subscription(endpoint string) []byte {
	body, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(b.priv.PublicKey().Bytes()),
		"auth":   base64.RawURLEncoding.EncodeToString(b.auth)}})
	return body
}

// decrypt opens an aes128gcm message for b (RFC 8291 section 3, RFC 8188):
// the header carries the salt, record size and the sender's one-time public
// key, from which with b's private key and secret the content key comes.
func (b *browser) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 || int(body[20]) != 65 || len(body) < 21+65 {
		return nil, errors.New("short header")
	}
	salt, rs, senderPub, ct := body[:16], binary.BigEndian.Uint32(body[16:20]), body[21:86], body[86:]
	if rs < 18 || uint32(len(ct)) > rs {
		return nil, errors.New("not a single record")
	}
	pub, err := ecdh.P256().NewPublicKey(senderPub)
	if err != nil {
		return nil, err
	}
	shared, err := b.priv.ECDH(pub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), b.priv.PublicKey().Bytes()...), senderPub...)
	ikm := expand(hkdf.Extract(sha256.New, shared, b.auth), info, 32)
	prk := hkdf.Extract(sha256.New, ikm, salt)
	block, err := aes.NewCipher(expand(prk, []byte("Content-Encoding: aes128gcm\x00"), 16))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, expand(prk, []byte("Content-Encoding: nonce\x00"), 12), ct, nil)
	if err != nil {
		return nil, err
	}
	// The last record ends with the delimiter 2, then padding zeros.
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:len(plain)-1], nil
}

func expand(prk, info []byte, n int) []byte {
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, info), out); err != nil {
		panic(err)
	}
	return out
}

// pushService is a browser vendor's push service over HTTPS: it answers
// each message with the next of statuses (then 201) and keeps what came.
type pushService struct {
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	bodies   [][]byte
}

func (p *pushService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, r)
	p.bodies = append(p.bodies, body)
	status := http.StatusCreated
	if len(p.statuses) > 0 {
		status, p.statuses = p.statuses[0], p.statuses[1:]
	}
	w.WriteHeader(status)
}

// checkVAPID verifies r's VAPID Authorization (RFC 8292): a JWT signed
// ES256 by the key k names, which is the server's, for the push service's
// origin, not yet expired, naming the operator's contact.
func checkVAPID(t *testing.T, r *http.Request, origin string) {
	t.Helper()
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "vapid t=")
	jwt, k, ok2 := strings.Cut(rest, ", k=")
	if !ok || !ok2 {
		t.Fatalf("Authorization %q is not VAPID", auth)
	}
	if k != push.ApplicationServerKey(testVAPID()) {
		t.Errorf("VAPID k=%s is not the server's key", k)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", jwt)
	}
	var header struct{ Alg, Typ string }
	var claims struct {
		Aud, Sub string
		Exp      int64
	}
	for i, v := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			t.Fatalf("JWT part %d %q: %v", i, parts[i], err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("JWT signature %q: %v", parts[2], err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub, err := ecdsa.ParseUncompressedPublicKey(testVAPID().Curve, mustDecode(t, k))
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("the VAPID JWT does not verify with the server's key")
	}
	now := time.Now().Unix()
	if header.Alg != "ES256" || claims.Aud != origin || claims.Sub != testContact || claims.Exp <= now || claims.Exp > now+24*3600 {
		t.Errorf("JWT header %+v claims %+v; want ES256, aud %s, sub %s, exp within 24 h", header, claims, origin, testContact)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newWebPush is the sender of the server, with the push service's client.
func newWebPush(e *env, srv *httptest.Server) *push.WebPush {
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &push.WebPush{Key: testVAPID(), Contact: testContact, Store: e.store, Client: client, Clock: e.clock,
		Log: slog.New(slog.DiscardHandler)}
}

// A push request reaches the subscribed browser, encrypted for it alone,
// from the server its VAPID signature names.
func TestWebPushDelivers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ps := &pushService{}
		srv := httptest.NewTLSServer(ps)
		t.Cleanup(srv.Close)
		d := newWebDevice(t)
		d.mustActivate(t, e, e.enroll("alice", "push"))
		br := newBrowser(t)
		if status, body := d.do(t, e.srv.URL, http.MethodPut, push.PathSubscription, br.subscription(srv.URL+"/send/abc"), e.clock.Now()); status != http.StatusOK {
			t.Fatalf("subscribe: %d %s", status, body)
		}
		wp := newWebPush(e, srv)
		v := auth.NewVerifier(auth.Config{Store: e.store, Keys: e.keys, Clock: e.clock, PushWaiting: wp})
		p, err := v.StartPush(e.ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Actor: "api:vpn", Source: "192.0.2.7"}, "vpn")
		if err != nil {
			t.Fatal(err)
		}
		wp.Wait()
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if len(ps.got) != 1 {
			t.Fatalf("%d messages, want 1", len(ps.got))
		}
		r := ps.got[0]
		if r.URL.Path != "/send/abc" || r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") != "120" || r.Header.Get("Urgency") != "high" {
			t.Errorf("message to %s with headers %v", r.URL, r.Header)
		}
		checkVAPID(t, r, srv.URL)
		plain, err := br.decrypt(ps.bodies[0])
		if err != nil {
			t.Fatalf("decrypt: %v", err)
		}
		if _, err := newBrowser(t).decrypt(ps.bodies[0]); err == nil {
			t.Error("another browser's keys open the message")
		}
		req, err := e.store.PushRequestByTxHash(e.ctx, e.org.ID, secret.HashToken(p.TransactionID))
		if err != nil {
			t.Fatal(err)
		}
		var msg push.WebPushMessage
		if err := json.Unmarshal(plain, &msg); err != nil {
			t.Fatalf("message %q: %v", plain, err)
		}
		want := push.WebPushMessage{Org: "Acme Corp", Application: "vpn", RequestID: req.ID, ExpiresAt: p.ExpiresAt.UTC().Format(time.RFC3339)}
		if msg != want {
			t.Errorf("message %+v, want %+v", msg, want)
		}
		var fields map[string]any
		json.Unmarshal(plain, &fields)
		for k, v := range fields {
			if strings.Contains(k, "number") || fmt.Sprint(v) == fmt.Sprint(p.Number) {
				t.Errorf("the message gives the number %d away: %s", p.Number, plain)
			}
		}
	})
}

// A subscription the push service no longer knows is deleted, audited;
// another answer keeps it.
func TestWebPushGoneSubscriptionIsDeleted(t *testing.T) {
	for _, tc := range []struct {
		status int
		kept   bool
	}{{http.StatusGone, false}, {http.StatusNotFound, false}, {http.StatusInternalServerError, true}, {http.StatusTooManyRequests, true}} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			e := newEnv(t, storetest.SQLite(t))
			ps := &pushService{statuses: []int{tc.status}}
			srv := httptest.NewTLSServer(ps)
			t.Cleanup(srv.Close)
			d := newWebDevice(t)
			d.mustActivate(t, e, e.enroll("alice", "push"))
			if status, body := d.do(t, e.srv.URL, http.MethodPut, push.PathSubscription, newBrowser(t).subscription(srv.URL+"/s"), e.clock.Now()); status != http.StatusOK {
				t.Fatalf("subscribe: %d %s", status, body)
			}
			wp := newWebPush(e, srv)
			wp.PushWaiting(e.ctx, auth.PushNotice{OrgID: e.org.ID, Username: "alice", RequestID: "r1", Application: "portal",
				CreatedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Minute)})
			wp.Wait()
			subs, err := e.store.WebPushSubscriptions(e.ctx, e.org.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if kept := len(subs) == 1; kept != tc.kept {
				t.Fatalf("after a %d: %d subscriptions", tc.status, len(subs))
			}
			events, err := e.store.Events(e.ctx, e.org.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			if gone := events[0].Action == "webpush.gone"; gone == tc.kept {
				t.Errorf("after a %d the newest event is %+v", tc.status, events[0])
			}
			// Each message is tried once.
			if len(ps.got) != 1 {
				t.Errorf("%d attempts, want 1", len(ps.got))
			}
		})
	}
}

func TestSubscriptionEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		d := newWebDevice(t)
		d.mustActivate(t, e, e.enroll("alice", "push"))
		br := newBrowser(t)
		good := br.subscription("https://push.example/send/1")
		var sub map[string]any
		json.Unmarshal(good, &sub)
		with := func(change func(keys map[string]any)) []byte {
			c := map[string]any{"endpoint": sub["endpoint"], "keys": map[string]any{}}
			for k, v := range sub["keys"].(map[string]any) {
				c["keys"].(map[string]any)[k] = v
			}
			change(c)
			out, _ := json.Marshal(c)
			return out
		}
		for _, tc := range []struct {
			name   string
			body   []byte
			status int
		}{
			{"http endpoint", with(func(c map[string]any) { c["endpoint"] = "http://push.example/send/1" }), 400},
			{"no endpoint", with(func(c map[string]any) { delete(c, "endpoint") }), 400},
			{"endpoint with a user", with(func(c map[string]any) { c["endpoint"] = "https://u:p@push.example/x" }), 400},
			{"endpoint too long", with(func(c map[string]any) { c["endpoint"] = "https://push.example/" + strings.Repeat("a", 1100) }), 400},
			{"p256dh not a point", with(func(c map[string]any) {
				c["keys"].(map[string]any)["p256dh"] = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{4}, 65))
			}), 400},
			{"auth of 15 bytes", with(func(c map[string]any) {
				c["keys"].(map[string]any)["auth"] = base64.RawURLEncoding.EncodeToString(make([]byte, 15))
			}), 400},
			{"not JSON", []byte("endpoint=https://push.example"), 400},
			{"too large", append(append([]byte(`{"endpoint":"https://push.example/`), bytes.Repeat([]byte("a"), 20<<10)...), `"}`...), 413},
		} {
			if status, body := d.do(t, e.srv.URL, http.MethodPut, push.PathSubscription, tc.body, e.clock.Now()); status != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
			}
		}
		if subs, _ := e.store.WebPushSubscriptions(e.ctx, e.org.ID, "alice"); len(subs) != 0 {
			t.Fatalf("refused subscriptions stored: %+v", subs)
		}

		// Unsigned, or signed by another key, is refused.
		req, _ := http.NewRequest(http.MethodPut, e.srv.URL+push.PathSubscription, bytes.NewReader(good))
		if status, _ := call(t, req); status != http.StatusUnauthorized {
			t.Errorf("unsigned: %d, want 401", status)
		}
		other := newWebDevice(t)
		other.serial = d.serial
		if status, _ := other.do(t, e.srv.URL, http.MethodPut, push.PathSubscription, good, e.clock.Now()); status != http.StatusUnauthorized {
			t.Errorf("signed by another key: %d, want 401", status)
		}
		if status, _ := d.do(t, e.srv.URL, http.MethodPost, push.PathSubscription, good, e.clock.Now()); status != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d, want 405", status)
		}

		if status, body := d.do(t, e.srv.URL, http.MethodPut, push.PathSubscription, good, e.clock.Now()); status != http.StatusOK {
			t.Fatalf("subscribe: %d %s", status, body)
		}
		subs, err := e.store.WebPushSubscriptions(e.ctx, e.org.ID, "alice")
		if err != nil || len(subs) != 1 || subs[0].Endpoint != "https://push.example/send/1" || !bytes.Equal(subs[0].P256dh, br.priv.PublicKey().Bytes()) ||
			!bytes.Equal(subs[0].Auth, br.auth) || subs[0].Serial != d.serial {
			t.Fatalf("stored %+v, %v", subs, err)
		}
		events, _ := e.store.Events(e.ctx, e.org.ID, 1)
		if events[0].Action != "webpush.subscribe" || events[0].Detail != "push service push.example" {
			t.Errorf("audited %+v", events[0])
		}
		if status, _ := d.do(t, e.srv.URL, http.MethodDelete, push.PathSubscription, nil, e.clock.Now()); status != http.StatusOK {
			t.Errorf("unsubscribe: %d", status)
		}
		if subs, _ := e.store.WebPushSubscriptions(e.ctx, e.org.ID, "alice"); len(subs) != 0 {
			t.Errorf("after unsubscribing: %+v", subs)
		}
		if status, _ := d.do(t, e.srv.URL, http.MethodDelete, push.PathSubscription, nil, e.clock.Now()); status != http.StatusNotFound {
			t.Errorf("unsubscribing twice: %d, want 404", status)
		}
	})
}

// The key is answered to any origin, unsigned, and may be cached.
func TestWebPushKey(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	resp, err := http.Get(e.srv.URL + push.PathWebPush)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got push.WebPushResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d, %v", resp.StatusCode, err)
	}
	if got.ApplicationServerKey != push.ApplicationServerKey(testVAPID()) || len(mustDecode(t, got.ApplicationServerKey)) != 65 {
		t.Errorf("key %q", got.ApplicationServerKey)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("headers %v", resp.Header)
	}
}

// Without a VAPID key, Web Push is off: its endpoints are not there.
func TestWebPushOffByDefault(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	d := newWebDevice(t)
	d.mustActivate(t, e, e.enroll("alice", "push"))
	off := httptest.NewServer(&push.Handler{Store: e.store, Keys: e.keys, Clock: e.clock, Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(off.Close)
	req, _ := http.NewRequest(http.MethodGet, off.URL+push.PathWebPush, nil)
	if status, _ := call(t, req); status != http.StatusNotFound {
		t.Errorf("GET %s: %d, want 404", push.PathWebPush, status)
	}
	if status, _ := d.do(t, off.URL, http.MethodPut, push.PathSubscription, newBrowser(t).subscription("https://push.example/1"), e.clock.Now()); status != http.StatusNotFound {
		t.Errorf("PUT %s: %d, want 404", push.PathSubscription, status)
	}
	if subs, _ := e.store.WebPushSubscriptions(e.ctx, e.org.ID, "alice"); len(subs) != 0 {
		t.Errorf("stored with Web Push off: %+v", subs)
	}
}

func TestParseVAPIDKey(t *testing.T) {
	for _, tc := range []struct {
		name, pem, want string
	}{
		{"not PEM", "hello", "twofold webpush keygen"},
		{"a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a private key"},
		{"broken", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", "unreadable"},
	} {
		if _, err := push.ParseVAPIDKey([]byte(tc.pem)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	// What openssl ecparam -name prime256v1 -genkey -noout writes.
	const openssl = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIICAb/1MD5T/6Fs14iL5E6URu7eyNSHNL9+LpQcgCKJpoAoGCCqGSM49\nAwEHoUQDQgAEf6mgQ+PJbIq57u8M5ozTU3E0ZWczy5DfG65f1DwmcRmAAoqPEz3z\nDRqgnCLLWtAqKWtKfsbI7syWE3LtGpuzKg==\n-----END EC PRIVATE KEY-----\n"
	if _, err := push.ParseVAPIDKey([]byte(openssl)); err != nil {
		t.Errorf("openssl's key: %v", err)
	}
}

// told records the requests it is told of.
type told struct{ ids []string }

func (t *told) PushWaiting(_ context.Context, n auth.PushNotice) { t.ids = append(t.ids, n.RequestID) }

// The webhook and Web Push, both on, are each told of every request.
func TestNotifiersTellEach(t *testing.T) {
	a, b := &told{}, &told{}
	push.Notifiers{a, b}.PushWaiting(context.Background(), auth.PushNotice{RequestID: "r1"})
	if len(a.ids) != 1 || len(b.ids) != 1 || a.ids[0] != "r1" || b.ids[0] != "r1" {
		t.Errorf("told %v and %v, want r1 each", a.ids, b.ids)
	}
}
