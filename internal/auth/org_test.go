package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestDisabledOrgRefusesEveryone walks every way in that the REST API,
// the portal and RADIUS take through the core, with input that is right
// in every other way, and expects the one refusal with the reason
// org_disabled in the audit log.
func TestDisabledOrgRefusesEveryone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		assigned := e.enroll("totp")
		mailed, err := e.admin.EnrollToken(e.ctx, e.org, "alice", "email", "")
		if err != nil {
			t.Fatal(err)
		}
		// A challenge begun before the organization is disabled.
		before, err := e.v.StartEmail(e.ctx, e.request(""), true)
		if err != nil {
			t.Fatal(err)
		}
		beforeCode := e.mail.last()
		if err := e.admin.DisableOrg(e.ctx, "acme"); err != nil {
			t.Fatal(err)
		}

		withPassword := func(r auth.Request) auth.Request { r.Password, r.CheckPassword = "correct horse", true; return r }
		verifications := []struct {
			name  string
			check func() (auth.Outcome, error)
		}{
			{"a right code (REST, RADIUS code mode)", func() (auth.Outcome, error) { return e.v.Verify(e.ctx, e.request(e.code(tk, 0))) }},
			{"a right password and code (REST with password, RADIUS password+code)", func() (auth.Outcome, error) {
				return e.v.Verify(e.ctx, withPassword(e.request(e.code(tk, 0))))
			}},
			{"a right password alone (portal's first step, RADIUS password mode)", func() (auth.Outcome, error) {
				return e.v.CheckPassword(e.ctx, withPassword(e.request("")))
			}},
			{"an unknown user", func() (auth.Outcome, error) {
				r := e.request(e.code(tk, 0))
				r.Username = "mallory"
				return e.v.Verify(e.ctx, r)
			}},
			{"the first code of an assigned token (enrollment page)", func() (auth.Outcome, error) {
				return e.v.Activate(e.ctx, e.request(e.code(assigned, 0)), assigned.serial)
			}},
			{"a mailed code of a challenge begun before", func() (auth.Outcome, error) {
				r := e.request(beforeCode)
				r.TransactionID = before
				return e.v.Activate(e.ctx, r, mailed.Token.Serial)
			}},
			{"an identified portal user's code", func() (auth.Outcome, error) {
				r := e.request(e.code(tk, 0))
				r.Identified, r.Client = true, "192.0.2.1"
				return e.v.Verify(e.ctx, r)
			}},
		}
		for _, tt := range verifications {
			t.Run(tt.name, func(t *testing.T) {
				out, err := tt.check()
				if err != nil {
					t.Fatal(err)
				}
				if out != (auth.Outcome{Reason: auth.ErrOrgDisabled}) {
					t.Fatalf("outcome = %+v, want only the reason %v", out, auth.ErrOrgDisabled)
				}
				if got := e.lastResult(); got != "org_disabled" {
					t.Errorf("audit result %q, want org_disabled", got)
				}
			})
		}

		t.Run("no code is mailed", func(t *testing.T) {
			sent := len(e.mail.codes)
			if _, err := e.v.StartEmail(e.ctx, e.request(""), true); !errors.Is(err, auth.ErrNoEmailToken) {
				t.Errorf("StartEmail: %v, want ErrNoEmailToken (as for anyone without one)", err)
			}
			if _, err := e.v.StartVerification(e.ctx, e.request("")); !errors.Is(err, auth.ErrNoRecipient) {
				t.Errorf("StartVerification: %v, want ErrNoRecipient (as for anyone unknown)", err)
			}
			r := e.request("")
			r.TransactionID = before
			if err := e.v.ResendEmail(e.ctx, r); !errors.Is(err, auth.ErrNoChallenge) {
				t.Errorf("ResendEmail: %v, want ErrNoChallenge", err)
			}
			if len(e.mail.codes) != sent {
				t.Errorf("%d codes mailed in a disabled organization", len(e.mail.codes)-sent)
			}
		})

		t.Run("no password reset link is made", func(t *testing.T) {
			links, err := e.v.StartReset(e.ctx, e.request(""))
			if err != nil || len(links) != 0 {
				t.Fatalf("StartReset = %v, %v; want no links and no error", links, err)
			}
			if got := e.lastResult(); got != "org_disabled" {
				t.Errorf("audit result %q, want org_disabled", got)
			}
		})

		t.Run("no guess is counted", func(t *testing.T) {
			u, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
			if err != nil || u.Failures != 0 || u.TotalFailures != 0 {
				t.Fatalf("alice's failures = %d/%d, %v; want none counted", u.Failures, u.TotalFailures, err)
			}
		})

		if err := e.admin.EnableOrg(e.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		if out := e.verify(withPassword(e.request(e.code(tk, 0)))); !out.Accepted {
			t.Fatalf("after enable: %+v, want accepted", out)
		}
		if o, _ := e.store.OrgByID(e.ctx, e.org.ID); o.Status != store.OrgActive {
			t.Fatalf("status after enable %q", o.Status)
		}
	})
}
