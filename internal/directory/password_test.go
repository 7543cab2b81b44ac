package directory_test

import (
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/directory/ldaptest"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// verifier is the one verification core with acme's directory checking
// passwords, as serve wires it.
func (e *env) verifier() *auth.Verifier {
	return auth.NewVerifier(auth.Config{Store: e.store, Keys: e.admin.Keys, Clock: e.clock, Hasher: e.admin.Hasher, Rand: rand.Reader, Directory: e.svc})
}

func TestPasswordAuth(t *testing.T) {
	srv := ldaptest.Start(t)
	// One person only: an unescaped "*" in the filter would find her.
	srv.Person(t, "ann", "ann-directory-pass", "ann@example.org", "Ann", nil)
	e := newEnv(t, storetest.SQLite(t))
	e.connect(t, srv, map[string]string{"password_auth": "true"})
	// Ann has a local password too: with password_auth it no longer counts.
	if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "ann", Password: "a local passphrase nobody guesses"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"*", "*)(uid=*", "ann)(|(uid=*"} {
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: name}); err != nil {
			t.Fatal(err)
		}
	}
	v := e.verifier()
	for _, tc := range []struct {
		name, username, password string
		accept                   bool
	}{
		{"the directory's password is accepted", "ann", "ann-directory-pass", true},
		{"a wrong password is refused", "ann", "wrong", false},
		{"the local password is refused", "ann", "a local passphrase nobody guesses", false},
		{"an empty password is refused", "ann", "", false},
		{"a wildcard username finds nobody", "*", "ann-directory-pass", false},
		{"a filter-injection username is escaped", "*)(uid=*", "ann-directory-pass", false},
		{"another injection is escaped", "ann)(|(uid=*", "ann-directory-pass", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := v.CheckPassword(e.ctx, auth.Request{OrgID: e.org.ID, Username: tc.username, Password: tc.password, Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if out.Accepted != tc.accept {
				t.Fatalf("accepted = %v (%v), want %v", out.Accepted, out.Reason, tc.accept)
			}
			if !tc.accept && !errors.Is(out.Reason, auth.ErrBadPassword) {
				t.Fatalf("reason %v, want ErrBadPassword", out.Reason)
			}
		})
	}
	// Without escaping, "*" would have matched ann's entry: this is the
	// directory answering a bind as her, so the cases above could fail.
	if handled, ok, err := e.svc.CheckPassword(e.ctx, e.org.ID, "ann", "ann-directory-pass"); !handled || !ok || err != nil {
		t.Fatalf("CheckPassword(ann) = %v %v %v", handled, ok, err)
	}

	srv.Stop()
	t.Run("an empty password is refused before any bind", func(t *testing.T) {
		// The directory is down: a bind would be an error, not a refusal.
		if handled, ok, err := e.svc.CheckPassword(e.ctx, e.org.ID, "ann", ""); !handled || ok || err != nil {
			t.Fatalf("CheckPassword(empty) = %v %v %v; want handled and refused, without asking the directory", handled, ok, err)
		}
	})
	t.Run("a directory that is down could not check", func(t *testing.T) {
		out, err := v.CheckPassword(e.ctx, auth.Request{OrgID: e.org.ID, Username: "ann", Password: "ann-directory-pass", Actor: "test"})
		if err == nil || out.Accepted {
			t.Fatalf("with the directory down: %+v, %v; want an error (could not check)", out, err)
		}
	})
}

func TestPasswordAuthTimesOut(t *testing.T) {
	// A directory that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	e := newEnv(t, storetest.SQLite(t))
	if _, err := e.svc.Set(e.ctx, e.org, map[string]string{"url": "ldap://" + ln.Addr().String(), "base_dn": ldaptest.PeopleDN,
		"password_auth": "true", "timeout": "1s"}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	handled, ok, err := e.svc.CheckPassword(e.ctx, e.org.ID, "ann", "pass")
	if !handled || ok || err == nil {
		t.Fatalf("CheckPassword against a silent directory = %v %v %v; want an error", handled, ok, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("gave up after %v; the timeout is 1s", d)
	}
}

func TestPasswordAuthOff(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	if handled, _, err := e.svc.CheckPassword(e.ctx, e.org.ID, "ann", "x"); handled || err != nil {
		t.Fatalf("without a directory: handled %v, %v", handled, err)
	}
	if _, err := e.svc.Set(e.ctx, e.org, map[string]string{"url": "ldaps://127.0.0.1:1", "base_dn": ldaptest.PeopleDN}, nil); err != nil {
		t.Fatal(err)
	}
	if handled, _, err := e.svc.CheckPassword(e.ctx, e.org.ID, "ann", "x"); handled || err != nil {
		t.Fatalf("password_auth off: handled %v, %v; want the local hash to decide", handled, err)
	}
}
