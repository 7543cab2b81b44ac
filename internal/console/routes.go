package console

import (
	"net/http"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
)

// table is every route of the console but signing in and out, with the
// action each performs: the one list the authorization test walks.
func (s *Server) table() []route {
	org := func(pattern string, action admin.Action, h handler) route {
		return route{pattern: pattern, scope: orgScope, action: action, h: h}
	}
	fresh := func(rt route) route { rt.fresh = true; return rt }
	changes := s.userChanges()
	rts := []route{
		org("GET /{$}", "", s.dashboard),
		org("GET /users", admin.UsersRead, s.users),
		org("GET /users/new", admin.UsersWrite, s.newUserPage),
		org("POST /users/new", admin.UsersWrite, s.newUser),
		org("GET /users/{user}", admin.UsersRead, s.user),
		org("POST /users/{user}/edit", admin.UsersWrite, changes["edit"]),
		org("POST /users/{user}/disable", admin.UsersWrite, changes["disable"]),
		org("POST /users/{user}/enable", admin.UsersWrite, changes["enable"]),
		fresh(org("POST /users/{user}/role", admin.UsersWrite, changes["role"])),
		fresh(org("POST /users/{user}/delete", admin.UsersWrite, s.deleteUser)),
		fresh(org("POST /users/{user}/password", admin.UsersPassword, changes["password"])),
		org("POST /users/{user}/unlock", admin.UsersUnlock, changes["unlock"]),
		fresh(org("POST /users/{user}/reset-mfa", admin.UsersResetMFA, changes["reset-mfa"])),
		fresh(org("POST /users/{user}/temp-code", admin.UsersTempCode, s.tempCode)),
		org("POST /users/{user}/invite", admin.TokensWrite, s.inviteUser),
		org("POST /users/{user}/tokens/{serial}/suspend", admin.TokensWrite, s.tokenChange("suspend")),
		org("POST /users/{user}/tokens/{serial}/resume", admin.TokensWrite, s.tokenChange("resume")),
		org("POST /users/{user}/tokens/{serial}/revoke", admin.TokensWrite, s.tokenChange("revoke")),
		fresh(org("POST /users/{user}/tokens/{serial}/delete", admin.TokensWrite, s.deleteToken())),
		org("POST /users/{user}/tokens/{serial}/resync", admin.TokensWrite, s.resync()),
		org("POST /users/{user}/tokens/assign", admin.TokensWrite, s.assignToken()),
		org("POST /users/{user}/enrollments/{serial}/resend", admin.EnrollmentsResend, s.resendEnrollment()),
		org("POST /users/{user}/enrollments/{serial}/extend", admin.TokensWrite, s.extendEnrollment()),
		org("POST /users/{user}/enrollments/{serial}/cancel", admin.TokensWrite, s.cancelEnrollment()),
	}
	rts = append(rts, s.integrationRoutes(org, fresh)...)
	rts = append(rts, s.auditRoutes()...)
	rts = append(rts, s.whoseRoutes()...)
	rts = append(rts, s.providerRoutes()...)
	rts = append(rts, s.enrollmentRoutes()...)
	rts = append(rts, s.policyRoutes()...)
	rts = append(rts, s.settingsRoutes()...)
	rts = append(rts, s.directoryRoutes()...)
	rts = append(rts, s.importRoutes()...)
	return rts
}

// userForms: every form on a user's page is on the user's page.
func init() {
	for _, post := range []string{"edit", "disable", "enable", "role", "delete", "password", "unlock", "reset-mfa", "temp-code", "invite",
		"tokens/{serial}/suspend", "tokens/{serial}/resume", "tokens/{serial}/revoke", "tokens/{serial}/delete", "tokens/{serial}/resync", "tokens/assign",
		"enrollments/{serial}/resend", "enrollments/{serial}/extend", "enrollments/{serial}/cancel"} {
		forms["POST /o/{org}/admin/users/{user}/"+post] = pageForm("/o/{org}/admin/users/{user}")
	}
	forms["POST /o/{org}/admin/users/new"] = pageForm("/o/{org}/admin/users/new")
}

// DashboardView is the console's home (page "dashboard"): the
// organization at a glance, each figure linking to where it comes from.
type DashboardView struct {
	Stats store.OrgStats
	Links map[string]string // figure → the page listing it
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, v *visit) {
	stats, err := v.admin.Dashboard(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	h := v.home()
	links := map[string]string{
		"users":   h + "users",
		"tokens":  h + "users",
		"pending": h + "users?filter=" + store.FilterPending,
		"locked":  h + "users?filter=" + store.FilterLocked,
		"none":    h + "users?filter=" + store.FilterNoAuthenticator,
	}
	if admin.Allowed(v.op.Role, admin.AuditRead) {
		links["signins"] = h + "audit?action=validate&result=accept"
		links["failures"] = h + "audit?action=validate"
		links["fraud"] = h + "audit?action=push.answer&result=fraud"
	}
	p := s.page(w, r, v, "console.dashboard.title", DashboardView{Stats: stats, Links: links})
	p.Flash = flash(r)
	s.show(w, http.StatusOK, "dashboard", p)
}
