package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
)

// Push at the code step: the page shows the number to pick in the
// Twofold Authenticator and reloads itself until the answer is in. Every
// view asks the core (CheckPush), which collects the answer once, so a
// reload after the sign-in cannot sign in again.

// pushRefresh is how often, in seconds, the push page reloads itself.
const pushRefresh = 3

// The push pages reload themselves and offer to stop (see
// page.RefreshEvery).

// pushNotSent are the errors of a push that could not be sent, by the
// reason startPush gives.
var pushNotSent = map[string]string{
	"withheld": "error.push_withheld",
	"refused":  "error.push_not_sent",
}

// startPush sends a push request for this sign-in and keeps it in the
// session, which the caller stores. When none was sent it says why:
// "withheld" past the fatigue limits, where a typed code is needed, or
// "refused" for every other refusal of the core (a lock, no device),
// which the page tells alike.
func (s *Server) startPush(r *http.Request, v *visit) (string, error) {
	start, err := s.Verifier.StartPush(r.Context(), v.request(r, ""), "portal")
	switch {
	case errors.Is(err, auth.ErrPushWithheld):
		return "withheld", nil
	case auth.Refused(err):
		return "refused", nil
	case err != nil:
		return "", err
	}
	v.data.Method, v.data.PushHash, v.data.PushNumber = policy.MethodPush, secret.HashToken(start.TransactionID), start.Number
	return "", nil
}

// typedMethod is the method the code step falls back to from push: the
// one it would open with among the ways to type a code.
func typedMethod(choices []MethodChoice, v *visit) string {
	typed := slices.DeleteFunc(slices.Clone(choices), func(c MethodChoice) bool { return c.Code == policy.MethodPush })
	return defaultMethod(typed, v.user.LastMethod, v.data.TxHash != nil)
}

// collectPush asks the core about the session's push. While it waits it
// reports false and the caller shows the waiting page. An approval signs
// in as a code would; a refusal forgets the push and shows the code step
// with what happened. Either way it has answered the request and reports
// true.
func (s *Server) collectPush(w http.ResponseWriter, r *http.Request, v *visit) bool {
	req := v.request(r, "")
	req.TransactionHash = v.data.PushHash
	out, err := s.Verifier.CheckPush(r.Context(), req)
	if err != nil {
		s.unavailable(w, r, err)
		return true
	}
	if out.Pending {
		return false
	}
	if out.Accepted {
		if err := s.Store.SetLastMethod(r.Context(), v.user.ID, policy.MethodPush); err != nil {
			s.Log.Warn("last method not saved", "user", v.user.Username, "err", err)
		}
		s.signInDone(w, r, v, "", MethodPassword, policy.MethodPush)
		return true
	}
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return true
	}
	choices, err := s.methods(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return true
	}
	v.data.PushHash, v.data.PushNumber = nil, 0
	v.data.Method = typedMethod(choices, v)
	if err := s.setData(r, v); err != nil {
		s.unavailable(w, r, err)
		return true
	}
	p := s.page(w, r, "login_code.title", &v.org, nil)
	pushRefused(p.Lang, p.Loc, out, s.Clock.Now()).onto(&p)
	s.showCode(w, r, v, p)
	return true
}

// pushCheck is the push page's "Check now": the answer, or back to the
// waiting page.
func (s *Server) pushCheck(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.data.Method != policy.MethodPush || v.data.PushHash == nil || !s.collectPush(w, r, v) {
		page.Redirect(w, r, page.KeepRefresh(r, loginURL(v.org)+"/code"))
	}
}
