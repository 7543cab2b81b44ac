package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// LoginView is the console's sign-in (page "login"): the form posts
// username, password, code, next and csrf_token to Action. An operator
// signs in with the password and a code every time: a console session is
// never taken over from the portal's.
type LoginView struct {
	Action   string
	Username string
	Next     string // the console page to continue to
	Portal   string // the organization's portal, where an authenticator is set up
	Provider bool   // the service provider's console
	// Forgot is the portal's page that sets a new password by mail, when
	// the policy offers it: also the way in for an operator added
	// without a password.
	Forgot string
}

// ReauthView asks the signed-in operator for the password and a code
// again before a sensitive change (page "reauth"): password, code, next
// and csrf_token to Action.
type ReauthView struct {
	Action string
	Next   string
	Cancel string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if ok, err := s.loadSession(r, v); err == nil && ok {
		page.Redirect(w, r, s.next(r, v))
		return
	}
	s.showLogin(w, r, v, "", page.Page{})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, v *visit, username string, refused page.Page) {
	view := LoginView{
		Action: v.home() + "login", Username: username, Next: s.next(r, v),
		Portal: "/o/" + v.org.Slug + "/", Provider: scopeOf(v.org) == providerScope,
	}
	if pol, err := policy.Parse(v.org.Policy); err == nil && pol.PasswordReset {
		view.Forgot = "/o/" + v.org.Slug + "/login/forgot"
	}
	p := s.page(w, r, v, "console.login.title", view)
	p.Error, p.ErrorField = refused.Error, refused.ErrorField
	status := http.StatusOK
	if p.Error != "" {
		status = http.StatusUnauthorized
	}
	s.show(w, status, "login", p)
}

// login signs an operator in with their password and a code, through
// the same verification core as every sign-in (lockout, replay, throttle),
// then checks that their role lets them use this console.
func (s *Server) login(w http.ResponseWriter, r *http.Request, v *visit) {
	username := strings.TrimSpace(r.PostFormValue("username"))
	out, ok := s.verify(w, r, v, username)
	if !ok {
		return
	}
	if !out.Accepted {
		s.showLogin(w, r, v, username, refusal(out))
		return
	}
	op, err := s.Admin.User(r.Context(), v.org, username)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if !permitted(scopeOf(v.org), op.Role, "") {
		s.fail(w, r, nil, http.StatusForbidden, "console.error.not_operator", "console.error.not_operator_next")
		return
	}
	v.op = op
	now := s.Clock.Now()
	data, _ := json.Marshal(sessionData{AuthAt: now.UnixMilli()})
	ses := store.Session{OrgID: v.org.ID, UserID: op.ID, Stage: stageConsole, Data: string(data), ExpiresAt: now.Add(sessionLifetime)}
	e := store.Event{OrgID: v.org.ID, At: now, Actor: op.Username, Action: "console.login", Target: op.Username, Result: "ok", Source: page.Source(r)}
	if _, err := s.sessions.Start(w, r, ses, e); err != nil {
		s.unavailable(w, r, err)
		return
	}
	page.Redirect(w, r, s.next(r, v))
}

// verify checks the password and code of the form for username. ok is
// false when the answer has been given (the core failed).
func (s *Server) verify(w http.ResponseWriter, r *http.Request, v *visit, username string) (auth.Outcome, bool) {
	src := page.Source(r)
	req := auth.Request{
		OrgID: v.org.ID, Username: username, Code: r.PostFormValue("code"),
		Password: r.PostFormValue("password"), CheckPassword: true,
		Actor: "console", Source: src, Client: src, Identified: v.op.ID != 0,
	}
	out, err := s.Verifier.Verify(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return out, false
	}
	return out, true
}

// refusal is what the sign-in form says to a refused sign-in: one
// message for every reason an outsider could be refused for, so that it
// tells nobody which part was wrong or whether the account exists; only
// the throttle, which is about the address, says to wait.
func refusal(out auth.Outcome) page.Page {
	if errors.Is(out.Reason, auth.ErrThrottled) {
		return page.Page{Error: "console.error.throttled"}
	}
	return page.Page{Error: "console.error.sign_in", ErrorField: "username"}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	var e store.Event
	if ok, err := s.loadSession(r, v); err == nil && ok {
		e = store.Event{OrgID: v.org.ID, At: s.Clock.Now(), Actor: v.op.Username, Action: "console.logout", Target: v.op.Username, Result: "ok", Source: page.Source(r)}
	}
	s.sessions.End(w, r, e)
	page.Redirect(w, r, v.home()+"login")
}

func (s *Server) reauthPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showReauth(w, r, v, page.Page{})
}

func (s *Server) showReauth(w http.ResponseWriter, r *http.Request, v *visit, refused page.Page) {
	p := s.page(w, r, v, "console.reauth.title", ReauthView{Action: v.home() + "reauth", Next: s.next(r, v), Cancel: s.next(r, v)})
	p.Error, p.ErrorField = refused.Error, refused.ErrorField
	if p.ErrorField == "username" {
		p.ErrorField = "password"
	}
	status := http.StatusOK
	if p.Error != "" {
		status = http.StatusUnauthorized
	}
	s.show(w, status, "reauth", p)
}

// reauth takes the operator's password and a code again, and notes when
// in the session, so that sensitive changes may follow for freshFor.
func (s *Server) reauth(w http.ResponseWriter, r *http.Request, v *visit) {
	out, ok := s.verify(w, r, v, v.op.Username)
	if !ok {
		return
	}
	if !out.Accepted {
		s.showReauth(w, r, v, refusal(out))
		return
	}
	v.data.AuthAt = s.Clock.Now().UnixMilli()
	data, _ := json.Marshal(v.data)
	if err := s.Store.SetSessionData(r.Context(), v.ses.IDHash, stageConsole, string(data)); err != nil {
		s.unavailable(w, r, err)
		return
	}
	page.Redirect(w, r, s.next(r, v))
}

// next is the console page to continue to: the request's ?next= (or
// form field next) when it is a page of this console, else its home. A
// link from elsewhere cannot send the operator off the console.
func (s *Server) next(r *http.Request, v *visit) string {
	next := r.FormValue("next")
	home := v.home()
	if !strings.HasPrefix(next, home) || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, home+"login") || strings.HasPrefix(next, home+"reauth") {
		return home
	}
	return next
}
