package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

func loginURL(org store.Org) string { return "/o/" + org.Slug + "/login" }
func homeURL(org store.Org) string  { return "/o/" + org.Slug + "/" }

func (s *Server) policy(w http.ResponseWriter, r *http.Request, org store.Org) (policy.Policy, bool) {
	p, err := policy.Parse(org.Policy)
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return p, false
	}
	return p, true
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if ok, err := s.loadSession(r, v); err == nil && ok && v.ses.Stage == stageFull {
		redirect(w, r, homeURL(v.org))
		return
	}
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	p := s.page(w, r, "login.title", &v.org, loginView(v.org, pol, ""))
	// The notices the login page shows after a redirect; anything else in
	// ?done= shows nothing, so a link cannot put words on the page.
	p.Flash = map[string]string{"signed_out": "flash.signed_out", "password_reset": "flash.password_reset"}[r.URL.Query().Get("done")]
	s.show(w, http.StatusOK, "login", p)
}

// loginView is the login form as the organization's policy shapes it.
func loginView(org store.Org, pol policy.Policy, username string) LoginView {
	v := LoginView{Action: loginURL(org), Username: username, Combined: pol.LoginForm == "combined", PIN: pol.PINMode == policy.PINServer,
		Email: pol.Allows(policy.MethodEmail)}
	if pol.PasswordReset {
		v.Forgot = forgotURL(org)
	}
	return v
}

// login checks the first step: the password, or with the combined form
// the password and the code together.
func (s *Server) login(w http.ResponseWriter, r *http.Request, v *visit) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	username, password, code := r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("code")
	req := portalRequest(r, v.org, username, "")
	req.Password = password
	refuse := func(errKey, field string) {
		p := s.page(w, r, "login.title", &v.org, loginView(v.org, pol, username))
		p.Error, p.ErrorField = errKey, field
		s.show(w, http.StatusOK, "login", p)
	}
	var out auth.Outcome
	var err error
	// On the combined form an empty code, or "Email me a code", goes the
	// two-step way: a mailed code, the first authenticator, or the help
	// the user needs, all decided after the password.
	wantEmail := r.PostFormValue("method") == policy.MethodEmail
	combined := pol.LoginForm == "combined" && strings.TrimSpace(code) != "" && !wantEmail
	if combined {
		req.Code, req.CheckPassword = code, true
		out, err = s.Verifier.Verify(r.Context(), req)
	} else {
		out, err = s.Verifier.CheckPassword(r.Context(), req)
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		if combined && errors.Is(out.Reason, auth.ErrMalformed) {
			refuse("error.code_malformed", "code")
			return
		}
		if errors.Is(out.Reason, auth.ErrThrottled) {
			// Says nothing of the account: it is about the address alone.
			refuse("error.throttled", "")
			return
		}
		refuse("error.login_failed", "password")
		return
	}
	if v.user, err = s.Store.UserByName(r.Context(), v.org.ID, auth.CanonicalUsername(username)); err != nil {
		s.unavailable(w, r, err)
		return
	}
	s.rememberLanguage(w, r, v.user)
	if combined {
		s.signInDone(w, r, v, usedDone(out), MethodPassword, out.Method)
		return
	}
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	left, err := s.Store.BackupCodesLeft(r.Context(), v.user.ID)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	// A temporary code from the helpdesk too, which is how a user whose
	// lost authenticator was suspended gets in.
	temp, err := s.hasTempCode(r, v)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	// The password alone never adds an authenticator, except a first one
	// where the policy allows it (admin.StandingOf). Backup codes and a
	// temporary code are other factors: with one of them, the code step
	// takes it.
	standing := admin.StandingOf(pol, ts)
	switch {
	case standing == admin.HasAuthenticator || left > 0 || temp:
	case standing == admin.Suspended:
		s.noWayIn(w, r, v, "login.suspended", "login.suspended_next")
		return
	case !pol.MFARequired:
		s.signInDone(w, r, v, "", MethodPassword)
		return
	case standing == admin.MayEnrollFirst:
		en, err := s.userAdmin(v).EnrollSelf(r.Context(), v.org, v.user.Username, "totp", "")
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		s.advance(w, r, v, stageFirstEnroll, sessionData{Serial: en.Token.Serial}, loginURL(v.org)+"/enroll")
		return
	default:
		s.withoutAuthenticator(w, r, v, pol, standing)
		return
	}
	if err := s.startSession(w, r, v, stagePassword, sessionData{}); err != nil {
		s.unavailable(w, r, err)
		return
	}
	// The code step opens with the method used last; an emailed code is
	// sent right away.
	choices, err := s.methods(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	want := v.user.LastMethod
	if wantEmail {
		want = policy.MethodEmail
	}
	v.data.Method = defaultMethod(choices, want, true)
	if v.data.Method == policy.MethodEmail {
		txid, err := s.Verifier.StartEmail(r.Context(), v.request(r, ""), false)
		v.data.keepTx(txid)
		if err != nil && !errors.Is(err, auth.ErrTooSoon) && !errors.Is(err, auth.ErrNoEmailToken) {
			s.Log.Error("email code not sent", "user", v.user.Username, "err", err)
		}
		// No code on its way: open with another method, if there is one.
		v.data.Method = defaultMethod(choices, v.user.LastMethod, v.data.TxHash != nil)
	}
	to := loginURL(v.org) + "/code"
	if v.data.Method == policy.MethodPush {
		why, err := s.startPush(r, v)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if why != "" {
			v.data.Method = typedMethod(choices, v)
			to += "?push=" + why
		}
	}
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, to)
}

// withoutAuthenticator goes on with a user whose password was right, who
// has no authenticator and whom the password alone gives none: to the
// claiming of a hardware token handed out, where the policy allows it,
// or else to whom to ask.
func (s *Server) withoutAuthenticator(w http.ResponseWriter, r *http.Request, v *visit, pol policy.Policy, standing admin.Standing) {
	may, err := s.mayClaim(r, v, pol)
	switch {
	case err != nil:
		s.unavailable(w, r, err)
	case may:
		s.advance(w, r, v, stageClaim, sessionData{}, loginURL(v.org)+"/claim")
	case standing == admin.InvitationPending:
		s.noWayIn(w, r, v, "login.invitation_pending", "login.invitation_pending_next")
	default:
		s.noWayIn(w, r, v, "login.needs_help", "login.needs_help_next")
	}
}

// noWayIn tells a user whose password was right why it does not get them
// in, and whom to ask: nothing is created, no session started.
func (s *Server) noWayIn(w http.ResponseWriter, r *http.Request, v *visit, message, next string) {
	p := s.page(w, r, "error.title", &v.org, page.ErrorView{Message: message, Next: next, BackURL: loginURL(v.org)})
	s.show(w, http.StatusForbidden, "error", p)
}

// hasActive reports whether the user has an active token of type typ, or
// of any type when typ is empty. A database error is returned as it is:
// each caller decides which answer fails closed.
func (s *Server) hasActive(r *http.Request, v *visit, typ string) (bool, error) {
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if t.State == store.TokenActive && (typ == "" || t.Type == typ) {
			return true, nil
		}
	}
	return false, nil
}

// signInDone completes a sign-in that used methods (MethodPassword, then
// the second factor's) and shows the dashboard with the notice of done;
// under a server PIN policy a user who must choose a PIN does so first.
func (s *Server) signInDone(w http.ResponseWriter, r *http.Request, v *visit, done string, methods ...string) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	signIn := s.signedInWith(methods...)
	if needsPIN(pol, v.user) {
		s.advance(w, r, v, stagePIN, sessionData{Done: done, SignIn: signIn}, loginURL(v.org)+"/pin")
		return
	}
	if done == "backup_used" || done == "temp_used" {
		// A backup code, like the helpdesk's temporary code, is a way to
		// add an authenticator (DESIGN.md invariant 8): one who has none
		// left goes straight to adding one.
		has, err := s.hasActive(r, v, "")
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !has {
			if err := s.startSession(w, r, v, stageFull, sessionData{SignIn: signIn}); err != nil {
				s.unavailable(w, r, err)
				return
			}
			s.toAddStep(w, r, v, sessionData{Add: addApp})
			return
		}
	}
	to := homeURL(v.org)
	if done != "" {
		to += "?done=" + done
	}
	s.advance(w, r, v, stageFull, sessionData{SignIn: signIn}, to)
}

// userAdmin is the operator actions, done on the signed-in user's behalf.
func (s *Server) userAdmin(v *visit) *admin.Service {
	a := *s.Admin
	a.Actor = v.user.Username
	return &a
}

// pendingToken returns the token being added in this session. The token
// was made by the form post that started the setup, never by a page
// view; it is gone when a newer setup replaced it.
func (s *Server) pendingToken(r *http.Request, v *visit) (store.Token, bool, error) {
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		return store.Token{}, false, err
	}
	for _, t := range ts {
		if v.data.Serial != "" && t.Serial == v.data.Serial && t.State == store.TokenAssigned {
			return t, true, nil
		}
	}
	return store.Token{}, false, nil
}

// pendingOrFail returns the session's pending token, or answers that the
// setup has gone.
func (s *Server) pendingOrFail(w http.ResponseWriter, r *http.Request, v *visit) (store.Token, bool) {
	t, ok, err := s.pendingToken(r, v)
	if err != nil {
		s.unavailable(w, r, err)
		return t, false
	}
	if !ok {
		s.fail(w, r, nil, http.StatusGone, "error.setup_gone", "error.setup_gone_next")
	}
	return t, ok
}

// pendingEnrollPage shows how to add the session's pending token to an
// authenticator app: for a user without one at first sign-in, or one who
// adds another. Its form posts back to the page's own path.
func (s *Server) pendingEnrollPage(w http.ResponseWriter, r *http.Request, v *visit) {
	t, ok := s.pendingOrFail(w, r, v)
	if !ok {
		return
	}
	s.showEnroll(w, r, v, t, enrollForm{Action: r.URL.Path}, refusal{})
}

func (s *Server) firstEnroll(w http.ResponseWriter, r *http.Request, v *visit) {
	t, ok := s.pendingOrFail(w, r, v)
	if ok && s.activate(w, r, v, t, enrollForm{Action: loginURL(v.org) + "/enroll"}) {
		s.startSetup(w, r, v, setupSignIn)
	}
}

// activate checks the first code of token t, under the name the form
// gives it; a correct one activates it — replacing the session's Replace
// token in the same step, when there is one — and mails a notice. On a
// refusal it shows the page again, changes nothing, and reports false.
func (s *Server) activate(w http.ResponseWriter, r *http.Request, v *visit, t store.Token, form enrollForm) bool {
	name, err := admin.TokenName(r.PostFormValue("name"))
	if err != nil {
		s.showEnroll(w, r, v, t, form, refusal{Error: "error.token_name", Field: "name"})
		return false
	}
	req := v.request(r, r.PostFormValue("code"))
	var out auth.Outcome
	old, replacing, err := s.userToken(r, v, v.data.Replace)
	if err == nil && replacing {
		out, err = s.Verifier.Replace(r.Context(), req, t.Serial, old.Serial)
	} else if err == nil {
		out, err = s.Verifier.Activate(r.Context(), req, t.Serial)
	}
	if err != nil {
		s.unavailable(w, r, err)
		return false
	}
	if !out.Accepted {
		s.showEnroll(w, r, v, t, form, enrollRefused(page.Lang(w, r), page.Location(v.org), out, s.Clock.Now()))
		return false
	}
	if name != "" && name != t.Name {
		// The token works already; a name that could not be saved is
		// logged, and the dashboard shows the default.
		if err := s.userAdmin(v).RenameToken(r.Context(), v.org, v.user.Username, t.Serial, name); err != nil {
			s.Log.Error("token name not saved", "user", v.user.Username, "err", err)
		}
		t.Name = name
	}
	s.notify(r, "token_added", v, tokenLabel(t))
	if replacing {
		s.notify(r, "token_removed", v, tokenLabel(old))
	}
	return true
}

// notify mails the user about a change; a failure is logged, not shown:
// the change itself has happened.
func (s *Server) notify(r *http.Request, name string, v *visit, tokenName string) {
	if v.user.Email == "" {
		return
	}
	if err := s.Mailer.Notice(r.Context(), name, v.org, v.user, tokenName, s.Clock.Now()); err != nil {
		s.Log.Error("notice not sent", "mail", name, "user", v.user.Username, "err", err)
	}
}

func tokenLabel(t store.Token) string {
	if t.Name != "" {
		return t.Name
	}
	return t.Serial
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, v *visit) {
	if to, ok := continuation(w, r, v.org); ok {
		redirect(w, r, to)
		return
	}
	p := s.page(w, r, "dashboard.title", &v.org, nil)
	p.Flash = flashKey(r.URL.Query().Get("done"))
	if p.Flash == "flash.backup_used" {
		left, err := s.Store.BackupCodesLeft(r.Context(), v.user.ID)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if left == 0 {
			p.Flash = "flash.backup_used_last"
		} else {
			p.FlashArgs = []any{left}
		}
	}
	s.dashboardWith(w, r, v, p)
}

func tokenView(t store.Token) TokenView {
	return TokenView{Serial: t.Serial, Name: t.Name, Type: t.Type, State: t.State, Added: t.CreatedAt, LastUsed: t.LastUsedAt, Replaceable: replaceable(t)}
}

// flashKey maps the ?done= of a redirect to its notice; anything else
// shows nothing, so a link cannot put words on the page.
func flashKey(done string) string {
	return map[string]string{
		"renamed": "flash.token_renamed", "removed": "flash.token_removed",
		"password": "flash.password_changed", "added": "flash.token_added",
		"added_email": "flash.email_added", "pin": "flash.pin_changed",
		"backup_made": "flash.backup_made", "backup_used": "flash.backup_used", "replaced": "flash.token_replaced",
		"temp_used": "flash.temp_used",
	}[done]
}

// userToken finds one of the signed-in user's tokens by serial.
func (s *Server) userToken(r *http.Request, v *visit, serial string) (store.Token, bool, error) {
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		return store.Token{}, false, err
	}
	for _, t := range ts {
		if t.Serial == serial && t.State != store.TokenRevoked {
			return t, true, nil
		}
	}
	return store.Token{}, false, nil
}

func (s *Server) rename(w http.ResponseWriter, r *http.Request, v *visit) {
	// A name too long is cut rather than refused: the field says how long it may be.
	name := []rune(strings.TrimSpace(r.PostFormValue("name")))
	name = name[:min(len(name), admin.MaxTokenName)]
	serial := r.PostFormValue("serial")
	if _, ok, err := s.userToken(r, v, serial); err != nil {
		s.unavailable(w, r, err)
		return
	} else if !ok {
		s.fail(w, r, nil, http.StatusNotFound, "error.token_unknown", "error.token_unknown_next")
		return
	}
	err := s.userAdmin(v).RenameToken(r.Context(), v.org, v.user.Username, serial, string(name))
	if errors.Is(err, admin.ErrInvalid) {
		p := s.page(w, r, "dashboard.title", &v.org, nil)
		p.Error, p.ErrorField, p.ErrorForm = "error.token_name", "name-"+serial, "dashboard.rename"
		s.dashboardWith(w, r, v, p)
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"?done=renamed")
}

func (s *Server) removePage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showRemove(w, r, v, r.URL.Query().Get("serial"), "")
}

func (s *Server) showRemove(w http.ResponseWriter, r *http.Request, v *visit, serial, errKey string) {
	t, ok, err := s.userToken(r, v, serial)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !ok {
		s.fail(w, r, nil, http.StatusNotFound, "error.token_unknown", "error.token_unknown_next")
		return
	}
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	view := RemoveView{Action: homeURL(v.org) + "tokens/remove", Token: tokenView(t), PIN: pol.PINMode == policy.PINServer,
		ReplaceAction: homeURL(v.org) + "tokens/replace"}
	if view.Last, err = s.lastAuthenticator(r, v, t); err == nil && view.Last {
		view.BackupLeft, err = s.Store.BackupCodesLeft(r.Context(), v.user.ID)
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	p := s.page(w, r, "remove.title", &v.org, view)
	p.User, p.Error = v.user.Username, errKey
	if errKey != "" {
		// Password or code: the core does not say which, nor does the page.
		p.ErrorField = "password"
	}
	s.show(w, http.StatusOK, "remove", p)
}

// lastAuthenticator reports whether t is the user's only active
// authenticator: removing it leaves only backup codes or the helpdesk.
func (s *Server) lastAuthenticator(r *http.Request, v *visit, t store.Token) (bool, error) {
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		return false, err
	}
	for _, o := range ts {
		if o.State == store.TokenActive && o.ID != t.ID {
			return false, nil
		}
	}
	return true, nil
}

// remove revokes an authenticator after the user proves it is them again:
// password (when they have one) and a current code.
func (s *Server) remove(w http.ResponseWriter, r *http.Request, v *visit) {
	serial := r.PostFormValue("serial")
	t, ok, err := s.userToken(r, v, serial)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !ok {
		s.fail(w, r, nil, http.StatusNotFound, "error.token_unknown", "error.token_unknown_next")
		return
	}
	has, _, err := s.passwordOf(r.Context(), v.org, v.user.PasswordHash)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	req := v.request(r, r.PostFormValue("code"))
	req.Password, req.CheckPassword = r.PostFormValue("password"), has
	out, err := s.Verifier.Verify(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		s.showRemove(w, r, v, serial, "error.confirm_failed")
		return
	}
	if err := s.userAdmin(v).ChangeToken(r.Context(), v.org, v.user.Username, t.Serial, "revoke"); err != nil {
		s.unavailable(w, r, err)
		return
	}
	s.notify(r, "token_removed", v, tokenLabel(t))
	// Taking a token out of use ended every session of the user, this
	// one too: the user continues in a fresh one.
	s.advance(w, r, v, stageFull, sessionData{}, homeURL(v.org)+"?done=removed")
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, v *visit) {
	current, next, confirm := r.PostFormValue("password"), r.PostFormValue("new_password"), r.PostFormValue("new_password_confirm")
	showError := func(key, field string, args ...any) {
		p := s.page(w, r, "dashboard.title", &v.org, nil)
		p.Error, p.ErrorArgs, p.ErrorField, p.ErrorForm = key, args, field, "dashboard.password"
		s.dashboardWith(w, r, v, p)
	}
	if _, inDirectory, err := s.passwordOf(r.Context(), v.org, v.user.PasswordHash); err != nil {
		s.unavailable(w, r, err)
		return
	} else if inDirectory {
		// A password set here would never be asked for.
		showError("error.password_directory", "password")
		return
	}
	if next != confirm {
		showError("error.password_mismatch", "new_password_confirm")
		return
	}
	req := v.request(r, "")
	req.Password = current
	out, err := s.Verifier.CheckPassword(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		showError("error.password_wrong", "password")
		return
	}
	if err := s.userAdmin(v).SetPassword(r.Context(), v.org, v.user.Username, next); err != nil {
		if f, ok := newPasswordRefused(err); ok {
			showError(f.Error, f.Field, f.ErrorArgs...)
			return
		}
		s.unavailable(w, r, err)
		return
	}
	s.notify(r, "password_changed", v, "")
	// The new password ended every session of the user, this one too: the
	// user continues in a fresh one, the only one left.
	s.advance(w, r, v, stageFull, sessionData{}, homeURL(v.org)+"?done=password")
}

// newPasswordRefused says which rule of package admin a new password
// broke; ok is false for any other error.
func newPasswordRefused(err error) (f refusal, ok bool) {
	pe, ok := errors.AsType[*admin.PasswordError](err)
	if !ok {
		return refusal{}, false
	}
	f = refusal{Error: passwordErrors[pe.Rule], Field: "new_password"}
	if pe.Rule == admin.PasswordShort {
		f.ErrorArgs = []any{pe.Min}
	}
	return f, true
}

// passwordErrors are the messages for the password rules of package admin.
var passwordErrors = map[string]string{
	admin.PasswordShort:   "error.password_short",
	admin.PasswordLong:    "error.password_long",
	admin.PasswordCommon:  "error.password_common",
	admin.PasswordContext: "error.password_context",
	admin.PasswordSame:    "error.password_same",
}

// advance moves the visit to a new session at stage and sends the
// browser to the page for it.
func (s *Server) advance(w http.ResponseWriter, r *http.Request, v *visit, stage string, data sessionData, to string) {
	if err := s.startSession(w, r, v, stage, data); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, to)
}

// dashboardWith renders the dashboard of the user's authenticators with
// p's error or notice.
func (s *Server) dashboardWith(w http.ResponseWriter, r *http.Request, v *visit, p page.Page) {
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	left, err := s.Store.BackupCodesLeft(r.Context(), v.user.ID)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	has, inDirectory, err := s.passwordOf(r.Context(), v.org, v.user.PasswordHash)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	base := homeURL(v.org)
	view := DashboardView{
		RenameAction: base + "tokens/rename", RemoveAction: base + "tokens/remove", ReplaceAction: base + "tokens/replace", PasswordAction: base + "password",
		AddAction: base + "add", LogoutAction: base + "logout", HasPassword: has, DirectoryPassword: inDirectory, PasswordMinLength: pol.PasswordMinLength,
		BackupAction: base + "backup", BackupLeft: left, BackupTotal: admin.BackupCodeCount,
	}
	if pol.PINMode == policy.PINServer {
		view.PIN = &PINView{Action: base + "pin", HasPIN: v.user.PINHash != "", Rules: pinRules(pol)}
	}
	for _, t := range ts {
		if t.State != store.TokenRevoked && t.State != store.TokenAssigned {
			view.Tokens = append(view.Tokens, tokenView(t))
		}
	}
	p.User, p.Data = v.user.Username, view
	s.show(w, http.StatusOK, "dashboard", p)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	if ok, err := s.loadSession(r, v); err == nil && ok {
		s.endSession(w, r, store.Event{OrgID: v.org.ID, At: s.Clock.Now(), Actor: v.user.Username, Action: "portal.logout",
			Target: v.user.Username, Result: "ok", Source: source(r)})
	} else {
		s.endSession(w, r, store.Event{})
	}
	redirect(w, r, loginURL(v.org)+"?done=signed_out")
}

// Adding an authenticator from the dashboard: a code mailed to the user,
// then the password, then the app.
const (
	addVerify   = "verify"
	addPassword = "password"
	addApp      = "app"
	addHardware = "hardware"
	addChoose   = "choose"
	addEmail    = "email"
)

// withAdd requires a signed-in user at the given step of adding an
// authenticator.
//
// Email is also added in the setup after a first authenticator.
func (s *Server) withAdd(step string, h handler) http.HandlerFunc {
	var also []string
	if step == addEmail {
		also = append(also, stageSetup)
	}
	return s.withStage(stageFull, func(w http.ResponseWriter, r *http.Request, v *visit) {
		if v.data.Add != step {
			redirect(w, r, homeURL(v.org))
			return
		}
		h(w, r, v)
	}, also...)
}

// setData stores the session's changed state.
func (s *Server) setData(r *http.Request, v *visit) error {
	v.keepSignIn(&v.data, v.ses.Stage)
	raw, err := json.Marshal(v.data)
	if err != nil {
		return err
	}
	v.ses.Data = string(raw)
	return s.Store.SetSessionData(r.Context(), v.ses.IDHash, v.ses.Stage, v.ses.Data)
}

func (s *Server) addStart(w http.ResponseWriter, r *http.Request, v *visit) {
	s.startAdding(w, r, v, "")
}

// startAdding begins adding an authenticator, one that replaces the token
// replace when that is set, with the proof that it is the user.
func (s *Server) startAdding(w http.ResponseWriter, r *http.Request, v *visit, replace string) {
	if v.user.Email == "" {
		// Nothing to mail a code to: the password alone confirms.
		s.toAddStep(w, r, v, sessionData{Add: addPassword, Replace: replace})
		return
	}
	if v.data.Add != addVerify || v.data.Replace != replace {
		v.data = sessionData{Add: addVerify, Replace: replace}
	}
	s.sendVerifyCode(w, r, v)
}

// sendVerifyCode has the core mail a new verification code for the
// session's challenge — the older code dies — or for a new one when there
// is none that can still be answered. The core's send limits, shared with
// the login codes, decide whether a code may be sent now; if not, the page
// says to wait.
func (s *Server) sendVerifyCode(w http.ResponseWriter, r *http.Request, v *visit) {
	_, err := s.remail(r, v, s.Verifier.StartVerification)
	if errors.Is(err, auth.ErrTooSoon) {
		// The session still has to reach the verify page and its resend.
		if err := s.setData(r, v); err != nil {
			s.unavailable(w, r, err)
			return
		}
		s.showAddVerify(w, r, v, refusal{Error: "error.resend_wait"})
		return
	}
	if err == nil {
		err = s.setData(r, v)
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"add/verify")
}

func (s *Server) addVerifyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showAddVerify(w, r, v, refusal{})
}

func (s *Server) showAddVerify(w http.ResponseWriter, r *http.Request, v *visit, why refusal) {
	base := homeURL(v.org) + "add/"
	p := s.page(w, r, "add_verify.title", &v.org, AddVerifyView{Action: base + "verify", ResendAction: base + "resend", Email: maskEmail(v.user.Email)})
	p.User = v.user.Username
	why.onto(&p)
	s.show(w, http.StatusOK, "add_verify", p)
}

// addVerify checks the mailed code through the core: each try counts
// against the user's lockout like every other guess, and the code works
// once.
func (s *Server) addVerify(w http.ResponseWriter, r *http.Request, v *visit) {
	req := v.request(r, r.PostFormValue("code"))
	req.TransactionHash = v.data.TxHash
	out, err := s.Verifier.CheckVerification(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		s.showAddVerify(w, r, v, codeRefused(page.Lang(w, r), page.Location(v.org), out, s.Clock.Now()))
		return
	}
	s.toAddStep(w, r, v, sessionData{Add: addPassword, Replace: v.data.Replace})
}

func (s *Server) addPasswordPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, "add_password.title", &v.org, AddPasswordView{Action: homeURL(v.org) + "add/password"})
	p.User = v.user.Username
	s.show(w, http.StatusOK, "add_password", p)
}

func (s *Server) addPassword(w http.ResponseWriter, r *http.Request, v *visit) {
	req := v.request(r, "")
	req.Password = r.PostFormValue("password")
	out, err := s.Verifier.CheckPassword(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		p := s.page(w, r, "add_password.title", &v.org, AddPasswordView{Action: homeURL(v.org) + "add/password"})
		p.User = v.user.Username
		passwordRefused(page.Lang(w, r), page.Location(v.org), out, s.Clock.Now()).onto(&p)
		s.show(w, http.StatusOK, "add_password", p)
		return
	}
	s.toAddChoose(w, r, v)
}

// toAddStep moves the adding of an authenticator to the step data names
// and sends the browser to that step's page, add/<step>.
//
// The step's form posts come here, and so the token of the app step is
// made here, never by a page view; the password step is skipped for a user
// who has none.
func (s *Server) toAddStep(w http.ResponseWriter, r *http.Request, v *visit, data sessionData) {
	has, _, err := s.passwordOf(r.Context(), v.org, v.user.PasswordHash)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	switch {
	case data.Add == addPassword && !has:
		v.data = data
		s.toAddChoose(w, r, v)
		return
	case data.Add == addApp && data.Serial == "":
		en, err := s.userAdmin(v).EnrollSelf(r.Context(), v.org, v.user.Username, "totp", "")
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		data.Serial = en.Token.Serial
	}
	v.data = data
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"add/"+data.Add)
}

func (s *Server) addApp(w http.ResponseWriter, r *http.Request, v *visit) {
	t, ok := s.pendingOrFail(w, r, v)
	if ok && s.activate(w, r, v, t, enrollForm{Action: homeURL(v.org) + "add/app"}) {
		s.addDone(w, r, v)
	}
}

// addDone ends the adding of an authenticator, which works now, on the
// dashboard.
func (s *Server) addDone(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Replace != "" {
		// Retiring the old token ended every session of the user, this
		// one too: the user continues in a fresh one.
		s.advance(w, r, v, stageFull, sessionData{}, homeURL(v.org)+"?done=replaced")
		return
	}
	v.data = sessionData{}
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"?done=added")
}

// maskEmail shows enough of an address for the user to recognise it:
// alice@example.org → a•••@example.org.
func maskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return addr
	}
	return string([]rune(local)[0]) + "•••@" + domain
}
