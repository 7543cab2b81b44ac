package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

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

// Pages that reload themselves (the push page and the push enrollment
// page) offer to stop: WCAG 2.2.1 allows a time limit only when the person
// can turn it off, as someone slow to read or using a screen reader needs.
// The same page with ?refresh=off has no reload and keeps "Check now".

// refreshOff reports whether r asks for its page without the reload.
func refreshOff(r *http.Request) bool { return r.URL.Query().Get("refresh") == "off" }

// refreshEvery is how often the page r asks for reloads itself: every
// seconds, or never once the person has stopped it.
func refreshEvery(r *http.Request, seconds int) int {
	if refreshOff(r) {
		return 0
	}
	return seconds
}

// stopRefresh is the address of the page at u without its reload.
func stopRefresh(u string) string {
	if strings.Contains(u, "?") {
		return u + "&refresh=off"
	}
	return u + "?refresh=off"
}

// keepRefresh is u, an address that leads back to the page r asked for,
// without the reload when r was without it.
func keepRefresh(r *http.Request, u string) string {
	if refreshOff(r) {
		return stopRefresh(u)
	}
	return u
}

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
		page.Redirect(w, r, keepRefresh(r, loginURL(v.org)+"/code"))
	}
}
