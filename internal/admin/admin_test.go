package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 10, 0, time.UTC)

var cheap = &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}

const publicURL = "https://mfa.example"

// env is an admin.Service on a real store. Its methods take the running
// test's t, because subtests share one env.
type env struct {
	ctx   context.Context
	clock *clock.Fake
	store *store.Store
	svc   *admin.Service
	org   store.Org // acme, once withAlice made it
}

func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	s := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: context.Background(), clock: clk, store: s, svc: &admin.Service{
		Store: s, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: publicURL, Actor: "test",
	}}
}

// withAlice returns an env with organization acme ("Acme Corp") and its user alice.
func withAlice(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	e := newEnv(t, b)
	var err error
	if e.org, err = e.svc.CreateOrg(e.ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// wantInvalid fails unless err is a refusal of bad input whose message says msg.
func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error = %v; want admin.ErrInvalid saying %q", err, msg)
	}
}

// events returns all of an organization's audit events, newest first.
func (e *env) events(t *testing.T, orgID int64) []store.Event {
	t.Helper()
	evs, err := e.store.Events(e.ctx, orgID, 100000)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	return evs
}

// wantEvent fails unless the newest event of orgID is the one described
// and is the only one written since there were before.
func (e *env) wantEvent(t *testing.T, orgID int64, before int, action, target string) {
	t.Helper()
	evs := e.events(t, orgID)
	if len(evs) != before+1 {
		t.Fatalf("%d audit events written, want 1: %+v", len(evs)-before, evs)
	}
	got := evs[0]
	want := store.Event{ID: got.ID, OrgID: orgID, At: t0, Actor: "test", Action: action, Target: target, Result: "ok", Detail: got.Detail}
	if !got.At.Equal(want.At) {
		t.Errorf("event at %v, want %v", got.At, want.At)
	}
	got.At = want.At
	if got != want {
		t.Fatalf("audit event = %+v\nwant %+v", got, want)
	}
}

// wantNoEvent fails if orgID has other than before events.
func (e *env) wantNoEvent(t *testing.T, orgID int64, before int) {
	t.Helper()
	if evs := e.events(t, orgID); len(evs) != before {
		t.Fatalf("a refused change wrote %d audit events, want none: %+v", len(evs)-before, evs[:len(evs)-before])
	}
}

// token is an enrolled token, its secret and a generator for its codes.
type token struct {
	en  admin.Enrolled
	key otp.Key
	gen *otp.Generator
}

func (e *env) enroll(t *testing.T, username, typ string) token {
	t.Helper()
	en, err := e.svc.EnrollToken(e.ctx, e.org, username, typ, "")
	if err != nil {
		t.Fatalf("EnrollToken(%s, %s): %v", username, typ, err)
	}
	k, err := otp.ParseURI(en.URI)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", en.URI, err)
	}
	g, err := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	if err != nil {
		t.Fatal(err)
	}
	return token{en: en, key: k, gen: g}
}

func (e *env) verifier() *auth.Verifier {
	return auth.NewVerifier(auth.Config{Store: e.store, Keys: e.svc.Keys, Clock: e.clock, Hasher: cheap})
}

// activate makes alice's HOTP token tk active with its first code.
func (e *env) activate(t *testing.T, tk token) {
	t.Helper()
	out, err := e.verifier().Activate(e.ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Code: tk.gen.Code(0), Actor: "test"}, tk.en.Token.Serial)
	if err != nil || !out.Accepted {
		t.Fatalf("activate %s: %+v, %v", tk.en.Token.Serial, out, err)
	}
}

// notAmong returns a code that g gives for none of the counters 0 to n-1.
func notAmong(g *otp.Generator, n uint64) string {
	used := map[string]bool{}
	for c := range n {
		used[g.Code(c)] = true
	}
	for i := 0; ; i++ {
		if code := fmt.Sprintf("%06d", i); !used[code] {
			return code
		}
	}
}

func (e *env) state(t *testing.T, serial string) string {
	t.Helper()
	tok, err := e.store.TokenBySerial(e.ctx, e.org.ID, serial)
	if err != nil {
		t.Fatalf("TokenBySerial(%s): %v", serial, err)
	}
	return tok.State
}

func TestCreateOrg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)

		t.Run("valid slugs are accepted and stored with the default policy", func(t *testing.T) {
			for _, slug := range []string{"acme", "a", "0day", "acme-corp", "acme-", strings.Repeat("a", 63)} {
				before := e.events(t, 0)
				org, err := e.svc.CreateOrg(e.ctx, slug, "Org "+slug)
				if err != nil {
					t.Fatalf("CreateOrg(%q): %v", slug, err)
				}
				if org.Slug != slug || org.Name != "Org "+slug || org.ID == 0 {
					t.Errorf("CreateOrg(%q) = %+v, want slug %q, name %q and an id", slug, org, slug, "Org "+slug)
				}
				got, err := e.store.OrgBySlug(e.ctx, slug)
				if err != nil || got.ID != org.ID || got.Name != org.Name {
					t.Fatalf("OrgBySlug(%q) = %+v, %v; want %+v", slug, got, err, org)
				}
				p, err := policy.Parse(got.Policy)
				if err != nil || !reflect.DeepEqual(p, policy.Default()) {
					t.Errorf("stored policy %s parses to %+v, %v; want %+v", got.Policy, p, err, policy.Default())
				}
				e.wantEvent(t, org.ID, 0, "org.create", slug)
				e.wantNoEvent(t, 0, len(before))
			}
		})

		t.Run("the name defaults to the slug", func(t *testing.T) {
			for _, name := range []string{"", "   "} {
				slug := fmt.Sprintf("noname%d", len(name))
				org, err := e.svc.CreateOrg(e.ctx, slug, name)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := e.store.OrgBySlug(e.ctx, slug); err != nil || org.Name != slug || got.Name != slug {
					t.Errorf("CreateOrg(%q, %q) named it %q, stored %q (%v); want %q", slug, name, org.Name, got.Name, err, slug)
				}
			}
		})

		invalid := []struct{ name, slug string }{
			{"upper case is refused", "Acme"},
			{"a leading hyphen is refused", "-acme"},
			{"a space is refused", "ac me"},
			{"an empty slug is refused", ""},
			{"64 characters are refused", strings.Repeat("a", 64)},
			{"a slash is refused", "acme/x"},
			{"a trailing newline is refused", "acme\n"},
			{"a non-ASCII letter is refused", "acmé"},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, 0))
				_, err := e.svc.CreateOrg(e.ctx, tt.slug, "")
				wantInvalid(t, err, "organization slug")
				if _, err := e.store.OrgBySlug(e.ctx, tt.slug); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("OrgBySlug(%q) after refusal: %v, want not found", tt.slug, err)
				}
				e.wantNoEvent(t, 0, before)
			})
		}

		t.Run("a duplicate slug is refused as existing", func(t *testing.T) {
			org, err := e.svc.CreateOrg(e.ctx, "dup", "First")
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.CreateOrg(e.ctx, "dup", "Second")
			wantInvalid(t, err, `organization "dup" exists already`)
			if got, _ := e.store.OrgBySlug(e.ctx, "dup"); got.Name != "First" {
				t.Errorf("name after duplicate = %q, want First", got.Name)
			}
			e.wantNoEvent(t, org.ID, 1)
		})
	})
}

func TestAddUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var err error
		if e.org, err = e.svc.CreateOrg(e.ctx, "acme", ""); err != nil {
			t.Fatal(err)
		}

		t.Run("the username is stored canonical and the password hashed", func(t *testing.T) {
			before := len(e.events(t, e.org.ID))
			u, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "  Alice ", Email: "alice@acme.example", DisplayName: "Alice A.", Password: "correct horse"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
			if err != nil {
				t.Fatalf("UserByName(alice): %v", err)
			}
			if u.Username != "alice" || got.ID != u.ID || got.Email != "alice@acme.example" || got.DisplayName != "Alice A." ||
				got.Role != store.RoleUser || got.Status != store.UserActive {
				t.Errorf("stored %+v (returned %+v); want alice, alice@acme.example, Alice A., role user, active", got, u)
			}
			if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$") {
				t.Errorf("password hash %q is not an argon2id PHC string", got.PasswordHash)
			}
			if ok, err := cheap.Verify(context.Background(), got.PasswordHash, "correct horse"); !ok || err != nil {
				t.Errorf("Verify(hash, right password) = %v, %v; want true", ok, err)
			}
			if ok, _ := cheap.Verify(context.Background(), got.PasswordHash, "correct horsE"); ok {
				t.Error("Verify(hash, wrong password) = true")
			}
			e.wantEvent(t, e.org.ID, before, "user.add", "acme/alice")
		})

		for _, name := range []string{"ALICE", " alice", "Ａｌｉｃｅ"} {
			t.Run(fmt.Sprintf("%q is refused as alice exists", name), func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				_, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: name})
				wantInvalid(t, err, `user "alice" exists already`)
				e.wantNoEvent(t, e.org.ID, before)
			})
		}

		t.Run("without a password the hash is empty", func(t *testing.T) {
			if _, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "nopw"}); err != nil {
				t.Fatal(err)
			}
			if got, err := e.store.UserByName(e.ctx, e.org.ID, "nopw"); err != nil || got.PasswordHash != "" {
				t.Errorf("password hash = %q, %v; want empty", got.PasswordHash, err)
			}
		})

		accepted := []struct {
			name string
			user admin.NewUser
			want string // stored username
		}{
			{"a username of 128 characters is accepted", admin.NewUser{Username: strings.Repeat("b", 128)}, strings.Repeat("b", 128)},
			{"a non-ASCII username is accepted", admin.NewUser{Username: "Jürgen"}, "jürgen"},
			{"the admin role is accepted", admin.NewUser{Username: "boss", Role: store.RoleAdmin}, "boss"},
			{"a password of 8 runes in 16 bytes is accepted", admin.NewUser{Username: "eight", Password: "éééééééé"}, "eight"},
		}
		for _, tt := range accepted {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := e.svc.AddUser(e.ctx, e.org, tt.user); err != nil {
					t.Fatalf("AddUser(%+v): %v", tt.user, err)
				}
				if _, err := e.store.UserByName(e.ctx, e.org.ID, tt.want); err != nil {
					t.Fatalf("UserByName(%q): %v", tt.want, err)
				}
			})
		}

		refused := []struct {
			name string
			user admin.NewUser
			msg  string
		}{
			{"an empty username is refused", admin.NewUser{Username: ""}, "username"},
			{"a username of only spaces is refused", admin.NewUser{Username: "   "}, "username"},
			{"a username with a space inside is refused", admin.NewUser{Username: "al ice"}, "username"},
			{"a username with a slash is refused", admin.NewUser{Username: "acme/bob"}, "username"},
			{"a username with a tab is refused", admin.NewUser{Username: "al\tice"}, "username"},
			{"a username with a control character is refused", admin.NewUser{Username: "al\x01ice"}, "username"},
			{"a username with a NUL byte is refused", admin.NewUser{Username: "al\x00ice"}, "username"},
			{"a username of invalid UTF-8 is refused", admin.NewUser{Username: "\xff"}, "username"},
			{"a username with invalid UTF-8 inside is refused", admin.NewUser{Username: "bo\xffb"}, "username"},
			{"a username of 129 characters is refused", admin.NewUser{Username: strings.Repeat("c", 129)}, "username"},
			{"an email that is not an address is refused", admin.NewUser{Username: "bob", Email: "not-an-address"}, "not-an-address"},
			{"an email with a display name is refused", admin.NewUser{Username: "bob", Email: "Alice <a@b.c>"}, "is not an address"},
			{"an email of two addresses is refused", admin.NewUser{Username: "bob", Email: "a@b.c, d@e.f"}, "is not an address"},
			{"an unknown role is refused", admin.NewUser{Username: "bob", Role: "root"}, `not "root"`},
			{"an unknown language is refused", admin.NewUser{Username: "bob", Language: "fr"}, `not "fr"`},
			{"a role in upper case is refused", admin.NewUser{Username: "bob", Role: "Admin"}, "role must be user, helpdesk or admin"},
			{"a password of 7 characters is refused", admin.NewUser{Username: "bob", Password: "1234567"}, "at least 8 characters"},
			{"a password of 7 runes in 14 bytes is refused", admin.NewUser{Username: "bob", Password: "ééééééé"}, "at least 8 characters"},
			{"a password over 1024 bytes is refused", admin.NewUser{Username: "bob", Password: strings.Repeat("p", 1025)}, "at most 1024 bytes"},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				u, err := e.svc.AddUser(e.ctx, e.org, tt.user)
				if err == nil {
					t.Fatalf("AddUser(%+q) added %+v, want it refused", tt.user, u)
				}
				wantInvalid(t, err, tt.msg)
				name := auth.CanonicalUsername(tt.user.Username)
				if !strings.ContainsRune(name, 0) { // PostgreSQL cannot even look a NUL up
					if got, err := e.store.UserByName(e.ctx, e.org.ID, name); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("after refusal UserByName(%q) = %+v, %v; want not found", name, got, err)
					}
				}
				e.wantNoEvent(t, e.org.ID, before)
			})
		}
	})
}

func TestSetPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		hash := func() string {
			t.Helper()
			u, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return u.PasswordHash
		}
		before := len(e.events(t, e.org.ID))
		if err := e.svc.SetPassword(e.ctx, e.org, "ALICE", "first password"); err != nil {
			t.Fatal(err)
		}
		e.wantEvent(t, e.org.ID, before, "user.passwd", "acme/alice")
		if ok, err := cheap.Verify(context.Background(), hash(), "first password"); !ok || err != nil {
			t.Fatalf("new password does not verify: %v, %v", ok, err)
		}

		before++
		wantInvalid(t, e.svc.SetPassword(e.ctx, e.org, "alice", "short"), "at least 8 characters")
		if ok, _ := cheap.Verify(context.Background(), hash(), "first password"); !ok {
			t.Error("a refused password change replaced the password")
		}
		wantInvalid(t, e.svc.SetPassword(e.ctx, e.org, "nobody", "long enough"), `no user "nobody"`)
		e.wantNoEvent(t, e.org.ID, before)
	})
}

func TestUnlock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		tk := e.enroll(t, "alice", "hotp")
		e.activate(t, tk)
		v := e.verifier()
		req := func(code string) auth.Request {
			return auth.Request{OrgID: e.org.ID, Username: "alice", Code: code, Actor: "test"}
		}
		wrong := notAmong(tk.gen, 50)
		for range policy.Default().LockoutThreshold {
			if out, err := v.Verify(e.ctx, req(wrong)); err != nil || out.Reason != auth.ErrBadCode {
				t.Fatalf("wrong code: %+v, %v; want bad code", out, err)
			}
		}
		if out, _ := v.Verify(e.ctx, req(tk.gen.Code(1))); out.Reason != auth.ErrLocked {
			t.Fatalf("right code after %d wrong ones: %+v, want refused as locked", policy.Default().LockoutThreshold, out)
		}
		u, _ := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if want := t0.Add(policy.Default().LockoutDuration.D()); u.Failures != 5 || !u.LockedUntil.Equal(want) {
			t.Fatalf("before unlock: failures %d, locked until %v; want 5, %v", u.Failures, u.LockedUntil, want)
		}

		before := len(e.events(t, e.org.ID))
		if err := e.svc.Unlock(e.ctx, e.org, "Alice"); err != nil {
			t.Fatal(err)
		}
		e.wantEvent(t, e.org.ID, before, "user.unlock", "acme/alice")
		u, _ = e.store.UserByName(e.ctx, e.org.ID, "alice")
		if u.Failures != 0 || !u.LockedUntil.IsZero() {
			t.Fatalf("after unlock: failures %d, locked until %v; want 0 and never", u.Failures, u.LockedUntil)
		}
		if out, err := v.Verify(e.ctx, req(tk.gen.Code(1))); err != nil || !out.Accepted {
			t.Fatalf("right code after unlock: %+v, %v; want accepted", out, err)
		}
		wantInvalid(t, e.svc.Unlock(e.ctx, e.org, "nobody"), `no user "nobody"`)
	})
}

func TestDisableAndEnableUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		tk := e.enroll(t, "alice", "hotp")
		e.activate(t, tk)
		verify := func(counter uint64) bool {
			t.Helper()
			out, err := e.verifier().Verify(e.ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Code: tk.gen.Code(counter), Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return out.Accepted
		}
		next := uint64(1) // the HOTP counter of alice's next code
		for _, step := range []struct {
			name     string
			change   func() error
			action   string
			refused  string // the refusal expected instead of a change
			accepted bool   // whether alice's next code is accepted afterwards
		}{
			{"disabling alice", func() error { return e.svc.DisableUser(e.ctx, e.org, "Alice") }, "user.disable", "", false},
			{"disabling her again", func() error { return e.svc.DisableUser(e.ctx, e.org, "alice") }, "", "user acme/alice is disabled already", false},
			{"enabling her", func() error { return e.svc.EnableUser(e.ctx, e.org, "alice") }, "user.enable", "", true},
			{"enabling her again", func() error { return e.svc.EnableUser(e.ctx, e.org, "alice") }, "", "user acme/alice is active already", true},
			{"disabling nobody", func() error { return e.svc.DisableUser(e.ctx, e.org, "nobody") }, "", `no user "nobody"`, true},
		} {
			before := len(e.events(t, e.org.ID))
			err := step.change()
			if step.refused != "" {
				wantInvalid(t, err, step.refused)
				e.wantNoEvent(t, e.org.ID, before)
			} else {
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				e.wantEvent(t, e.org.ID, before, step.action, "acme/alice")
			}
			if got := verify(next); got != step.accepted {
				t.Fatalf("after %s: code accepted %v, want %v", step.name, got, step.accepted)
			} else if got {
				next++
			}
		}
	})
}

func TestResetMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		e.activate(t, e.enroll(t, "alice", "hotp"))
		pending := e.enroll(t, "alice", "totp")
		if _, err := e.svc.GenerateBackupCodes(e.ctx, e.org, "alice"); err != nil {
			t.Fatal(err)
		}
		before := len(e.events(t, e.org.ID))
		n, err := e.svc.ResetMFA(e.ctx, e.org, "ALICE")
		if err != nil || n != 2 {
			t.Fatalf("ResetMFA() = %d, %v; want 2 tokens revoked", n, err)
		}
		e.wantEvent(t, e.org.ID, before, "user.reset-mfa", "acme/alice")
		if got := e.state(t, pending.en.Token.Serial); got != store.TokenRevoked {
			t.Errorf("pending token is %s after reset, want revoked", got)
		}
		code := strings.TrimPrefix(pending.en.Link, publicURL+"/enroll?code=")
		if en, err := e.store.EnrollmentByCodeHash(e.ctx, secret.HashToken(code)); err != nil || en.Enrollment.Status != store.EnrollmentCancelled {
			t.Errorf("enrollment after reset: %q, %v; want cancelled", en.Enrollment.Status, err)
		}
		u, _ := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if left, err := e.store.BackupCodesLeft(e.ctx, u.ID); err != nil || left != 0 {
			t.Errorf("backup codes after reset: %d, %v; want none", left, err)
		}
		_, err = e.svc.ResetMFA(e.ctx, e.org, "nobody")
		wantInvalid(t, err, `no user "nobody"`)
	})
}

var base32Code = regexp.MustCompile(`^[a-z2-7]+$`)

func TestEnrollToken(t *testing.T) {
	tests := []struct {
		typ      string
		period   int
		lastStep int64
	}{
		{"totp", 30, 0},
		{"hotp", 0, -1},
	}
	for _, tt := range tests {
		t.Run("a "+tt.typ+" token is assigned with a link and a sealed secret", func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := withAlice(t, b)
				before := len(e.events(t, e.org.ID))
				tk := e.enroll(t, "Alice", tt.typ)
				en := tk.en
				e.wantEvent(t, e.org.ID, before, "token.enroll", "acme/alice "+en.Token.Serial)

				if want := strings.ToUpper(tt.typ); !strings.HasPrefix(en.Token.Serial, want) || len(en.Token.Serial) != len(want)+8 {
					t.Errorf("serial %q, want %s and 8 characters", en.Token.Serial, want)
				}
				prefix := publicURL + "/enroll?code="
				code, ok := strings.CutPrefix(en.Link, prefix)
				if !ok || len(code) < 26 || !base32Code.MatchString(code) {
					t.Errorf("link %q, want %s and at least 26 base32 characters (128 bits)", en.Link, prefix)
				}
				// The stored enrollment code hash cannot be checked here:
				// the store has no method that reads enrollments back.
				if want := t0.Add(72 * time.Hour); !en.Expires.Equal(want) {
					t.Errorf("link expires %v, want %v", en.Expires, want)
				}

				k := tk.key
				if k.Type != tt.typ || k.Issuer != "Acme Corp" || k.Account != "alice" || len(k.Secret) != 20 ||
					k.Algorithm != otp.SHA1 || k.Digits != 6 {
					t.Errorf("URI %s gives %+v; want %s, issuer Acme Corp, account alice, 20-byte secret, SHA1, 6 digits", en.URI, k, tt.typ)
				}
				if tt.typ == "totp" && k.Period != 30*time.Second {
					t.Errorf("URI period %v, want 30s", k.Period)
				}

				stored, err := e.store.TokenBySerial(e.ctx, e.org.ID, en.Token.Serial)
				if err != nil {
					t.Fatal(err)
				}
				if stored.ID != en.Token.ID || stored.State != store.TokenAssigned || stored.Type != tt.typ ||
					stored.Period != tt.period || stored.LastStep != tt.lastStep || stored.Digits != 6 || stored.Algorithm != "SHA1" {
					t.Errorf("stored token %+v; want id %d, assigned, %s, period %d, last step %d, 6 digits, SHA1",
						stored, en.Token.ID, tt.typ, tt.period, tt.lastStep)
				}
				if bytes.Contains(stored.Secret, k.Secret) {
					t.Error("the stored secret holds the plaintext secret")
				}
				plain, err := e.svc.Keys.Open(stored.Secret, store.SecretAD(stored))
				if err != nil || !bytes.Equal(plain, k.Secret) {
					t.Errorf("stored secret opens to %x, %v; want the URI's secret %x", plain, err, k.Secret)
				}
				other := stored
				other.UserID++
				if _, err := e.svc.Keys.Open(stored.Secret, store.SecretAD(other)); !errors.Is(err, secret.ErrOpen) {
					t.Errorf("stored secret opened as another user's: %v, want secret.ErrOpen", err)
				}

				second := e.enroll(t, "alice", tt.typ)
				if second.en.Token.Serial == en.Token.Serial || bytes.Equal(second.key.Secret, k.Secret) || second.en.Link == en.Link {
					t.Errorf("second enrollment repeats the first: serials %s %s, links %s %s",
						en.Token.Serial, second.en.Token.Serial, en.Link, second.en.Link)
				}
			})
		})
	}

	t.Run("refusals", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, b storetest.Backend) {
			e := withAlice(t, b)
			before := len(e.events(t, e.org.ID))
			_, err := e.svc.EnrollToken(e.ctx, e.org, "alice", "sms", "")
			wantInvalid(t, err, `token type must be totp, hotp, email or push, not "sms"`)
			_, err = e.svc.EnrollToken(e.ctx, e.org, "nobody", "totp", "")
			wantInvalid(t, err, `no user "nobody"`)
			e.wantNoEvent(t, e.org.ID, before)
			if _, ts, err := e.svc.Tokens(e.ctx, e.org, "alice"); err != nil || len(ts) != 0 {
				t.Errorf("refused enrollments left tokens %+v, %v", ts, err)
			}
		})
	})
}

func TestChangeToken(t *testing.T) {
	tests := []struct {
		name string
		from string
		op   string
		want string // the state afterwards
		msg  string // the refusal's message; empty when the change succeeds
	}{
		{"suspending an active token suspends it", store.TokenActive, "suspend", store.TokenSuspended, ""},
		{"resuming a suspended token makes it active", store.TokenSuspended, "resume", store.TokenActive, ""},
		{"revoking an assigned token revokes it", store.TokenAssigned, "revoke", store.TokenRevoked, ""},
		{"revoking an active token revokes it", store.TokenActive, "revoke", store.TokenRevoked, ""},
		{"revoking a suspended token revokes it", store.TokenSuspended, "revoke", store.TokenRevoked, ""},
		{"suspending an assigned token is refused", store.TokenAssigned, "suspend", store.TokenAssigned, "is assigned; it cannot suspend"},
		{"suspending a suspended token is refused", store.TokenSuspended, "suspend", store.TokenSuspended, "is suspended; it cannot suspend"},
		{"resuming an active token is refused", store.TokenActive, "resume", store.TokenActive, "is active; it cannot resume"},
		{"resuming a revoked token is refused", store.TokenRevoked, "resume", store.TokenRevoked, "is revoked; it cannot resume"},
		{"revoking a revoked token is refused", store.TokenRevoked, "revoke", store.TokenRevoked, "is revoked; it cannot revoke"},
		{"an unknown change is refused", store.TokenActive, "delete", store.TokenActive, `unknown token change "delete"`},
	}
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		// in returns the serial of a new token of alice's in state.
		in := func(t *testing.T, state string) string {
			t.Helper()
			tk := e.enroll(t, "alice", "hotp")
			serial := tk.en.Token.Serial
			if state != store.TokenAssigned && state != store.TokenRevoked {
				e.activate(t, tk)
			}
			switch state {
			case store.TokenSuspended:
				if err := e.svc.ChangeToken(e.ctx, e.org, "alice", serial, "suspend"); err != nil {
					t.Fatal(err)
				}
			case store.TokenRevoked:
				if err := e.svc.ChangeToken(e.ctx, e.org, "alice", serial, "revoke"); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.state(t, serial); got != state {
				t.Fatalf("set-up made a %s token, want %s", got, state)
			}
			return serial
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				serial := in(t, tt.from)
				before := len(e.events(t, e.org.ID))
				err := e.svc.ChangeToken(e.ctx, e.org, "alice", serial, tt.op)
				if tt.msg == "" {
					if err != nil {
						t.Fatalf("%s from %s: %v, want success", tt.op, tt.from, err)
					}
					e.wantEvent(t, e.org.ID, before, "token."+tt.op, "acme/alice "+serial)
				} else {
					wantInvalid(t, err, tt.msg)
					e.wantNoEvent(t, e.org.ID, before)
				}
				if got := e.state(t, serial); got != tt.want {
					t.Errorf("state after %s from %s = %s, want %s", tt.op, tt.from, got, tt.want)
				}
			})
		}

		t.Run("the serial may be typed in lower case with spaces around it", func(t *testing.T) {
			serial := in(t, store.TokenActive)
			if err := e.svc.ChangeToken(e.ctx, e.org, "alice", " "+strings.ToLower(serial)+" ", "suspend"); err != nil {
				t.Fatal(err)
			}
			if got := e.state(t, serial); got != store.TokenSuspended {
				t.Errorf("state = %s, want suspended", got)
			}
		})

		t.Run("another user's token is refused", func(t *testing.T) {
			serial := in(t, store.TokenActive)
			if _, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob"}); err != nil {
				t.Fatal(err)
			}
			other, err := e.svc.CreateOrg(e.ctx, "beta", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.AddUser(e.ctx, other, admin.NewUser{Username: "alice"}); err != nil {
				t.Fatal(err)
			}
			before := len(e.events(t, e.org.ID))
			wantInvalid(t, e.svc.ChangeToken(e.ctx, e.org, "bob", serial, "revoke"), "user bob has no token")
			wantInvalid(t, e.svc.ChangeToken(e.ctx, other, "alice", serial, "revoke"), "user alice has no token")
			wantInvalid(t, e.svc.ChangeToken(e.ctx, e.org, "alice", "NOSUCHSERIAL", "revoke"), "user alice has no token")
			e.wantNoEvent(t, e.org.ID, before)
			if got := e.state(t, serial); got != store.TokenActive {
				t.Errorf("alice's token is %s after refusals, want active", got)
			}
		})
	})
}

func TestSerial(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		_, err := e.svc.Serial(e.ctx, e.org, "alice", "", store.TokenAssigned)
		wantInvalid(t, err, "user alice has 0 assigned tokens; name the serial")

		first := e.enroll(t, "alice", "totp").en.Token.Serial
		if got, err := e.svc.Serial(e.ctx, e.org, "alice", "", store.TokenAssigned); err != nil || got != first {
			t.Fatalf("with one assigned token, Serial() = %q, %v; want %q", got, err, first)
		}
		_, err = e.svc.Serial(e.ctx, e.org, "alice", "", store.TokenActive)
		wantInvalid(t, err, "user alice has 0 active tokens; name the serial")

		second := e.enroll(t, "alice", "hotp").en.Token.Serial
		_, err = e.svc.Serial(e.ctx, e.org, "alice", "", store.TokenAssigned)
		wantInvalid(t, err, "user alice has 2 assigned tokens; name the serial")
		if got, err := e.svc.Serial(e.ctx, e.org, "alice", strings.ToLower(second), store.TokenAssigned); err != nil || got != second {
			t.Fatalf("Serial(%q) = %q, %v; want %q", strings.ToLower(second), got, err, second)
		}
		_, err = e.svc.Serial(e.ctx, e.org, "alice", "NOSUCHSERIAL", store.TokenAssigned)
		wantInvalid(t, err, `user alice has no token "NOSUCHSERIAL"`)
	})
}

func TestCreateAPIKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		for _, name := range []string{"", "   ", strings.Repeat("n", 101)} {
			t.Run(fmt.Sprintf("a name of %d characters is refused", len(name)), func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				_, _, err := e.svc.CreateAPIKey(e.ctx, e.org, name)
				wantInvalid(t, err, "an API key needs a name")
				e.wantNoEvent(t, e.org.ID, before)
			})
		}

		t.Run("the key is found by its hash and not stored", func(t *testing.T) {
			before := len(e.events(t, e.org.ID))
			key, k, err := e.svc.CreateAPIKey(e.ctx, e.org, " portal ")
			if err != nil {
				t.Fatal(err)
			}
			e.wantEvent(t, e.org.ID, before, "apikey.create", "portal")
			if !strings.HasPrefix(key, "tfk_") || len(key) < 4+52 || !base32Code.MatchString(key[4:]) {
				t.Errorf("key %q, want tfk_ and at least 52 base32 characters (256 bits)", key)
			}
			got, err := e.store.APIKeyByHash(e.ctx, secret.HashToken(key))
			if err != nil {
				t.Fatalf("APIKeyByHash(HashToken(key)): %v", err)
			}
			if got.ID != k.ID || got.OrgID != e.org.ID || got.Name != "portal" || got.Prefix != key[:12] {
				t.Errorf("APIKeyByHash found %+v; want id %d, org %d, name portal, prefix %q", got, k.ID, e.org.ID, key[:12])
			}
			if strings.Contains(got.Prefix+got.Name, key) || bytes.Contains(got.Hash, []byte(key)) {
				t.Errorf("the store holds the plaintext key: %+v", got)
			}
			if _, err := e.store.APIKeyByHash(e.ctx, []byte(key)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("APIKeyByHash(key itself) = %v, want not found", err)
			}
			again, _, err := e.svc.CreateAPIKey(e.ctx, e.org, "portal")
			if err != nil || again == key {
				t.Errorf("a second key for the same name: %q, %v; want a different key", again, err)
			}
		})
	})
}

// keyring returns a keyring that holds only key, under id, the way a key
// file with that one line would.
func keyring(t *testing.T, id int, key []byte) *secret.Keyring {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %s\n", id, base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := secret.LoadKeyFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestReseal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
		ring1, err := secret.NewKeyring([][]byte{k1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.svc.Keys = ring1
		tokens := []token{e.enroll(t, "alice", "totp"), e.enroll(t, "alice", "hotp")}

		// opens reports whether every token's stored secret opens with keys
		// to the secret it was enrolled with.
		opens := func(t *testing.T, keys *secret.Keyring) bool {
			t.Helper()
			for _, tk := range tokens {
				stored, err := e.store.TokenBySerial(e.ctx, e.org.ID, tk.en.Token.Serial)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := keys.Open(stored.Secret, store.SecretAD(stored))
				if err != nil || !bytes.Equal(plain, tk.key.Secret) {
					return false
				}
			}
			return true
		}

		t.Run("a failed reseal changes nothing", func(t *testing.T) {
			e.svc.Keys = keyring(t, 2, k2) // lacks key 1, so cannot open the secrets
			before := len(e.events(t, 0))
			if n, err := e.svc.Reseal(e.ctx); err == nil || !errors.Is(err, secret.ErrOpen) {
				t.Fatalf("Reseal without the old key = %d, %v; want secret.ErrOpen", n, err)
			}
			e.wantNoEvent(t, 0, before)
			if !opens(t, ring1) {
				t.Fatal("after a failed reseal the secrets no longer open with key 1")
			}
		})

		ring12, err := secret.NewKeyring([][]byte{k1, k2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.svc.Keys = ring12
		for _, want := range []int{2, 0} {
			before := len(e.events(t, 0))
			n, err := e.svc.Reseal(e.ctx)
			if err != nil || n != want {
				t.Fatalf("Reseal() = %d, %v; want %d", n, err, want)
			}
			e.wantEvent(t, 0, before, "keys.rotate", "key 2")
			if got, wantDetail := e.events(t, 0)[0].Detail, fmt.Sprintf("%d secrets resealed", want); got != wantDetail {
				t.Errorf("event detail %q, want %q", got, wantDetail)
			}
		}
		if !opens(t, keyring(t, 2, k2)) {
			t.Error("after Reseal the secrets do not open with a keyring of only key 2")
		}
		if opens(t, ring1) {
			t.Error("after Reseal the secrets still open with a keyring of only key 1")
		}
		if opens(t, keyring(t, 2, k1)) {
			t.Error("after Reseal the secrets open with key 1 put under id 2")
		}
		// The tokens still work: alice's HOTP token activates.
		e.svc.Keys = ring12
		e.activate(t, tokens[1])
	})
}

// TestAudit makes one change of each kind and checks that each writes
// exactly one event, and that no event holds a password, code, key or secret.
func TestAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var secrets []string // what no event may contain
		var org store.Org
		var enrolled []token
		steps := []struct {
			name   string
			org    func() int64
			change func(t *testing.T) (target string, err error)
			action string
		}{
			{"creating an organization", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				var err error
				org, err = e.svc.CreateOrg(e.ctx, "acme", "Acme Corp")
				e.org = org
				return "acme", err
			}, "org.create"},
			{"adding a user", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				secrets = append(secrets, "first password")
				_, err := e.svc.AddUser(e.ctx, org, admin.NewUser{Username: "Alice", Password: "first password"})
				return "acme/alice", err
			}, "user.add"},
			{"setting a password", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				secrets = append(secrets, "second password")
				return "acme/alice", e.svc.SetPassword(e.ctx, org, "alice", "second password")
			}, "user.passwd"},
			{"unlocking a user", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				return "acme/alice", e.svc.Unlock(e.ctx, org, "alice")
			}, "user.unlock"},
			{"enrolling a TOTP token", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				tk := e.enroll(t, "alice", "totp")
				enrolled = append(enrolled, tk)
				return "acme/alice " + tk.en.Token.Serial, nil
			}, "token.enroll"},
			{"enrolling an HOTP token", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				tk := e.enroll(t, "alice", "hotp")
				enrolled = append(enrolled, tk)
				return "acme/alice " + tk.en.Token.Serial, nil
			}, "token.enroll"},
			{"revoking a token", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				serial := enrolled[0].en.Token.Serial
				return "acme/alice " + serial, e.svc.ChangeToken(e.ctx, org, "alice", serial, "revoke")
			}, "token.revoke"},
			{"creating an API key", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				key, _, err := e.svc.CreateAPIKey(e.ctx, org, "portal")
				secrets = append(secrets, key, key[4:])
				return "portal", err
			}, "apikey.create"},
			{"disabling a user", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				return "acme/alice", e.svc.DisableUser(e.ctx, org, "alice")
			}, "user.disable"},
			{"enabling a user", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				return "acme/alice", e.svc.EnableUser(e.ctx, org, "alice")
			}, "user.enable"},
			{"resetting MFA", func() int64 { return org.ID }, func(t *testing.T) (string, error) {
				_, err := e.svc.ResetMFA(e.ctx, org, "alice")
				return "acme/alice", err
			}, "user.reset-mfa"},
			{"resealing the secrets", func() int64 { return 0 }, func(t *testing.T) (string, error) {
				keys, err := secret.NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				e.svc.Keys = keys
				_, err = e.svc.Reseal(e.ctx)
				return "key 2", err
			}, "keys.rotate"},
		}
		for _, step := range steps {
			t.Run(step.name+" writes one event", func(t *testing.T) {
				before := len(e.events(t, step.org()))
				if org.ID == 0 {
					before = 0 // the organization's id is known only afterwards
				}
				target, err := step.change(t)
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				e.wantEvent(t, step.org(), before, step.action, target)
			})
		}

		for _, tk := range enrolled {
			code := strings.TrimPrefix(tk.en.Link, publicURL+"/enroll?code=")
			secrets = append(secrets, code, strings.ToUpper(code), tk.en.Link, tk.en.URI,
				otp.EncodeSecret(tk.key.Secret), fmt.Sprintf("%x", tk.key.Secret), string(tk.key.Secret))
		}
		t.Run("no event holds a password, code, key or secret", func(t *testing.T) {
			if len(secrets) != 4+2*7 {
				t.Fatalf("collected %d secrets, want %d: a step above failed", len(secrets), 4+2*7)
			}
			evs := append(e.events(t, org.ID), e.events(t, 0)...)
			if len(evs) != len(steps) {
				t.Fatalf("%d events in all, want %d", len(evs), len(steps))
			}
			for _, ev := range evs {
				fields := strings.Join([]string{ev.Actor, ev.Action, ev.Target, ev.Result, ev.Detail, ev.Source}, "\x00")
				for _, s := range secrets {
					if strings.Contains(fields, s) {
						t.Errorf("event %+v contains %q", ev, s)
					}
				}
			}
		})
	})
}
