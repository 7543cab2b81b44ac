package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// A hardware token the organization imported into its inventory is
// claimed by its user: at sign-in, after the password, by a user without
// an authenticator, or by a signed-in user adding one. The serial printed
// on it and a code it shows make it theirs (policy token_claim; the core's
// Verifier.Claim counts every try against the lockout).

// ClaimView asks for a hardware token's serial and a code it shows (page
// "claim"): serial, code and csrf_token to Action.
type ClaimView struct {
	Action string
	Serial string // as typed, kept when the code was refused
	PIN    bool   // the server PIN comes before the code
	// AppURL, at a first sign-in that may set up an authenticator app
	// instead, links to that page.
	AppURL string
	// Without, at sign-in, is the catalogue key of what to do without a
	// token: the invitation's link, or the helpdesk.
	Without string
}

// mayClaim reports whether the user may claim a hardware token: the
// policy allows it and the organization has one unassigned.
func (s *Server) mayClaim(r *http.Request, v *visit, pol policy.Policy) (bool, error) {
	if !pol.TokenClaim {
		return false, nil
	}
	inv, err := s.Store.Inventory(r.Context(), v.org.ID, "", 1)
	return len(inv) > 0, err
}

// claimPage shows the claim form at sign-in (stageClaim, or the first
// authenticator's setup, which offers it).
func (s *Server) claimPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if view, ok := s.signInClaim(w, r, v); ok {
		s.showClaim(w, r, v, view, refusal{})
	}
}

// claimAtSignIn claims a token at sign-in; the first authenticator's
// setup follows, as after an app's first code.
func (s *Server) claimAtSignIn(w http.ResponseWriter, r *http.Request, v *visit) {
	if view, ok := s.signInClaim(w, r, v); ok && s.claim(w, r, v, view) {
		s.startSetup(w, r, v, setupSignIn)
	}
}

// signInClaim is the claim form at sign-in, when the policy still allows
// a claim: with a way back to the app's setup for a user who may set one
// up instead, and otherwise the help a user without a token needs.
func (s *Server) signInClaim(w http.ResponseWriter, r *http.Request, v *visit) (ClaimView, bool) {
	pol, ok := s.mayClaimOrFail(w, r, v)
	if !ok {
		return ClaimView{}, false
	}
	view := ClaimView{Action: loginURL(v.org) + "/claim", PIN: pol.PINMode == policy.PINServer}
	if v.ses.Stage == stageFirstEnroll {
		view.AppURL = loginURL(v.org) + "/enroll"
		return view, true
	}
	ts, err := s.Store.Tokens(r.Context(), v.org.ID, v.user.ID)
	if err != nil {
		s.unavailable(w, r, err)
		return ClaimView{}, false
	}
	view.Without = "claim.without_help"
	if admin.StandingOf(pol, ts) == admin.InvitationPending {
		view.Without = "claim.without_invitation"
	}
	return view, true
}

// addHardwarePage shows the claim form while adding an authenticator.
func (s *Server) addHardwarePage(w http.ResponseWriter, r *http.Request, v *visit) {
	if pol, ok := s.mayClaimOrFail(w, r, v); ok {
		s.showClaim(w, r, v, addHardwareView(v, pol), refusal{})
	}
}

// addHardware claims a token while adding an authenticator.
func (s *Server) addHardware(w http.ResponseWriter, r *http.Request, v *visit) {
	if pol, ok := s.mayClaimOrFail(w, r, v); ok && s.claim(w, r, v, addHardwareView(v, pol)) {
		s.addDone(w, r, v)
	}
}

func addHardwareView(v *visit, pol policy.Policy) ClaimView {
	return ClaimView{Action: homeURL(v.org) + "add/hardware", PIN: pol.PINMode == policy.PINServer}
}

// mayClaimOrFail returns the policy when the user may claim a token, and
// otherwise answers that claims are not possible (turned off, or no token
// left, since the form was shown).
func (s *Server) mayClaimOrFail(w http.ResponseWriter, r *http.Request, v *visit) (policy.Policy, bool) {
	pol, ok := s.policy(w, r, v.org)
	if !ok {
		return pol, false
	}
	may, err := s.mayClaim(r, v, pol)
	if err != nil {
		s.unavailable(w, r, err)
		return pol, false
	}
	if !may {
		s.fail(w, r, nil, http.StatusForbidden, "error.claim_off", "error.claim_off_next")
	}
	return pol, may
}

func (s *Server) showClaim(w http.ResponseWriter, r *http.Request, v *visit, view ClaimView, why refusal) {
	p := s.page(w, r, "claim.title", &v.org, view)
	p.User = v.user.Username
	why.onto(&p)
	s.show(w, http.StatusOK, "claim", p)
}

// claim has the core check the form's serial and code; a claimed token
// is mailed about like any authenticator added. On a refusal it shows
// the form again, the serial kept, and reports false.
func (s *Server) claim(w http.ResponseWriter, r *http.Request, v *visit, view ClaimView) bool {
	serial := strings.TrimSpace(r.PostFormValue("serial"))
	out, err := s.Verifier.Claim(r.Context(), v.request(r, r.PostFormValue("code")), serial, admin.HardwareName)
	if err != nil {
		s.unavailable(w, r, err)
		return false
	}
	if !out.Accepted {
		view.Serial = serial
		s.showClaim(w, r, v, view, claimRefused(page.Lang(w, r), page.Location(v.org), out, s.Clock.Now()))
		return false
	}
	t, ok, err := s.userToken(r, v, out.Serial)
	if err != nil || !ok {
		// The token is the user's: a notice without its name is no
		// reason to fail the claim.
		s.Log.Error("claimed token not read back", "user", v.user.Username, "serial", out.Serial, "err", err)
		t = store.Token{Serial: out.Serial}
	}
	s.notify(r, "token_added", v, tokenLabel(t))
	return true
}

// claimRefused says why a claim was refused, as far as the person at the
// page may be told: input that is no code, a lock and its end, and
// otherwise the one answer for an unknown serial and a wrong code, so
// that the form tells nobody which serials the inventory holds.
func claimRefused(lang string, loc *time.Location, out auth.Outcome, now time.Time) refusal {
	if errors.Is(out.Reason, auth.ErrMalformed) {
		return refusal{Error: "error.code_malformed", Field: "code"}
	}
	if f, ok := lockRefused(lang, loc, out, now); ok {
		return f
	}
	return refusal{Error: "error.claim_failed", Field: "code"}
}
