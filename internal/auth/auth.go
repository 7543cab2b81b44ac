// Package auth is Twofold's one verification core. Every login path — the
// REST API, the portal, RADIUS, the CLI — checks codes through a Verifier,
// so policy, lockout and replay rules are the same everywhere.
//
// The Verifier keeps the invariants of DESIGN.md section 3: the code is
// normalised once before anything else; a guess is reserved in the
// database before it is evaluated, so at most the policy's threshold of
// guesses are ever evaluated per lock period; an accepted step is consumed
// by one conditional update; every refusal, whatever its reason, is the
// same Outcome to the caller, and the reason goes to the audit log.
package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/text/unicode/norm"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Reasons for a refusal. They reach the audit log and the metrics, never
// the person or program that asked.
var (
	ErrMalformed   = errors.New("malformed code")
	ErrUnknownUser = errors.New("unknown user")
	ErrDisabled    = errors.New("user disabled")
	ErrLocked      = errors.New("user locked")
	ErrBadPassword = errors.New("wrong password")
	ErrNoToken     = errors.New("no usable token")
	ErrBadCode     = errors.New("wrong code")
	ErrReplay      = errors.New("code already used")
	ErrUnsealable  = errors.New("token secret cannot be opened")
	ErrBadPIN      = errors.New("wrong PIN")
	ErrNoChallenge = errors.New("unknown, used or expired transaction")
)

// reasonName is the audit and metrics label of each reason.
var reasonName = map[error]string{
	ErrMalformed:   "malformed",
	ErrUnknownUser: "unknown_user",
	ErrDisabled:    "disabled",
	ErrLocked:      "locked",
	ErrBadPassword: "bad_password",
	ErrNoToken:     "no_token",
	ErrBadCode:     "bad_code",
	ErrReplay:      "replay",
	ErrUnsealable:  "unsealable",
	ErrBadPIN:      "bad_pin",
	ErrNoChallenge: "no_challenge",
}

// Store is what the core needs from persistence.
type Store interface {
	Subject(ctx context.Context, orgID int64, username string) (store.Subject, error)
	OrgByID(ctx context.Context, id int64) (store.Org, error)
	ReserveAttempt(ctx context.Context, userID int64, now time.Time, threshold int, lockFor time.Duration) (int, bool, error)
	Consume(ctx context.Context, c store.Consumption) error
	Audit(ctx context.Context, e store.Event) error
	RedeemBackupCode(ctx context.Context, userID int64, hash []byte, at time.Time, e store.Event) (int, error)
	CreateChallenge(ctx context.Context, c store.Challenge, lim store.SendLimit, e store.Event) (store.Challenge, error)
	ResendChallenge(ctx context.Context, id, userID int64, mac []byte, now, expires time.Time, lim store.SendLimit, e store.Event) error
	ChallengeByTxID(ctx context.Context, orgID int64, hash []byte) (store.Challenge, error)
	AcceptChallenge(ctx context.Context, c store.Challenge, mac []byte, at time.Time, e store.Event) error
}

// Keys opens sealed token secrets and makes keyed hashes of short codes.
type Keys interface {
	Open(sealed, additionalData []byte) ([]byte, error)
	MAC(data []byte) []byte
}

// Sender mails users what the core must tell them: emailed one-time
// codes, and that a backup code was used, whichever way it came in.
type Sender interface {
	SendCode(ctx context.Context, orgID, userID int64, code string, valid time.Duration) error
	BackupCodeUsed(ctx context.Context, orgID, userID int64, left int, at time.Time) error
}

// Verifier checks codes. It is safe for concurrent use.
type Verifier struct {
	store  Store
	keys   Keys
	sender Sender
	rand   io.Reader
	clock  clock.Clock
	hasher secret.Hasher
	log    *slog.Logger

	mu       sync.RWMutex
	policies map[int64]cachedPolicy

	outcomes map[string]prometheus.Counter

	// hashing bounds the argon2id checks running at once: each holds tens
	// of MiB, and a burst of password logins must not exhaust memory.
	hashing chan struct{}
}

type cachedPolicy struct {
	rev int64
	p   policy.Policy
}

// Config holds a Verifier's parts. Registerer may be nil.
type Config struct {
	Store      Store
	Keys       Keys
	Sender     Sender    // mails codes and notices; nil: no email codes, no notices
	Rand       io.Reader // for email codes and transaction ids
	Clock      clock.Clock
	Hasher     secret.Hasher // its parameters make the decoy hash for unknown users
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// NewVerifier returns a Verifier.
func NewVerifier(c Config) *Verifier {
	v := &Verifier{
		store: c.Store, keys: c.Keys, sender: c.Sender, rand: c.Rand, clock: c.Clock, hasher: c.Hasher, log: c.Log,
		policies: make(map[int64]cachedPolicy),
		outcomes: make(map[string]prometheus.Counter),
		hashing:  make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_verifications_total",
		Help: "Code verifications by result: accept, or the reason for a refusal.",
	}, []string{"result"})
	if c.Registerer != nil {
		c.Registerer.MustRegister(vec)
	}
	// Resolve every label once, so counting costs no allocation per request.
	v.outcomes["accept"] = vec.WithLabelValues("accept")
	v.outcomes["error"] = vec.WithLabelValues("error")
	for _, name := range reasonName {
		v.outcomes[name] = vec.WithLabelValues(name)
	}
	return v
}

// CanonicalUsername is the form usernames are stored and compared in:
// Unicode NFKC, lower case, no surrounding space, so that "Alice",
// "alice " and "ＡＬＩＣＥ" are one account.
func CanonicalUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
}

// plausibleUsername reports whether a canonical username could name an
// account: valid UTF-8 without control characters. (The raw input must be
// valid UTF-8 too: canonicalising replaces invalid bytes with U+FFFD.)
func plausibleUsername(u string) bool {
	if u == "" || !utf8.ValidString(u) {
		return false
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Request is one code to check.
type Request struct {
	OrgID    int64
	Username string // as typed
	Code     string // as typed
	// Password is checked too when CheckPassword is set.
	Password      string
	CheckPassword bool
	// TransactionID names the challenge (an emailed code) that Code answers.
	TransactionID string
	// Actor and Source go to the audit log: who asked ("api:vpn",
	// "cli") and from where.
	Actor, Source string
}

// Outcome is the verdict. Reason says why a code was refused; callers
// must not show it to the person who typed the code.
type Outcome struct {
	Accepted bool
	Reason   error
	Serial   string // the token that accepted
	// Method is what accepted: "app" (an authenticator app's code),
	// "email" or "backup".
	Method string
	// BackupLeft is how many backup codes are left after one was used.
	BackupLeft int
}

// Verify checks a code for a login: it is accepted from any of the user's
// active tokens. An error means the check could not be made (the database
// is down); the caller must deny.
func (v *Verifier) Verify(ctx context.Context, r Request) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "validate", state: store.TokenActive})
}

// Activate checks the first code of an assigned token; a correct one
// makes the token active and completes its enrollment.
func (v *Verifier) Activate(ctx context.Context, r Request, serial string) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "token.activate", state: store.TokenAssigned, serial: serial})
}

// CheckPassword checks only a password: the first step of a two-step
// login. It counts against the lockout like a code, so passwords cannot be
// guessed without limit either, but a success does not reset the count:
// only a complete login does.
func (v *Verifier) CheckPassword(ctx context.Context, r Request) (Outcome, error) {
	r.CheckPassword = true
	return v.check(ctx, r, attempt{action: "login.password", passwordOnly: true})
}

// Resync brings an active token whose clock or counter has wandered back
// into step: r.Code and next must be two consecutive codes, which are
// looked for in the policy's wider resync window. It is a guess like any
// other and counts against the lockout.
func (v *Verifier) Resync(ctx context.Context, r Request, serial, next string) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "token.resync", state: store.TokenActive, serial: serial, next: next, resync: true})
}

// attempt says what kind of check is made.
type attempt struct {
	action string
	state  string // the token state that may accept the code
	serial string // when set, only this token is tried
	resync bool
	next   string // the second code of a resync
	// passwordOnly checks the password and stops there.
	passwordOnly bool
}

// check is the one path every code takes.
func (v *Verifier) check(ctx context.Context, r Request, a attempt) (Outcome, error) {
	now := v.clock.Now()
	username := CanonicalUsername(r.Username)
	ev := store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: a.action, Target: username, Source: r.Source}

	var in, next input
	if !a.passwordOnly {
		var ok bool
		if in, ok = parseInput(r.Code); !ok {
			return v.refuse(ctx, ev, ErrMalformed)
		}
	}
	if a.resync {
		var ok bool
		if next, ok = parseInput(a.next); !ok {
			return v.refuse(ctx, ev, ErrMalformed)
		}
	}
	sub, err := store.Subject{}, store.ErrNotFound
	// No account has a name that is not text (PostgreSQL would even
	// refuse to look for one with a NUL byte), so such a name is unknown.
	if utf8.ValidString(r.Username) && plausibleUsername(username) {
		sub, err = v.store.Subject(ctx, r.OrgID, username)
	} else {
		ev.Target = strconv.QuoteToASCII(r.Username)
	}
	if errors.Is(err, store.ErrNotFound) {
		v.decoy(r)
		return v.refuse(ctx, ev, ErrUnknownUser)
	}
	if err != nil {
		return v.fail(err)
	}
	if sub.Status != store.UserActive {
		v.decoy(r)
		return v.refuse(ctx, ev, ErrDisabled)
	}
	pol, err := v.policy(ctx, r.OrgID, sub.PolicyRev)
	if err != nil {
		return v.fail(err)
	}
	withPIN := pol.PINMode == policy.PINServer && !a.resync
	if !a.passwordOnly && !in.plausible(withPIN) {
		// Decided before any guess is counted: it tells nothing.
		return v.refuse(ctx, ev, ErrMalformed)
	}
	if _, ok, err := v.store.ReserveAttempt(ctx, sub.UserID, now, pol.LockoutThreshold, pol.LockoutDuration.D()); err != nil {
		return v.fail(err)
	} else if !ok {
		v.decoy(r)
		return v.refuse(ctx, ev, ErrLocked)
	}
	if r.CheckPassword && !v.passwordMatches(sub.PasswordHash, r.Password) {
		return v.refuse(ctx, ev, ErrBadPassword)
	}
	if a.passwordOnly {
		return v.accept(ctx, ev, Outcome{Accepted: true})
	}
	pinOK := v.pinChecker(sub.PINHash)

	if r.TransactionID != "" {
		return v.answerChallenge(ctx, r, a.state, sub, in, withPIN, pinOK, ev, pol)
	}
	if pin, code, ok := in.backup(withPIN); ok && a.state == store.TokenActive && !a.resync {
		if !pinOK(pin) {
			return v.refuse(ctx, ev, ErrBadPIN)
		}
		ev.Target, ev.Result = username+" backup code", "accept"
		left, err := v.store.RedeemBackupCode(ctx, sub.UserID, secret.HashToken(code), now, ev)
		if errors.Is(err, store.ErrNotConsumed) {
			return v.refuse(ctx, ev, ErrBadCode)
		}
		if err != nil {
			return v.fail(err)
		}
		v.outcomes["accept"].Inc()
		if v.sender != nil {
			// The sign-in has happened: a notice that fails is logged, not refused.
			if err := v.sender.BackupCodeUsed(ctx, r.OrgID, sub.UserID, left, now); err != nil {
				v.log.Error("backup code notice not sent", "user", username, "err", err)
			}
		}
		return Outcome{Accepted: true, Method: "backup", BackupLeft: left}, nil
	}

	reason := ErrNoToken
	for _, t := range sub.Tokens {
		if t.State != a.state || (a.serial != "" && t.Serial != a.serial) || (t.Type != "totp" && t.Type != "hotp") {
			continue
		}
		if reason == ErrNoToken {
			reason = ErrBadCode
		}
		pin, code, ok := in.otp(withPIN, t.Digits)
		if !ok {
			continue
		}
		if !pinOK(pin) {
			reason = ErrBadPIN
			continue
		}
		var step int64
		var drift int
		if a.resync {
			_, second, ok := next.otp(false, t.Digits)
			if !ok {
				continue
			}
			step, drift, err = v.matchPair(t, code, second, now, pol)
		} else {
			step, drift, err = v.match(t, code, now, pol)
		}
		if err != nil {
			if errors.Is(err, ErrUnsealable) || (errors.Is(err, ErrReplay) && reason == ErrBadCode) {
				reason = err
			}
			continue
		}
		ev.Target, ev.Result = username+" "+t.Serial, "accept"
		err = v.store.Consume(ctx, store.Consumption{
			TokenID: t.ID, UserID: sub.UserID, Step: step, Drift: drift, At: now, From: a.state, Event: ev,
		})
		if errors.Is(err, store.ErrNotConsumed) {
			// Another request took this step first.
			return v.refuse(ctx, ev, ErrReplay)
		}
		if err != nil {
			return v.fail(err)
		}
		v.outcomes["accept"].Inc()
		return Outcome{Accepted: true, Serial: t.Serial, Method: "app"}, nil
	}
	return v.refuse(ctx, ev, reason)
}

// accept records an accepted check that consumed nothing.
func (v *Verifier) accept(ctx context.Context, ev store.Event, out Outcome) (Outcome, error) {
	ev.Result = "accept"
	if err := v.store.Audit(ctx, ev); err != nil {
		return v.fail(err)
	}
	v.outcomes["accept"].Inc()
	return out, nil
}

// pinChecker returns a check of the server PIN against hash, spending an
// argon2id computation only once per distinct PIN tried. Without a PIN set,
// only the empty PIN matches: the user has none to type yet.
func (v *Verifier) pinChecker(hash string) func(pin string) bool {
	seen := map[string]bool{}
	return func(pin string) bool {
		if hash == "" {
			return pin == ""
		}
		if ok, done := seen[pin]; done {
			return ok
		}
		ok := v.passwordMatches(hash, pin)
		seen[pin] = ok
		return ok
	}
}

// match finds the step or counter at which code is valid for t and the
// drift to remember. It returns ErrReplay when the code is valid only at a
// step already used, ErrBadCode when it is not valid at all.
func (v *Verifier) match(t store.Token, code string, now time.Time, pol policy.Policy) (step int64, drift int, err error) {
	if len(code) != t.Digits {
		return 0, 0, ErrBadCode
	}
	g, err := v.generator(t)
	if err != nil {
		return 0, 0, err
	}
	lo, hi, current := window(t, now, pol.TOTPWindow, pol.HOTPWindow)
	if c, ok := g.Match(code, uint64(max(lo, t.LastStep+1)), uint64(hi)); ok {
		return int64(c), v.drift(t, int64(c), current, pol), nil
	}
	// Tell a replay from a wrong code, for the audit log: look at the used
	// steps the window covers, or for HOTP at as many counters behind.
	if t.Type == "hotp" {
		lo = max(0, t.LastStep-int64(pol.HOTPWindow)+1)
	}
	if lo <= t.LastStep {
		if _, ok := g.Match(code, uint64(lo), uint64(min(hi, t.LastStep))); ok {
			return 0, 0, ErrReplay
		}
	}
	return 0, 0, ErrBadCode
}

// matchPair finds where code and next are valid at consecutive steps
// within the resync window, and returns the step of next.
func (v *Verifier) matchPair(t store.Token, code, next string, now time.Time, pol policy.Policy) (step int64, drift int, err error) {
	if len(code) != t.Digits || len(next) != t.Digits {
		return 0, 0, ErrBadCode
	}
	g, err := v.generator(t)
	if err != nil {
		return 0, 0, err
	}
	lo, hi, current := window(t, now, pol.ResyncWindow, pol.ResyncWindow)
	from := uint64(max(lo, t.LastStep+1))
	for from < uint64(hi) {
		c, ok := g.Match(code, from, uint64(hi)-1)
		if !ok {
			break
		}
		if _, ok := g.Match(next, c+1, c+1); ok {
			return int64(c + 1), v.drift(t, int64(c+1), current, pol), nil
		}
		from = c + 1
	}
	return 0, 0, ErrBadCode
}

// drift is how far the token's clock runs from ours, measured at the
// accepted step and bounded so that a run of codes at the edge of the
// window cannot walk it without limit.
func (v *Verifier) drift(t store.Token, step, current int64, pol policy.Policy) int {
	if t.Type != "totp" {
		return 0
	}
	return int(min(max(step-current, -int64(pol.ResyncWindow)), int64(pol.ResyncWindow)))
}

// window returns the steps a code is looked for at: for HOTP the counters
// after the last accepted one, for TOTP the steps around the current one
// corrected by the token's remembered drift, which it also returns.
func window(t store.Token, now time.Time, totpWindow, hotpWindow int) (lo, hi, current int64) {
	if t.Type == "hotp" {
		return t.LastStep + 1, t.LastStep + int64(hotpWindow), 0
	}
	current = otp.Step(now, time.Duration(t.Period)*time.Second)
	center := current + int64(t.Drift)
	return max(0, center-int64(totpWindow)), center + int64(totpWindow), current
}

func (v *Verifier) generator(t store.Token) (*otp.Generator, error) {
	key, err := v.keys.Open(t.Secret, store.SecretAD(t))
	if err != nil {
		v.log.Error("token secret cannot be opened: is the master key file the one the secrets were sealed with?",
			"token", t.Serial, "err", err)
		return nil, ErrUnsealable
	}
	defer clear(key)
	g, err := otp.NewGenerator(key, otp.Algorithm(t.Algorithm), t.Digits)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsealable, err)
	}
	return g, nil
}

// passwordMatches checks a password, spending the time of a real check
// even when the user has none, so that timing tells nothing.
func (v *Verifier) passwordMatches(hash, password string) bool {
	v.hashing <- struct{}{}
	defer func() { <-v.hashing }()
	if hash == "" {
		v.hasher.VerifyDummy(password)
		return false
	}
	ok, err := secret.Verify(hash, password)
	if err != nil {
		v.log.Error("stored password hash is malformed", "err", err)
		return false
	}
	return ok
}

// decoy spends the time a password check would have taken, for refusals
// decided before the password was looked at.
func (v *Verifier) decoy(r Request) {
	if r.CheckPassword {
		v.hashing <- struct{}{}
		v.hasher.VerifyDummy(r.Password)
		<-v.hashing
	}
}

func (v *Verifier) refuse(ctx context.Context, ev store.Event, reason error) (Outcome, error) {
	name := reasonName[reason]
	ev.Result = name
	v.outcomes[name].Inc()
	if err := v.store.Audit(ctx, ev); err != nil {
		return v.fail(err)
	}
	return Outcome{Reason: reason}, nil
}

func (v *Verifier) fail(err error) (Outcome, error) {
	v.outcomes["error"].Inc()
	return Outcome{}, fmt.Errorf("auth: %w", err)
}

// OrgPolicy returns an organization's policy for paths that have no
// user yet (a RADIUS request being decoded): one primary-key read, and a
// parse only when the policy changed.
func (v *Verifier) OrgPolicy(ctx context.Context, orgID int64) (policy.Policy, error) {
	org, err := v.store.OrgByID(ctx, orgID)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("auth: %w", err)
	}
	return v.policy(ctx, orgID, org.PolicyRev)
}

// policy returns the organization's policy, parsing it only when its
// revision changed since it was last seen.
func (v *Verifier) policy(ctx context.Context, orgID, rev int64) (policy.Policy, error) {
	v.mu.RLock()
	c, ok := v.policies[orgID]
	v.mu.RUnlock()
	if ok && c.rev == rev {
		return c.p, nil
	}
	org, err := v.store.OrgByID(ctx, orgID)
	if err != nil {
		return policy.Policy{}, err
	}
	p, err := policy.Parse(org.Policy)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	v.mu.Lock()
	v.policies[orgID] = cachedPolicy{rev: org.PolicyRev, p: p}
	v.mu.Unlock()
	return p, nil
}
