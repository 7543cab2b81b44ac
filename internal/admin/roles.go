package admin

import "github.com/twofold-mfa/twofold/internal/store"

// Action is something an operator does in an organization; the console
// asks Allowed before each one.
type Action string

// The actions, one per kind of change or view the console offers.
const (
	UsersRead         Action = "users.read"         // find users, see their authenticators
	UsersWrite        Action = "users.write"        // create, edit, disable, delete users, change roles
	UsersPassword     Action = "users.password"     // set a user's password
	UsersUnlock       Action = "users.unlock"       // lift a lockout
	UsersResetMFA     Action = "users.reset_mfa"    // take every second factor from a user
	UsersTempCode     Action = "users.temp_code"    // issue a temporary code for a lost authenticator
	EnrollmentsResend Action = "enrollments.resend" // send an invitation again
	TokensWrite       Action = "tokens.write"       // assign, suspend, resume, revoke, resync tokens
	PolicyWrite       Action = "policy.write"       // change the policy and organization settings
	IntegrationsWrite Action = "integrations.write" // API keys and RADIUS clients
	AuditRead         Action = "audit.read"         // read the audit log
)

// Actions lists every action, for tables and tests.
var Actions = []Action{
	UsersRead, UsersWrite, UsersPassword, UsersUnlock, UsersResetMFA, UsersTempCode,
	EnrollmentsResend, TokensWrite, PolicyWrite, IntegrationsWrite, AuditRead,
}

// helpdesk is what a helpdesk may do: find users, see their authenticators
// and audit trail, and help them back in.
var helpdesk = map[Action]bool{
	UsersRead: true, AuditRead: true, UsersUnlock: true, EnrollmentsResend: true,
	UsersTempCode: true, UsersResetMFA: true,
}

// Allowed reports whether an organization role (a store.User's Role) may
// perform action within its own organization. An organization admin may do
// every action; a helpdesk the few that help a user back in; a user none.
// An unknown role or action is refused. Allowed says nothing about which
// organization: the caller checks separately that the object acted on
// belongs to the operator's organization, and reads the role afresh on
// every request, so that a changed role applies at once.
func Allowed(role string, action Action) bool {
	known := false
	for _, a := range Actions {
		known = known || a == action
	}
	if !known {
		return false
	}
	switch role {
	case store.RoleAdmin:
		return true
	case store.RoleHelpdesk:
		return helpdesk[action]
	}
	return false
}

// checkRole refuses a role that is not one of the organization roles.
func checkRole(role string) error {
	switch role {
	case store.RoleUser, store.RoleHelpdesk, store.RoleAdmin:
		return nil
	}
	return invalid("role must be user, helpdesk or admin, not %q", role)
}
