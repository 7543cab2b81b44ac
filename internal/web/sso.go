package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/twofold-mfa/twofold/internal/store"
)

// MethodPassword names the password among the methods of a SignIn; the
// others are the second factor's (policy.MethodApp, policy.MethodEmail,
// policy.MethodPush, "backup", "temp").
const MethodPassword = "password"

// methodReset is a password reset link, which proves the mailbox.
const methodReset = "reset"

// SignIn is what the sign-in of a portal session used and when. The
// portal session is also the single sign-on session of the applications
// that sign in with Twofold (internal/oidc), whose claims are made of it.
type SignIn struct {
	At      time.Time `json:"at"`
	Methods []string  `json:"methods"`
}

// Portal is the signed-in portal session of a request, as the OpenID
// Connect provider sees it.
type Portal struct {
	UserID int64
	SignIn SignIn
}

// SignedIn reports the request's signed-in portal session in org, if it
// has one whose sign-in is recorded.
func (s *Server) SignedIn(r *http.Request, org store.Org) (Portal, bool, error) {
	v := &visit{org: org}
	ok, err := s.loadSession(r, v)
	if err != nil || !ok || v.ses.Stage != stageFull || v.data.SignIn == nil {
		return Portal{}, false, err
	}
	return Portal{UserID: v.user.ID, SignIn: *v.data.SignIn}, true, nil
}

// SignOut ends the request's portal session in org, as the portal's
// "Sign out" does.
func (s *Server) SignOut(w http.ResponseWriter, r *http.Request, org store.Org) {
	v := &visit{org: org}
	if ok, err := s.loadSession(r, v); err == nil && ok {
		s.endSession(w, r, store.Event{OrgID: org.ID, At: s.Clock.Now(), Actor: v.user.Username, Action: "portal.logout",
			Target: v.user.Username, Result: "ok", Source: source(r)})
		return
	}
	s.endSession(w, r, store.Event{})
}

// continueCookie holds where a sign-in started elsewhere (an application's
// authorization request) goes on once the portal session is signed in.
const continueCookie = "twofold-continue"

// Continue sends the browser's next signed-in arrival at the portal of
// org on to path, one of org's own pages under /o/{org}/: the sign-in
// ends on the dashboard, whatever steps it took, and the dashboard passes
// the browser on.
func Continue(w http.ResponseWriter, org store.Org, path string) {
	http.SetCookie(w, &http.Cookie{Name: continueCookie, Value: url.QueryEscape(path), Path: homeURL(org), MaxAge: int(continueFor / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// continueFor is how long a sign-in may take before the portal forgets
// where it was to go on: the life of an authorization request.
const continueFor = 10 * time.Minute

// continuation takes the request's continuation, if any: a path of the
// organization's own (never another site, nor another organization).
func continuation(w http.ResponseWriter, r *http.Request, org store.Org) (string, bool) {
	c, err := r.Cookie(continueCookie)
	if err != nil {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{Name: continueCookie, Path: homeURL(org), MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	to, err := url.QueryUnescape(c.Value)
	// Only a plain path of the organization's: no control character
	// (a NUL, a line break), none url.Parse would refuse.
	if err != nil || !strings.HasPrefix(to, homeURL(org)) || strings.ContainsFunc(to, unicode.IsControl) || strings.ContainsAny(to, "\\") ||
		strings.Contains(to, "/../") || strings.Contains(to, "//") {
		return "", false
	}
	if _, err := url.Parse(to); err != nil {
		return "", false
	}
	return to, true
}

// signedInWith is the record of a sign-in that used methods, now.
func (s *Server) signedInWith(methods ...string) *SignIn {
	return &SignIn{At: s.Clock.Now(), Methods: methods}
}
