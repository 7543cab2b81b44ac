package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Recovery: backup codes that take effect only once the user says they
// are saved, the setup that follows a first authenticator (backup codes,
// then email where the policy allows it), and replacing a lost phone's
// authenticator in one step.

// recentSignIn is how long after signing in with both factors a user may
// replace an authenticator without proving it is them again: long enough
// for the lost-phone journey, short enough that a browser left signed in
// is no way to swap in someone else's phone.
const recentSignIn = 10 * time.Minute

// backupAD binds a session's pending backup codes to their user.
func backupAD(u store.User) []byte {
	return []byte("session backup codes " + strconv.FormatInt(u.ID, 10))
}

// pendBackupCodes makes a new set of backup codes and keeps it, sealed,
// in the session: shown by the backup codes page, in use only once the
// user confirms having saved it. An earlier pending set is replaced; the
// codes in use stay as they are.
func (s *Server) pendBackupCodes(r *http.Request, v *visit) error {
	codes, err := s.Admin.NewBackupCodes()
	if err != nil {
		return err
	}
	sealed, err := s.Keys.Seal([]byte(strings.Join(codes, "\n")), backupAD(v.user))
	if err != nil {
		return err
	}
	v.data.Backup = sealed
	return s.setData(r, v)
}

// pendingBackupCodes opens the session's pending set; nil when there is none.
func (s *Server) pendingBackupCodes(v *visit) ([]string, error) {
	if v.data.Backup == nil {
		return nil, nil
	}
	plain, err := s.Keys.Open(v.data.Backup, backupAD(v.user))
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return strings.Split(string(plain), "\n"), nil
}

// makeBackupCodes makes a pending set after the user confirms their
// password, and sends the browser to the page that shows it. Posting the
// form again while a set is pending shows that same set: only the page's
// own "make new codes" replaces it.
func (s *Server) makeBackupCodes(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Backup != nil {
		redirect(w, r, homeURL(v.org)+"backup")
		return
	}
	has, _, err := s.passwordOf(r.Context(), v.org, v.user.PasswordHash)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if has {
		req := v.request(r, "")
		req.Password = r.PostFormValue("password")
		out, err := s.Verifier.CheckPassword(r.Context(), req)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !out.Accepted {
			p := s.page(w, r, "dashboard.title", &v.org, nil)
			passwordRefused(p.Lang, p.Loc, out, s.Clock.Now()).onto(&p)
			p.ErrorField, p.ErrorForm = "backup-password", "dashboard.backup"
			s.dashboardWith(w, r, v, p)
			return
		}
	}
	if err := s.pendBackupCodes(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"backup")
}

// newBackupCodes replaces the pending set with a new one, at the user's
// explicit request on the page that shows it.
func (s *Server) newBackupCodes(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Backup == nil {
		s.backupCodesGone(w, r, v)
		return
	}
	if err := s.pendBackupCodes(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"backup")
}

func (s *Server) backupCodesPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showBackupCodes(w, r, v, "")
}

// backupCodesGone answers a backup codes step that has no pending set
// (saved already, or never made): the setup goes on, the dashboard opens.
func (s *Server) backupCodesGone(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.ses.Stage == stageSetup {
		s.offerEmail(w, r, v)
		return
	}
	redirect(w, r, homeURL(v.org))
}

// showBackupCodes shows the session's pending set: the same codes however
// often the page is loaded.
func (s *Server) showBackupCodes(w http.ResponseWriter, r *http.Request, v *visit, errKey string) {
	codes, err := s.pendingBackupCodes(v)
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	if codes == nil {
		s.backupCodesGone(w, r, v)
		return
	}
	lang := page.Lang(w, r)
	text := strings.Join(codes, "\n")
	file := i18n.T(lang, "backup_codes.file_heading", v.user.Username, v.org.Name) + "\n" +
		i18n.T(lang, "backup_codes.file_note", i18n.DateTime(lang, page.Location(v.org), s.Clock.Now())) + "\n\n" + text + "\n"
	base := homeURL(v.org) + "backup"
	view := BackupCodesView{
		Codes: codes, Text: text, FileName: "backup-codes-" + v.org.Slug + ".txt",
		Download: template.URL("data:text/plain;charset=utf-8," + strings.ReplaceAll(url.PathEscape(file), "+", "%2B")),
		Action:   base + "/done", NewAction: base + "/new",
	}
	p := s.page(w, r, "backup_codes.title", &v.org, view)
	p.User, p.Error = v.user.Username, errKey
	s.show(w, http.StatusOK, "backup_codes", p)
}

// backupCodesSaved puts the pending set in use once the user ticks "I
// have saved these codes"; without the tick nothing changes and the page
// says so.
func (s *Server) backupCodesSaved(w http.ResponseWriter, r *http.Request, v *visit) {
	codes, err := s.pendingBackupCodes(v)
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	if codes == nil {
		s.backupCodesGone(w, r, v)
		return
	}
	if r.PostFormValue("saved") == "" {
		s.showBackupCodes(w, r, v, "error.backup_not_saved")
		return
	}
	if err := s.userAdmin(v).SetBackupCodes(r.Context(), v.org, v.user.Username, codes); err != nil {
		s.unavailable(w, r, err)
		return
	}
	v.data.Backup = nil
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	if v.ses.Stage == stageSetup {
		s.offerEmail(w, r, v)
		return
	}
	redirect(w, r, homeURL(v.org)+"?done=backup_made")
}

// startSetup follows the activation of a user's first authenticator on
// the invitation page or at first sign-in: a user without backup codes
// saves a set (policy backup_codes_at_setup), then email is offered as a
// second way in; then the setup ends as then says.
func (s *Server) startSetup(w http.ResponseWriter, r *http.Request, v *visit, then string) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	left, err := s.Store.BackupCodesLeft(r.Context(), v.user.ID)
	if err == nil {
		err = s.startSession(w, r, v, stageSetup, sessionData{Setup: then})
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if pol.BackupCodesAtSetup && left == 0 {
		if err := s.pendBackupCodes(r, v); err != nil {
			s.unavailable(w, r, err)
			return
		}
		redirect(w, r, homeURL(v.org)+"backup")
		return
	}
	s.offerEmail(w, r, v)
}

// mayAddEmail reports whether the user can add email as a way to sign
// in: the policy allows it, the user has an address and no email token.
func (s *Server) mayAddEmail(r *http.Request, v *visit, pol policy.Policy) (bool, error) {
	if !pol.Allows(policy.MethodEmail) || v.user.Email == "" {
		return false, nil
	}
	has, err := s.hasActive(r, v, "email")
	return !has, err
}

// offerEmail goes on to the offer of email, where it can be added, or
// else ends the setup.
func (s *Server) offerEmail(w http.ResponseWriter, r *http.Request, v *visit) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	may, err := s.mayAddEmail(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !may {
		s.finishSetup(w, r, v)
		return
	}
	redirect(w, r, homeURL(v.org)+"setup/email")
}

func (s *Server) setupEmailPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, "setup_email.title", &v.org, AddChooseView{Action: homeURL(v.org) + "setup/email", Email: maskEmail(v.user.Email)})
	s.show(w, http.StatusOK, "setup_email", p)
}

// setupEmail adds email when the user chooses it, or ends the setup.
func (s *Server) setupEmail(w http.ResponseWriter, r *http.Request, v *visit) {
	if r.PostFormValue("method") != policy.MethodEmail {
		s.finishSetup(w, r, v)
		return
	}
	s.startAddEmail(w, r, v)
}

// finishSetup ends the setup after a first authenticator: the sign-in
// completes, or the invitation page says all is ready.
func (s *Server) finishSetup(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Setup == setupSignIn {
		// The first sign-in's authenticator is an app (firstEnroll).
		s.signInDone(w, r, v, "added", MethodPassword, policy.MethodApp)
		return
	}
	s.endSession(w, r, store.Event{})
	to := homeURL(v.org) + "enrolled"
	if v.data.Setup == setupInvitedEmail {
		to += "?email=1"
	}
	redirect(w, r, to)
}

// enrolledPage says all is ready; ?email=1 words it for an email token,
// whose user keeps no app.
func (s *Server) enrolledPage(w http.ResponseWriter, r *http.Request, v *visit) {
	view := EnrollDoneView{LoginURL: loginURL(v.org), Email: r.URL.Query().Get("email") == "1", ContinueURL: v.org.ContinueURL}
	s.show(w, http.StatusOK, "enroll_done", s.page(w, r, "enroll_done.title", &v.org, view))
}

// replace starts replacing one of the user's authenticator apps with a
// new one: the new token is made now, the old one is revoked only when the
// new one's first code is accepted (Verifier.Replace). Shortly after
// signing in it is one step; later it asks what adding an authenticator
// asks first.
func (s *Server) replace(w http.ResponseWriter, r *http.Request, v *visit) {
	t, ok, err := s.userToken(r, v, r.PostFormValue("serial"))
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !ok || !replaceable(t) {
		s.fail(w, r, nil, http.StatusNotFound, "error.token_unknown", "error.token_unknown_next")
		return
	}
	if s.Clock.Now().Before(signedInAt(v.ses).Add(recentSignIn)) {
		s.toAddStep(w, r, v, sessionData{Add: addApp, Replace: t.Serial})
		return
	}
	s.startAdding(w, r, v, t.Serial)
}

// signedInAt is when the sign-in a session continues began: every later
// session of it keeps the absolute limit set then (startSession).
func signedInAt(ses store.Session) time.Time { return ses.ExpiresAt.Add(-sessionLifetime) }

// replaceable reports whether t is an authenticator app that a new one
// can replace.
func replaceable(t store.Token) bool {
	return t.State == store.TokenActive && (t.Type == "totp" || t.Type == "hotp")
}
