package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The enrollment page is reached from the invitation mail's link
// /enroll?code=…: it shows the token's QR code and takes its first code.

// enrollment looks up the enrollment of a link code and says why it cannot
// be used, if it cannot: "unknown", "replaced" (by a resend), "used",
// "cancelled" or "expired".
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
	case v.Replaced:
		return v, "replaced", nil
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
	if gone == "used" && en.Token.Type == "push" && s.pushActivated(w, r, en) {
		return en, false
	}
	if gone != "" {
		status, org, view := http.StatusGone, &en.Org, EnrollGoneView{Reason: gone}
		if gone == "unknown" {
			// No link, no organization to name.
			status, org = http.StatusNotFound, nil
		} else {
			view.LoginURL = loginURL(en.Org)
		}
		s.show(w, status, "enroll_gone", s.page(w, r, "enroll_gone.title", org, view))
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
	if has, _, err := s.passwordOf(r.Context(), en.Org, en.User.PasswordHash); err != nil || !has {
		return err == nil, err
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
	switch en.Token.Type {
	case "email":
		p := s.page(w, r, "enroll_email.title", &en.Org, nil)
		if r.URL.Query().Get("sent") == "1" {
			p.Flash = "flash.code_sent"
		}
		s.showEnrollEmail(w, r, en, code, p)
		return
	case "push":
		s.showEnrollPush(w, r, en, code)
		return
	}
	s.showEnroll(w, r, &visit{org: en.Org, user: en.User}, en.Token, invitationForm(code), refusal{})
}

// invitationForm is where the invitation page's code form posts.
func invitationForm(link string) enrollForm {
	return enrollForm{Action: "/enroll/verify", Hidden: map[string]string{"enrollment": link}}
}

// showEnrollEmail renders the page that turns on an email token: the
// button that mails the first code, then the field for it.
func (s *Server) showEnrollEmail(w http.ResponseWriter, r *http.Request, en store.EnrollmentView, code string, p page.Page) {
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

// enrollPushRefresh is how often the push enrollment page looks again
// whether the device has activated the token.
const enrollPushRefresh = 5

// showEnrollPush renders the page that adds a push token to the Twofold
// Authenticator: the activation string, its QR code and link, and the
// command-line app's command; there is no code to type. The page reloads
// itself until the device has activated the token, then this browser goes
// on with the setup (pushActivated), so it needs a session of this
// enrollment even for a user without a password.
func (s *Server) showEnrollPush(w http.ResponseWriter, r *http.Request, en store.EnrollmentView, code string) {
	v, ok, err := s.enrollVisit(r, en)
	if err == nil && !ok {
		err = s.startSession(w, r, v, stageEnroll, sessionData{Enrollment: en.Enrollment.ID})
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	a := push.Activation{URL: s.Admin.PublicURL, Code: strings.ToLower(strings.TrimSpace(code))}
	// The QR code carries the https form of the link, as the invitation
	// mail does: any phone's camera opens it, the string rides in the
	// fragment that no server sees, and the app reads it from a picture
	// (push.ParseActivationLink); a twofold-authenticator:// link means
	// nothing to a phone without the app, and some readers refuse it.
	link := a.AppLink()
	qr, err := qrDataURI(link)
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	str, self := a.String(), "/enroll?"+url.Values{"code": {code}}.Encode()
	view := EnrollPushView{
		Username: en.User.Username, Activation: str, QR: qr, AppLink: link,
		Command:  "twofold-authenticator enroll " + str,
		CheckURL: page.KeepRefresh(r, self), StopURL: page.StopRefresh(self), Refresh: page.RefreshEvery(r, enrollPushRefresh),
	}
	p := s.page(w, r, "enroll_push.title", &en.Org, view)
	p.Refresh = view.Refresh
	s.show(w, http.StatusOK, "enroll_push", p)
}

// pushActivated goes on, in the browser that was shown the push
// enrollment page, once the device has activated the token: with the
// setup after a first authenticator, as a first code typed on the page
// would. The link itself is spent by then, so only that browser's session
// of the enrollment leads on; it reports whether it answered the request.
func (s *Server) pushActivated(w http.ResponseWriter, r *http.Request, en store.EnrollmentView) bool {
	if en.Token.State != store.TokenActive || en.Enrollment.Status != store.EnrollmentCompleted {
		return false
	}
	v, ok, err := s.enrollVisit(r, en)
	if err != nil {
		s.unavailable(w, r, err)
		return true
	}
	if !ok {
		return false
	}
	s.rememberLanguage(w, r, en.User)
	s.startSetup(w, r, v, setupInvited)
	return true
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
	started, err := s.remail(r, v, s.startEmail(true))
	switch {
	case started && has:
		err = s.setData(r, v)
	case started:
		err = s.startSession(w, r, v, stageEnroll, v.data)
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
		p.Error, p.ErrorField = "error.password_wrong", "password"
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
	if en.Token.Type == "push" {
		// Only the device's activation turns a push token on: a code typed
		// here would make it active with no device to answer its pushes.
		redirect(w, r, "/enroll?"+url.Values{"code": {link}}.Encode())
		return
	}
	v, _, err := s.enrollVisit(r, en)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if en.Token.Type == "email" {
		// The page mailed the first code; it answers the session's challenge.
		if v.data.TxHash == nil {
			redirect(w, r, "/enroll?"+url.Values{"code": {link}}.Encode())
			return
		}
		req := v.request(r, r.PostFormValue("code"))
		req.TransactionHash = v.data.TxHash
		out, err := s.Verifier.Activate(r.Context(), req, en.Token.Serial)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !out.Accepted {
			p := s.page(w, r, "enroll_email.title", &en.Org, nil)
			codeRefused(p.Lang, p.Loc, out, s.Clock.Now()).onto(&p)
			s.showEnrollEmail(w, r, en, link, p)
			return
		}
		s.notify(r, "token_added", v, i18n.T(v.user.Language, "token.type.email"))
	} else if !s.activate(w, r, v, en.Token, invitationForm(link)) {
		return
	}
	s.rememberLanguage(w, r, en.User)
	setup := setupInvited
	if en.Token.Type == "email" {
		setup = setupInvitedEmail
	}
	s.startSetup(w, r, v, setup)
}

// enrollForm is where the enrollment page's code form posts, with its
// hidden fields.
type enrollForm struct {
	Action string
	Hidden map[string]string
}

// showEnroll renders the page that adds token t of v's user to an
// authenticator app. The name field is prefilled from the platform chosen
// and the date, and the QR code's label carries that name, so that two
// phones' entries differ in the app as on the dashboard. why says why its
// first code was refused, if it was.
func (s *Server) showEnroll(w http.ResponseWriter, r *http.Request, v *visit, t store.Token, form enrollForm, why refusal) {
	key, err := s.Keys.Open(t.Secret, store.SecretAD(t))
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	defer clear(key)
	// A phone type chosen stays chosen after a refused code: the form
	// posts it in its address.
	platform := r.URL.Query().Get("platform")
	if platform == "android" || platform == "iphone" || platform == "other" {
		form.Action += "?" + url.Values{"platform": {platform}}.Encode()
	} else {
		platform = guessPlatform(r.UserAgent())
	}
	lang := page.Lang(w, r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		if name, err = s.defaultTokenName(r, v, t, lang, platform); err != nil {
			s.unavailable(w, r, err)
			return
		}
	}
	period := time.Duration(t.Period) * time.Second
	uri := otp.Key{Type: t.Type, Issuer: v.org.Name, Account: v.user.Username + " (" + name + ")", Secret: key,
		Algorithm: otp.Algorithm(t.Algorithm), Digits: t.Digits, Period: period}.URI()
	qr, err := qrDataURI(uri)
	if err != nil {
		s.fail(w, r, err, http.StatusInternalServerError, "error.internal", "error.internal_next")
		return
	}
	urls := make(map[string]string, 3)
	if self, ok := forms.URL(r); ok {
		for _, p := range []string{"android", "iphone", "other"} {
			u := page.WithQuery(self, "platform", p)
			urls[p] = u.String()
		}
	}
	view := EnrollView{
		Action: form.Action, Hidden: form.Hidden, Username: v.user.Username, QR: qr, URI: template.URL(uri), // our own otpauth: URI, which html/template would otherwise refuse
		Secret: otp.GroupSecret(key), Type: t.Type, Digits: t.Digits, Period: t.Period, Algorithm: t.Algorithm,
		Platform: platform, PlatformURLs: urls, Name: name, NameMax: admin.MaxTokenName,
	}
	if v.ses.Stage == stageFirstEnroll {
		pol, ok := s.policy(w, r, v.org)
		if !ok {
			return
		}
		if may, err := s.mayClaim(r, v, pol); err != nil {
			s.unavailable(w, r, err)
			return
		} else if may {
			view.ClaimURL = loginURL(v.org) + "/claim"
		}
	}
	if v.data.Replace != "" {
		old, ok, err := s.userToken(r, v, v.data.Replace)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if ok {
			view.Replaces = tokenLabel(old)
		}
	}
	p := s.page(w, r, "enroll.title", &v.org, view)
	why.onto(&p)
	s.show(w, http.StatusOK, "enroll", p)
}

// platformNames are the catalogue keys of what a token on each platform
// is called by default.
var platformNames = map[string]string{"android": "enroll.name_android", "iphone": "enroll.name_iphone", "other": "enroll.name_other"}

// defaultTokenName is the name a new token is offered: the platform and
// the date ("iPhone, 24 November 2026"), with a number added when another
// of the user's authenticators has that name already.
func (s *Server) defaultTokenName(r *http.Request, v *visit, t store.Token, lang, platform string) (string, error) {
	if t.Name != "" {
		return t.Name, nil
	}
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		return "", err
	}
	base := i18n.T(lang, "enroll.name_default", i18n.T(lang, platformNames[platform]), i18n.Date(lang, page.Location(v.org), s.Clock.Now()))
	name := base
	for n := 2; slices.ContainsFunc(ts, func(o store.Token) bool { return o.State != store.TokenRevoked && o.Name == name }); n++ {
		name = base + " (" + strconv.Itoa(n) + ")"
	}
	return name, nil
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
	if lang := page.Lang(w, r); lang != u.Language {
		if err := s.Store.SetLanguage(r.Context(), u.ID, lang); err != nil {
			s.Log.Warn("remember language", "err", err)
		}
	}
}
