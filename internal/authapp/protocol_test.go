package authapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/push"
)

// openApp serves the app on 127.0.0.1 (a secure context, so WebCrypto
// works) and opens it in headless Chromium.
func openApp(t *testing.T) context.Context {
	t.Helper()
	srv := newServer(t)
	tab := pagetest.Browser(t)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/app/"), chromedp.WaitVisible(chromedp.CSS("#screen-list"))); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// run evaluates a script that imports the app's modules and resolves
// with JSON.
func run[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => JSON.stringify(await (async () => {`+script+`})()))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return v
}

// activationKeys are the catalogue keys the app shows for each of the Go
// side's refusals.
var activationKeys = map[error]string{
	push.ErrActivationPrefix:   "error.activation_prefix",
	push.ErrActivationChar:     "error.activation_char",
	push.ErrActivationCheck:    "error.activation_check",
	push.ErrActivationLength:   "error.activation_length",
	push.ErrActivationURL:      "error.activation_url",
	push.ErrActivationCode:     "error.activation_code",
	push.ErrActivationLinkForm: "error.activation_link",
}

// TestAppModules runs the app's own modules in Chromium against the
// server's side of the protocol, one browser for all.
func TestAppModules(t *testing.T) {
	ctx := openApp(t)
	t.Run("activations are parsed as the server does", func(t *testing.T) { activationsParsed(t, ctx) })
	t.Run("signatures verify as ES256", func(t *testing.T) { signatureVerifies(t, ctx) })
	t.Run("codes are RFC 6238's", func(t *testing.T) { codesAreRFC6238(t, ctx) })
}

// activationsParsed: the app reads activation strings and links as the
// server's push package does — the same activation, or the same refusal.
func activationsParsed(t *testing.T, ctx context.Context) {
	a := push.Activation{URL: "https://mfa.acme.example:8443", Code: "xk3p9qrt2mabcdefghjkmnpqrs"}
	s := a.String()
	mistyped := []byte(s)
	mistyped[7] = map[bool]byte{true: 'A', false: 'B'}[mistyped[7] != 'A']
	inputs := []string{
		s,
		strings.ToLower(strings.ReplaceAll(s, "-", " ")),
		strings.NewReplacer("0", "O", "1", "I").Replace(s),
		string(mistyped),
		s[:len(s)-3],
		"T1",
		"",
		"X1AB-CDEF",
		s + "!",
		a.AppLink(),
		"https://evil.example/app/#a=" + s,
		"https://mfa.acme.example:8443/app/?x=1#a=" + s,
		"twofold-authenticator://activate?a=" + s,
		"twofold-authenticator://other?a=" + s,
		"otpauth://totp/x?secret=JBSWY3DP",
		push.Activation{URL: "http://localhost:8080", Code: "abc"}.String(),
		push.Activation{URL: "http://mfa.acme.example", Code: "abc"}.String(),
		push.Activation{URL: "https://mfa.acme.example/?q", Code: "abc"}.String(),
		push.Activation{URL: "https://mfa.acme.example", Code: "a b"}.String(),
		push.Activation{URL: "https://mfa.acme.example/twofold", Code: "abc"}.AppLink(),
	}
	in, _ := json.Marshal(inputs)
	type parsed struct{ URL, Code, Err string }
	got := run[[]parsed](t, ctx, `const p = await import("./protocol.js");
return `+string(in)+`.map(s => { try { const a = p.parseActivationLink(s); return {URL: a.url, Code: a.code, Err: ""}; } catch (e) { return {Err: e.key || String(e)}; } });`)
	for i, s := range inputs {
		want := parsed{}
		if a, err := push.ParseActivationLink(s); err != nil {
			for e, key := range activationKeys {
				if errors.Is(err, e) {
					want.Err = key
				}
			}
		} else {
			want.URL, want.Code = a.URL, a.Code
		}
		if got[i] != want {
			t.Errorf("%q: the app reads %+v, the server %+v", s, got[i], want)
		}
	}
}

// signatureVerifies: a request the app signs with its WebCrypto P-256
// key verifies on the server as ES256, with the key the app would
// register.
func signatureVerifies(t *testing.T, ctx context.Context) {
	now := time.Unix(1_800_000_000, 0)
	body := `{"decision":"approve","number":42}`
	got := run[struct{ Key, Header string }](t, ctx, fmt.Sprintf(`const p = await import("./protocol.js");
const v = await import("./vault.js");
const k = await v.newDeviceKey();
const header = await p.sign(k.privateKey, "PUSH0001", "POST", "/push/v1/requests/r1", new TextEncoder().encode(%q), %d);
return {Key: p.base64url(k.publicRaw), Header: header};`, body, now.UnixMilli()))
	key, err := push.ParseDeviceKey(push.AlgES256, got.Key)
	if err != nil {
		t.Fatalf("the app's public key %q: %v", got.Key, err)
	}
	sig, err := push.ParseSignature(got.Header)
	if err != nil {
		t.Fatalf("the app's header %q: %v", got.Header, err)
	}
	if sig.Serial != "PUSH0001" || sig.Timestamp != now.Unix() {
		t.Errorf("header %+v", sig)
	}
	if err := sig.Verify(key, "POST", "/push/v1/requests/r1", []byte(body), now); err != nil {
		t.Errorf("the app's signature: %v", err)
	}
	if err := sig.Verify(key, "POST", "/push/v1/requests/r2", []byte(body), now); !errors.Is(err, push.ErrSignatureBad) {
		t.Errorf("the app's signature for another request: %v", err)
	}
}

// codesAreRFC6238: the app's codes are RFC 6238's, computed here by
// internal/otp, for each algorithm, from the secret as the activation
// answer carries it.
func codesAreRFC6238(t *testing.T, ctx context.Context) {
	for _, tc := range []struct {
		alg    otp.Algorithm
		name   string
		secret string
	}{
		{otp.SHA1, "SHA1", "12345678901234567890"},
		{otp.SHA256, "SHA256", "12345678901234567890123456789012"},
		{otp.SHA512, "SHA512", "1234567890123456789012345678901234567890123456789012345678901234"},
	} {
		gen, err := otp.NewGenerator([]byte(tc.secret), tc.alg, 8)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range []int64{59, 1111111109, 2000000000, 20000000000} {
			step := uint64(at / 30)
			got := run[string](t, ctx, fmt.Sprintf(`const v = await import("./vault.js");
const totp = await import("./totp.js");
const key = await crypto.subtle.importKey("raw", v.decodeBase32(%q), v.hmacParams(%q), false, ["sign"]);
return totp.code(key, 8, totp.step(%d, 30));`, otp.EncodeSecret([]byte(tc.secret)), tc.name, at*1000))
			if want := gen.Code(step); got != want {
				t.Errorf("%s at %d: the app says %s, internal/otp %s", tc.name, at, got, want)
			}
		}
	}
}
