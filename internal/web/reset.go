package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Forgot password: the sign-in page links to a form that asks for a
// username or an address; the core makes a single-use link for the
// account, mailed after the answer has gone, so that the answer is the
// same, and as quick, whether or not there is an account. The link's page
// asks for the second factor when the user has one, then the new password
// twice.

func forgotURL(org store.Org) string { return loginURL(org) + "/forgot" }

// withReset also requires the organization's policy to offer password
// resets; where it does not, the pages say so and where to turn.
func (s *Server) withReset(h handler) http.HandlerFunc {
	return s.withOrg(func(w http.ResponseWriter, r *http.Request, v *visit) {
		pol, ok := s.policy(w, r, v.org)
		if !ok {
			return
		}
		if !pol.PasswordReset {
			p := s.page(w, r, "error.title", &v.org, page.ErrorView{Message: "reset.off", Next: "reset.off_next", BackURL: loginURL(v.org)})
			s.show(w, http.StatusNotFound, "error", p)
			return
		}
		h(w, r, v)
	})
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showForgot(w, r, v, r.URL.Query().Get("sent") == "1", "")
}

func (s *Server) showForgot(w http.ResponseWriter, r *http.Request, v *visit, sent bool, errKey string) {
	view := ForgotView{Action: forgotURL(v.org), LoginURL: loginURL(v.org), Sent: sent, Minutes: int(auth.ResetLinkLifetime.Minutes())}
	title := "forgot.title"
	if sent {
		title = "forgot.sent_title"
	}
	p := s.page(w, r, title, &v.org, view)
	p.Error = errKey
	s.show(w, http.StatusOK, "forgot", p)
}

// forgot answers every request alike and mails the links afterwards.
func (s *Server) forgot(w http.ResponseWriter, r *http.Request, v *visit) {
	typed := strings.TrimSpace(r.PostFormValue("username"))
	if typed == "" {
		s.showForgot(w, r, v, false, "error.reset_empty")
		return
	}
	req := portalRequest(r, v.org, typed, "")
	org := v.org
	err := s.later(r, func(ctx context.Context) {
		links, err := s.Verifier.StartReset(ctx, req)
		if err != nil {
			s.Log.Error("password reset links not made", "err", err)
			return
		}
		for _, l := range links {
			u, err := s.Store.UserByID(ctx, org.ID, l.UserID)
			if err == nil {
				err = s.Mailer.ResetLink(ctx, org, u, l.Token, auth.ResetLinkLifetime)
			}
			if err != nil {
				s.Log.Error("password reset link not mailed", "user", l.UserID, "err", err)
			}
		}
	})
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	redirect(w, r, forgotURL(v.org)+"?sent=1")
}

// resetLink finds the pending link token names and its user, or answers
// with the page that says why the link does not work.
func (s *Server) resetLink(w http.ResponseWriter, r *http.Request, v *visit, token string) bool {
	gone := func(message, next string) bool {
		s.resetGone(w, r, v, message, next)
		return false
	}
	c, err := s.Store.ChallengeByTxID(r.Context(), v.org.ID, secret.HashToken(token))
	if err != nil && !isNotFound(err) {
		s.unavailable(w, r, err)
		return false
	}
	if err != nil || token == "" || c.Kind != store.ChallengeReset {
		return gone("reset.gone", "reset.gone_next")
	}
	if c.Status == store.ChallengeAccepted {
		return gone("reset.used", "reset.used_next")
	}
	if c.Status != store.ChallengePending || !s.Clock.Now().Before(c.ExpiresAt) {
		return gone("reset.gone", "reset.gone_next")
	}
	u, err := s.Store.UserByID(r.Context(), v.org.ID, c.UserID)
	if isNotFound(err) || (err == nil && u.Status != store.UserActive) {
		return gone("reset.gone", "reset.gone_next")
	}
	if err != nil {
		s.unavailable(w, r, err)
		return false
	}
	v.user = u
	return true
}

// resetGone says why a link does not work, and leads to asking for a new one.
func (s *Server) resetGone(w http.ResponseWriter, r *http.Request, v *visit, message, next string) {
	p := s.page(w, r, "error.title", &v.org, page.ErrorView{Message: message, Next: next, BackURL: forgotURL(v.org)})
	s.show(w, http.StatusGone, "error", p)
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.URL.Query().Get("token")
	if s.resetLink(w, r, v, token) {
		s.showReset(w, r, v, token, refusal{})
	}
}

// factor is the second factor the reset page asks of v.user: the app's
// code (which a backup code may stand in for), a backup code, or none.
// An email code is not asked for: the link came through the same mailbox
// the code would.
func (s *Server) factor(r *http.Request, v *visit, pol policy.Policy) (factor string, backup bool, err error) {
	choices, err := s.methods(r, v, pol)
	if err != nil {
		return "", false, err
	}
	backup = offered(choices, methodBackup)
	switch {
	case offered(choices, policy.MethodApp):
		return policy.MethodApp, backup, nil
	case backup:
		return methodBackup, true, nil
	}
	return "", false, nil
}

func (s *Server) showReset(w http.ResponseWriter, r *http.Request, v *visit, token string, why refusal) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	factor, backup, err := s.factor(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	view := ResetView{Action: loginURL(v.org) + "/reset", Token: token, Username: v.user.Username, Factor: factor, Backup: backup,
		PIN: factor != "" && pol.PINMode == policy.PINServer, MinLength: pol.PasswordMinLength}
	p := s.page(w, r, "reset.title", &v.org, view)
	why.onto(&p)
	s.show(w, http.StatusOK, "reset", p)
}

// reset sets the new password: the passwords are checked first, so that
// a typing mistake costs no guess; then the second factor, through the
// core, so that each try counts against the lockout (a locked user gets no
// further); then the link is used up together with the password change,
// which ends every session of the user.
func (s *Server) reset(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.PostFormValue("token")
	if !s.resetLink(w, r, v, token) {
		return
	}
	next, confirm := r.PostFormValue("new_password"), r.PostFormValue("new_password_confirm")
	if next != confirm {
		s.showReset(w, r, v, token, refusal{Error: "error.password_mismatch", Field: "new_password_confirm"})
		return
	}
	if f, ok := newPasswordRefused(admin.CheckPassword(v.org, v.user.Username, next)); ok {
		s.showReset(w, r, v, token, f)
		return
	}
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return
	}
	factor, _, err := s.factor(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	var out auth.Outcome
	if factor != "" {
		out, err = s.Verifier.Verify(r.Context(), v.request(r, r.PostFormValue("code")))
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !out.Accepted {
			s.showReset(w, r, v, token, codeRefused(page.Lang(w, r), page.Location(v.org), out, s.Clock.Now()))
			return
		}
	}
	err = s.userAdmin(v).ResetPassword(r.Context(), v.org, v.user, next, secret.HashToken(token))
	switch {
	case errors.Is(err, store.ErrNotConsumed):
		// Another request used the link a moment ago.
		s.resetGone(w, r, v, "reset.used", "reset.used_next")
		return
	case errors.Is(err, admin.ErrInvalid):
		f, ok := newPasswordRefused(err)
		if !ok {
			f = refusal{Error: "error.password_weak", Field: "new_password"}
		}
		s.showReset(w, r, v, token, f)
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	s.notify(r, "password_changed", v, "")
	if factor == "" {
		// The link alone proves the mailbox, not the person: signing in
		// asks for what the sign-in always asks.
		redirect(w, r, loginURL(v.org)+"?"+url.Values{"done": {"password_reset"}}.Encode())
		return
	}
	// The reset link proved the mailbox, the code the second factor; no
	// password was typed that was known before.
	s.signInDone(w, r, v, "password", methodReset, out.Method)
}
