package admin_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// stored returns acme's stored organization row and its policy, parsed and validated.
func (e *env) stored(t *testing.T) (store.Org, policy.Policy) {
	t.Helper()
	org, err := e.store.OrgByID(e.ctx, e.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(org.Policy)
	if err != nil {
		t.Fatalf("stored policy %s: %v", org.Policy, err)
	}
	return org, p
}

func TestSetPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)

		t.Run("valid changes are stored with one audit event", func(t *testing.T) {
			before := len(e.events(t, e.org.ID))
			org, _ := e.stored(t)
			got, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"lockout_threshold": "3", "lockout_duration": "30m"})
			if err != nil {
				t.Fatalf("SetPolicy: %v", err)
			}
			want := policy.Default()
			want.LockoutThreshold, want.LockoutDuration = 3, policy.Duration(30*time.Minute)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("SetPolicy returned %+v, want %+v", got, want)
			}
			after, p := e.stored(t)
			if !reflect.DeepEqual(p, want) {
				t.Errorf("stored policy is %+v, want %+v", p, want)
			}
			if after.PolicyRev != org.PolicyRev+1 {
				t.Errorf("policy revision %d after a change from %d, want it bumped", after.PolicyRev, org.PolicyRev)
			}
			e.wantEvent(t, e.org.ID, before, "policy.set", "acme")
			if d := e.events(t, e.org.ID)[0].Detail; d != "lockout_threshold=3 (was 5), lockout_duration=30m (was 10m)" {
				t.Errorf("event detail %q, want the changed keys with new and old values", d)
			}
		})

		t.Run("a change builds on the stored policy, not on the caller's copy", func(t *testing.T) {
			// e.org still holds the policy read when acme was created.
			if _, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"login_form": "combined", "mfa_required": "no"}); err != nil {
				t.Fatalf("SetPolicy: %v", err)
			}
			if _, p := e.stored(t); p.LockoutThreshold != 3 || p.LoginForm != "combined" || p.MFARequired {
				t.Errorf("stored policy is %+v, want the earlier change kept and the new one made", p)
			}
		})

		t.Run("refusals name every problem and change nothing", func(t *testing.T) {
			for _, tt := range []struct {
				changes map[string]string
				want    []string
			}{
				{map[string]string{"lockout_threshold": "0"}, []string{"lockout_threshold must be between 1 and 100, not 0"}},
				{map[string]string{"login_form": "sideways"}, []string{"login_form must be two-step or combined"}},
				{map[string]string{"lockout_treshold": "3"}, []string{`unknown policy setting "lockout_treshold"`, "lockout_threshold"}},
				{map[string]string{"lockout_threshold": "three"}, []string{"lockout_threshold takes a whole number"}},
				{map[string]string{"lockout_duration": "1h", "login_form": "sideways"}, []string{"login_form"}},
				{map[string]string{"lockout_threshold": "three", "login_form": "sideways", "nosuch": "1", "otp_digits": "7"},
					[]string{"whole number", "login_form must be", `"nosuch"`, "otp_digits must be 6 or 8"}},
				{map[string]string{"totp_window": "2", "resync_window": "1"}, []string{"resync_window"}},
				{map[string]string{}, []string{"at least one setting"}},
			} {
				before := len(e.events(t, e.org.ID))
				org, p := e.stored(t)
				_, err := e.svc.SetPolicy(e.ctx, e.org, tt.changes)
				for _, w := range tt.want {
					if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), w) {
						t.Errorf("SetPolicy(%v) = %v; want admin.ErrInvalid saying %q", tt.changes, err, w)
					}
				}
				if after, q := e.stored(t); !reflect.DeepEqual(q, p) || after.PolicyRev != org.PolicyRev {
					t.Errorf("SetPolicy(%v) changed the policy to %+v (revision %d → %d)", tt.changes, q, org.PolicyRev, after.PolicyRev)
				}
				e.wantNoEvent(t, e.org.ID, before)
			}
		})

		t.Run("a refusal names the setting it is about", func(t *testing.T) {
			for want, changes := range map[string]map[string]string{
				"otp_digits":        {"otp_digits": "7"},
				"lockout_threshold": {"lockout_threshold": "three"},
			} {
				_, err := e.svc.SetPolicy(e.ctx, e.org, changes)
				var ke *policy.KeyError
				if !errors.Is(err, admin.ErrInvalid) || !errors.As(err, &ke) || ke.Key != want {
					t.Errorf("SetPolicy(%v) = %v; want admin.ErrInvalid with a policy.KeyError of %s", changes, err, want)
				}
			}
		})

		t.Run("setting values as they are writes nothing", func(t *testing.T) {
			before := len(e.events(t, e.org.ID))
			org, p := e.stored(t)
			got, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"lockout_threshold": "3", "lockout_duration": "0.5h"})
			if err != nil || !reflect.DeepEqual(got, p) {
				t.Fatalf("SetPolicy = %+v, %v; want the policy unchanged", got, err)
			}
			if after, _ := e.stored(t); after.PolicyRev != org.PolicyRev {
				t.Errorf("policy revision went from %d to %d without a change", org.PolicyRev, after.PolicyRev)
			}
			e.wantNoEvent(t, e.org.ID, before)
		})

		t.Run("a stored value no longer allowed can be corrected", func(t *testing.T) {
			cur, err := e.store.OrgByID(e.ctx, e.org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.SetPolicy(e.ctx, e.org.ID, cur.PolicyRev, []byte(`{"otp_digits": 7}`), store.Event{OrgID: e.org.ID, At: t0, Action: "test"}); err != nil {
				t.Fatal(err)
			}
			p, err := e.svc.Policy(e.ctx, e.org)
			if err != nil || p.OTPDigits != 7 {
				t.Fatalf("Policy = %+v, %v; want the stored otp_digits 7", p, err)
			}
			_, err = e.svc.SetPolicy(e.ctx, e.org, map[string]string{"lockout_threshold": "4"})
			wantInvalid(t, err, "otp_digits must be 6 or 8, not 7")
			if _, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"otp_digits": "8"}); err != nil {
				t.Fatalf("correcting otp_digits: %v", err)
			}
			if _, p := e.stored(t); p.OTPDigits != 8 {
				t.Errorf("stored otp_digits %d, want 8", p.OTPDigits)
			}
		})
	})
}
