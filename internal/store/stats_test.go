package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestOrgStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b) // acme/alice with an active token; the store's clock says t0
		other, err := f.s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, ev(0, "org.create"))
		if err != nil {
			t.Fatal(err)
		}
		seal := func(store.Token) ([]byte, error) { return []byte("sealed"), nil }
		// user adds a user of org with a token in state and, when
		// expires is not zero, its pending invitation.
		n := 0
		user := func(orgID int64, state string, expires time.Time) store.Token {
			t.Helper()
			n++
			u, err := f.s.CreateUser(ctx, store.User{OrgID: orgID, Username: fmt.Sprintf("u%d", n), Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0},
				ev(orgID, "user.add"))
			if err != nil {
				t.Fatal(err)
			}
			var en *store.Enrollment
			if !expires.IsZero() {
				en = &store.Enrollment{CodeHash: fmt.Appendf(nil, "code%d", n), Status: store.EnrollmentPending, ExpiresAt: expires, CreatedAt: t0}
			}
			tok, err := f.s.CreateToken(ctx, store.Token{OrgID: orgID, UserID: u.ID, Serial: fmt.Sprintf("STAT%04d", n), Type: "totp", State: state,
				Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0}, seal, en, ev(orgID, "token.enroll"))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		user(f.org.ID, store.TokenActive, time.Time{})
		user(f.org.ID, store.TokenSuspended, time.Time{})
		user(f.org.ID, store.TokenAssigned, t0.Add(time.Hour))  // pending
		user(f.org.ID, store.TokenAssigned, t0.Add(-time.Hour)) // expired
		cancelled := user(f.org.ID, store.TokenAssigned, t0.Add(time.Hour))
		if err := f.s.CancelEnrollment(ctx, f.org.ID, cancelled.ID, ev(f.org.ID, "enrollment.cancel")); err != nil {
			t.Fatal(err)
		}
		user(other.ID, store.TokenActive, time.Time{})
		user(other.ID, store.TokenAssigned, t0.Add(time.Hour))

		// alice is locked now; u2's lock ran out.
		lock := func(userID int64, at time.Time) {
			t.Helper()
			if _, ok, err := f.s.ReserveAttempt(ctx, userID, at, store.Lockout{Threshold: 1, LockFor: 10 * time.Minute, HardLimit: 100}); err != nil || !ok {
				t.Fatalf("reserve: %v, %v", ok, err)
			}
		}
		lock(f.user.ID, t0.Add(-time.Minute))
		u2, _ := f.s.UserByName(ctx, f.org.ID, "u2")
		lock(u2.ID, t0.Add(-time.Hour))

		since := t0.Add(-24 * time.Hour)
		for _, e := range []struct {
			orgID          int64
			at             time.Time
			action, result string
		}{
			{f.org.ID, t0, "validate", "accept"},
			{f.org.ID, since, "validate", "accept"},
			{f.org.ID, t0, "validate", "bad_code"},
			{f.org.ID, t0, "validate", "locked"},
			{f.org.ID, t0, "login.password", "bad_password"},
			// Not a sign-in, or counted already by its validate.
			{f.org.ID, t0, "login.password", "accept"},
			{f.org.ID, t0, "portal.login", "ok"},
			{f.org.ID, t0, "token.activate", "accept"},
			{f.org.ID, t0, "token.activate", "bad_code"},
			{f.org.ID, t0, "push.answer", "fraud"},
			{f.org.ID, t0, "push.answer", "denied"},
			// Before since, or elsewhere.
			{f.org.ID, since.Add(-time.Millisecond), "validate", "accept"},
			{f.org.ID, since.Add(-time.Millisecond), "validate", "bad_code"},
			{other.ID, t0, "validate", "accept"},
			{other.ID, t0, "validate", "bad_code"},
			{other.ID, t0, "push.answer", "fraud"},
		} {
			if err := f.s.Audit(ctx, store.Event{OrgID: e.orgID, At: e.at, Actor: "test", Action: e.action, Target: "x", Result: e.result}); err != nil {
				t.Fatal(err)
			}
		}

		got, err := f.s.OrgStats(ctx, f.org.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		want := store.OrgStats{Users: 6, ActiveTokens: 2, PendingEnrollments: 1, Locked: 1, SignIns: 2, Failures: 3, FraudReports: 1}
		if got != want {
			t.Errorf("OrgStats = %+v\nwant %+v", got, want)
		}
		if got, err := f.s.OrgStats(ctx, other.ID, since); err != nil || got != (store.OrgStats{Users: 2, ActiveTokens: 1, PendingEnrollments: 1, SignIns: 1, Failures: 1, FraudReports: 1}) {
			t.Errorf("other's OrgStats = %+v, %v", got, err)
		}
	})
}

// The dashboard counts locked users in the partial index that holds
// locked users only (migration 0030): the query must name the index's
// condition for SQLite to take it, or it would read every user.
func TestLockedUsersCountedFromTheirIndex(t *testing.T) {
	s := storetest.SQLite(t).Open(t, clock.NewFake(t0))
	plan, err := s.StatsPlan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.Contains(step, "users_org_locked") {
			return
		}
	}
	t.Errorf("the dashboard's query does not read users_org_locked; its plan:\n%s", strings.Join(plan, "\n"))
}
