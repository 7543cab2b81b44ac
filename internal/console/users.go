package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// UsersView is the user directory (page "users"): a search form (GET,
// fields q and filter), one page of users, and links to the next page and
// back to the first.
type UsersView struct {
	Action  string // the directory itself: the search form's action
	Search  string
	Filter  string
	Filters []string // the filters to choose from
	Users   []UserRowView
	Next    string // the next page, or empty
	First   string // the first page, when this is a later one
	NewURL  string // the form that adds a user, when the operator may
	// ImportURL is the import page, when the operator may import;
	// ExportURL the directory as CSV.
	ImportURL, ExportURL string
}

// UserRowView is one user in the directory.
type UserRowView struct {
	Username, DisplayName, Email string
	Status, Role                 string
	Authenticators               int
	Enrollment                   string // store.Enrollment*: the invitation's state
	Locked                       bool
	URL                          string
}

func (s *Server) users(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	query := admin.UserQuery{Search: q.Get("q"), Filter: q.Get("filter"), After: q.Get("after")}
	view := UsersView{Action: v.home() + "users", Search: query.Search, Filter: query.Filter, Filters: admin.Filters}
	view.ExportURL = v.home() + "users.csv"
	if admin.Allowed(v.op.Role, admin.UsersWrite) {
		view.NewURL, view.ImportURL = v.home()+"users/new", v.home()+"import"
	}
	p := s.page(w, r, v, "console.users.title", nil)
	res, err := v.admin.Users(r.Context(), v.org, query)
	if s.listFailed(w, r, p, "users", view, "q", err) {
		return
	}
	for _, u := range res.Users {
		view.Users = append(view.Users, UserRowView{
			Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, Status: u.Status, Role: u.Role,
			Authenticators: u.Authenticators, Enrollment: u.Enrollment, Locked: !u.LockedUntil.IsZero(),
			URL: v.userURL(u.Username),
		})
	}
	list := url.Values{}
	for name, value := range map[string]string{"q": query.Search, "filter": query.Filter} {
		if value != "" {
			list.Set(name, value)
		}
	}
	if res.Next != "" {
		next := url.Values{"after": {res.Next}}
		for k, vs := range list {
			next[k] = vs
		}
		view.Next = view.Action + "?" + next.Encode()
	}
	if query.After != "" {
		view.First = view.Action
		if len(list) > 0 {
			view.First += "?" + list.Encode()
		}
	}
	p.Data = view
	s.show(w, http.StatusOK, "users", p)
}

// listFailed answers a list page whose query failed: refused by admin, it
// shows the page without rows and the error on the filter field; else
// the system failed. It reports whether it answered.
func (s *Server) listFailed(w http.ResponseWriter, r *http.Request, p page.Page, name string, view any, field string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, admin.ErrInvalid):
		p.Error, p.ErrorArgs, p.ErrorField = "console.error.invalid", []any{detail(err)}, field
		p.Data = view
		s.show(w, http.StatusBadRequest, name, p)
	default:
		s.unavailable(w, r, err)
	}
	return true
}

// userURL is the page of a user.
func (v *visit) userURL(username string) string {
	return v.home() + "users/" + url.PathEscape(username)
}

// NewUserView adds a user (page "user_new"): username, display_name,
// email, language, role and csrf_token to Action; Invite offers to assign
// an authenticator app and mail the invitation at once (field invite).
type NewUserView struct {
	Action string
	Form   map[string]string // the fields as typed, after a refusal
	Roles  []string
	Cancel string
}

var roles = []string{store.RoleUser, store.RoleHelpdesk, store.RoleAdmin}

func (s *Server) newUserPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showNewUser(w, r, v, http.StatusOK, page.Page{}, nil)
}

func (s *Server) showNewUser(w http.ResponseWriter, r *http.Request, v *visit, status int, refused page.Page, form map[string]string) {
	p := s.page(w, r, v, "console.user_new.title", NewUserView{Action: v.home() + "users/new", Form: form, Roles: roles, Cancel: v.home() + "users"})
	p.Error, p.ErrorArgs, p.ErrorField = refused.Error, refused.ErrorArgs, refused.ErrorField
	s.show(w, status, "user_new", p)
}

func (s *Server) newUser(w http.ResponseWriter, r *http.Request, v *visit) {
	form := fields(r, "username", "display_name", "email", "language", "role", "invite")
	u, err := v.admin.AddUser(r.Context(), v.org, admin.NewUser{
		Username: form["username"], DisplayName: form["display_name"], Email: form["email"],
		Language: form["language"], Role: form["role"],
	})
	if errors.Is(err, admin.ErrInvalid) {
		s.showNewUser(w, r, v, http.StatusBadRequest, invalidInput(err, "username"), form)
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	done := "console.flash.user_added"
	if form["invite"] != "" {
		if _, err := s.invite(r.Context(), v.admin, v.org, u.Username, "totp"); err != nil {
			s.Log.Warn("console: invitation not sent", "user", u.Username, "err", err)
			done = "console.flash.user_added_not_invited"
		} else {
			done = "console.flash.user_added_invited"
		}
	}
	page.Redirect(w, r, withDone(v.userURL(u.Username), done))
}

// invite assigns username of org a token of typ and mails the
// invitation, acting through svc: org is the console's own, or for the
// service provider the organization it appoints an admin of. The token is
// returned when it was assigned, whether or not the mail went.
func (s *Server) invite(ctx context.Context, svc *admin.Service, org store.Org, username, typ string) (admin.Enrolled, error) {
	en, err := svc.EnrollToken(ctx, org, username, typ, "")
	if err != nil {
		return en, err
	}
	u, err := svc.User(ctx, org, username)
	if err != nil {
		return en, err
	}
	if u.Email == "" {
		return en, errNoEmail
	}
	return en, s.Mailer.Invite(ctx, org, u, en.Token.Type, en.Link, en.Expires)
}

// inviteUser assigns a token from the user's page and mails the
// invitation. A push token's activation string is shown this once as
// well: without an address to mail it to, the operator passes it on.
func (s *Server) inviteUser(w http.ResponseWriter, r *http.Request, v *visit) {
	username := r.PathValue("user")
	en, err := s.invite(r.Context(), v.admin, v.org, username, r.PostFormValue("type"))
	done := "console.flash.invited"
	if errors.Is(err, errNoEmail) {
		done, err = "console.flash.invited_no_email", nil
	}
	if errors.Is(err, admin.ErrInvalid) {
		err = fieldError{err, "type"}
	}
	if err != nil {
		s.refuse(w, r, v, "console.user.invite", err)
		return
	}
	if en.Activation == "" {
		page.Redirect(w, r, withDone(v.userURL(strings.ToLower(username)), done))
		return
	}
	p := s.page(w, r, v, "console.user.title", nil)
	p.Flash = done
	s.showUser(w, r, v, http.StatusOK, p, Shown{Activation: en.Activation})
}

var errNoEmail = errors.New("the user has no email address")

// withDone adds the ?done= notice a page shows once after a change.
func withDone(to, done string) string {
	return withQuery(to, "done", done)
}

// flash is the notice the page was redirected to with, when it is one of
// the console's (console.flash.*, or a part's: console.provider.flash.*):
// a link cannot make the page say anything else.
func flash(r *http.Request) string {
	done := r.URL.Query().Get("done")
	if (strings.HasPrefix(done, "console.flash.") || strings.HasPrefix(done, "console.provider.flash.")) && i18n.Has(done) {
		return done
	}
	return ""
}

// invalidInput is the refusal of bad input that admin.Service gave as an
// error wrapping admin.ErrInvalid: a password rule by its own message, any
// other by its detail.
func invalidInput(err error, field string) page.Page {
	var pe *admin.PasswordError
	if errors.As(err, &pe) {
		return page.Page{Error: "error.password_" + pe.Rule, ErrorField: "new_password"}
	}
	return page.Page{Error: "console.error.invalid", ErrorArgs: []any{detail(err)}, ErrorField: field}
}

// detail is an admin error's message without the "invalid: " lead.
func detail(err error) string {
	return strings.TrimPrefix(err.Error(), admin.ErrInvalid.Error()+": ")
}

// UserView is one user's page (page "user"): who they are, their
// authenticators, invitations and recent audit trail, and the forms of
// what the operator may do, each posting csrf_token to its action.
type UserView struct {
	User        store.User
	Locked      bool
	BackupLeft  int
	Tokens      []TokenView
	Enrollments []EnrollmentView
	Events      []store.Event
	AuditURL    string          // the whole trail in the audit log
	Base        string          // the user's page; forms post to Base + "/…"
	Can         map[string]bool // admin.Action → whether the operator may
	Roles       []string
	Shown
	// Push: the policy allows push, so a push token may be assigned.
	Push bool
	// Stock: the organization has unassigned (imported hardware) tokens
	// to give out.
	Stock bool
	Now   time.Time
}

// Shown is what a user's page shows this once, right after it was made:
// nothing keeps it.
type Shown struct {
	// TempCode is a temporary code just issued, with when it expires and
	// how many sign-ins it allows.
	TempCode *admin.TempCode
	// Activation is the activation string of a push token just assigned,
	// for a user the invitation mail cannot reach.
	Activation string
}

// TokenView is one authenticator on a user's page.
type TokenView struct {
	store.Token
}

// EnrollmentView is one invitation on a user's page.
type EnrollmentView struct {
	store.EnrollmentRow
	Pending bool // may be resent, extended or cancelled
}

func (s *Server) user(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.user.title", nil)
	p.Flash = flash(r)
	s.showUser(w, r, v, http.StatusOK, p, Shown{})
}

// showUser shows the user named in the path on p, with the temporary
// code just issued when tc is not nil.
func (s *Server) showUser(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, shown Shown) {
	d, ok := s.userDetail(w, r, v)
	if !ok {
		return
	}
	view := UserView{
		User: d.User, Locked: d.Locked, BackupLeft: d.BackupCodesLeft, Base: v.userURL(d.User.Username),
		Can: map[string]bool{}, Roles: roles, Shown: shown, Now: s.Clock.Now(),
		AuditURL: v.home() + "audit?" + url.Values{"user": {d.User.Username}}.Encode(),
	}
	for _, a := range admin.Actions {
		view.Can[string(a)] = admin.Allowed(v.op.Role, a)
	}
	if pol, err := policy.Parse(v.org.Policy); err == nil {
		view.Push = pol.Allows(policy.MethodPush)
	}
	if view.Can[string(admin.TokensWrite)] {
		stock, err := v.admin.Inventory(r.Context(), v.org, "", 1)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		view.Stock = len(stock) > 0
	}
	for _, t := range d.Tokens {
		view.Tokens = append(view.Tokens, TokenView{t})
	}
	for _, e := range d.Enrollments {
		view.Enrollments = append(view.Enrollments, EnrollmentView{e, e.Status == store.EnrollmentPending || e.Status == store.EnrollmentExpired})
	}
	if view.Can[string(admin.AuditRead)] {
		events, err := v.admin.AuditEvents(r.Context(), v.org, admin.AuditQuery{User: d.User.Username, Limit: 10})
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		view.Events = events
	}
	p.Title = "console.user.title"
	p.Data = view
	s.show(w, status, "user", p)
}

// userDetail finds the user the path names in v.org: a user of another
// organization is not found, like one of none.
func (s *Server) userDetail(w http.ResponseWriter, r *http.Request, v *visit) (admin.UserDetail, bool) {
	d, err := v.admin.UserDetail(r.Context(), v.org, r.PathValue("user"))
	if errors.Is(err, admin.ErrInvalid) {
		s.fail(w, r, nil, http.StatusNotFound, "console.error.no_user", "console.error.no_user_next")
		return d, false
	}
	if err != nil {
		s.unavailable(w, r, err)
		return d, false
	}
	return d, true
}

// change is a form on a user's page that changes them: do is the
// change, which returns the notice to show after it; form is the
// catalogue key of the form's heading and field the field an error of
// admin.Service is about.
func (s *Server) change(form, field string, do func(r *http.Request, v *visit, username string) (done string, err error)) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		username := r.PathValue("user")
		done, err := do(r, v, username)
		if err != nil {
			if errors.Is(err, admin.ErrInvalid) {
				err = fieldError{err, field}
			}
			s.refuse(w, r, v, form, err)
			return
		}
		page.Redirect(w, r, withDone(v.userURL(strings.ToLower(username)), done))
	}
}

// fieldError is an admin.Service refusal of the input of field.
type fieldError struct {
	error
	field string
}

// refuse answers a form on the user's page that failed with err: bad
// input (badInput) shows the page again with the error in the form
// headed form; any other is the system's failure.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, v *visit, form string, err error) {
	bad, ok := badInput(err, "")
	if !ok {
		s.unavailable(w, r, err)
		return
	}
	if _, err := v.admin.User(r.Context(), v.org, r.PathValue("user")); err != nil {
		s.fail(w, r, nil, http.StatusNotFound, "console.error.no_user", "console.error.no_user_next")
		return
	}
	p := refusedIn(s.page(w, r, v, "console.user.title", nil), bad, form)
	s.showUser(w, r, v, http.StatusBadRequest, p, Shown{})
}

// badInput is the refusal err makes when it is one of bad input: refused
// by the console, or by admin.Service (admin.ErrInvalid) about field
// unless it is a fieldError naming its own. ok is false for a failure of
// the system.
func badInput(err error, field string) (bad page.Page, ok bool) {
	var rf refused
	var fe fieldError
	switch {
	case errors.As(err, &rf):
		return page.Page{Error: rf.key, ErrorField: rf.field}, true
	case errors.As(err, &fe):
		return invalidInput(fe.error, fe.field), true
	case errors.Is(err, admin.ErrInvalid):
		return invalidInput(err, field), true
	}
	return page.Page{}, false
}

// refusedIn is p showing the refusal bad of the form headed form.
func refusedIn(p, bad page.Page, form string) page.Page {
	p.Error, p.ErrorArgs, p.ErrorField, p.ErrorForm = bad.Error, bad.ErrorArgs, bad.ErrorField, form
	return p
}

// refused is input the console itself refuses: key is the catalogue key
// saying why, field the field it is about.
type refused struct{ key, field string }

func (e refused) Error() string { return e.key }

// confirmed refuses a change whose confirmation box (field confirm, with
// the id given) was left unticked.
func confirmed(r *http.Request, id string) error {
	if r.PostFormValue("confirm") == "" {
		return refused{"console.error.confirm", id}
	}
	return nil
}

func (s *Server) userChanges() map[string]handler {
	return map[string]handler{
		"edit": s.change("console.user.profile", "email", func(r *http.Request, v *visit, u string) (string, error) {
			email, name, lang := strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("display_name")), r.PostFormValue("language")
			_, err := v.admin.EditUser(r.Context(), v.org, u, admin.UserEdit{Email: &email, DisplayName: &name, Language: &lang})
			return "console.flash.edited", err
		}),
		"disable": s.change("console.user.status", "", func(r *http.Request, v *visit, u string) (string, error) {
			return "console.flash.disabled", v.admin.DisableUser(r.Context(), v.org, u)
		}),
		"enable": s.change("console.user.status", "", func(r *http.Request, v *visit, u string) (string, error) {
			return "console.flash.enabled", v.admin.EnableUser(r.Context(), v.org, u)
		}),
		"unlock": s.change("console.user.lock", "", func(r *http.Request, v *visit, u string) (string, error) {
			return "console.flash.unlocked", v.admin.Unlock(r.Context(), v.org, u)
		}),
		"role": s.change("console.user.role", "role", func(r *http.Request, v *visit, u string) (string, error) {
			return "console.flash.role", v.admin.SetRole(r.Context(), v.org, u, r.PostFormValue("role"))
		}),
		"password": s.change("console.user.password", "new_password", func(r *http.Request, v *visit, u string) (string, error) {
			pw := r.PostFormValue("new_password")
			if pw != r.PostFormValue("new_password_confirm") {
				return "", refused{"error.password_mismatch", "new_password_confirm"}
			}
			return "console.flash.password", v.admin.SetPassword(r.Context(), v.org, u, pw)
		}),
		"reset-mfa": s.change("console.user.reset_mfa", "", func(r *http.Request, v *visit, u string) (string, error) {
			if err := confirmed(r, "confirm-reset"); err != nil {
				return "", err
			}
			_, err := v.admin.ResetMFA(r.Context(), v.org, u)
			return "console.flash.reset_mfa", err
		}),
	}
}

// deleteUser deletes the user for good, after the box is ticked, and
// goes back to the directory.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, v *visit) {
	err := confirmed(r, "confirm-delete")
	if err == nil {
		_, err = v.admin.DeleteUser(r.Context(), v.org, r.PathValue("user"))
	}
	if err != nil {
		s.refuse(w, r, v, "console.user.delete", err)
		return
	}
	page.Redirect(w, r, withDone(v.home()+"users", "console.flash.deleted"))
}

// tempCode issues a temporary code and shows it this once on the user's
// page; the user is mailed that one was issued, never the code.
func (s *Server) tempCode(w http.ResponseWriter, r *http.Request, v *visit) {
	o := admin.TempCodeOptions{Suspend: r.PostFormValue("suspend"), SuspendAll: r.PostFormValue("suspend") == "all"}
	if o.SuspendAll {
		o.Suspend = ""
	}
	if h := r.PostFormValue("hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 {
			s.refuse(w, r, v, "console.user.temp_code", refused{"console.error.hours", "hours"})
			return
		}
		o.Valid = time.Duration(n) * time.Hour
	}
	if u := r.PostFormValue("uses"); u != "" {
		n, err := strconv.Atoi(u)
		if err != nil || n < 1 {
			s.refuse(w, r, v, "console.user.temp_code", refused{"console.error.uses", "uses"})
			return
		}
		o.Uses = n
	}
	tc, err := v.admin.IssueTempCode(r.Context(), v.org, r.PathValue("user"), o)
	if err != nil {
		s.refuse(w, r, v, "console.user.temp_code", err)
		return
	}
	p := s.page(w, r, v, "console.user.title", nil)
	p.Flash = "console.flash.temp_code"
	if tc.User.Email != "" {
		if err := s.Mailer.TempCodeIssued(r.Context(), v.org, tc.User, s.Clock.Now(), tc.ExpiresAt, tc.Uses, len(tc.Suspended) > 0); err != nil {
			s.Log.Warn("console: temporary code notice not mailed", "user", tc.User.Username, "err", err)
			p.Flash = "console.flash.temp_code_not_mailed"
		}
	}
	s.showUser(w, r, v, http.StatusOK, p, Shown{TempCode: &tc})
}
