package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
// as the core does, and accepts one fixed pair.
type recordingVerifier struct {
	got    auth.Request
	called bool
}

func (v *recordingVerifier) Verify(_ context.Context, r auth.Request) (auth.Outcome, error) {
	v.got, v.called = r, true
	if _, err := otp.Normalize(r.Code, 6, 8); err != nil {
		return auth.Outcome{Reason: auth.ErrMalformed}, nil
	}
	if r.Username == "alice" && r.Code == "123456" {
		return auth.Outcome{Accepted: true}, nil
	}
	return auth.Outcome{Reason: auth.ErrBadCode}, nil
}

// FuzzValidateBody posts arbitrary bodies and Content-Types to the
// handler, authenticated by a real key in a real store. The handler must
// not panic, must answer JSON with a status of 200, 400, 413 or 415, and
// must pass on exactly what encoding/json's Unmarshal, an independent
// decoder, reads from every body it accepts.
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
		var answer map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || len(answer) != 1 {
			t.Fatalf("%d %q is not a JSON object of one string member (%v)", rec.Code, rec.Body, err)
		}
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
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

		if !v.called {
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("body %q refused with %d %s, want 400", body, rec.Code, rec.Body)
			}
			return
		}
		var want map[string]string
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("body %q was accepted, but encoding/json refuses it: %v", body, err)
		}
		_, hasPassword := want["password"]
		switch {
		case v.got.Username != want["username"] || v.got.Code != want["code"] || v.got.Password != want["password"] || v.got.CheckPassword != hasPassword:
			t.Fatalf("body %q: the verifier got %+v, encoding/json reads %q", body, v.got, want)
		case v.got.Actor != "api:fuzz" || v.got.OrgID != org.ID:
			t.Fatalf("request %+v does not carry the key's organization and name", v.got)
		default:
			_, malformed := otp.Normalize(want["code"], 6, 8)
			wantCode := http.StatusOK
			if malformed != nil {
				wantCode = http.StatusBadRequest
			}
			if rec.Code != wantCode {
				t.Fatalf("body %q: %d %s, want %d", body, rec.Code, rec.Body, wantCode)
			}
		}
	})
}
