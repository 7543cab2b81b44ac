package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

const sessionCookie = "__Host-twofold-session"

// Session stages.
const (
	stagePassword    = "password"     // first factor checked, code pending
	stageFirstEnroll = "first-enroll" // first factor checked, adding the first authenticator
	stageClaim       = "claim"        // first factor checked, no authenticator: a hardware token may be claimed
	stageFull        = "full"         // signed in
	stageEnroll      = "enroll"       // password checked on an enrollment page
	stagePIN         = "pin"          // both factors checked, a server PIN must be set first
	// stageSetup: the first authenticator has just been activated; the
	// user saves backup codes and may add email before going on.
	stageSetup = "setup"
)

// What finishing the setup after a first authenticator leads to.
const (
	setupInvited      = "invited"       // the invitation page: the "you're ready" page
	setupInvitedEmail = "invited-email" // the same for an email token: the page says codes come by mail
	setupSignIn       = "sign-in"       // first-login enrollment: the sign-in completes
)

// sessionData is a session's state, stored as JSON with it.
type sessionData struct {
	Enrollment int64  `json:"enrollment,omitempty"` // stageEnroll: the enrollment
	Serial     string `json:"serial,omitempty"`     // the token being added
	Add        string `json:"add,omitempty"`        // the step of adding an authenticator
	// Method is the second factor chosen at login ("app", "email",
	// "backup"); TxHash names the emailed code's challenge (at login,
	// verifying it is the user adding an authenticator, or activating an
	// email token) by the hash of its transaction id alone, so that the
	// session row holds nothing that answers for the challenge.
	Method string `json:"method,omitempty"`
	TxHash []byte `json:"txid_hash,omitempty"`
	// PushHash names the push request of this sign-in the same way, and
	// PushNumber is the number it shows. A field of its own, not TxHash:
	// a user who switches between email and push keeps the mailed code.
	PushHash   []byte `json:"push_hash,omitempty"`
	PushNumber int    `json:"push_number,omitempty"`
	// Done is the ?done= notice shown once the PIN is set.
	Done string `json:"done,omitempty"`
	// Replace is the serial of the active token that the one being added
	// replaces, when it is a replacement.
	Replace string `json:"replace,omitempty"`
	// Backup is a set of backup codes shown but not in use yet, sealed
	// (backupAD): it takes effect when the user confirms having saved it,
	// and until then every view of the page shows the same codes.
	Backup []byte `json:"backup,omitempty"`
	// Setup says where the setup after a first authenticator ends
	// (setupInvited, setupSignIn).
	Setup string `json:"setup,omitempty"`
	// SignIn is what the sign-in used, from its completion on; every
	// later state of the session keeps it (keepSignIn).
	SignIn *SignIn `json:"sign_in,omitempty"`
}

// keepSignIn carries the record of the sign-in a session continues into
// its next state at stage.
func (v *visit) keepSignIn(data *sessionData, stage string) {
	if data.SignIn == nil && (stage == stageFull || stage == stagePIN || stage == stageSetup) {
		data.SignIn = v.signIn
	}
}

// keepTx remembers the challenge txid names; "" forgets it.
func (d *sessionData) keepTx(txid string) {
	d.TxHash = nil
	if txid != "" {
		d.TxHash = secret.HashToken(txid)
	}
}

// remail mails a new code for the session's challenge — the older code
// dies — or, when it has none that can still be answered, starts one with
// start and keeps its transaction in v.data; the caller stores the session
// when started. Either way the core's send limits decide (auth.ErrTooSoon).
func (s *Server) remail(r *http.Request, v *visit, start func(context.Context, auth.Request) (string, error)) (started bool, err error) {
	if v.data.TxHash != nil {
		req := v.request(r, "")
		req.TransactionHash = v.data.TxHash
		if err := s.Verifier.ResendEmail(r.Context(), req); !errors.Is(err, auth.ErrNoChallenge) {
			return false, err
		}
	}
	txid, err := start(r.Context(), v.request(r, ""))
	if err != nil {
		return false, err
	}
	v.data.keepTx(txid)
	return true, nil
}

// startEmail is Verifier.StartEmail for remail: a code for the user's
// active email token, or with activate for the assigned one.
func (s *Server) startEmail(activate bool) func(context.Context, auth.Request) (string, error) {
	return func(ctx context.Context, req auth.Request) (string, error) {
		return s.Verifier.StartEmail(ctx, req, activate)
	}
}

// visit is what a handler knows about the request: the organization, and
// for signed-in pages the session and its user.
type visit struct {
	org  store.Org
	ses  store.Session
	user store.User
	data sessionData
	// signIn is the loaded session's record of its sign-in.
	signIn *SignIn
}

type handler func(w http.ResponseWriter, r *http.Request, v *visit)

// withOrg resolves the organization of /o/{org}/.
func (s *Server) withOrg(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org, err := s.Store.OrgBySlug(r.Context(), r.PathValue("org"))
		if isNotFound(err) {
			s.fail(w, r, nil, http.StatusNotFound, "error.org_unknown", "error.org_unknown_next")
			return
		}
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		h(w, r, &visit{org: org})
	}
}

// withStage also requires a session of this organization at stage (or
// one of the further stages); without one the person is sent to the login
// page.
func (s *Server) withStage(stage string, h handler, or ...string) http.HandlerFunc {
	stages := append([]string{stage}, or...)
	return s.withOrg(func(w http.ResponseWriter, r *http.Request, v *visit) {
		ok, err := s.loadSession(r, v)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !ok || !slices.Contains(stages, v.ses.Stage) {
			redirect(w, r, "/o/"+v.org.Slug+"/login")
			return
		}
		h(w, r, v)
	})
}

// withUser requires a signed-in user.
func (s *Server) withUser(h handler) http.HandlerFunc { return s.withStage(stageFull, h) }

// loadSession finds the request's session in v.org and its user, and
// keeps it alive.
func (s *Server) loadSession(r *http.Request, v *visit) (bool, error) {
	ses, ok, err := s.sessions.Find(r)
	if err != nil || !ok || ses.OrgID != v.org.ID {
		return false, err
	}
	user, err := s.Store.UserByID(r.Context(), v.org.ID, ses.UserID)
	if isNotFound(err) || (err == nil && user.Status != store.UserActive) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ses.Data != "" {
		if err := json.Unmarshal([]byte(ses.Data), &v.data); err != nil {
			return false, nil
		}
	}
	v.ses, v.user, v.signIn = ses, user, v.data.SignIn
	return true, nil
}

// startSession replaces the request's session, if any, with a new one
// at stage (page.Sessions.Start).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, v *visit, stage string, data sessionData) error {
	if v.ses.IDHash != nil {
		v.keepSignIn(&data, stage)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	ses := store.Session{OrgID: v.org.ID, UserID: v.user.ID, Stage: stage, Data: string(raw), ExpiresAt: now.Add(sessionLifetime)}
	if v.ses.IDHash != nil && stage != stagePassword && v.ses.ExpiresAt.Before(ses.ExpiresAt) {
		// Keep the absolute limit of the sign-in this continues.
		ses.ExpiresAt = v.ses.ExpiresAt
	}
	var e store.Event
	// A change made signed in continues the sign-in; it is no new login.
	if stage == stageFull && v.ses.Stage != stageFull {
		e = store.Event{OrgID: v.org.ID, At: now, Actor: v.user.Username, Action: "portal.login", Target: v.user.Username, Result: "ok", Source: source(r)}
	}
	ses, err = s.sessions.Start(w, r, ses, e)
	if err != nil {
		return err
	}
	v.ses, v.data, v.signIn = ses, data, data.SignIn
	return nil
}

// endSession deletes the request's session and its cookie, recording e
// when it has an action.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, e store.Event) {
	s.sessions.End(w, r, e)
}

// request is an auth.Request for the visiting user.
// request is an auth.Request from the person of a visit who has proven
// to be its user (with the password, or the invitation link of a user
// without one): the core may tell them when their lock ends.
func (v *visit) request(r *http.Request, code string) auth.Request {
	req := portalRequest(r, v.org, v.user.Username, code)
	req.Identified = true
	return req
}

// portalRequest is an auth.Request from a person at the portal: their
// address is throttled, and under the server-PIN policy a user without a
// PIN is walked to choosing one after both factors (signInDone).
func portalRequest(r *http.Request, org store.Org, username, code string) auth.Request {
	src := source(r)
	return auth.Request{OrgID: org.ID, Username: username, Code: code, Actor: "portal", Source: src, Client: src, PINSetup: true}
}
