package admin_test

import (
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
)

func TestAllowed(t *testing.T) {
	// Every action, and what each role may do with it. A row per action
	// keeps a new action from slipping in unjudged: the test below fails
	// for any action admin.Actions lists and this table lacks.
	table := map[admin.Action]struct{ user, helpdesk, admin bool }{
		admin.UsersRead:         {false, true, true},
		admin.UsersWrite:        {false, false, true},
		admin.UsersPassword:     {false, false, true},
		admin.UsersUnlock:       {false, true, true},
		admin.UsersResetMFA:     {false, true, true},
		admin.UsersTempCode:     {false, true, true},
		admin.EnrollmentsResend: {false, true, true},
		admin.TokensWrite:       {false, false, true},
		admin.PolicyWrite:       {false, false, true},
		admin.IntegrationsWrite: {false, false, true},
		admin.AuditRead:         {false, true, true},
	}
	if len(admin.Actions) != len(table) {
		t.Errorf("admin.Actions has %d actions, the table %d", len(admin.Actions), len(table))
	}
	for _, action := range admin.Actions {
		want, ok := table[action]
		if !ok {
			t.Errorf("action %s is not in the table", action)
			continue
		}
		for _, tt := range []struct {
			role string
			want bool
		}{{"user", want.user}, {"helpdesk", want.helpdesk}, {"admin", want.admin}} {
			if got := admin.Allowed(tt.role, action); got != tt.want {
				t.Errorf("Allowed(%q, %s) = %v, want %v", tt.role, action, got, tt.want)
			}
		}
	}
	for _, tt := range []struct {
		name   string
		role   string
		action admin.Action
	}{
		{"an unknown role is refused everything", "superuser", admin.UsersRead},
		{"an empty role is refused everything", "", admin.UsersRead},
		{"a role in upper case is not the role", "ADMIN", admin.UsersRead},
		{"an unknown action is refused even an admin", "admin", "users.everything"},
		{"an empty action is refused even an admin", "admin", ""},
	} {
		if admin.Allowed(tt.role, tt.action) {
			t.Errorf("%s: Allowed(%q, %q) = true", tt.name, tt.role, tt.action)
		}
	}
}
