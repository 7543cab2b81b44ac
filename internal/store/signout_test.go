package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// signedIn is the fixture with alice signed in twice (a browser and a
// sign-in halfway through), an emailed code pending, a backup code and an
// assigned token with its enrollment link; and bob, signed in and with a
// code pending, whom alice's changes must leave alone.
type signedIn struct {
	fixture
	bob store.User
}

// aliceSessions and bobSessions are the id hashes of their sessions.
var (
	aliceSessions = [][]byte{[]byte("alice-browser"), []byte("alice-halfway")}
	bobSessions   = [][]byte{[]byte("bob-browser")}
)

func setupSignedIn(t *testing.T, b storetest.Backend) signedIn {
	t.Helper()
	ctx := context.Background()
	f := signedIn{fixture: setup(t, b)}
	var err error
	f.bob, err = f.s.CreateUser(ctx, store.User{OrgID: f.org.ID, Username: "bob", Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0},
		store.Event{OrgID: f.org.ID, Action: "user.add"})
	if err != nil {
		t.Fatal(err)
	}
	bobTok, err := f.s.CreateToken(ctx, store.Token{OrgID: f.org.ID, UserID: f.bob.ID, Serial: "EMAIL0001", Type: "email", State: store.TokenActive,
		Algorithm: "SHA1", Digits: 6, CreatedAt: t0}, func(store.Token) ([]byte, error) { return []byte("sealed"), nil }, nil,
		store.Event{OrgID: f.org.ID, Action: "token.enroll"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateToken(ctx, store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: "TOTP0002", Type: "totp", State: store.TokenAssigned,
		Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0}, func(store.Token) ([]byte, error) { return []byte("sealed"), nil },
		&store.Enrollment{CodeHash: []byte("alice-link"), Status: store.EnrollmentPending, ExpiresAt: t0.Add(72 * time.Hour), CreatedAt: t0},
		store.Event{OrgID: f.org.ID, Action: "token.enroll"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ReplaceBackupCodes(ctx, f.org.ID, f.user.ID, [][]byte{[]byte("code")}, t0, store.Event{OrgID: f.org.ID, Action: "backup.generate"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		user   store.User
		hashes [][]byte
		token  int64
	}{{f.user, aliceSessions, f.tok.ID}, {f.bob, bobSessions, bobTok.ID}} {
		for _, h := range s.hashes {
			if err := f.s.CreateSession(ctx, store.Session{IDHash: h, OrgID: f.org.ID, UserID: s.user.ID, Stage: "full",
				CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}, store.Event{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.s.CreateChallenge(ctx, store.Challenge{OrgID: f.org.ID, UserID: s.user.ID, TokenID: s.token, TxIDHash: []byte("tx-" + s.user.Username),
			Kind: "email", CodeMAC: []byte("mac"), Status: store.ChallengePending, ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0},
			store.SendLimit{Max: 5, Window: 15 * time.Minute}, store.Event{OrgID: f.org.ID, Action: "challenge.email"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// access says which of a user's sessions still work and whether their
// emailed code is still pending.
func (f signedIn) access(t *testing.T, user store.User, hashes [][]byte) string {
	t.Helper()
	ctx := context.Background()
	var live []string
	for _, h := range hashes {
		_, err := f.s.SessionByHash(ctx, h, t0, 30*time.Minute)
		switch {
		case err == nil:
			live = append(live, string(h))
		case !errors.Is(err, store.ErrNotFound):
			t.Fatal(err)
		}
	}
	c, err := f.s.ChallengeByTxID(ctx, f.org.ID, []byte("tx-"+user.Username))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("sessions %v, challenge %s", live, c.Status)
}

// records is what the changes under test may change about alice, to tell
// a change applied from one rolled back.
func (f signedIn) records(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	u, err := f.s.UserByID(ctx, f.org.ID, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := f.s.Tokens(ctx, f.org.ID, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, tk := range ts {
		states = append(states, tk.Serial+"="+tk.State)
	}
	left, err := f.s.BackupCodesLeft(ctx, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	en, err := f.s.EnrollmentByCodeHash(ctx, []byte("alice-link"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("password %q, status %s, tokens %v, %d backup codes, enrollment %s", u.PasswordHash, u.Status, states, left, en.Enrollment.Status)
}

// refuseAudit makes the database refuse audit events with action, so that
// the last step of a change fails after all its other steps ran.
func refuseAudit(t *testing.T, b storetest.Backend, action string) {
	t.Helper()
	var stmts []string
	driver := b.Driver
	switch b.Driver {
	case "sqlite":
		stmts = []string{`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events WHEN NEW.action = '` + action + `'
			BEGIN SELECT RAISE(ABORT, 'audit refused'); END`}
	case "postgres":
		driver = "pgx"
		stmts = []string{
			`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$`,
			`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.action = '` + action + `')
			EXECUTE FUNCTION refuse_audit()`,
		}
	}
	db, err := sql.Open(driver, b.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("refuse audit events: %v", err)
		}
	}
}

func TestChangesThatSignTheUserOut(t *testing.T) {
	for _, tt := range []struct {
		name string
		do   func(ctx context.Context, f signedIn, e store.Event) error
	}{
		{"a new password", func(ctx context.Context, f signedIn, e store.Event) error {
			return f.s.SetPassword(ctx, f.org.ID, f.user.ID, "new hash", e)
		}},
		{"revoking a token", func(ctx context.Context, f signedIn, e store.Event) error {
			return f.s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenActive}, store.TokenRevoked, e)
		}},
		{"suspending a token", func(ctx context.Context, f signedIn, e store.Event) error {
			return f.s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenActive}, store.TokenSuspended, e)
		}},
		{"disabling the user", func(ctx context.Context, f signedIn, e store.Event) error {
			return f.s.SetUserStatus(ctx, f.org.ID, f.user.ID, store.UserDisabled, e)
		}},
		{"resetting MFA", func(ctx context.Context, f signedIn, e store.Event) error {
			_, err := f.s.ResetMFA(ctx, f.org.ID, f.user.ID, e)
			return err
		}},
	} {
		t.Run(tt.name+" ends every session and pending code of the user", func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				f := setupSignedIn(t, b)
				before := f.records(t)
				bob := f.access(t, f.bob, bobSessions)
				if err := tt.do(context.Background(), f, store.Event{OrgID: f.org.ID, Action: "test.change"}); err != nil {
					t.Fatal(err)
				}
				if got, want := f.access(t, f.user, aliceSessions), "sessions [], challenge expired"; got != want {
					t.Errorf("alice after the change: %s, want %s", got, want)
				}
				if got := f.access(t, f.bob, bobSessions); got != bob {
					t.Errorf("bob after alice's change: %s, want %s", got, bob)
				}
				if f.records(t) == before {
					t.Errorf("the change changed nothing: %s", before)
				}
			})
		})
		t.Run(tt.name+" that fails at its last step leaves everything as it was", func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				f := setupSignedIn(t, b)
				refuseAudit(t, b, "test.refused")
				before, access := f.records(t), f.access(t, f.user, aliceSessions)
				if err := tt.do(context.Background(), f, store.Event{OrgID: f.org.ID, Action: "test.refused"}); err == nil || !strings.Contains(err.Error(), "audit refused") {
					t.Fatalf("change with its audit event refused: err = %v, want the refusal", err)
				}
				if got := f.access(t, f.user, aliceSessions); got != access {
					t.Errorf("alice after the failed change: %s, want %s", got, access)
				}
				if got := f.records(t); got != before {
					t.Errorf("records after the failed change: %s, want %s", got, before)
				}
			})
		})
	}
}

func TestChangesThatLeaveSessionsAlone(t *testing.T) {
	for _, tt := range []struct {
		name    string
		do      func(ctx context.Context, f signedIn) error
		wantErr error
	}{
		{"a token moved to active, as a resume does", func(ctx context.Context, f signedIn) error {
			return f.s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenActive}, store.TokenActive, store.Event{OrgID: f.org.ID, Action: "token.resume"})
		}, nil},
		{"revoking a token that is in none of the states given", func(ctx context.Context, f signedIn) error {
			return f.s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenSuspended}, store.TokenRevoked, store.Event{OrgID: f.org.ID, Action: "token.revoke"})
		}, store.ErrNotFound},
		{"revoking a token from another organization", func(ctx context.Context, f signedIn) error {
			return f.s.SetTokenState(ctx, f.org.ID+1, f.tok.ID, []string{store.TokenActive}, store.TokenRevoked, store.Event{OrgID: f.org.ID, Action: "token.revoke"})
		}, store.ErrNotFound},
		{"a new password from another organization", func(ctx context.Context, f signedIn) error {
			return f.s.SetPassword(ctx, f.org.ID+1, f.user.ID, "new hash", store.Event{OrgID: f.org.ID, Action: "user.passwd"})
		}, store.ErrNotFound},
		{"enabling a user who is active", func(ctx context.Context, f signedIn) error {
			return f.s.SetUserStatus(ctx, f.org.ID, f.user.ID, store.UserActive, store.Event{OrgID: f.org.ID, Action: "user.enable"})
		}, store.ErrNotFound},
		{"resetting MFA from another organization", func(ctx context.Context, f signedIn) error {
			_, err := f.s.ResetMFA(ctx, f.org.ID+1, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.reset-mfa"})
			return err
		}, store.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				f := setupSignedIn(t, b)
				before, access := f.records(t), f.access(t, f.user, aliceSessions)
				if err := tt.do(context.Background(), f); !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got := f.access(t, f.user, aliceSessions); got != access {
					t.Errorf("alice afterwards: %s, want %s", got, access)
				}
				if got := f.records(t); tt.wantErr != nil && got != before {
					t.Errorf("records after the refused change: %s, want %s", got, before)
				}
			})
		})
	}
}

func TestResetMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setupSignedIn(t, b)
		if err := f.s.SetPIN(ctx, f.org.ID, f.user.ID, "pin hash", false, store.Event{OrgID: f.org.ID, Action: "user.pin"}); err != nil {
			t.Fatal(err)
		}
		// Locked past the hard limit: only a helpdesk action lifts it.
		hard := store.Lockout{Threshold: 1, LockFor: time.Minute, HardLimit: 1}
		if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, time.Now(), hard); err != nil || !ok {
			t.Fatal(ok, err)
		}
		n, err := f.s.ResetMFA(ctx, f.org.ID, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.reset-mfa"})
		if err != nil || n != 2 {
			t.Fatalf("ResetMFA() = %d, %v; want 2 tokens revoked", n, err)
		}
		if got, want := f.records(t), `password "", status active, tokens [TOTP0001=revoked TOTP0002=revoked], 0 backup codes, enrollment cancelled`; got != want {
			t.Errorf("after reset: %s\nwant %s", got, want)
		}
		if u, err := f.s.UserByID(ctx, f.org.ID, f.user.ID); err != nil || u.PINHash != "pin hash" {
			t.Errorf("PIN after reset: %q, %v; want it kept", u.PINHash, err)
		} else if !u.LockedUntil.IsZero() || u.TotalFailures != 0 {
			t.Errorf("after reset: locked until %v, %d failures in a row; want the lock lifted", u.LockedUntil, u.TotalFailures)
		}
		if n, err := f.s.ResetMFA(ctx, f.org.ID, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.reset-mfa"}); err != nil || n != 0 {
			t.Errorf("second ResetMFA() = %d, %v; want 0 tokens revoked", n, err)
		}
		evs, err := f.s.Events(ctx, f.org.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].Detail != "tokens revoked: 2" || evs[0].Detail != "tokens revoked: 0" {
			t.Errorf("events %+v, want the reset's with how many tokens it revoked", evs)
		}
	})
}
