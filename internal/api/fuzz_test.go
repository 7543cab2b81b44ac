package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// recordingVerifier stands in for the verification core in the fuzz
// target only: it remembers what it was asked, refuses malformed codes
// as the core does, accepts one fixed pair, accepts alice's password
// "pw", starts challenges for alice only and knows one transaction, "tx".
type recordingVerifier struct {
	got   []auth.Request
	calls []string // the methods called, in order
}

func (v *recordingVerifier) record(method string, r auth.Request) {
	v.calls = append(v.calls, method)
	v.got = append(v.got, r)
}

func (v *recordingVerifier) Verify(_ context.Context, r auth.Request) (auth.Outcome, error) {
	v.record("Verify", r)
	if _, err := otp.Normalize(r.Code, 6, 8); err != nil {
		return auth.Outcome{Reason: auth.ErrMalformed}, nil
	}
	if r.Username == "alice" && r.Code == "123456" {
		return auth.Outcome{Accepted: true}, nil
	}
	return auth.Outcome{Reason: auth.ErrBadCode}, nil
}

func (v *recordingVerifier) CheckPassword(_ context.Context, r auth.Request) (auth.Outcome, error) {
	v.record("CheckPassword", r)
	if r.Username == "alice" && r.Password == "pw" {
		return auth.Outcome{Accepted: true}, nil
	}
	return auth.Outcome{Reason: auth.ErrBadPassword}, nil
}

func (v *recordingVerifier) StartEmail(_ context.Context, r auth.Request, activate bool) (string, error) {
	if activate {
		v.record("StartEmail(activate)", r)
	} else {
		v.record("StartEmail", r)
	}
	if r.Username == "alice" {
		return "tx", nil
	}
	return "", auth.ErrNoEmailToken
}

func (v *recordingVerifier) StartPush(_ context.Context, r auth.Request, _ string) (auth.PushStart, error) {
	v.record("StartPush", r)
	if r.Username == "alice" {
		return auth.PushStart{TransactionID: "tx", Number: 42}, nil
	}
	return auth.PushStart{}, auth.ErrNoToken
}

func (v *recordingVerifier) CheckPush(_ context.Context, r auth.Request) (auth.Outcome, error) {
	v.record("CheckPush", r)
	return auth.Outcome{Reason: auth.ErrNoChallenge}, nil
}

func (v *recordingVerifier) ResendEmail(_ context.Context, r auth.Request) error {
	v.record("ResendEmail", r)
	if r.TransactionID == "tx" {
		return nil
	}
	return auth.ErrNoChallenge
}

// FuzzValidateBody posts arbitrary bodies and Content-Types to the
// handler, authenticated by a real key in a real store. The handler must
// not panic, must answer JSON with a status of 200, 400, 413 or 415, and
// must pass on exactly what encoding/json's Unmarshal, an independent
// decoder, reads from every body it accepts, to the one verifier call
// (or password check and challenge) the body's members ask for.
func FuzzValidateBody(f *testing.F) {
	clk := clock.NewFake(t0)
	st := storetest.SQLite(f).Open(f, clk)
	svc := &admin.Service{Store: st, Clock: clk, Actor: "test"}
	org, err := svc.CreateOrg(context.Background(), "acme", "")
	if err != nil {
		f.Fatal(err)
	}
	key, _, err := svc.CreateAPIKey(context.Background(), org, "fuzz")
	if err != nil {
		f.Fatal(err)
	}

	for _, seed := range []string{
		`{"username": "alice", "code": "123456"}`,
		`{"username":"alice","code":"123 456","password":"pw"}`,
		`{"username": "bob", "code": "12345a"}`,
		`{"username": "\u0041lice\ud83d\ude00\ud800x", "code": "1\/2\"3\\4\b5\f6\n\r\t"}`,
		`{"username": "alice", "code": 123456}`,
		`{"username": "alice", "code": "123456", "password": null}`,
		`{"username": "alice", "username": "bob", "code": "123456"}`,
		`{"USERNAME": "alice", "code": "123456"}`,
		`{"username": "alice", "code": "123456",}`,
		`{"username": "alice", "code": "123456"} {}`,
		`{"username": "al` + "\x00" + `ice", "code": "123456"}`,
		`{"username": "alice\u0000", "code": "123456"}`,
		`  {  }  `,
		`[]`,
		`"alice"`,
		`{"username": "alice", "code": "` + strings.Repeat("1", 5000) + `"}`,
		"\xef\xbb\xbf{}",
		`{"username": "\xff", "code": "123456"}`,
		``,
		`{"username": "alice", "methods": ["email"]}`,
		`{"username": "alice", "methods": ["email"], "password": "pw"}`,
		`{"username": "alice", "methods": ["email"], "password": "wrong"}`,
		`{"username": "bob", "methods": ["email"]}`,
		`{"username": "alice", "methods": []}`,
		`{"username": "alice", "methods": ["sms"]}`,
		`{"username": "alice", "methods": ["email", "email"]}`,
		`{"username": "alice", "methods": ["email", 1]}`,
		`{"username": "alice", "methods": "email"}`,
		`{"username": "alice", "methods": null}`,
		`{"username": "alice", "methods": [["email"]]}`,
		`{"username": "alice", "methods": ["email"], "code": "123456"}`,
		`{"username": "alice", "methods": ["email"], "transaction_id": "tx"}`,
		`{"username": "alice", "code": "123456", "transaction_id": "tx"}`,
		`{"username": "alice", "code": "123456", "transaction_id": "tx", "password": "pw"}`,
		`{"username": "alice", "code": "123456", "transaction_id": ""}`,
		`{"username": "alice", "code": "123456", "transaction_id": null}`,
		`{"username": "alice", "transaction_id": "tx"}`,
		`{"username": "alice", "transaction_id": "tx", "resend": true}`,
		`{"username": "alice", "transaction_id": "nope", "resend": true}`,
		`{"username": "alice", "transaction_id": "tx", "resend": false}`,
		`{"username": "alice", "code": "123456", "resend": false}`,
		`{"username": "alice", "resend": true}`,
		`{"username": "alice", "transaction_id": "tx", "resend": "true"}`,
		`{"username": "alice", "transaction_id": "tx", "resend": true, "resend": true}`,
		`{"username": "alice", "transaction_id": "tx", "resend": true, "code": "123456"}`,
		`{"Methods": ["email"], "username": "alice"}`,
		`{"username": "alice", "methods": ["email"`,
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Add("application/json; charset=UTF-8", []byte(`{"username": "alice", "code": "123456"}`))
	f.Add("text/plain", []byte(`{"username": "alice", "code": "123456"}`))
	f.Add("application/json; charset=latin1", []byte(`{}`))

	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		v := &recordingVerifier{}
		h := New(v, st, nil)
		req := httptest.NewRequest(http.MethodPost, pathValidate, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("%d %q is not a JSON object (%v)", rec.Code, rec.Body, err)
		}
		switch rec.Code {
		case http.StatusOK:
			switch answer["result"] {
			case "accept", "reject":
				if len(answer) != 1 {
					t.Fatalf("%d %s has other members than result", rec.Code, rec.Body)
				}
			case "challenge":
				if len(answer) != 3 || answer["transaction_id"] != "tx" || fmt.Sprint(answer["methods"]) != "[email]" {
					t.Fatalf("%d %s is not a challenge for transaction tx by email", rec.Code, rec.Body)
				}
			default:
				t.Fatalf("%d %s has no result accept, reject or challenge", rec.Code, rec.Body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if msg, ok := answer["error"].(string); !ok || msg == "" || len(answer) != 1 {
				t.Fatalf("%d %s is not {\"error\": \"…\"}", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusUnsupportedMediaType {
			if isJSON([]string{contentType}) {
				t.Fatalf("415 for Content-Type %q", contentType)
			}
			return
		}
		if !isJSON([]string{contentType}) {
			t.Fatalf("%d for Content-Type %q", rec.Code, contentType)
		}
		if len(body) > maxBody {
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d for a body of %d bytes", rec.Code, len(body))
			}
			return
		}

		if len(v.calls) == 0 {
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("body %q refused with %d %s, want 400", body, rec.Code, rec.Body)
			}
			return
		}
		var want struct {
			Username      *string  `json:"username"`
			Code          *string  `json:"code"`
			Password      *string  `json:"password"`
			TransactionID *string  `json:"transaction_id"`
			Methods       []string `json:"methods"`
			Resend        *bool    `json:"resend"`
		}
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("body %q was accepted, but encoding/json refuses it: %v", body, err)
		}
		deref := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		for i, got := range v.got {
			if got.Username != deref(want.Username) || got.Password != deref(want.Password) || got.TransactionID != deref(want.TransactionID) {
				t.Fatalf("body %q: %s got %+v, encoding/json reads %+v", body, v.calls[i], got, want)
			}
			if got.Actor != "api:fuzz" || got.OrgID != org.ID {
				t.Fatalf("request %+v does not carry the key's organization and name", got)
			}
		}
		calls := strings.Join(v.calls, " ")
		switch {
		case want.Code != nil:
			_, malformed := otp.Normalize(*want.Code, 6, 8)
			wantStatus := http.StatusOK
			if malformed != nil {
				wantStatus = http.StatusBadRequest
			}
			switch {
			case want.Methods != nil || (want.Resend != nil && *want.Resend):
				t.Fatalf("body %q with a code and methods or resend was accepted", body)
			case calls != "Verify":
				t.Fatalf("body %q: called %s, want Verify", body, calls)
			case v.got[0].Code != *want.Code || v.got[0].CheckPassword != (want.Password != nil):
				t.Fatalf("body %q: the verifier got %+v, encoding/json reads %+v", body, v.got[0], want)
			case rec.Code != wantStatus:
				t.Fatalf("body %q: %d %s, want %d", body, rec.Code, rec.Body, wantStatus)
			}
		case want.Methods != nil:
			// Each method is tried in turn until one starts: for alice
			// the first, for anyone else all of them.
			var starts []string
			for _, m := range want.Methods {
				starts = append(starts, map[string]string{"email": "StartEmail", "push": "StartPush"}[m])
				if *want.Username == "alice" {
					break
				}
			}
			wantCalls := strings.Join(starts, " ")
			if want.Password != nil {
				wantCalls = "CheckPassword " + wantCalls
				if *want.Username != "alice" || *want.Password != "pw" {
					wantCalls = "CheckPassword"
				}
			}
			known := len(want.Methods) > 0 && !slices.ContainsFunc(want.Methods, func(m string) bool { return m != "email" && m != "push" })
			switch {
			case !known || want.TransactionID != nil || (want.Resend != nil && *want.Resend):
				t.Fatalf("body %q was accepted with methods %q, transaction %v, resend %v", body, want.Methods, want.TransactionID, want.Resend)
			case calls != wantCalls:
				t.Fatalf("body %q: called %s, want %s", body, calls, wantCalls)
			case rec.Code != http.StatusOK:
				t.Fatalf("body %q: %d %s, want 200", body, rec.Code, rec.Body)
			case v.got[0].Code != "" || v.got[0].CheckPassword != (want.Password != nil):
				t.Fatalf("body %q: the verifier got %+v, encoding/json reads %+v", body, v.got[0], want)
			}
		default:
			switch {
			case want.Resend == nil || !*want.Resend || want.TransactionID == nil || want.Password != nil:
				t.Fatalf("body %q was accepted without a code or methods, but it is no resend of a transaction", body)
			case calls != "ResendEmail":
				t.Fatalf("body %q: called %s, want ResendEmail", body, calls)
			case rec.Code != http.StatusOK:
				t.Fatalf("body %q: %d %s, want 200", body, rec.Code, rec.Body)
			}
		}
	})
}
