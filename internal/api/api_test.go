package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestValidateAccepts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		var code string
		steps := []struct {
			name     string
			advance  bool // to the next step first
			body     func() string
			want     *response
			wantLast string // the result in the audit log
		}{
			{"A correct code is accepted.", false,
				func() string { code = f.code("alice", 0); return f.body("alice", code) }, accept, "accept"},
			{"The same code again is rejected: a code is single use.", false,
				func() string { return f.body("alice", code) }, reject, "replay"},
			{"The code of the next step is accepted.", true,
				func() string { return f.body("alice", f.code("alice", 0)) }, accept, "accept"},
			{"A correct code with the right password is accepted.", true,
				func() string { return f.body("alice", f.code("alice", 0), alicePassword) }, accept, "accept"},
			{"The username is matched in any case and with surrounding spaces.", true,
				func() string { return f.body("  ALICE ", f.code("alice", 0)) }, accept, "accept"},
			{"Spaces and hyphens in the code are ignored.", true,
				func() string { c := f.code("alice", 0); return f.body("alice", c[:3]+" - "+c[3:]) }, accept, "accept"},
			{"The code of the step before, within the window, is accepted.", true,
				func() string { f.clk.Advance(period); return f.body("alice", f.code("alice", -1)) }, accept, "accept"},
		}
		for _, s := range steps {
			if s.advance {
				f.clk.Advance(period)
			}
			got := f.validate(f.srv, s.body(), func(r *http.Request) {
				r.Header.Set("Content-Type", "application/json; charset=utf-8")
				r.Header.Set("X-Forwarded-For", "203.0.113.9")
			})
			if got.status != s.want.status || !bytes.Equal(got.body, s.want.body) {
				t.Fatalf("%s\ngot %d %s, want %d %s", s.name, got.status, got.body, s.want.status, s.want.body)
			}
			checkJSONHeaders(t, s.name, got)
			ev := f.lastEvent()
			if ev.Result != s.wantLast || ev.Action != "validate" || ev.Actor != "api:vpn" || ev.Source != "127.0.0.1" ||
				!strings.HasPrefix(ev.Target, "alice") {
				t.Errorf("%s\naudit event %+v, want result %s, action validate, actor api:vpn, target alice…, source 127.0.0.1 (not X-Forwarded-For)",
					s.name, ev, s.wantLast)
			}
		}
		if u := f.user("alice"); u.Failures != 0 {
			t.Errorf("alice has %d failures after accepts; want 0", u.Failures)
		}
	})
}

func TestValidateRejectsWithOneAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		used := f.code("alice", 0)
		if got := f.validate(f.srv, f.body("alice", used)); !bytes.Equal(got.body, accept.body) {
			t.Fatalf("setup: alice's code: %d %s", got.status, got.body)
		}
		cases := []struct {
			name     string
			setup    func()
			body     func() string
			wantLast string
		}{
			{"An unknown user is rejected.", nil,
				func() string { return f.body("nobody", "123456") }, "unknown_user"},
			{"A wrong code is rejected.", nil,
				func() string { return f.body("alice", f.wrongCode("alice")) }, "bad_code"},
			{"A code of another length than the token's is rejected.", nil,
				func() string { return f.body("alice", "12345678") }, "bad_code"},
			{"A code used already is rejected.", nil,
				func() string { return f.body("alice", used) }, "replay"},
			{"A wrong password with a correct code is rejected.", nil,
				func() string { return f.body("alice", f.code("alice", 1), "hunter2-guess") }, "bad_password"},
			{"An empty password, when the member is present, is rejected.", nil,
				func() string { return f.body("alice", f.code("alice", 1), "") }, "bad_password"},
			{"A password for a user who has none is rejected.", nil,
				func() string { return f.body("bob", f.code("bob", 0), "bobs-guess-42") }, "bad_password"},
			{"A user without a token is rejected.", nil,
				func() string { return f.body("dave", "123456") }, "no_token"},
			{"A user whose token is suspended is rejected.", nil,
				func() string { return f.body("erin", "123456") }, "no_token"},
			{"A correct code is rejected while the user is locked.",
				func() {
					for i := range 5 {
						got := f.validate(f.srv, f.body("carol", f.wrongCode("carol")))
						if !bytes.Equal(got.body, reject.body) || f.lastEvent().Result != "bad_code" {
							t.Fatalf("setup: wrong guess %d for carol: %d %s, audit %+v", i+1, got.status, got.body, f.lastEvent())
						}
					}
				},
				func() string { return f.body("carol", f.code("carol", 0)) }, "locked"},
			{"A wrong code is rejected while the user is locked.", nil,
				func() string { return f.body("carol", f.wrongCode("carol")) }, "locked"},
		}
		var first result
		for i, c := range cases {
			if c.setup != nil {
				c.setup()
			}
			got := f.validate(f.srv, c.body())
			if i == 0 {
				first = got
			}
			if got.status != http.StatusOK || !bytes.Equal(got.body, reject.body) {
				t.Errorf("%s\ngot %d %s, want 200 %s", c.name, got.status, got.body, reject.body)
			}
			if !bytes.Equal(got.body, first.body) || !equalHeaders(withoutDate(got.header), withoutDate(first.header)) {
				t.Errorf("%s\nthe answer differs from that to an unknown user:\n%v %s\n%v %s",
					c.name, got.header, got.body, first.header, first.body)
			}
			if ev := f.lastEvent(); ev.Result != c.wantLast || ev.Action != "validate" {
				t.Errorf("%s\naudit event %+v, want result %s", c.name, ev, c.wantLast)
			}
		}
		if got := f.user("alice"); got.Failures == 0 {
			t.Errorf("alice's failures = 0 after wrong codes; the rejects were not counted")
		}
	})
}

func TestValidateKeyServesOneOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		other, err := f.svc.CreateOrg(f.ctx, "other", "Other")
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := f.svc.CreateAPIKey(f.ctx, other, "portal")
		if err != nil {
			t.Fatal(err)
		}
		got := f.validate(f.srv, f.body("alice", f.code("alice", 0)), func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+key)
		})
		if !bytes.Equal(got.body, reject.body) {
			t.Errorf("alice of acme with a key of another organization: %d %s, want a reject", got.status, got.body)
		}
		es, err := f.st.Events(f.ctx, other.ID, 1)
		if err != nil || len(es) != 1 || es[0].Result != "unknown_user" || es[0].Actor != "api:portal" {
			t.Errorf("audit event of the other organization: %+v, %v; want unknown_user by api:portal", es, err)
		}
		if got := f.validate(f.srv, f.body("alice", f.code("alice", 0))); !bytes.Equal(got.body, accept.body) {
			t.Errorf("the same code with acme's key: %d %s, want accept: the other organization's request must not have used it", got.status, got.body)
		}
	})
}

func TestValidateRefusesBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		code := f.code("alice", 0)
		good := f.body("alice", code)
		header := func(name, value string) func(*http.Request) {
			return func(r *http.Request) {
				if value == "" {
					r.Header.Del(name)
				} else {
					r.Header.Set(name, value)
				}
			}
		}
		method := func(m string) func(*http.Request) { return func(r *http.Request) { r.Method = m } }
		path := func(p string) func(*http.Request) { return func(r *http.Request) { r.URL.Path = p } }
		chunked := func(r *http.Request) { r.ContentLength = -1; r.Body = io.NopCloser(r.Body) }
		big := `{"username": "alice", "code": "` + code + `", "password": "` + strings.Repeat("x", maxBody) + `"}`

		cases := []struct {
			name       string
			body       string
			change     []func(*http.Request)
			wantStatus int
			wantError  string // a part of the error message
			wantHeader map[string]string
		}{
			{"A request without Authorization is refused.", good, []func(*http.Request){header("Authorization", "")},
				401, "Authorization: Bearer <key>", map[string]string{"WWW-Authenticate": "Bearer"}},
			{"The message says how to make a key.", good, []func(*http.Request){header("Authorization", "")},
				401, "twofold apikey create ORG --name", nil},
			{"Basic authentication is refused.", good, []func(*http.Request){header("Authorization", "Basic dm9wbjpzZWNyZXQ=")},
				401, `must be "Bearer <key>"`, map[string]string{"WWW-Authenticate": "Bearer"}},
			{"A Bearer header without a key is refused.", good, []func(*http.Request){header("Authorization", "Bearer ")},
				401, `must be "Bearer <key>"`, map[string]string{"WWW-Authenticate": "Bearer"}},
			{"An unknown key is refused.", good, []func(*http.Request){header("Authorization", "Bearer tfk_notakeyatall")},
				401, "invalid API key", map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
			{"GET is refused.", "", []func(*http.Request){method(http.MethodGet)},
				405, "use POST", map[string]string{"Allow": "POST"}},
			{"PUT is refused.", good, []func(*http.Request){method(http.MethodPut)},
				405, "use POST", map[string]string{"Allow": "POST"}},
			{"A form is refused.", "username=alice&code=" + code, []func(*http.Request){header("Content-Type", "application/x-www-form-urlencoded")},
				415, "application/json", nil},
			{"A body without Content-Type is refused.", good, []func(*http.Request){header("Content-Type", "")},
				415, "application/json", nil},
			{"A charset other than UTF-8 is refused.", good, []func(*http.Request){header("Content-Type", "application/json; charset=iso-8859-1")},
				415, "application/json", nil},
			{"A body over 4 KiB is refused.", big, nil, 413, "4096 bytes", nil},
			{"A body over 4 KiB sent in chunks is refused.", big, []func(*http.Request){chunked}, 413, "4096 bytes", nil},
			{"An empty body is refused.", "", nil, 400, "request body is empty", nil},
			{"Invalid JSON is refused.", `{"username": "alice", "code": "` + code + `"`, nil, 400, "invalid JSON", nil},
			{"An array is refused.", `["alice", "` + code + `"]`, nil, 400, "must be a JSON object", nil},
			{"An unknown member is refused.", `{"username": "alice", "code": "` + code + `", "pin": "1234"}`, nil,
				400, `unknown member "pin"`, nil},
			{"Member names are matched exactly.", `{"Username": "alice", "code": "` + code + `"}`, nil,
				400, `unknown member "Username"`, nil},
			{"A repeated member is refused.", `{"username": "bob", "code": "` + code + `", "username": "alice"}`, nil,
				400, `"username" appears twice`, nil},
			{"Data after the object is refused.", good + `{}`, nil, 400, "after the JSON object", nil},
			{"An empty username is refused.", `{"username": "", "code": "` + code + `"}`, nil, 400, "username is missing or empty", nil},
			{"A body with neither code nor methods is refused.", `{"username": "alice"}`, nil, 400, "code or methods is required", nil},
			{"An empty code is refused.", `{"username": "alice", "code": ""}`, nil, 400, "code is missing or empty", nil},
			{"Code and methods together are refused.", `{"username": "alice", "code": "` + code + `", "methods": ["email"]}`, nil,
				400, "code or methods, not both", nil},
			{"Empty methods are refused.", `{"username": "alice", "methods": []}`, nil, 400, "methods is empty", nil},
			{"An unknown method is refused, naming the known ones.", `{"username": "alice", "methods": ["sms"]}`, nil,
				400, `unknown method "sms": the methods are push, email`, nil},
			{"Resend without a transaction is refused.", `{"username": "alice", "resend": true}`, nil, 400, "resend needs the transaction_id", nil},
			{"A transaction without a code is refused.", `{"username": "alice", "transaction_id": "abc"}`, nil,
				400, "code is required with transaction_id", nil},
			{"POST to a transaction is refused.", good, []func(*http.Request){path("/api/v1/transactions/abc")},
				405, "use GET", map[string]string{"Allow": "GET"}},
			{"A transaction without Authorization is refused.", "", []func(*http.Request){method(http.MethodGet), path("/api/v1/transactions/abc"), header("Authorization", "")},
				401, "Authorization: Bearer <key>", map[string]string{"WWW-Authenticate": "Bearer"}},
			{"A transaction with an unknown key is refused.", "", []func(*http.Request){method(http.MethodGet), path("/api/v1/transactions/abc"), header("Authorization", "Bearer tfk_notakeyatall")},
				401, "invalid API key", nil},
			{"The transactions path without an id is not found.", "", []func(*http.Request){method(http.MethodGet), path("/api/v1/transactions/")}, 404, "openapi.json", nil},
			{"A transaction path with a slash in the id is not found.", "", []func(*http.Request){method(http.MethodGet), path("/api/v1/transactions/a/b")}, 404, "openapi.json", nil},
			{"An overlong transaction id is not found.", "", []func(*http.Request){method(http.MethodGet), path("/api/v1/transactions/" + strings.Repeat("a", 200))}, 404, "no such transaction", nil},
			{"A code that is a number is refused.", `{"username": "alice", "code": ` + code + `}`, nil, 400, "code must be a JSON string", nil},
			{"A null password is refused.", `{"username": "alice", "code": "` + code + `", "password": null}`, nil,
				400, "password must be a JSON string", nil},
			{"A body that is not UTF-8 is refused.", `{"username": "al` + "\xff" + `ice", "code": "` + code + `"}`, nil, 400, "UTF-8", nil},
			{"A username with a NUL character is refused.", `{"username": "alice\u0000", "code": "` + code + `"}`, nil,
				400, "control character", nil},
			{"A code with a letter is refused before any lookup.", f.body("alice", code[:5]+"a"), nil,
				400, "code must be 6 to 8 digits; spaces and hyphens are ignored", nil},
			{"A code of five digits is refused before any lookup.", f.body("alice", code[:5]), nil,
				400, "code must be 6 to 8 digits; spaces and hyphens are ignored", nil},
			{"A code with a letter is refused alike for a user who does not exist.", f.body("nobody", code[:5]+"a"), nil,
				400, "code must be 6 to 8 digits; spaces and hyphens are ignored", nil},
			{"A path that does not exist is not found.", good, []func(*http.Request){path("/api/v1/nope")}, 404, "openapi.json", nil},
			{"The validate path with a slash after it is not found.", good, []func(*http.Request){path("/api/v1/validate/")}, 404, "openapi.json", nil},
		}
		before := len(f.events(1000))
		for _, c := range cases {
			got := f.validate(f.srv, c.body, c.change...)
			if got.status != c.wantStatus {
				t.Errorf("%s\nstatus %d %s, want %d", c.name, got.status, got.body, c.wantStatus)
				continue
			}
			checkJSONHeaders(t, c.name, got)
			msg := errorMessage(t, c.name, got.body)
			if !strings.Contains(msg, c.wantError) {
				t.Errorf("%s\nerror %q, want it to say %q", c.name, msg, c.wantError)
			}
			for k, v := range c.wantHeader {
				if got.header.Get(k) != v {
					t.Errorf("%s\n%s: %q, want %q", c.name, k, got.header.Get(k), v)
				}
			}
		}

		// Nothing was evaluated: no failure was counted, the code is
		// unused, and the audit log gained only the three malformed codes.
		if u := f.user("alice"); u.Failures != 0 || !u.LockedUntil.IsZero() {
			t.Errorf("after bad requests alice has %d failures, locked until %v; want 0, never", u.Failures, u.LockedUntil)
		}
		es := f.events(1000)
		if added := es[:len(es)-before]; len(added) != 3 || added[0].Result != "malformed" || added[1].Result != "malformed" || added[2].Result != "malformed" {
			t.Errorf("audit events of the bad requests: %+v; want three malformed codes", added)
		}
		if got := f.validate(f.srv, good); !bytes.Equal(got.body, accept.body) {
			t.Errorf("the code sent in every bad request: %d %s, want accept", got.status, got.body)
		}
	})
}

func TestValidateFailsClosedWhenTheDatabaseIsDown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		closed := b.Open(t, f.clk)
		closed.Close()
		cases := []struct {
			name string
			v    Verifier
			keys Store
		}{
			{"When the key cannot be looked up, the answer is 503.", f.v, closed},
			{"When the code cannot be checked, the answer is 503.",
				auth.NewVerifier(auth.Config{Store: closed, Keys: f.keys, Clock: f.clk, Hasher: f.hasher}), f.st},
		}
		for _, c := range cases {
			logs := &logBuffer{}
			srv := httptest.NewServer(New(c.v, c.keys, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))))
			code := f.code("alice", 0)
			got := f.validate(srv, f.body("alice", code, alicePassword))
			srv.Close()
			if got.status != http.StatusServiceUnavailable || !bytes.Equal(got.body, unavailable.body) {
				t.Errorf("%s\ngot %d %s, want 503 %s", c.name, got.status, got.body, unavailable.body)
			}
			checkJSONHeaders(t, c.name, got)
			if errs := logs.records(t, slog.LevelError); len(errs) != 1 {
				t.Errorf("%s\nlogged %d errors, want 1:\n%s", c.name, len(errs), logs.String())
			}
			for _, s := range []string{code, alicePassword, f.key} {
				if strings.Contains(logs.String(), s) {
					t.Errorf("%s\nthe log shows a secret:\n%s", c.name, logs.String())
				}
			}
		}
		// Starting a challenge, sending its code again and asking for its
		// status fail closed too.
		f.addEmailUser("grace", "")
		down := auth.NewVerifier(auth.Config{Store: closed, Keys: f.keys, Sender: f.mail, Clock: f.clk, Hasher: f.hasher})
		for _, c := range []struct {
			name string
			v    Verifier
			st   Store
			req  func(srv *httptest.Server) result
		}{
			{"When a challenge cannot be started, the answer is 503.", down, f.st, func(srv *httptest.Server) result {
				return f.validate(srv, `{"username": "grace", "methods": ["email"]}`)
			}},
			{"When a code cannot be sent again, the answer is 503.", down, f.st, func(srv *httptest.Server) result {
				return f.validate(srv, `{"username": "grace", "transaction_id": "abc", "resend": true}`)
			}},
			{"When a password cannot be checked before a challenge, the answer is 503.", down, f.st, func(srv *httptest.Server) result {
				return f.validate(srv, `{"username": "grace", "methods": ["email"], "password": "pw"}`)
			}},
			{"When a transaction cannot be looked up, the answer is 503.", f.v, splitStore{keys: f.st, challenges: closed}, func(srv *httptest.Server) result {
				req, err := http.NewRequest(http.MethodGet, srv.URL+prefixTransactions+"abc", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+f.key)
				return f.do(req)
			}},
		} {
			logs := &logBuffer{}
			srv := httptest.NewServer(New(c.v, c.st, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))))
			got := c.req(srv)
			srv.Close()
			if got.status != http.StatusServiceUnavailable || !bytes.Equal(got.body, unavailable.body) {
				t.Errorf("%s\ngot %d %s, want 503 %s", c.name, got.status, got.body, unavailable.body)
			}
			checkJSONHeaders(t, c.name, got)
			if errs := logs.records(t, slog.LevelError); len(errs) != 1 {
				t.Errorf("%s\nlogged %d errors, want 1:\n%s", c.name, len(errs), logs.String())
			}
		}
		if sent := f.mail.sent(); len(sent) != 0 {
			t.Errorf("codes were mailed while the database was down: %+v", sent)
		}

		// The code was not used up by the failed attempts.
		if got := f.validate(f.srv, f.body("alice", f.code("alice", 0))); !bytes.Equal(got.body, accept.body) {
			t.Errorf("alice's code after the database came back: %d %s, want accept", got.status, got.body)
		}
		// The store itself closed: every path of the real server fails closed.
		f.st.Close()
		f.clk.Advance(period)
		if got := f.validate(f.srv, f.body("alice", f.code("alice", 0))); got.status != http.StatusServiceUnavailable {
			t.Errorf("with the server's own store closed: %d %s, want 503", got.status, got.body)
		}
	})
}

// splitStore finds keys in one store and challenges and pushes in another.
type splitStore struct{ keys, challenges Store }

func (s splitStore) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	return s.keys.APIKeyByHash(ctx, hash)
}

func (s splitStore) AccessRevision(ctx context.Context) (int64, error) {
	return s.keys.AccessRevision(ctx)
}

func (s splitStore) ChallengeByTxID(ctx context.Context, orgID int64, hash []byte) (store.Challenge, error) {
	return s.challenges.ChallengeByTxID(ctx, orgID, hash)
}

func (s splitStore) PushRequestByTxHash(ctx context.Context, orgID int64, hash []byte) (store.PushRequest, error) {
	return s.challenges.PushRequestByTxHash(ctx, orgID, hash)
}

func TestOpenAPIDocumentDescribesTheHandler(t *testing.T) {
	h := New(nil, nil, nil)
	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	rec := get(http.MethodGet, pathOpenAPI)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET %s: %d %v", pathOpenAPI, rec.Code, rec.Header())
	}
	if head := get(http.MethodHead, pathOpenAPI); head.Code != http.StatusOK {
		t.Errorf("HEAD %s: %d, want 200", pathOpenAPI, head.Code)
	}

	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type, Scheme string
			} `json:"securitySchemes"`
			Schemas map[string]struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("servers = %+v, want one: /api/v1", doc.Servers)
	}

	documented := map[string]string{}
	for p, ops := range doc.Paths {
		var methods []string
		for m := range ops {
			methods = append(methods, strings.ToUpper(m))
		}
		slices.Sort(methods)
		documented[doc.Servers[0].URL+p] = strings.Join(methods, ", ")
	}
	served := map[string]string{}
	for p, allow := range routes {
		methods := strings.Split(allow, ", ")
		slices.Sort(methods)
		served[p] = strings.Join(methods, ", ")
	}
	if !maps.Equal(documented, served) {
		t.Errorf("paths and methods documented:\n%v\nserved:\n%v", documented, served)
	}
	// And the handler really serves what routes says: every other method is 405, no path 404.
	for p, allow := range routes {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
			code := get(m, p).Code
			if slices.Contains(strings.Split(allow, ", "), m) == (code == http.StatusMethodNotAllowed) || code == http.StatusNotFound {
				t.Errorf("%s %s: %d, but routes allows %q", m, p, code, allow)
			}
		}
	}

	var validate struct {
		Security  []map[string][]string `json:"security"`
		Responses map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc.Paths["/validate"]["post"], &validate); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"200", "400", "401", "405", "413", "415", "429", "503"} {
		if _, ok := validate.Responses[status]; !ok {
			t.Errorf("POST /validate does not document status %s", status)
		}
	}
	var transaction struct {
		Parameters []struct{ Name, In string }
		Responses  map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc.Paths["/transactions/{id}"]["get"], &transaction); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"200", "401", "404", "405", "503"} {
		if _, ok := transaction.Responses[status]; !ok {
			t.Errorf("GET /transactions/{id} does not document status %s", status)
		}
	}
	if len(transaction.Parameters) != 1 || transaction.Parameters[0].Name != "id" || transaction.Parameters[0].In != "path" {
		t.Errorf("GET /transactions/{id} parameters %+v, want the path parameter id", transaction.Parameters)
	}
	var statusEnum struct {
		Enum []string `json:"enum"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["TransactionStatus"].Properties["status"], &statusEnum); err != nil ||
		!slices.Equal(slices.Sorted(slices.Values(statusEnum.Enum)), slices.Sorted(maps.Keys(statuses))) {
		t.Errorf("TransactionStatus status enum %v (%v), want the statuses the handler answers %v", statusEnum.Enum, err, slices.Sorted(maps.Keys(statuses)))
	}
	if s := doc.Components.SecuritySchemes["apiKey"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("security scheme apiKey = %+v, want http bearer", s)
	}
	req := doc.Components.Schemas["ValidateRequest"]
	wantMembers := []string{"code", "methods", "password", "resend", "transaction_id", "username"}
	if got := slices.Sorted(maps.Keys(req.Properties)); !slices.Equal(got, wantMembers) ||
		!slices.Equal(req.Required, []string{"username"}) {
		t.Errorf("ValidateRequest members %v, required %v; want %v and username required", got, req.Required, wantMembers)
	}
	var methodsSchema struct {
		Items struct {
			Enum []string `json:"enum"`
		} `json:"items"`
	}
	if err := json.Unmarshal(req.Properties["methods"], &methodsSchema); err != nil || !slices.Equal(methodsSchema.Items.Enum, knownMethods) {
		t.Errorf("ValidateRequest methods items enum %v (%v), want %v", methodsSchema.Items.Enum, err, knownMethods)
	}
	if got := slices.Sorted(maps.Keys(doc.Components.Schemas["ValidateResponse"].Properties)); !slices.Equal(got, []string{"methods", "number", "result", "transaction_id"}) {
		t.Errorf("ValidateResponse members %v, want methods, number, result, transaction_id", got)
	}
	if _, ok := doc.Components.Schemas["Error"].Properties["error"]; !ok {
		t.Errorf("no Error schema with an error member")
	}
	// The examples in the document are requests the handler accepts.
	var op struct {
		RequestBody struct {
			Content map[string]struct {
				Examples map[string]struct{ Value json.RawMessage }
			}
		} `json:"requestBody"`
	}
	if err := json.Unmarshal(doc.Paths["/validate"]["post"], &op); err != nil {
		t.Fatal(err)
	}
	for name, ex := range op.RequestBody.Content["application/json"].Examples {
		if _, err := parseValidate(ex.Value); err != nil {
			t.Errorf("example %s: %v", name, err)
		}
	}
}

// checkJSONHeaders checks the headers every answer has.
func checkJSONHeaders(t *testing.T, name string, got result) {
	t.Helper()
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s\nContent-Type %q, want application/json", name, ct)
	}
	if cc := got.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s\nCache-Control %q, want no-store", name, cc)
	}
	if !json.Valid(got.body) {
		t.Errorf("%s\nbody %q is not JSON", name, got.body)
	}
}

// errorMessage decodes an error body, which has exactly one member, error.
func errorMessage(t *testing.T, name string, body []byte) string {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 || e["error"] == "" {
		t.Errorf("%s\nbody %s is not {\"error\": \"…\"}", name, body)
	}
	return e["error"]
}

func equalHeaders(a, b http.Header) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}
