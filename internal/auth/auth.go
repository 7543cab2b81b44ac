// Package auth is Twofold's one verification core. Every login path — the
// REST API, the portal, RADIUS, the CLI — checks codes through a Verifier,
// so policy, lockout and replay rules are the same everywhere.
//
// The Verifier keeps the invariants of DESIGN.md section 3: the code is
// normalised once before anything else; a guess is reserved in the
// database before it is evaluated, or evaluated inside the one write
// transaction that holds the user's row and records it, so at most the
// policy's threshold of guesses are ever evaluated per lock period; an
// accepted step is consumed
// by one conditional update; every refusal, whatever its reason, is the
// same Outcome to the caller, and the reason goes to the audit log.
package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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
	// ErrOrgDisabled means the user's organization is disabled: nobody
	// in it signs in, known or not.
	ErrOrgDisabled = errors.New("organization disabled")
	ErrLocked      = errors.New("user locked")
	ErrBadPassword = errors.New("wrong password")
	ErrNoToken     = errors.New("no usable token")
	ErrBadCode     = errors.New("wrong code")
	ErrReplay      = errors.New("code already used")
	ErrUnsealable  = errors.New("token secret cannot be opened")
	ErrBadPIN      = errors.New("wrong PIN")
	ErrNoChallenge = errors.New("unknown, used or expired transaction")
	ErrNoPIN       = errors.New("no server PIN set yet")
	// ErrThrottled is the one reason that depends on the client alone, not
	// on the user: too many password attempts came from its address.
	ErrThrottled = errors.New("too many password attempts from this address")
)

// reasonName is the audit and metrics label of each reason.
var reasonName = map[error]string{
	ErrMalformed:   "malformed",
	ErrUnknownUser: "unknown_user",
	ErrDisabled:    "disabled",
	ErrOrgDisabled: "org_disabled",
	ErrLocked:      "locked",
	ErrBadPassword: "bad_password",
	ErrNoToken:     "no_token",
	ErrBadCode:     "bad_code",
	ErrReplay:      "replay",
	ErrUnsealable:  "unsealable",
	ErrBadPIN:      "bad_pin",
	ErrNoChallenge: "no_challenge",
	ErrNoPIN:       "no_pin",
	ErrThrottled:   "throttled",
	// A push's refusals are named by the push protocol's statuses, so
	// that a fraud report reads "fraud" wherever it is recorded.
	ErrPushDenied:      store.PushDenied,
	ErrPushWrongNumber: store.PushWrongNumber,
	ErrPushFraud:       store.PushFraud,
	ErrPushExpired:     store.PushExpired,
	ErrPushWithheld:    "push_withheld",
}

// Store is what the core needs from persistence.
type Store interface {
	Subject(ctx context.Context, orgID int64, username string) (store.Subject, error)
	OrgByID(ctx context.Context, id int64) (store.Org, error)
	AppTokens(ctx context.Context, orgID int64) ([]store.TokenOwner, error)
	UserByName(ctx context.Context, orgID int64, username string) (store.User, error)
	UsersByEmail(ctx context.Context, orgID int64, email string, max int) ([]store.User, error)
	ReserveAttempt(ctx context.Context, userID int64, now time.Time, l store.Lockout) (store.Reservation, bool, error)
	ReleaseAttempt(ctx context.Context, userID int64, now time.Time, l store.Lockout) error
	Consume(ctx context.Context, c store.Consumption) error
	Guess(ctx context.Context, userID int64, now time.Time, l store.Lockout, decide func(ok bool) store.Verdict) (store.Reservation, bool, error)
	Audit(ctx context.Context, e store.Event) error
	RedeemBackupCode(ctx context.Context, userID int64, hash []byte, at time.Time, e store.Event) (int, error)
	RedeemTempCode(ctx context.Context, userID int64, mac []byte, at time.Time, e store.Event) (int, error)
	CreateChallenge(ctx context.Context, c store.Challenge, lim store.SendLimit, e store.Event) (store.Challenge, error)
	ResendChallenge(ctx context.Context, id, userID int64, mac []byte, now, expires time.Time, lim store.SendLimit, e store.Event) error
	ChallengeByTxID(ctx context.Context, orgID int64, hash []byte) (store.Challenge, error)
	AcceptChallenge(ctx context.Context, c store.Challenge, mac []byte, at time.Time, e store.Event) error
	UserByID(ctx context.Context, orgID, id int64) (store.User, error)
	CreatePushRequest(ctx context.Context, r store.PushRequest, lim store.PushLimit, e store.Event) (store.PushRequest, error)
	PushRequestByTxHash(ctx context.Context, orgID int64, hash []byte) (store.PushRequest, error)
	AnswerPushRequest(ctx context.Context, id string, userID int64, decision string, number int, now time.Time, l store.Lockout, e store.Event) (store.PushAnswered, error)
	CollectPushRequest(ctx context.Context, orgID int64, hash []byte, now time.Time, e store.Event) (store.PushCollection, error)
	InventoryToken(ctx context.Context, orgID int64, serial string) (store.InventoryToken, error)
	ClaimInventory(ctx context.Context, orgID int64, serial string, t store.Token, reseal func(store.InventoryToken, store.Token) ([]byte, error), c store.Consumption) (store.Token, error)
}

// Keys opens sealed token secrets, seals a claimed token's secret for
// its new row, and makes keyed hashes of short codes.
type Keys interface {
	Open(sealed, additionalData []byte) ([]byte, error)
	Reseal(sealed, from, to []byte) ([]byte, error)
	MAC(data []byte) []byte
}

// Sender mails users what the core must tell them: emailed one-time
// codes, that a backup code was used, whichever way it came in, that
// their account has locked, and that they reported a push as fraud.
type Sender interface {
	SendCode(ctx context.Context, orgID, userID int64, code string, valid time.Duration) error
	BackupCodeUsed(ctx context.Context, orgID, userID int64, left int, at time.Time) error
	// AccountLocked tells the user that too many wrong guesses in a row
	// locked their account at at, until until — store.LockedForever when
	// only an operator can unlock it. It is called once per lock.
	AccountLocked(ctx context.Context, orgID, userID int64, at, until time.Time) error
	// PushFraud tells the user that they reported the push request that
	// application sent at at, from source, as not theirs: their password
	// is known to someone else.
	PushFraud(ctx context.Context, orgID, userID int64, application, source string, at time.Time) error
}

// Directory checks passwords against an organization's LDAP directory,
// for the organizations that have theirs checked there.
type Directory interface {
	// CheckPassword reports whether password is username's in the
	// directory of the organization orgID. handled is false for an
	// organization whose passwords are checked here, against their hash.
	// An error means the password could not be checked.
	CheckPassword(ctx context.Context, orgID int64, username, password string) (handled, ok bool, err error)
	// ChecksPasswords reports whether the organization orgID has its
	// passwords checked in its directory.
	ChecksPasswords(ctx context.Context, orgID int64) (bool, error)
}

// Verifier checks codes. It is safe for concurrent use.
type Verifier struct {
	store     Store
	keys      Keys
	sender    Sender
	directory Directory
	rand      io.Reader
	clock     clock.Clock
	hasher    *secret.Hasher
	log       *slog.Logger

	mu       sync.RWMutex
	policies map[int64]*cachedPolicy

	outcomes map[string]prometheus.Counter

	throttle *throttle
	// pushWaiting is told of push requests made; nil: nobody is.
	pushWaiting PushNotifier

	// notices are the mails being sent in the background.
	notices sync.WaitGroup
}

type cachedPolicy struct {
	rev int64
	p   policy.Policy
	// seen is when rev was last read from the database (Unix
	// nanoseconds), by a user lookup or by OrgPolicy.
	seen atomic.Int64
}

// PolicyFresh is how long OrgPolicy trusts the revision it read last:
// a policy changed on any instance reaches a RADIUS request's decoding
// within it, and the check itself at once (the user lookup reads the
// revision).
const PolicyFresh = time.Second

// Config holds a Verifier's parts. Registerer may be nil.
type Config struct {
	Store  Store
	Keys   Keys
	Sender Sender    // mails codes and notices; nil: no email codes, no notices
	Rand   io.Reader // for email codes and transaction ids
	Clock  clock.Clock
	// Hasher checks passwords and PINs, and makes the decoy hash for
	// refusals decided before them: the process's one bounded Hasher.
	Hasher     *secret.Hasher
	Log        *slog.Logger
	Registerer prometheus.Registerer
	// Throttle limits password attempts per client address; the zero
	// value means DefaultThrottle.
	Throttle Throttle
	// PushWaiting, when not nil, is told of every push request made (the
	// operator's webhook).
	PushWaiting PushNotifier
	// Directory, when not nil, checks the passwords of the organizations
	// that have them checked in their directory.
	Directory Directory
}

// NewVerifier returns a Verifier.
func NewVerifier(c Config) *Verifier {
	v := &Verifier{
		store: c.Store, keys: c.Keys, sender: c.Sender, directory: c.Directory, rand: c.Rand, clock: c.Clock, hasher: c.Hasher, log: c.Log,
		policies: make(map[int64]*cachedPolicy),
		outcomes: make(map[string]prometheus.Counter),
		throttle: newThrottle(c.Throttle), pushWaiting: c.PushWaiting,
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

// ValidUsername reports whether a canonical username is one an account
// can have: 1 to 128 bytes of valid UTF-8 without spaces, control
// characters or '/' (which separates organization and user on the CLI).
func ValidUsername(u string) bool {
	if u == "" || len(u) > 128 || !utf8.ValidString(u) {
		return false
	}
	for _, r := range u {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '/' {
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
	// TransactionID names the challenge (an emailed code) that Code
	// answers; callers that keep only its hash (secret.HashToken) pass
	// TransactionHash instead.
	TransactionID   string
	TransactionHash []byte
	// Actor and Source go to the audit log: who asked ("api:vpn",
	// "cli") and from where.
	Actor, Source string
	// Client is the address of the person typing, when the request comes
	// from them directly (the portal): password attempts are limited per
	// client. Integrators' servers (REST, RADIUS) leave it empty, since
	// one such address speaks for many users.
	Client string
	// PINSetup says the caller walks a user without a server PIN to
	// choosing one right after both factors (the portal), so under the
	// server-PIN policy their code is taken without a PIN. Everywhere else
	// such a user is refused until they have chosen one.
	PINSetup bool
	// Identified says the person has already proven, earlier in this
	// session, that they are the user: with the password, or with the
	// invitation link of a user who has none. Only then does a refusal
	// say more than its reason (Outcome.Method, LockedUntil, ClockOffset):
	// an outsider learns nothing from it. The REST API, RADIUS and the
	// first step of a sign-in never set it.
	Identified bool
}

// transaction returns the hash of the challenge's transaction id, or nil
// when the request names none.
func (r Request) transaction() []byte {
	if r.TransactionHash != nil {
		return r.TransactionHash
	}
	if r.TransactionID != "" {
		return secret.HashToken(r.TransactionID)
	}
	return nil
}

// Outcome is the verdict. Reason says why a code was refused; callers
// must not show it to the person who typed the code.
type Outcome struct {
	Accepted bool
	// Pending, from CheckPush, says the push waits for the user's answer:
	// neither accepted nor refused yet.
	Pending bool
	Reason  error
	Serial  string // the token that accepted
	// Method is what accepted: "app" (an authenticator app's code),
	// "email", "backup", "temp" (a temporary code from the helpdesk) or
	// "push" (always set by CheckPush).
	// For a refused code of an Identified request it is what the input was
	// taken for — "email" for any answer to a mailed code —, so that the
	// message can fit the method.
	Method string
	// BackupLeft is how many backup codes are left after one was used.
	BackupLeft int
	// TempLeft is how many sign-ins a temporary code allows after this one.
	TempLeft int
	// LockedUntil, only for an Identified request, is when the lock that
	// refused the guess ends, or the lock this refused guess set:
	// store.LockedForever when only an operator can lift it.
	LockedUntil time.Time
	// ClockOffset, only for an Identified request refused a TOTP code, is
	// how far the phone's clock seems to run from ours (ahead when
	// positive), when that is more than typing slowly explains: measured
	// from the refused code when it is valid at another time within the
	// resync window, else the drift remembered from the token's last code.
	ClockOffset time.Duration
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

// Replace checks the first code of the assigned token serial, like
// Activate, and in the same transaction revokes the user's active token
// old, which the new one replaces: until the new token has proven itself,
// the old one keeps working.
func (v *Verifier) Replace(ctx context.Context, r Request, serial, old string) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "token.replace", state: store.TokenAssigned, serial: serial, retire: old})
}

// CheckPassword checks only a password: the first step of a two-step
// login. It counts against the lockout like a code, so passwords cannot be
// guessed without limit either, but a success does not reset the count:
// only a complete login does.
func (v *Verifier) CheckPassword(ctx context.Context, r Request) (Outcome, error) {
	r.CheckPassword = true
	return v.check(ctx, r, attempt{action: "login.password", passwordOnly: true})
}

// CheckPIN checks only the user's server PIN, given in r.Code: the
// confirmation asked for before the PIN is changed. It counts against the
// lockout like a code, and like a password a correct one gives its guess
// back.
func (v *Verifier) CheckPIN(ctx context.Context, r Request) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "pin.check", pinOnly: true})
}

// Resync brings an active token whose clock or counter has wandered back
// into step: r.Code and next must be two consecutive codes, which are
// looked for in the policy's wider resync window. It is a guess like any
// other and counts against the lockout.
func (v *Verifier) Resync(ctx context.Context, r Request, serial, next string) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "token.resync", state: store.TokenActive, serial: serial, next: next, resync: true})
}

// Claim gives the user the organization's unassigned hardware token
// serial when r.Code is a code it shows now (after the server PIN, under
// that policy): the token leaves the inventory and becomes the user's,
// active, in the transaction that consumes the code. The token is called
// what name makes of its inventory record. Every try, an unknown serial
// too, is a guess that counts against the lockout; the callers offer it
// only where the policy allows claims (policy.TokenClaim).
func (v *Verifier) Claim(ctx context.Context, r Request, serial string, name func(store.InventoryToken) string) (Outcome, error) {
	return v.check(ctx, r, attempt{action: "token.claim", serial: strings.TrimSpace(serial), claim: name})
}

// attempt says what kind of check is made.
type attempt struct {
	action string
	state  string // the token state that may accept the code
	serial string // when set, only this token is tried
	resync bool
	next   string // the second code of a resync
	retire string // the serial of an active token the accepting one replaces
	// passwordOnly checks the password and stops there; pinOnly checks
	// the server PIN, given as the code, and stops there.
	passwordOnly, pinOnly bool
	// claim, when set, names the inventory token serial that the code
	// claims (see Claim).
	claim func(store.InventoryToken) string
}

// check is the one path every code takes. Wherever the decision falls,
// a refusal costs the argon2id computations the whole check would have
// made, so that timing does not tell where it fell.
func (v *Verifier) check(ctx context.Context, r Request, a attempt) (Outcome, error) {
	w := &hashWork{password: r.CheckPassword, pin: a.pinOnly}
	var f findings
	out, err := v.decide(ctx, r, a, w, &f)
	if err != nil || out.Accepted {
		return out, err
	}
	v.spend(ctx, w, r)
	if f.lockSet {
		v.tellLocked(ctx, r.OrgID, f.userID, f.at, f.lockedUntil)
	}
	if r.Identified {
		out.Method, out.LockedUntil, out.ClockOffset = f.method, f.lockedUntil, f.clockOffset
	}
	return out, nil
}

// findings is what a check learns on its way that a refusal may pass on:
// to the user, whom the lock mail tells, and to a person who has proven
// to be the user (Request.Identified).
type findings struct {
	userID int64
	at     time.Time
	method string // what the input was taken for (Outcome.Method)
	// lockedUntil is when the user's lock ends, when one refused the
	// guess or this guess set one (lockSet).
	lockedUntil time.Time
	lockSet     bool
	clockOffset time.Duration
}

// noticeTimeout bounds the sending of a mail in the background.
const noticeTimeout = time.Minute

// tellLocked mails the user that their account has just locked. The mail
// goes in the background: the refusal that set the lock must take as long
// as every other refusal, or its timing would tell that the user exists.
func (v *Verifier) tellLocked(ctx context.Context, orgID, userID int64, at, until time.Time) {
	v.notify(ctx, "lock notice", userID, func(ctx context.Context) error {
		return v.sender.AccountLocked(ctx, orgID, userID, at, until)
	})
}

// notify runs send, the mailing of a notice to the user, in the
// background, when there is a Sender; what names the notice in the log.
func (v *Verifier) notify(ctx context.Context, what string, userID int64, send func(context.Context) error) {
	if v.sender == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	v.notices.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, noticeTimeout)
		defer cancel()
		if err := send(ctx); err != nil {
			v.log.Error(what+" not sent", "user_id", userID, "err", err)
		}
	})
}

// Wait returns once the mails the Verifier sends in the background have
// gone or failed; call it before the store closes.
func (v *Verifier) Wait() { v.notices.Wait() }

// hashWork is the argon2id computations a check still owes: the password
// and the server PIN, each until it has been checked.
type hashWork struct{ password, pin bool }

// spend makes the computations w still owes against dummies.
func (v *Verifier) spend(ctx context.Context, w *hashWork, r Request) {
	if w.password {
		w.password = false
		_ = v.hasher.VerifyDummy(ctx, r.Password)
	}
	if w.pin {
		w.pin = false
		_ = v.hasher.VerifyDummy(ctx, r.Code)
	}
}

func (v *Verifier) decide(ctx context.Context, r Request, a attempt, w *hashWork, f *findings) (Outcome, error) {
	now := v.clock.Now()
	f.at = now
	username := CanonicalUsername(r.Username)
	ev := store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: a.action, Target: username, Source: r.Source}
	// A name no account can have is not written down as typed: people
	// type passwords into the username field.
	lookup := username
	if !utf8.ValidString(r.Username) || !ValidUsername(username) {
		lookup, ev.Target = "", notAUsername
	}
	if r.Client != "" && (r.CheckPassword || a.pinOnly) && !v.throttle.allow(r.Client, now) {
		return v.refuse(ctx, ev, ErrThrottled)
	}
	// Hash a transaction id once: every later look at it reads the hash.
	r.TransactionHash = r.transaction()

	// The user's organization's policy comes back with the user, and for
	// a name that is nobody's too: whether the input is plausible depends on
	// the policy alone, never on whether the user exists.
	sub, err := v.store.Subject(ctx, r.OrgID, lookup)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v.fail(err)
	}
	pol, err := v.policy(ctx, r.OrgID, sub.PolicyRev)
	if err != nil {
		return v.fail(err)
	}
	withPIN := pol.PINMode == policy.PINServer && !a.resync && !a.passwordOnly
	w.pin = w.pin || withPIN
	if sub.OrgDisabled {
		// Before anything about the user or the input: a disabled
		// organization refuses everyone, with the one answer.
		return v.refuse(ctx, ev, ErrOrgDisabled)
	}
	var in, next input
	if !a.passwordOnly && !a.pinOnly {
		var ok bool
		if in, ok = parseInput(r.Code); !ok || !in.plausible(withPIN) {
			return v.refuse(ctx, ev, ErrMalformed)
		}
		f.method = "app"
		if r.transaction() != nil {
			f.method = "email"
		} else if _, _, ok := in.backup(withPIN); ok {
			f.method = "backup"
		} else if _, _, ok := in.temp(withPIN); ok {
			f.method = "temp"
		}
	}
	if a.resync {
		var ok bool
		if next, ok = parseInput(a.next); !ok {
			return v.refuse(ctx, ev, ErrMalformed)
		}
	}
	switch {
	case !known:
		return v.refuse(ctx, ev, ErrUnknownUser)
	case sub.Status != store.UserActive:
		return v.refuse(ctx, ev, ErrDisabled)
	case (withPIN || a.pinOnly) && sub.PINHash == "" && !r.PINSetup && a.state != store.TokenAssigned:
		// Under the server-PIN policy a code alone is half of what is
		// asked for: until the user has chosen a PIN, only the portal,
		// which walks them to choosing one, takes their codes.
		return v.refuse(ctx, ev, ErrNoPIN)
	}
	f.userID = sub.UserID
	if oneTransaction(r, a, sub, in, withPIN) {
		return v.guess(ctx, r, a, sub, in, pol, ev, f)
	}
	lock := lockout(pol)
	if res, ok, err := v.store.ReserveAttempt(ctx, sub.UserID, now, lock); err != nil {
		return v.fail(err)
	} else if !ok {
		if sub.LockedUntil.After(now) {
			f.lockedUntil = sub.LockedUntil
		}
		return v.refuse(ctx, ev, ErrLocked)
	} else if !res.LockedUntil.IsZero() {
		f.lockedUntil, f.lockSet = res.LockedUntil, true
	}
	if r.CheckPassword {
		w.password = false
		if ok, err := v.userPassword(ctx, r.OrgID, username, sub.PasswordHash, r.Password); err != nil {
			return v.fail(err)
		} else if !ok {
			return v.refuse(ctx, ev, ErrBadPassword)
		}
	}
	pinOK := v.pinChecker(ctx, sub.PINHash, w)
	if a.pinOnly {
		if ok, err := pinOK(r.Code); err != nil {
			return v.fail(err)
		} else if !ok {
			return v.refuse(ctx, ev, ErrBadPIN)
		}
	}
	if a.passwordOnly || a.pinOnly {
		// A correct password or PIN on its own is no failure: the guess
		// reserved for it is given back, the failures before it stay.
		if err := v.store.ReleaseAttempt(ctx, sub.UserID, now, lock); err != nil {
			return v.fail(err)
		}
		return v.accept(ctx, ev, Outcome{Accepted: true})
	}
	pinMatches := func(pin string) bool {
		ok, err := pinOK(pin)
		if err != nil {
			v.log.Error("server PIN not checked", "err", err)
		}
		return ok && err == nil
	}

	if r.transaction() != nil {
		return v.answerChallenge(ctx, r, a.state, sub, in, withPIN, pinMatches, ev, pol)
	}
	if a.claim != nil {
		return v.claim(ctx, r, a, sub, in, withPIN, pinMatches, ev, pol)
	}
	// A temporary code from the helpdesk goes where a one-time code goes.
	// Typed after a PIN, the same input may also split into a PIN and a
	// backup code or a one-time code: when it is no temporary code of the
	// user's, it is tried as those, within the same reserved guess.
	reason := ErrNoToken
	if pin, code, ok := in.temp(withPIN); ok && a.state == store.TokenActive && !a.resync {
		reason = ErrBadCode
		if !pinMatches(pin) {
			reason = ErrBadPIN
		} else {
			tev := ev
			tev.Target, tev.Result = username+" temporary code", "accept"
			left, err := v.store.RedeemTempCode(ctx, sub.UserID, v.keys.MAC([]byte(code)), now, tev)
			if err == nil {
				v.outcomes["accept"].Inc()
				return Outcome{Accepted: true, Method: "temp", TempLeft: left}, nil
			}
			if !errors.Is(err, store.ErrNotConsumed) {
				return v.fail(err)
			}
		}
	}
	if pin, code, ok := in.backup(withPIN); ok && a.state == store.TokenActive && !a.resync {
		if !pinMatches(pin) {
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

	c, serial, reason := v.tryTokens(r, a, sub, in, next, withPIN, pinMatches, now, pol, ev, f, reason)
	if c == nil {
		return v.refuse(ctx, ev, reason)
	}
	err = v.store.Consume(ctx, *c)
	if errors.Is(err, store.ErrNotConsumed) {
		// Another request took this step first.
		return v.refuse(ctx, ev, ErrReplay)
	}
	if err != nil {
		return v.fail(err)
	}
	v.outcomes["accept"].Inc()
	return Outcome{Accepted: true, Serial: serial, Method: "app"}, nil
}

// oneTransaction reports whether a guess can be decided in the one write
// transaction of store.Guess: a one-time code alone, which an HMAC
// evaluates in microseconds. A password, a server PIN (argon2id) or a
// mailed, backup or temporary code takes the longer way, whose reserved
// guess is committed before it is evaluated, so that no slow computation
// holds the database's writer.
func oneTransaction(r Request, a attempt, sub store.Subject, in input, withPIN bool) bool {
	if r.CheckPassword || withPIN || a.passwordOnly || a.pinOnly || a.resync || a.claim != nil || sub.PINHash != "" || r.transaction() != nil {
		return false
	}
	_, _, backup := in.backup(false)
	_, _, temp := in.temp(false)
	return !backup && !temp
}

// guess decides a one-time code in one write transaction (store.Guess),
// which holds the user's row throughout: the lock is checked, the code
// evaluated against the user's tokens, and either consumed or counted as
// refused, audited, and committed together.
func (v *Verifier) guess(ctx context.Context, r Request, a attempt, sub store.Subject, in input, pol policy.Policy, ev store.Event, f *findings) (Outcome, error) {
	noPIN := func(pin string) bool { return pin == "" }
	var serial string
	var reason error
	var offset time.Duration
	res, ok, err := v.store.Guess(ctx, sub.UserID, f.at, lockout(pol), func(ok bool) store.Verdict {
		e := ev
		if !ok {
			reason = ErrLocked
			e.Result = reasonName[reason]
			return store.Verdict{Event: e}
		}
		// What a run before a retry found is forgotten.
		g := *f
		g.clockOffset = 0
		var c *store.Consumption
		c, serial, reason = v.tryTokens(r, a, sub, in, "", false, noPIN, f.at, pol, e, &g, ErrNoToken)
		offset = g.clockOffset
		if c == nil {
			e.Result = reasonName[reason]
			return store.Verdict{Event: e}
		}
		// Should another request take the step first, the refusal says so.
		e.Result = reasonName[ErrReplay]
		return store.Verdict{Consume: c, Event: e}
	})
	switch {
	case errors.Is(err, store.ErrNotConsumed):
		reason = ErrReplay
	case err != nil:
		return v.fail(err)
	}
	f.clockOffset = offset
	if !ok {
		if sub.LockedUntil.After(f.at) {
			f.lockedUntil = sub.LockedUntil
		}
	} else if !res.LockedUntil.IsZero() && reason != nil {
		f.lockedUntil, f.lockSet = res.LockedUntil, true
	}
	if reason != nil {
		v.outcomes[reasonName[reason]].Inc()
		return Outcome{Reason: reason}, nil
	}
	v.outcomes["accept"].Inc()
	return Outcome{Accepted: true, Serial: serial, Method: "app"}, nil
}

// claim decides a claim (see Claim), its guess reserved already: the
// inventory token a.serial is looked up and the code matched against it,
// and a match moves it to the user in the transaction that consumes the
// code's step. A serial the organization has no unassigned token of is
// refused like a wrong code, and never written to the audit log as typed.
func (v *Verifier) claim(ctx context.Context, r Request, a attempt, sub store.Subject, in input, withPIN bool, pinMatches func(string) bool,
	ev store.Event, pol policy.Policy) (Outcome, error) {
	inv, err := v.store.InventoryToken(ctx, r.OrgID, a.serial)
	if errors.Is(err, store.ErrNotFound) {
		return v.refuse(ctx, ev, ErrNoToken)
	}
	if err != nil {
		return v.fail(err)
	}
	ev.Target += " " + inv.Serial
	now := ev.At
	t := store.Token{OrgID: r.OrgID, UserID: sub.UserID, Serial: inv.Serial, Type: inv.Type, Secret: inv.Secret, State: store.TokenActive,
		Algorithm: inv.Algorithm, Digits: inv.Digits, Period: inv.Period, LastStep: inv.LastStep, CreatedAt: now, ActivatedAt: now}
	pin, code, ok := in.otp(withPIN, t.Digits)
	if !ok {
		return v.refuse(ctx, ev, ErrBadCode)
	}
	if !pinMatches(pin) {
		return v.refuse(ctx, ev, ErrBadPIN)
	}
	g, err := v.generator(t, store.InventorySecretAD(inv.OrgID, inv.Serial))
	if err != nil {
		return v.refuse(ctx, ev, ErrUnsealable)
	}
	step, drift, err := v.match(t, g, code, now, pol)
	if err != nil {
		return v.refuse(ctx, ev, err)
	}
	t.Name, t.Secret = a.claim(inv), nil
	c := store.Consumption{UserID: sub.UserID, Step: step, Drift: drift, At: now, Event: ev}
	c.Event.Result = "accept"
	t, err = v.store.ClaimInventory(ctx, r.OrgID, inv.Serial, t, func(inv store.InventoryToken, t store.Token) ([]byte, error) {
		return v.keys.Reseal(inv.Secret, store.InventorySecretAD(inv.OrgID, inv.Serial), store.SecretAD(t))
	}, c)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrNotConsumed) {
		// Another request claimed the token with this code first.
		return v.refuse(ctx, ev, ErrReplay)
	}
	if err != nil {
		return v.fail(err)
	}
	v.outcomes["accept"].Inc()
	return Outcome{Accepted: true, Serial: t.Serial, Method: "app"}, nil
}

// tryTokens evaluates the input against the user's tokens that may take
// it, touching no database: it returns the consumption of the first token
// the code is valid for, or, when none is, the reason for the refusal,
// starting from reason (what was tried before the tokens).
func (v *Verifier) tryTokens(r Request, a attempt, sub store.Subject, in, next input, withPIN bool, pinMatches func(string) bool,
	now time.Time, pol policy.Policy, ev store.Event, f *findings, reason error) (*store.Consumption, string, error) {
	for _, t := range sub.Tokens {
		if t.State != a.state || (a.serial != "" && t.Serial != a.serial) || codeKind(t) == "" {
			continue
		}
		if reason == ErrNoToken {
			reason = ErrBadCode
		}
		pin, code, ok := in.otp(withPIN, t.Digits)
		if !ok {
			continue
		}
		if !pinMatches(pin) {
			reason = ErrBadPIN
			continue
		}
		g, err := v.generator(t, store.SecretAD(t))
		if err != nil {
			reason = ErrUnsealable
			continue
		}
		var step int64
		var drift int
		if a.resync {
			_, second, ok := next.otp(false, t.Digits)
			if !ok {
				continue
			}
			step, drift, err = v.matchPair(t, g, code, second, now, pol)
		} else {
			step, drift, err = v.match(t, g, code, now, pol)
		}
		if err != nil {
			if errors.Is(err, ErrReplay) && reason == ErrBadCode {
				reason = err
			}
			if r.Identified && errors.Is(err, ErrBadCode) && !a.resync && f.clockOffset == 0 {
				f.clockOffset = v.clockOffset(t, g, code, now, pol)
			}
			continue
		}
		ev.Target, ev.Result = ev.Target+" "+t.Serial, "accept"
		c := store.Consumption{TokenID: t.ID, UserID: sub.UserID, Step: step, Drift: drift, At: now, From: a.state, Event: ev}
		if old, ok := activeToken(sub.Tokens, a.retire); ok && old.ID != t.ID {
			c.Retire, c.Event.Detail = old.ID, "replaces "+old.Serial
		}
		return &c, t.Serial, nil
	}
	return nil, "", reason
}

// codeKind is how token t's one-time codes are made: "totp" or "hotp", or
// "" for a token whose codes are not checked against its secret (email).
// The Twofold Authenticator shows TOTP codes from a push token's secret,
// for when the device cannot reach the server. They count only once the
// device has activated the token: a code must not turn on a push token
// that no device would answer the pushes of.
func codeKind(t store.Token) string {
	switch {
	case t.Type == "totp" || t.Type == "hotp":
		return t.Type
	case t.Type == "push" && t.State == store.TokenActive:
		return "totp"
	}
	return ""
}

// activeToken finds the active token serial among ts.
func activeToken(ts []store.Token, serial string) (store.Token, bool) {
	for _, t := range ts {
		if serial != "" && t.Serial == serial && t.State == store.TokenActive {
			return t, true
		}
	}
	return store.Token{}, false
}

// notAUsername stands in the audit log for a name no account can have.
const notAUsername = "(not a username)"

// lockout is how the policy bounds guessing, in the store's terms.
func lockout(p policy.Policy) store.Lockout {
	return store.Lockout{Threshold: p.LockoutThreshold, LockFor: p.LockoutDuration.D(), HardLimit: p.LockoutHardLimit}
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
// argon2id computation only once per distinct PIN tried, and noting in w
// that the PIN's computation has been made. Without a PIN set, only the
// empty PIN matches: the user has none to type yet.
func (v *Verifier) pinChecker(ctx context.Context, hash string, w *hashWork) func(pin string) (bool, error) {
	seen := map[string]bool{}
	return func(pin string) (bool, error) {
		if hash == "" {
			return pin == "", nil
		}
		if ok, done := seen[pin]; done {
			return ok, nil
		}
		w.pin = false
		ok, err := v.passwordMatches(ctx, hash, pin)
		if err != nil {
			return false, err
		}
		seen[pin] = ok
		return ok, nil
	}
}

// match finds the step or counter at which code, from g, t's codes, is
// valid for t and the drift to remember. It returns ErrReplay when the
// code is valid only at a step already used, ErrBadCode when it is not
// valid at all.
func (v *Verifier) match(t store.Token, g *otp.Generator, code string, now time.Time, pol policy.Policy) (step int64, drift int, err error) {
	if len(code) != t.Digits {
		return 0, 0, ErrBadCode
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
func (v *Verifier) matchPair(t store.Token, g *otp.Generator, code, next string, now time.Time, pol policy.Policy) (step int64, drift int, err error) {
	if len(code) != t.Digits || len(next) != t.Digits {
		return 0, 0, ErrBadCode
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
	if codeKind(t) != "totp" {
		return 0
	}
	return int(min(max(step-current, -int64(pol.ResyncWindow)), int64(pol.ResyncWindow)))
}

// clockHintSteps is the clock offset, in steps, from which a refusal says
// the phone's clock is off: one step is a code typed as it changed.
const clockHintSteps = 2

// clockOffset is how far the clock of t's phone seems to run from ours,
// judged from code, a refused one: the offset of the step code is valid
// at within the resync window, else the token's remembered drift; zero
// when either is less than clockHintSteps.
func (v *Verifier) clockOffset(t store.Token, g *otp.Generator, code string, now time.Time, pol policy.Policy) time.Duration {
	if codeKind(t) != "totp" {
		return 0
	}
	lo, hi, current := window(t, now, pol.ResyncWindow, pol.ResyncWindow)
	steps := int64(t.Drift)
	if c, ok := g.Match(code, uint64(max(lo, t.LastStep+1)), uint64(hi)); ok {
		steps = int64(c) - current
	}
	if max(steps, -steps) < clockHintSteps {
		return 0
	}
	return time.Duration(steps) * time.Duration(t.Period) * time.Second
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

// generator makes token t's codes from its secret, sealed bound to ad:
// store.SecretAD(t) for a token of the tokens table.
func (v *Verifier) generator(t store.Token, ad []byte) (*otp.Generator, error) {
	key, err := v.keys.Open(t.Secret, ad)
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

// userPassword checks a user's password: in the organization's
// directory when it has them checked there, against hash otherwise. An
// error means the check could not be made.
func (v *Verifier) userPassword(ctx context.Context, orgID int64, username, hash, password string) (bool, error) {
	if v.directory != nil {
		handled, ok, err := v.directory.CheckPassword(ctx, orgID, username, password)
		if err != nil {
			v.log.Error("password not checked: the directory did not answer", "err", err)
			return false, err
		}
		if handled {
			// The argon2id computation a local check would have made is
			// made anyway, so that a directory's answer takes as long as
			// the refusals decided before it, give or take the bind.
			_ = v.hasher.VerifyDummy(ctx, password)
			return ok, nil
		}
	}
	return v.passwordMatches(ctx, hash, password)
}

// PasswordsInDirectory reports whether the organization orgID has its
// users' passwords checked in its directory: they then have one to prove,
// whether or not a hash is stored, and cannot change it here.
func (v *Verifier) PasswordsInDirectory(ctx context.Context, orgID int64) (bool, error) {
	if v.directory == nil {
		return false, nil
	}
	ok, err := v.directory.ChecksPasswords(ctx, orgID)
	if err != nil {
		return false, fmt.Errorf("auth: %w", err)
	}
	return ok, nil
}

// passwordMatches checks a password (or PIN) against its stored hash,
// spending the time of a real check even when there is none, so that
// timing tells nothing. An error means the check could not be made.
func (v *Verifier) passwordMatches(ctx context.Context, hash, password string) (bool, error) {
	if hash == "" {
		return false, v.hasher.VerifyDummy(ctx, password)
	}
	ok, err := v.hasher.Verify(ctx, hash, password)
	if errors.Is(err, secret.ErrBusy) {
		return false, err
	}
	if err != nil {
		v.log.Error("stored password hash is malformed", "err", err)
		return false, nil
	}
	return ok, nil
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
// user yet (a RADIUS request being decoded): from memory while its
// revision was read less than PolicyFresh ago, else after one
// primary-key read, and a parse only when the policy changed.
func (v *Verifier) OrgPolicy(ctx context.Context, orgID int64) (policy.Policy, error) {
	now := v.clock.Now().UnixNano()
	v.mu.RLock()
	c, ok := v.policies[orgID]
	v.mu.RUnlock()
	if ok && now-c.seen.Load() < int64(PolicyFresh) {
		return c.p, nil
	}
	org, err := v.store.OrgByID(ctx, orgID)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("auth: %w", err)
	}
	return v.policy(ctx, orgID, org.PolicyRev)
}

// policy returns the organization's policy at revision rev, just read
// from the database, parsing it only when the revision changed since it
// was last seen.
func (v *Verifier) policy(ctx context.Context, orgID, rev int64) (policy.Policy, error) {
	now := v.clock.Now().UnixNano()
	v.mu.RLock()
	c, ok := v.policies[orgID]
	v.mu.RUnlock()
	if ok && c.rev == rev {
		c.seen.Store(now)
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
	c = &cachedPolicy{rev: org.PolicyRev, p: p}
	c.seen.Store(now)
	v.mu.Lock()
	v.policies[orgID] = c
	v.mu.Unlock()
	return p, nil
}
