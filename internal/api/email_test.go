package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestEmailChallenge runs the email second factor through the API on each
// store, with the real verifier and a recorder in place of the mailer:
// start a challenge, answer it, have the code sent again, and ask how it
// stands.
func TestEmailChallenge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		grace := f.addEmailUser("grace", "")

		// 1. A challenge mails a code and answers with a transaction id.
		got := f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "methods": []string{"email"}}))
		tx1 := f.challenge(t, "Starting a challenge", got, "")
		c1 := f.lastCode(t, 1)
		if c1.OrgID != f.org.ID || c1.UserID != grace.ID || len(c1.Code) != 6 || c1.Valid != 10*time.Minute {
			t.Errorf("code mailed: %+v; want 6 digits for grace (org %d, user %d), valid 10m", c1, f.org.ID, grace.ID)
		}
		if ev := f.lastEvent(); ev.Action != "challenge.email" || ev.Actor != "api:vpn" || ev.Source != "127.0.0.1" ||
			ev.Result != "ok" || !strings.HasPrefix(ev.Target, "grace") {
			t.Errorf("audit event of the challenge: %+v; want challenge.email by api:vpn from 127.0.0.1 for grace", ev)
		}
		f.wantStatus(t, "A new challenge", f.key, tx1, "pending")

		// 2. Another at once is too soon: 429, and nothing is mailed.
		got = f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "methods": []string{"email"}}))
		f.wantTooSoon(t, "A second challenge at once", got)
		f.lastCode(t, 1)

		// 3. A wrong code is rejected, the right one accepted, once.
		wrong := "000000"
		if c1.Code == wrong {
			wrong = "111111"
		}
		f.wantAnswer(t, "A wrong code for the transaction", f.answer("grace", wrong, tx1), reject, "bad_code")
		f.wantAnswer(t, "The mailed code with its transaction id", f.answer("grace", c1.Code, tx1), accept, "accept")
		if ev := f.lastEvent(); ev.Target != "grace email code" || ev.Actor != "api:vpn" {
			t.Errorf("audit event of the accept: %+v; want target \"grace email code\" by api:vpn", ev)
		}
		f.wantAnswer(t, "The same code again (single use)", f.answer("grace", c1.Code, tx1), reject, "no_challenge")
		f.wantStatus(t, "An answered challenge", f.key, tx1, "accepted")
		f.wantAnswer(t, "The mailed code without its transaction id", f.validate(f.srv, f.body("grace", c1.Code)), reject, "no_token")

		// 4. A code sent again replaces the old one.
		f.clk.Advance(30 * time.Second)
		tx2 := f.challenge(t, "A challenge 30 s later",
			f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "methods": []string{"email"}})), "")
		c2 := f.lastCode(t, 2)
		if tx2 == tx1 {
			t.Fatalf("two challenges have one transaction id %q", tx1)
		}
		f.wantTooSoon(t, "Resend at once", f.resend("grace", tx2))
		f.lastCode(t, 2)
		f.clk.Advance(30 * time.Second)
		f.challenge(t, "Resend 30 s later", f.resend("grace", tx2), tx2)
		c3 := f.lastCode(t, 3)
		if ev := f.lastEvent(); ev.Action != "challenge.resend" || ev.Actor != "api:vpn" {
			t.Errorf("audit event of the resend: %+v; want challenge.resend by api:vpn", ev)
		}
		f.wantStatus(t, "A challenge whose code was sent again", f.key, tx2, "pending")
		if c3.Code != c2.Code {
			f.wantAnswer(t, "The code mailed before the resend", f.answer("grace", c2.Code, tx2), reject, "bad_code")
		}
		// Answered on a second instance: challenges live in the database.
		f.wantAnswer(t, "The code mailed by the resend, on another instance", f.answerOn(f.newInstance().srv, "grace", c3.Code, tx2), accept, "accept")
		f.wantStatus(t, "A challenge answered after a resend", f.key, tx2, "accepted")
		f.clk.Advance(30 * time.Second)
		f.wantAnswer(t, "Resend of an answered challenge", f.resend("grace", tx2), reject, "")
		f.lastCode(t, 3)

		// 5. Unknown transactions: reject, and 404 for the status.
		f.wantAnswer(t, "A code for an unknown transaction", f.answer("grace", "123456", "nosuchtransaction"), reject, "no_challenge")
		f.wantAnswer(t, "Resend of an unknown transaction", f.resend("grace", "nosuchtransaction"), reject, "")
		f.wantNoTransaction(t, "The status of an unknown transaction", f.key, "nosuchtransaction")

		// 6. A code not used in time expires.
		tx3 := f.challenge(t, "A challenge to let expire",
			f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "methods": []string{"email"}})), "")
		c4 := f.lastCode(t, 4)
		f.clk.Advance(11 * time.Minute)
		f.wantStatus(t, "A challenge 11 minutes old", f.key, tx3, "expired")
		f.wantAnswer(t, "The code of an expired challenge", f.answer("grace", c4.Code, tx3), reject, "no_challenge")
		f.wantStatus(t, "An expired challenge after a late code", f.key, tx3, "expired")
		f.wantAnswer(t, "Resend of an expired challenge", f.resend("grace", tx3), reject, "")
		f.lastCode(t, 4)

		// 7. Users who cannot get a code get the one reject, and no mail.
		var first result
		for i, user := range []string{"nobody", "bob", "dave", "erin"} {
			got := f.validate(f.srv, f.jsonBody(map[string]any{"username": user, "methods": []string{"email"}}))
			if i == 0 {
				first = got
			}
			if got.status != http.StatusOK || !bytes.Equal(got.body, reject.body) ||
				!equalHeaders(withoutDate(got.header), withoutDate(first.header)) {
				t.Errorf("A challenge for %s (no email token): %d %v %s; want the reject an unknown user gets", user, got.status, got.header, got.body)
			}
		}
		f.lastCode(t, 4)

		if u := f.user("grace"); u.Failures > 2 {
			t.Errorf("grace has %d failures; the accepts should have reset them", u.Failures)
		}
	})
}

// TestEmailChallengeServesOneOrganization holds transactions to the
// organization of the key that started them.
func TestEmailChallengeServesOneOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		f.addEmailUser("grace", "")
		other, err := f.svc.CreateOrg(f.ctx, "other", "Other")
		if err != nil {
			t.Fatal(err)
		}
		otherKey, _, err := f.svc.CreateAPIKey(f.ctx, other, "portal")
		if err != nil {
			t.Fatal(err)
		}
		withOther := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+otherKey) }

		tx := f.challenge(t, "Starting a challenge",
			f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "methods": []string{"email"}})), "")
		code := f.lastCode(t, 1).Code
		f.wantNoTransaction(t, "The status with another organization's key", otherKey, tx)
		got := f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "code": code, "transaction_id": tx}), withOther)
		if !bytes.Equal(got.body, reject.body) {
			t.Errorf("The code with another organization's key: %d %s, want reject", got.status, got.body)
		}
		f.clk.Advance(time.Minute)
		got = f.validate(f.srv, f.jsonBody(map[string]any{"username": "grace", "transaction_id": tx, "resend": true}), withOther)
		if !bytes.Equal(got.body, reject.body) {
			t.Errorf("Resend with another organization's key: %d %s, want reject", got.status, got.body)
		}
		f.lastCode(t, 1)
		f.wantAnswer(t, "The code sent as another user's", f.answer("bob", code, tx), reject, "no_challenge")
		f.wantStatus(t, "The status with the organization's own key", f.key, tx, "pending")
		f.wantAnswer(t, "The code with the organization's own key", f.answer("grace", code, tx), accept, "accept")
	})
}

// TestEmailChallengeWithPassword checks the password before mailing a code.
func TestEmailChallengeWithPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		const password = "heidi's long passphrase"
		f.addEmailUser("heidi", password)
		f.remember(password)

		got := f.validate(f.srv, f.jsonBody(map[string]any{"username": "heidi", "methods": []string{"email"}, "password": "not it"}))
		if !bytes.Equal(got.body, reject.body) {
			t.Fatalf("A challenge with a wrong password: %d %s, want reject", got.status, got.body)
		}
		if ev := f.lastEvent(); ev.Action != "login.password" || ev.Result != "bad_password" {
			t.Errorf("audit event of the wrong password: %+v; want login.password bad_password", ev)
		}
		f.lastCode(t, 0)

		tx := f.challenge(t, "A challenge with the right password",
			f.validate(f.srv, f.jsonBody(map[string]any{"username": "heidi", "methods": []string{"email"}, "password": password})), "")
		code := f.lastCode(t, 1).Code
		f.wantAnswer(t, "The code, the password having been checked", f.answer("heidi", code, tx), accept, "accept")
		if u := f.user("heidi"); u.Failures != 0 {
			t.Errorf("heidi has %d failures after a login; want 0", u.Failures)
		}
	})
}

// jsonBody encodes a request body.
func (f *fixture) jsonBody(m map[string]any) string {
	f.t.Helper()
	if p, ok := m["password"].(string); ok {
		f.remember(p)
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// answer posts code as the answer to the challenge txid.
func (f *fixture) answer(user, code, txid string) result {
	return f.answerOn(f.srv, user, code, txid)
}

func (f *fixture) answerOn(srv *httptest.Server, user, code, txid string) result {
	return f.validate(srv, f.jsonBody(map[string]any{"username": user, "code": code, "transaction_id": txid}))
}

// resend asks for the code of the challenge txid again.
func (f *fixture) resend(user, txid string) result {
	return f.validate(f.srv, f.jsonBody(map[string]any{"username": user, "transaction_id": txid, "resend": true}))
}

// challenge checks that got is a challenge by email and returns its
// transaction id, which must be want unless want is empty.
func (f *fixture) challenge(t *testing.T, name string, got result, want string) string {
	t.Helper()
	checkJSONHeaders(t, name, got)
	var answer map[string]any
	if err := json.Unmarshal(got.body, &answer); err != nil || got.status != http.StatusOK {
		t.Fatalf("%s: %d %s, want a challenge", name, got.status, got.body)
	}
	txid, _ := answer["transaction_id"].(string)
	methods, _ := answer["methods"].([]any)
	if len(answer) != 3 || answer["result"] != "challenge" || txid == "" || len(methods) != 1 || methods[0] != "email" ||
		(want != "" && txid != want) {
		t.Fatalf("%s: %s; want {\"result\":\"challenge\",\"transaction_id\":%q,\"methods\":[\"email\"]}", name, got.body, want)
	}
	if got.header.Get("Content-Length") != strconv.Itoa(len(got.body)) {
		t.Errorf("%s: Content-Length %q for %d bytes", name, got.header.Get("Content-Length"), len(got.body))
	}
	f.remember(txid) // no log may show it
	return txid
}

// lastCode checks that n codes were mailed and returns the last.
func (f *fixture) lastCode(t *testing.T, n int) sentCode {
	t.Helper()
	sent := f.mail.sent()
	if len(sent) != n {
		t.Fatalf("%d codes mailed, want %d", len(sent), n)
	}
	if n == 0 {
		return sentCode{}
	}
	f.remember(sent[n-1].Code)
	return sent[n-1]
}

// wantAnswer checks a validate answer and, unless wantLast is empty, the
// result of the newest audit event.
func (f *fixture) wantAnswer(t *testing.T, name string, got result, want *response, wantLast string) {
	t.Helper()
	if got.status != want.status || !bytes.Equal(got.body, want.body) {
		t.Errorf("%s: %d %s, want %d %s", name, got.status, got.body, want.status, want.body)
	}
	checkJSONHeaders(t, name, got)
	if wantLast == "" {
		return
	}
	if ev := f.lastEvent(); ev.Result != wantLast || ev.Action != "validate" {
		t.Errorf("%s: audit event %+v, want validate %s", name, ev, wantLast)
	}
}

func (f *fixture) wantTooSoon(t *testing.T, name string, got result) {
	t.Helper()
	if got.status != http.StatusTooManyRequests {
		t.Errorf("%s: %d %s, want 429", name, got.status, got.body)
		return
	}
	checkJSONHeaders(t, name, got)
	if msg := errorMessage(t, name, got.body); !strings.Contains(msg, "wait") {
		t.Errorf("%s: error %q, want it to say to wait", name, msg)
	}
}

// transaction asks for the status of txid with key.
func (f *fixture) transaction(key, txid string) result {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+prefixTransactions+txid, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	return f.do(req)
}

func (f *fixture) wantStatus(t *testing.T, name, key, txid, want string) {
	t.Helper()
	got := f.transaction(key, txid)
	checkJSONHeaders(t, name, got)
	if wantBody := `{"status":"` + want + `"}`; got.status != http.StatusOK || string(got.body) != wantBody {
		t.Errorf("%s: status %d %s, want 200 %s", name, got.status, got.body, wantBody)
	}
}

func (f *fixture) wantNoTransaction(t *testing.T, name, key, txid string) {
	t.Helper()
	got := f.transaction(key, txid)
	checkJSONHeaders(t, name, got)
	if got.status != http.StatusNotFound || !slices.Equal(got.body, noTransaction.body) {
		t.Errorf("%s: %d %s, want 404 %s", name, got.status, got.body, noTransaction.body)
	}
}
