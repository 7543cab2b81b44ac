package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		v, err := f.s.Setting(ctx, store.SettingDefaultPolicy)
		if err != nil || v != "{}" {
			t.Fatalf("default policy = %q, %v; want {}", v, err)
		}
		if err := f.s.SetSetting(ctx, store.SettingDefaultPolicy, "{}", `{"lockout_threshold":3}`, ev(0, "policy.default.set")); err != nil {
			t.Fatal(err)
		}
		if v, _ := f.s.Setting(ctx, store.SettingDefaultPolicy); v != `{"lockout_threshold":3}` {
			t.Errorf("after the change = %q", v)
		}
		if err := f.s.SetSetting(ctx, store.SettingDefaultPolicy, "{}", `{"lockout_threshold":4}`, ev(0, "policy.default.stale")); !errors.Is(err, store.ErrChanged) {
			t.Errorf("change from a stale value: err = %v, want ErrChanged", err)
		}
		if _, err := f.s.Setting(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Setting(nope) err = %v, want ErrNotFound", err)
		}
		if err := f.s.SetSetting(ctx, "nope", "", "x", ev(0, "nope")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetSetting(nope) err = %v, want ErrNotFound", err)
		}
		if a := lastAction(t, f.s, 0); a != "policy.default.set" {
			t.Errorf("last provider event %q, want policy.default.set", a)
		}
	})
}
