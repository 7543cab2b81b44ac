package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func (e *env) tempCode(o admin.TempCodeOptions) admin.TempCode {
	e.t.Helper()
	c, err := e.admin.IssueTempCode(e.ctx, e.org, "alice", o)
	if err != nil {
		e.t.Fatalf("IssueTempCode: %v", err)
	}
	return c
}

func TestTempCode(t *testing.T) {
	type try struct {
		code   func(c admin.TempCode) string
		accept bool
		reason error
	}
	asIssued := func(c admin.TempCode) string { return c.Code }
	tests := []struct {
		name  string
		uses  int
		after time.Duration // the clock moves this far before the tries
		tries []try
	}{
		{"a code of one use signs in once", 1, 0, []try{{asIssued, true, nil}, {asIssued, false, auth.ErrBadCode}}},
		{"a code of three uses signs in three times", 3, 0, []try{{asIssued, true, nil}, {asIssued, true, nil}, {asIssued, true, nil}, {asIssued, false, auth.ErrBadCode}}},
		{"it is read in lower case and with spaces", 1, 0, []try{{func(c admin.TempCode) string { return strings.ToLower(strings.ReplaceAll(c.Code, "-", " ")) }, true, nil}}},
		{"a wrong code is refused and takes no use", 1, 0, []try{{func(admin.TempCode) string { return "ABCD-EFGH-JKMN" }, false, auth.ErrBadCode}, {asIssued, true, nil}}},
		{"it works until it expires", 1, 24*time.Hour - time.Second, []try{{asIssued, true, nil}}},
		{"an expired code is refused", 1, 24 * time.Hour, []try{{asIssued, false, auth.ErrBadCode}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				e.setPolicy(map[string]string{"temp_code_uses": "3"})
				e.active()
				c := e.tempCode(admin.TempCodeOptions{Uses: tt.uses})
				e.clock.Advance(tt.after)
				for i, tr := range tt.tries {
					out := e.verify(e.request(tr.code(c)))
					if out.Accepted != tr.accept || (tr.accept && out.Method != "temp") || (!tr.accept && out.Reason != tr.reason) {
						t.Fatalf("try %d: %+v, want accepted %v (method temp) or reason %v", i+1, out, tr.accept, tr.reason)
					}
				}
			})
		})
	}
}

func TestTempCodeSuspendsTheLostAuthenticator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		c := e.tempCode(admin.TempCodeOptions{})
		if len(c.Suspended) != 1 || c.Suspended[0] != tk.serial {
			t.Fatalf("suspended %v, want the only authenticator %s", c.Suspended, tk.serial)
		}
		if out := e.verify(e.request(e.code(tk, 0))); out.Accepted || !errors.Is(out.Reason, auth.ErrNoToken) {
			t.Fatalf("the lost phone's code: %+v, want refused, no usable token", out)
		}
		if out := e.verify(e.request(c.Code)); !out.Accepted || out.Method != "temp" {
			t.Fatalf("the temporary code: %+v, want accepted", out)
		}
	})
}

func TestTempCodeIsAGuessLikeAnyOther(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.active()
		c := e.tempCode(admin.TempCodeOptions{})
		for i := range 4 {
			if out := e.verify(e.request("ABCD-EFGH-JKMN")); out.Accepted || out.Reason != auth.ErrBadCode {
				t.Fatalf("wrong temporary code %d: %+v", i+1, out)
			}
		}
		// A success resets the failures, like a backup code.
		if out := e.verify(e.request(c.Code)); !out.Accepted {
			t.Fatalf("the temporary code after four wrong ones: %+v", out)
		}
		u, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if err != nil || u.Failures != 0 {
			t.Fatalf("failures after the temporary code: %d, %v; want 0", u.Failures, err)
		}
		c = e.tempCode(admin.TempCodeOptions{})
		for range 5 {
			e.verify(e.request("ABCD-EFGH-JKMN"))
		}
		if out := e.verify(e.request(c.Code)); out.Accepted || out.Reason != auth.ErrLocked {
			t.Fatalf("the right temporary code after five wrong ones: %+v, want refused as locked", out)
		}
		e.clock.Advance(10 * time.Minute)
		if out := e.verify(e.request(c.Code)); !out.Accepted {
			t.Fatalf("the temporary code once the lock ran out: %+v, want accepted: the locked guess took no use", out)
		}
	})
}

func TestTempCodeUnderServerPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		e.setPolicy(map[string]string{"pin_mode": "server", "pin_digits_only": "false", "temp_code_uses": "5"})
		if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", "4711", true); err != nil {
			t.Fatal(err)
		}
		c := e.tempCode(admin.TempCodeOptions{Uses: 5})
		tests := []struct {
			name   string
			code   string
			accept bool
			reason error
		}{
			{"the code without the PIN is refused", c.Code, false, auth.ErrBadPIN},
			{"a wrong PIN before the code is refused", "1234" + c.Code, false, auth.ErrBadPIN},
			{"the PIN and the code sign in", "4711" + c.Code, true, nil},
			{"the PIN and the code with spaces sign in", "4711 " + strings.ReplaceAll(c.Code, "-", " "), true, nil},
		}
		for _, tt := range tests {
			out := e.verify(e.request(tt.code))
			if out.Accepted != tt.accept || (!tt.accept && out.Reason != tt.reason) {
				t.Errorf("%s: %+v, want accepted %v or reason %v", tt.name, out, tt.accept, tt.reason)
			}
		}
		// The lost token was suspended; resuming it shows that a one-time
		// code after a PIN with letters still goes to the token.
		if err := e.admin.ChangeToken(e.ctx, e.org, "alice", tk.serial, "resume"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", "abcdef", true); err != nil {
			t.Fatal(err)
		}
		// A code without 0 and 1 makes the input read as a temporary code too.
		for i := 0; strings.ContainsAny(e.code(tk, 0), "01"); i++ {
			if i == 100 {
				t.Fatal("no code without 0 and 1 in 100 steps")
			}
			e.clock.Advance(30 * time.Second)
		}
		if out := e.verify(e.request("abcdef" + e.code(tk, 0))); !out.Accepted || out.Method != "app" {
			t.Fatalf("a PIN of letters and a one-time code, twelve characters like a temporary code: %+v, want accepted by the app", out)
		}
	})
}

func TestTempCodeIsNoFirstCodeOfANewToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		c := e.tempCode(admin.TempCodeOptions{})
		tk := e.enroll("totp")
		if out, err := e.v.Activate(e.ctx, e.request(c.Code), tk.serial); err != nil || out.Accepted {
			t.Fatalf("Activate with a temporary code: %+v, %v; want refused", out, err)
		}
		if out := e.verify(e.request(c.Code)); !out.Accepted {
			t.Fatalf("the temporary code after the refused activation: %+v, want accepted", out)
		}
	})
}

func TestTempCodeIsKeptOnlyAsAKeyedHash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		c := e.tempCode(admin.TempCodeOptions{})
		u, _ := e.store.UserByName(e.ctx, e.org.ID, "alice")
		got, err := e.store.LiveTempCode(e.ctx, u.ID, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		plain := strings.ReplaceAll(c.Code, "-", "")
		if string(got.CodeMAC) != string(e.admin.Keys.MAC([]byte(plain))) {
			t.Fatalf("stored %x, want the keyring's MAC of the code", got.CodeMAC)
		}
		evs, err := e.store.Events(e.ctx, e.org.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if strings.Contains(ev.Detail+ev.Target, plain) || strings.Contains(ev.Detail+ev.Target, c.Code) {
				t.Fatalf("audit event %+v holds the code", ev)
			}
		}
	})
}
