package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The enrollment page is reached from the invitation mail's link
// /enroll?code=…: it shows the token's QR code and takes its first code.

// enrollment looks up the enrollment of a link code and says why it cannot
// be used, if it cannot: "unknown", "used", "cancelled" or "expired".
func (s *Server) enrollment(r *http.Request, code string) (store.EnrollmentView, string, error) {
	code = strings.ToLower(strings.TrimSpace(code))
	if code == "" {
		return store.EnrollmentView{}, "unknown", nil
	}
	v, err := s.Store.EnrollmentByCodeHash(r.Context(), secret.HashToken(code))
	switch {
	case isNotFound(err):
		return v, "unknown", nil
	case err != nil:
		return v, "", err
	case v.Enrollment.Status == store.EnrollmentCompleted || v.Token.State == store.TokenActive:
		return v, "used", nil
	case v.Enrollment.Status == store.EnrollmentCancelled || v.Token.State != store.TokenAssigned || v.User.Status != store.UserActive:
		return v, "cancelled", nil
	case v.Enrollment.Status == store.EnrollmentExpired || !s.Clock.Now().Before(v.Enrollment.ExpiresAt):
		return v, "expired", nil
	}
	return v, "", nil
}

// usableEnrollment answers the request itself when the link cannot be
// used, and reports whether it can.
func (s *Server) usableEnrollment(w http.ResponseWriter, r *http.Request, code string) (store.EnrollmentView, bool) {
	en, gone, err := s.enrollment(r, code)
	if err != nil {
		s.unavailable(w, r, err)
		return en, false
	}
	if gone != "" {
		status := http.StatusGone
		if gone == "unknown" {
			status = http.StatusNotFound
		}
		s.show(w, status, "enroll_gone", s.page(w, r, "enroll_gone.title", nil, EnrollGoneView{Reason: gone}))
		return en, false
	}
	return en, true
}

// enrollVisit loads this browser's session for the enrollment; ok is
// false when it has none (yet), and v is then the enrollment's user
// without a session, whatever other session the browser has.
func (s *Server) enrollVisit(r *http.Request, en store.EnrollmentView) (v *visit, ok bool, err error) {
	v = &visit{org: en.Org}
	ok, err = s.loadSession(r, v)
	if err != nil || !ok || v.ses.Stage != stageEnroll || v.data.Enrollment != en.Enrollment.ID || v.user.ID != en.User.ID {
		return &visit{org: en.Org, user: en.User}, false, err
	}
	return v, true, nil
}

// passwordChecked reports whether this browser has proven the user's
// password for the enrollment, when the user has one.
func (s *Server) passwordChecked(r *http.Request, en store.EnrollmentView) (bool, error) {
	if en.User.PasswordHash == "" {
		return true, nil
	}
	_, ok, err := s.enrollVisit(r, en)
	return ok, err
}

// openEnrollment finds the usable enrollment of a link code and whether
// this browser has proven the user's password; when ok is false it has
// answered the request itself.
func (s *Server) openEnrollment(w http.ResponseWriter, r *http.Request, code string) (en store.EnrollmentView, checked, ok bool) {
	if en, ok = s.usableEnrollment(w, r, code); !ok {
		return en, false, false
	}
	checked, err := s.passwordChecked(r, en)
	if err != nil {
		s.unavailable(w, r, err)
		return en, false, false
	}
	return en, checked, true
}

func (s *Server) enrollPage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	en, checked, ok := s.openEnrollment(w, r, code)
	if !ok {
		return
	}
	if !checked {
		s.show(w, http.StatusOK, "enroll_password", s.page(w, r, "enroll_password.title", &en.Org,
			EnrollPasswordView{Code: code, Username: en.User.Username}))
		return
	}
	if en.Token.Type == "email" {
		p := s.page(w, r, "enroll_email.title", &en.Org, nil)
		if r.URL.Query().Get("sent") == "1" {
			p.Flash = "flash.code_sent"
		}
		s.showEnrollEmail(w, r, en, code, p)
		return
	}
	s.showEnroll(w, r, http.StatusOK, en.Org, en.User, en.Token, "/enroll/verify", map[string]string{"enrollment": code}, "", "")
}

// showEnrollEmail renders the page that turns on an email token: the
// button that mails the first code, then the field for it.
func (s *Server) showEnrollEmail(w http.ResponseWriter, r *http.Request, en store.EnrollmentView, code string, p Page) {
	v, ok, err := s.enrollVisit(r, en)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	pol, polOK := s.policy(w, r, en.Org)
	if !polOK {
		return
	}
	p.Data = EnrollEmailView{Enrollment: code, Action: "/enroll/verify", SendAction: "/enroll/email",
		Email: maskEmail(en.User.Email), Sent: ok && v.data.TxHash != nil, PIN: pol.PINMode == policy.PINServer}
	s.show(w, http.StatusOK, "enroll_email", p)
}

// enrollSendCode mails the first code of an email token, or a new one in
// place of the last; the browser's session remembers which challenge it is.
func (s *Server) enrollSendCode(w http.ResponseWriter, r *http.Request) {
	link := r.PostFormValue("enrollment")
	en, checked, ok := s.openEnrollment(w, r, link)
	if !ok {
		return
	}
	back := "/enroll?" + url.Values{"code": {link}}.Encode()
	if !checked || en.Token.Type != "email" {
		redirect(w, r, back)
		return
	}
	v, has, err := s.enrollVisit(r, en)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !has {
		v.data = sessionData{Enrollment: en.Enrollment.ID}
	}
	err = auth.ErrNoChallenge
	if v.data.TxHash != nil {
		req := v.request(r, "")
		req.TransactionHash = v.data.TxHash
		err = s.Verifier.ResendEmail(r.Context(), req)
	}
	if errors.Is(err, auth.ErrNoChallenge) {
		var txid string
		if txid, err = s.Verifier.StartEmail(r.Context(), v.request(r, ""), true); err == nil {
			v.data.keepTx(txid)
			if has {
				err = s.setData(r, v)
			} else {
				err = s.startSession(w, r, v, stageEnroll, v.data)
			}
		}
	}
	if errors.Is(err, auth.ErrTooSoon) {
		p := s.page(w, r, "enroll_email.title", &en.Org, nil)
		p.Error = "error.resend_wait"
		s.showEnrollEmail(w, r, en, link, p)
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, back+"&sent=1")
}

// enrollPassword checks the user's password before the QR code is shown.
func (s *Server) enrollPassword(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("code")
	en, ok := s.usableEnrollment(w, r, code)
	if !ok {
		return
	}
	req := portalRequest(r, en.Org, en.User.Username, "")
	req.Password, req.Actor = r.PostFormValue("password"), "enroll"
	out, err := s.Verifier.CheckPassword(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		p := s.page(w, r, "enroll_password.title", &en.Org, EnrollPasswordView{Code: code, Username: en.User.Username})
		p.Error = "error.password_wrong"
		s.show(w, http.StatusOK, "enroll_password", p)
		return
	}
	v := &visit{org: en.Org, user: en.User}
	s.advance(w, r, v, stageEnroll, sessionData{Enrollment: en.Enrollment.ID}, "/enroll?"+url.Values{"code": {code}}.Encode())
}

// enrollVerify takes the first code; a correct one activates the token.
func (s *Server) enrollVerify(w http.ResponseWriter, r *http.Request) {
	link := r.PostFormValue("enrollment")
	en, checked, ok := s.openEnrollment(w, r, link)
	if !ok {
		return
	}
	if !checked {
		redirect(w, r, "/enroll?"+url.Values{"code": {link}}.Encode())
		return
	}
	v, _, err := s.enrollVisit(r, en)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	req := v.request(r, r.PostFormValue("code"))
	email := en.Token.Type == "email"
	if email {
		if v.data.TxHash == nil {
			redirect(w, r, "/enroll?"+url.Values{"code": {link}}.Encode())
			return
		}
		req.TransactionHash = v.data.TxHash
	}
	out, err := s.Verifier.Activate(r.Context(), req, en.Token.Serial)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted && email {
		p := s.page(w, r, "enroll_email.title", &en.Org, nil)
		p.Error = codeError(out.Reason)
		s.showEnrollEmail(w, r, en, link, p)
		return
	}
	if !out.Accepted {
		s.showEnroll(w, r, http.StatusOK, en.Org, en.User, en.Token, "/enroll/verify", map[string]string{"enrollment": link},
			codeError(out.Reason), "hint.clock")
		return
	}
	s.endSession(w, r, store.Event{})
	s.rememberLanguage(w, r, en.User)
	s.show(w, http.StatusOK, "enroll_done", s.page(w, r, "enroll_done.title", &en.Org,
		EnrollDoneView{LoginURL: "/o/" + en.Org.Slug + "/login", Email: email}))
}

// codeError is the message for a refused code: malformed input is told
// apart, every other refusal is the one answer.
func codeError(reason error) string {
	if errors.Is(reason, auth.ErrMalformed) {
		return "error.code_malformed"
	}
	return "error.code_wrong"
}

// showEnroll renders the page that adds token t to an authenticator app.
func (s *Server) showEnroll(w http.ResponseWriter, r *http.Request, status int, org store.Org, u store.User, t store.Token, action string, hidden map[string]string, errKey, hint string) {
	key, err := s.Keys.Open(t.Secret, store.SecretAD(t))
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	defer clear(key)
	period := time.Duration(t.Period) * time.Second
	uri := otp.Key{Type: t.Type, Issuer: org.Name, Account: u.Username, Secret: key,
		Algorithm: otp.Algorithm(t.Algorithm), Digits: t.Digits, Period: period}.URI()
	qr, err := qrDataURI(uri)
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	platform := r.URL.Query().Get("platform")
	if platform != "android" && platform != "iphone" && platform != "other" {
		platform = guessPlatform(r.UserAgent())
	}
	urls := make(map[string]string, 3)
	for _, p := range []string{"android", "iphone", "other"} {
		q := r.URL.Query()
		q.Set("platform", p)
		urls[p] = r.URL.Path + "?" + q.Encode()
	}
	view := EnrollView{
		Action: action, Hidden: hidden, Username: u.Username, QR: qr, URI: template.URL(uri), // our own otpauth: URI, which html/template would otherwise refuse
		Secret: otp.GroupSecret(key), Type: t.Type, Digits: t.Digits, Period: t.Period, Algorithm: t.Algorithm,
		Platform: platform, PlatformURLs: urls, Hint: hint,
	}
	p := s.page(w, r, "enroll.title", &org, view)
	p.Error = errKey
	s.show(w, status, "enroll", p)
}

// guessPlatform picks the instructions to show first from the browser's
// User-Agent; the person can choose others.
func guessPlatform(ua string) string {
	switch {
	case strings.Contains(ua, "Android"):
		return "android"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return "iphone"
	}
	return "other"
}

// rememberLanguage stores the page language as the user's mail language.
func (s *Server) rememberLanguage(w http.ResponseWriter, r *http.Request, u store.User) {
	if lang := s.lang(w, r); lang != u.Language {
		if err := s.Store.SetLanguage(r.Context(), u.ID, lang); err != nil {
			s.Log.Warn("remember language", "err", err)
		}
	}
}
