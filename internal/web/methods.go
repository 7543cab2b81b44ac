package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The ways to sign in at the code step, besides the policy's methods:
// backup codes, and the temporary code the helpdesk gives a user who lost
// their authenticator.
const (
	methodBackup = "backup"
	methodTemp   = "temp"
)

// hasTempCode reports whether the user holds a temporary code that still
// works. A database error is returned as it is: each caller decides which
// answer fails closed.
func (s *Server) hasTempCode(r *http.Request, v *visit) (bool, error) {
	_, err := s.Store.LiveTempCode(r.Context(), v.user.ID, s.Clock.Now())
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// methods lists the ways the user can give a second factor, in the order
// the code page shows them: the authenticator app, email (when the policy
// allows it), push (when the policy allows it, offered to a user with the
// Twofold Authenticator), text message (shown, not offered yet), a temporary
// code from the helpdesk while one works, and backup codes while some are
// left. A user whose only app is the Twofold Authenticator is offered its
// codes after push, which they are the stand-in for when the device is
// offline.
func (s *Server) methods(r *http.Request, v *visit, pol policy.Policy) ([]MethodChoice, error) {
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		return nil, err
	}
	var app, email, device bool
	for _, t := range ts {
		if t.State != store.TokenActive {
			continue
		}
		switch t.Type {
		case "totp", "hotp":
			app = true
		case "email":
			email = true
		case "push":
			device = true
		}
	}
	var out []MethodChoice
	typed := MethodChoice{Code: policy.MethodApp}
	if app {
		out = append(out, typed)
	}
	if email && pol.Allows(policy.MethodEmail) && v.user.Email != "" {
		out = append(out, MethodChoice{Code: policy.MethodEmail, Weaker: true, Email: maskEmail(v.user.Email)})
	}
	if pol.Allows(policy.MethodPush) {
		c := MethodChoice{Code: policy.MethodPush}
		if !device {
			c.Disabled, c.Reason = true, "method.push_unavailable"
		}
		out = append(out, c)
	}
	if device && !app {
		out = append(out, typed)
	}
	if pol.Allows(policy.MethodSMS) {
		// No text message provider ships yet.
		out = append(out, MethodChoice{Code: policy.MethodSMS, Disabled: true, Reason: "method.sms_unavailable"})
	}
	temp, err := s.hasTempCode(r, v)
	if err != nil {
		return nil, err
	}
	if temp {
		out = append(out, MethodChoice{Code: methodTemp})
	}
	left, err := s.Store.BackupCodesLeft(r.Context(), v.user.ID)
	if err != nil {
		return nil, err
	}
	if left > 0 {
		out = append(out, MethodChoice{Code: methodBackup})
	}
	return out, nil
}

// offered reports whether m is one of the enabled choices.
func offered(choices []MethodChoice, m string) bool {
	for _, c := range choices {
		if c.Code == m && !c.Disabled {
			return true
		}
	}
	return false
}

// defaultMethod is the method the code step opens with: the one used last
// when it is still offered, else the first one offered; the app when none
// is. Backup codes and temporary codes are never it by being used last:
// they are for when the other ways are lost. Email is it only when a code is on its way (sent),
// unless no other way is offered, so that the step does not open on a code
// that was never mailed.
func defaultMethod(choices []MethodChoice, last string, sent bool) string {
	usable := func(m string) bool { return offered(choices, m) && (m != policy.MethodEmail || sent) }
	if last != methodBackup && last != methodTemp && usable(last) {
		return last
	}
	for _, c := range choices {
		if usable(c.Code) {
			return c.Code
		}
	}
	for _, c := range choices {
		if !c.Disabled {
			return c.Code
		}
	}
	return policy.MethodApp
}

func (s *Server) codePage(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Method == policy.MethodPush && v.data.PushHash != nil && s.collectPush(w, r, v) {
		return
	}
	p := s.page(w, r, "login_code.title", &v.org, nil)
	if r.URL.Query().Get("sent") == "1" {
		p.Flash = "flash.code_sent"
	}
	// The reason the login's push was not sent; anything else shows
	// nothing, so a link cannot put words on the page.
	p.Error = pushNotSent[r.URL.Query().Get("push")]
	s.showCode(w, r, v, p)
}

// showCode renders the code step for the session's method.
func (s *Server) showCode(w http.ResponseWriter, r *http.Request, v *visit, p page.Page) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	choices, err := s.methods(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	method := v.data.Method
	if !offered(choices, method) {
		method = defaultMethod(choices, v.user.LastMethod, v.data.TxHash != nil)
	}
	base := loginURL(v.org)
	view := CodeView{
		Action: base + "/code", Method: method, MethodAction: base + "/method", ResendAction: base + "/resend",
		Email: maskEmail(v.user.Email), Sent: method == policy.MethodEmail && v.data.TxHash != nil,
		PIN: pol.PINMode == policy.PINServer,
	}
	if method == policy.MethodPush {
		if typed := typedMethod(choices, v); offered(choices, typed) {
			view.Instead = typed
		}
		if v.data.PushHash != nil {
			view.Push = &PushView{Number: v.data.PushNumber, CheckAction: page.KeepRefresh(r, base+"/push"),
				Refresh: page.RefreshEvery(r, pushRefresh), StopURL: page.StopRefresh(base + "/code")}
			p.Refresh = view.Push.Refresh
		}
	}
	if len(choices) > 1 {
		for _, c := range choices {
			c.Current = c.Code == method
			view.Methods = append(view.Methods, c)
		}
	}
	p.Title, p.Data = "login_code.title", view
	if method == policy.MethodEmail {
		p.Title = "login_code.email_title"
	} else if method == methodBackup {
		p.Title = "login_code.backup_title"
	} else if method == methodTemp {
		p.Title = "login_code.temp_title"
	} else if method == policy.MethodPush {
		p.Title = "login_code.push_title"
	}
	s.show(w, http.StatusOK, "login_code", p)
}

// code checks the second factor of a two-step login. An app code and a
// backup code go in the same field; an emailed code answers the session's
// challenge.
func (s *Server) code(w http.ResponseWriter, r *http.Request, v *visit) {
	req := v.request(r, r.PostFormValue("code"))
	if v.data.Method == policy.MethodEmail {
		req.TransactionHash = v.data.TxHash
	}
	out, err := s.Verifier.Verify(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		p := s.page(w, r, "login_code.title", &v.org, nil)
		codeRefused(p.Lang, p.Loc, out, s.Clock.Now()).onto(&p)
		if v.data.Method == methodBackup && p.Error == "error.code_malformed" {
			p.Error = "error.backup_malformed"
		}
		s.showCode(w, r, v, p)
		return
	}
	// A backup or temporary code is not remembered as the way to sign in:
	// the next sign-in opens with the authenticator again (defaultMethod).
	if out.Method != "" && out.Method != methodBackup && out.Method != methodTemp {
		if err := s.Store.SetLastMethod(r.Context(), v.user.ID, out.Method); err != nil {
			s.Log.Warn("last method not saved", "user", v.user.Username, "err", err)
		}
	}
	s.signInDone(w, r, v, usedDone(out), MethodPassword, out.Method)
}

// usedDone is the ?done= notice of a sign-in with out: a backup code (the
// core has mailed the notice) or a temporary code was used.
func usedDone(out auth.Outcome) string {
	switch out.Method {
	case methodBackup:
		return "backup_used"
	case methodTemp:
		return "temp_used"
	}
	return ""
}

// chooseMethod switches the code step to another method; choosing email
// mails a code.
func (s *Server) chooseMethod(w http.ResponseWriter, r *http.Request, v *visit) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	choices, err := s.methods(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	method := r.PostFormValue("method")
	if !offered(choices, method) {
		redirect(w, r, loginURL(v.org)+"/code")
		return
	}
	v.data.Method = method
	errKey := ""
	if method == policy.MethodPush {
		// Chosen again, it sends a new push: the person asked for one.
		var why string
		if why, err = s.startPush(r, v); err != nil {
			s.unavailable(w, r, err)
			return
		}
		if why != "" {
			errKey, v.data.Method = pushNotSent[why], typedMethod(choices, v)
		}
	} else {
		v.data.PushHash, v.data.PushNumber = nil, 0
	}
	if method == policy.MethodEmail && v.data.TxHash == nil {
		var txid string
		txid, err = s.Verifier.StartEmail(r.Context(), v.request(r, ""), false)
		v.data.keepTx(txid)
		switch {
		case errors.Is(err, auth.ErrTooSoon):
			errKey = "error.resend_wait"
		case errors.Is(err, auth.ErrNoEmailToken):
			errKey = "error.email_unavailable"
		case err != nil:
			s.unavailable(w, r, err)
			return
		}
	}
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	if errKey != "" {
		p := s.page(w, r, "login_code.title", &v.org, nil)
		p.Error = errKey
		s.showCode(w, r, v, p)
		return
	}
	redirect(w, r, loginURL(v.org)+"/code")
}

// resendCode mails a new code for the session's challenge; the older one
// stops working. A challenge that has gone (used up or expired) is
// replaced by a new one.
func (s *Server) resendCode(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Method != policy.MethodEmail {
		redirect(w, r, loginURL(v.org)+"/code")
		return
	}
	started, err := s.remail(r, v, s.startEmail(false))
	if started {
		err = s.setData(r, v)
	}
	if errors.Is(err, auth.ErrTooSoon) || errors.Is(err, auth.ErrNoEmailToken) {
		p := s.page(w, r, "login_code.title", &v.org, nil)
		p.Error = "error.resend_wait"
		if errors.Is(err, auth.ErrNoEmailToken) {
			p.Error = "error.email_unavailable"
		}
		s.showCode(w, r, v, p)
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, loginURL(v.org)+"/code?sent=1")
}

// needsPIN reports whether the user must choose a server PIN before going
// on: the policy asks for one and the user has none, or has one the
// operator assigned.
func needsPIN(pol policy.Policy, u store.User) bool {
	return pol.PINMode == policy.PINServer && (u.PINHash == "" || u.PINMustChange)
}

func pinRules(pol policy.Policy) PINRules {
	return PINRules{Min: pol.PINMinLength, Max: pol.PINMaxLength, DigitsOnly: pol.PINDigitsOnly}
}

// pinError checks a new PIN against the policy and says what is wrong
// with it: a catalogue key, the field it is about and its arguments, or ""
// when it is allowed.
func pinError(pol policy.Policy, pin, confirm string) (key, field string, args []any) {
	if pin != confirm {
		return "error.pin_mismatch", "new_pin_confirm", nil
	}
	if admin.CheckPIN(pol, pin) == nil {
		return "", "", nil
	}
	if len(pin) < pol.PINMinLength || len(pin) > pol.PINMaxLength {
		return "error.pin_length", "new_pin", []any{pol.PINMinLength, pol.PINMaxLength}
	}
	if pol.PINDigitsOnly {
		return "error.pin_digits", "new_pin", nil
	}
	return "error.pin_chars", "new_pin", nil
}

func (s *Server) setPINPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showSetPIN(w, r, v, "", "", nil)
}

func (s *Server) showSetPIN(w http.ResponseWriter, r *http.Request, v *visit, errKey, field string, args []any) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	p := s.page(w, r, "pin.title", &v.org, PINView{Action: loginURL(v.org) + "/pin", MustChange: v.user.PINHash != "", Rules: pinRules(pol)})
	p.User, p.Error, p.ErrorField, p.ErrorArgs = v.user.Username, errKey, field, args
	s.show(w, http.StatusOK, "pin", p)
}

// setPIN sets the PIN chosen in the step after signing in, then goes on
// to the dashboard. The user proved both factors already.
func (s *Server) setPIN(w http.ResponseWriter, r *http.Request, v *visit) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	pin, confirm := r.PostFormValue("new_pin"), r.PostFormValue("new_pin_confirm")
	if key, field, args := pinError(pol, pin, confirm); key != "" {
		s.showSetPIN(w, r, v, key, field, args)
		return
	}
	if _, err := s.userAdmin(v).SetPIN(r.Context(), v.org, v.user.Username, pin, true); err != nil {
		s.unavailable(w, r, err)
		return
	}
	done := v.data.Done
	if done == "" {
		done = "pin"
	}
	s.advance(w, r, v, stageFull, sessionData{}, homeURL(v.org)+"?done="+url.QueryEscape(done))
}

// changePIN changes the server PIN from the dashboard: the current PIN,
// when there is one, proves it is the user; each try counts against the
// lockout like any other guess.
func (s *Server) changePIN(w http.ResponseWriter, r *http.Request, v *visit) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	showError := func(key, field string, args []any) {
		p := s.page(w, r, "dashboard.title", &v.org, nil)
		p.Error, p.ErrorField, p.ErrorForm, p.ErrorArgs = key, field, "dashboard.pin", args
		s.dashboardWith(w, r, v, p)
	}
	if pol.PINMode != policy.PINServer {
		redirect(w, r, homeURL(v.org))
		return
	}
	pin, confirm := r.PostFormValue("new_pin"), r.PostFormValue("new_pin_confirm")
	if key, field, args := pinError(pol, pin, confirm); key != "" {
		showError(key, field, args)
		return
	}
	if v.user.PINHash != "" {
		out, err := s.Verifier.CheckPIN(r.Context(), v.request(r, r.PostFormValue("pin")))
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !out.Accepted {
			showError("error.pin_wrong", "pin", nil)
			return
		}
	}
	if _, err := s.userAdmin(v).SetPIN(r.Context(), v.org, v.user.Username, pin, true); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"?done=pin")
}

// toAddChoose goes on, after the password, to the choice between an
// authenticator app, email and a hardware token — or straight to the app
// when it is the only one possible.
func (s *Server) toAddChoose(w http.ResponseWriter, r *http.Request, v *visit) {
	view, ok := s.addChoices(w, r, v)
	if !ok {
		return
	}
	// A replacement is an authenticator app for one.
	if (view.Email == "" && !view.Hardware) || v.data.Replace != "" {
		s.toAddStep(w, r, v, sessionData{Add: addApp, Replace: v.data.Replace})
		return
	}
	s.toAddStep(w, r, v, sessionData{Add: addChoose})
}

// addChoices is what the user may add besides an authenticator app.
func (s *Server) addChoices(w http.ResponseWriter, r *http.Request, v *visit) (AddChooseView, bool) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return AddChooseView{}, false
	}
	view := AddChooseView{Action: homeURL(v.org) + "add/choose"}
	email, err := s.mayAddEmail(r, v, pol)
	if err == nil {
		view.Hardware, err = s.mayClaim(r, v, pol)
	}
	if err != nil {
		s.unavailable(w, r, err)
		return view, false
	}
	if email {
		view.Email = maskEmail(v.user.Email)
	}
	return view, true
}

func (s *Server) addChoosePage(w http.ResponseWriter, r *http.Request, v *visit) {
	view, ok := s.addChoices(w, r, v)
	if !ok {
		return
	}
	p := s.page(w, r, "add_choose.title", &v.org, view)
	p.User = v.user.Username
	s.show(w, http.StatusOK, "add_choose", p)
}

// addChoose goes on with the app, email or a hardware token.
func (s *Server) addChoose(w http.ResponseWriter, r *http.Request, v *visit) {
	switch r.PostFormValue("method") {
	case policy.MethodEmail:
		s.startAddEmail(w, r, v)
	case addHardware:
		s.toAddStep(w, r, v, sessionData{Add: addHardware})
	default:
		s.toAddStep(w, r, v, sessionData{Add: addApp})
	}
}

// startAddEmail enrolls an email token and mails its first code, from the
// dashboard's adding or from the setup after a first authenticator.
func (s *Server) startAddEmail(w http.ResponseWriter, r *http.Request, v *visit) {
	en, err := s.userAdmin(v).EnrollSelf(r.Context(), v.org, v.user.Username, "email", "")
	if errors.Is(err, admin.ErrInvalid) {
		if v.ses.Stage == stageSetup {
			s.finishSetup(w, r, v)
			return
		}
		s.toAddStep(w, r, v, sessionData{Add: addApp})
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	txid, err := s.Verifier.StartEmail(r.Context(), v.request(r, ""), true)
	if err != nil && !errors.Is(err, auth.ErrTooSoon) {
		s.unavailable(w, r, err)
		return
	}
	data := sessionData{Add: addEmail, Serial: en.Token.Serial, Setup: v.data.Setup}
	data.keepTx(txid)
	s.toAddStep(w, r, v, data)
}

func (s *Server) addEmailPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, "add_email.title", &v.org, nil)
	if r.URL.Query().Get("sent") == "1" {
		p.Flash = "flash.code_sent"
	}
	if v.data.TxHash == nil {
		// No code could be sent yet: the verification code of this same
		// adding went out a moment ago, from the same send allowance.
		p.Error = "error.resend_wait"
	}
	s.showAddEmail(w, r, v, p)
}

func (s *Server) showAddEmail(w http.ResponseWriter, r *http.Request, v *visit, p page.Page) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	base := homeURL(v.org) + "add/email"
	p.Data = AddEmailView{Action: base, ResendAction: base + "/resend", Email: maskEmail(v.user.Email), PIN: pol.PINMode == policy.PINServer}
	p.User = v.user.Username
	s.show(w, http.StatusOK, "add_email", p)
}

// addEmail checks the first emailed code, which activates the email token.
func (s *Server) addEmail(w http.ResponseWriter, r *http.Request, v *visit) {
	req := v.request(r, r.PostFormValue("code"))
	req.TransactionHash = v.data.TxHash
	out, err := s.Verifier.Activate(r.Context(), req, v.data.Serial)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !out.Accepted {
		p := s.page(w, r, "add_email.title", &v.org, nil)
		codeRefused(p.Lang, p.Loc, out, s.Clock.Now()).onto(&p)
		s.showAddEmail(w, r, v, p)
		return
	}
	s.notify(r, "token_added", v, i18n.T(v.user.Language, "token.type.email"))
	if v.ses.Stage == stageSetup {
		s.finishSetup(w, r, v)
		return
	}
	v.data = sessionData{}
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"?done=added_email")
}

func (s *Server) addEmailResend(w http.ResponseWriter, r *http.Request, v *visit) {
	started, err := s.remail(r, v, s.startEmail(true))
	if started {
		err = s.setData(r, v)
	}
	if errors.Is(err, auth.ErrTooSoon) {
		p := s.page(w, r, "add_email.title", &v.org, nil)
		p.Error = "error.resend_wait"
		s.showAddEmail(w, r, v, p)
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, homeURL(v.org)+"add/email?sent=1")
}
