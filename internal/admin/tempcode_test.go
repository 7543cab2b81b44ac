package admin_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestIssueTempCodeRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		opts admin.TempCodeOptions
		msg  string
	}{
		{"longer than the policy allows", admin.TempCodeOptions{Valid: 25 * time.Hour}, "at most 24h0m0s (the policy's temp_code_lifetime)"},
		{"shorter than a minute", admin.TempCodeOptions{Valid: time.Second}, "at least 1m"},
		{"more uses than the policy allows", admin.TempCodeOptions{Uses: 2}, "1 to 1 sign-ins (the policy's temp_code_uses)"},
		{"negative uses", admin.TempCodeOptions{Uses: -1}, "not -1"},
		{"one token and all of them", admin.TempCodeOptions{Suspend: "X", SuspendAll: true}, "not both"},
		{"a token the user does not have", admin.TempCodeOptions{Suspend: "TOTPNONE"}, `no token "TOTPNONE"`},
		{"two apps and none named", admin.TempCodeOptions{}, "has 2 active authenticator apps"},
	}
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		for range 2 {
			e.activate(t, e.enroll(t, "alice", "hotp"))
		}
		before := len(e.events(t, e.org.ID))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.IssueTempCode(e.ctx, e.org, "alice", tt.opts)
				wantInvalid(t, err, tt.msg)
				e.wantNoEvent(t, e.org.ID, before)
			})
		}
	})
}

func TestIssueTempCodeSuspends(t *testing.T) {
	tests := []struct {
		name      string
		apps      int
		opts      func(serials []string) admin.TempCodeOptions
		suspended []int // indexes into the apps
	}{
		{"the only app by default", 1, func([]string) admin.TempCodeOptions { return admin.TempCodeOptions{} }, []int{0}},
		{"the one named", 2, func(s []string) admin.TempCodeOptions { return admin.TempCodeOptions{Suspend: strings.ToLower(s[1])} }, []int{1}},
		{"all of them", 3, func([]string) admin.TempCodeOptions { return admin.TempCodeOptions{SuspendAll: true} }, []int{0, 1, 2}},
		{"none, when there is none", 0, func([]string) admin.TempCodeOptions { return admin.TempCodeOptions{} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := withAlice(t, b)
				var serials []string
				for range tt.apps {
					tk := e.enroll(t, "alice", "hotp")
					e.activate(t, tk)
					serials = append(serials, tk.en.Token.Serial)
				}
				before := len(e.events(t, e.org.ID))
				c, err := e.svc.IssueTempCode(e.ctx, e.org, "alice", tt.opts(serials))
				if err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`^[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}$`).MatchString(c.Code) {
					t.Errorf("code %q, want three groups of four characters of the alphabet", c.Code)
				}
				if !c.ExpiresAt.Equal(t0.Add(24*time.Hour)) || c.Uses != 1 {
					t.Errorf("valid until %s for %d uses, want the policy's 24h and 1", c.ExpiresAt, c.Uses)
				}
				var want []string
				for _, i := range tt.suspended {
					want = append(want, serials[i])
				}
				if strings.Join(c.Suspended, ",") != strings.Join(want, ",") {
					t.Errorf("suspended %v, want %v", c.Suspended, want)
				}
				for i, s := range serials {
					wantState := store.TokenActive
					if strings.Contains(strings.Join(want, ","), s) {
						wantState = store.TokenSuspended
					}
					if got := e.state(t, s); got != wantState {
						t.Errorf("token %d is %s, want %s", i, got, wantState)
					}
				}
				e.wantEvent(t, e.org.ID, before, "user.temp-code", "acme/alice")
				ev := e.events(t, e.org.ID)[0]
				if strings.Contains(ev.Detail, strings.ReplaceAll(c.Code, "-", "")) || !strings.Contains(ev.Detail, "uses 1") {
					t.Errorf("event detail %q: want the validity, never the code", ev.Detail)
				}
			})
		})
	}
}

func TestIssueTempCodeShortensAndRefusesDisabledUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		c, err := e.svc.IssueTempCode(e.ctx, e.org, "alice", admin.TempCodeOptions{Valid: 2 * time.Hour})
		if err != nil || !c.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("--valid 2h: %+v, %v; want valid until %s", c, err, t0.Add(2*time.Hour))
		}
		if err := e.svc.DisableUser(e.ctx, e.org, "alice"); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.IssueTempCode(e.ctx, e.org, "alice", admin.TempCodeOptions{})
		wantInvalid(t, err, "is disabled: enable them first")
	})
}
