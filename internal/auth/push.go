package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Push requests: the user approves a sign-in in the Twofold Authenticator.
// StartPush asks; AnswerPush records the device's answer; CheckPush
// collects it once. A push is no guess when it is started, but its answer
// counts like one: an approval resets the failures as a right code does
// when collected, a denial counts one failure as soon as it is given, and
// a lock refuses both the start and an approval collected while it lasts.

// ErrPushWithheld means the user was sent as many pushes as the
// fatigue limits allow (the policy's push_rate, or maxOpenPush waiting at
// once): ask for a typed code instead.
var ErrPushWithheld = errors.New("push withheld")

// Reasons a push refuses a sign-in, besides those of any check.
var (
	ErrPushDenied      = errors.New("push denied")
	ErrPushWrongNumber = errors.New("push approved with the wrong number")
	ErrPushFraud       = errors.New("push reported as fraud")
	ErrPushExpired     = errors.New("push not answered in time")
)

// pushReason is the refusal each collected status means.
var pushReason = map[string]error{
	store.PushDenied:      ErrPushDenied,
	store.PushWrongNumber: ErrPushWrongNumber,
	store.PushFraud:       ErrPushFraud,
	store.PushExpired:     ErrPushExpired,
}

// maxOpenPush is how many push requests may wait for one user at once:
// enough for a sign-in on a second device, too few to bury a real one.
const maxOpenPush = 3

// PushStart is a push request sent: the sign-in keeps TransactionID to
// collect the answer and shows Number, which the user picks in the app.
type PushStart struct {
	TransactionID string
	Number        int
	ExpiresAt     time.Time
}

// Refused reports whether err, from StartPush, is a refusal — unknown
// user, disabled, locked, no push token (ErrNoToken), withheld — rather
// than a failure to decide (the database is down). Callers answer every
// refusal but ErrPushWithheld as they answer a wrong code.
func Refused(err error) bool {
	for reason := range reasonName {
		if errors.Is(err, reason) {
			return true
		}
	}
	return false
}

// PushAnswer is a device's answer to one of its user's push requests.
type PushAnswer struct {
	OrgID, UserID int64
	RequestID     string
	// Decision is store.PushApprove (with Number, the one picked),
	// store.PushDeny or store.PushReport.
	Decision string
	Number   int
	// Event is the answer's audit event: actor, target, detail, source.
	Event store.Event
}

// AnswerPush records a device's answer, once, and returns the request's
// new status. A refusal — a denial, a wrong number, a fraud report —
// counts one failure against the user's lockout right away, so a sign-in
// left waiting cannot hide it, and a lock it sets is mailed as any lock
// is; a fraud report also mails the user. Errors are the store's:
// store.ErrNotFound for a request that is not the user's,
// store.ErrNotConsumed for one answered or expired.
func (v *Verifier) AnswerPush(ctx context.Context, a PushAnswer) (string, error) {
	pol, err := v.OrgPolicy(ctx, a.OrgID)
	if err != nil {
		return "", err
	}
	now := v.clock.Now()
	a.Event.At = now
	res, err := v.store.AnswerPushRequest(ctx, a.RequestID, a.UserID, a.Decision, a.Number, now, lockout(pol), a.Event)
	if err != nil {
		return "", err
	}
	if !res.LockedUntil.IsZero() {
		v.tellLocked(ctx, a.OrgID, a.UserID, now, res.LockedUntil)
	}
	if res.Request.Status == store.PushFraud {
		v.tellFraud(ctx, res.Request)
	}
	return res.Request.Status, nil
}

// StartPush sends a push request to the app of r's user, which shows
// application ("portal", an API key's or a RADIUS client's name), r.Source
// and the time. The caller has checked the first factor where there is
// one. It refuses (see Refused) a user who is unknown, disabled or locked,
// who has no active push token or whose policy does not allow push, and
// returns ErrPushWithheld past the fatigue limits; the refusal is audited.
// Starting a push neither counts against the lockout nor resets it.
func (v *Verifier) StartPush(ctx context.Context, r Request, application string) (PushStart, error) {
	now := v.clock.Now()
	username := CanonicalUsername(r.Username)
	ev := store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: actionPushStart, Target: username,
		Detail: "application " + application, Source: r.Source}
	if !ValidUsername(username) {
		ev.Target = notAUsername
		return PushStart{}, v.refusePush(ctx, ev, ErrUnknownUser)
	}
	sub, err := v.store.Subject(ctx, r.OrgID, username)
	if errors.Is(err, store.ErrNotFound) {
		return PushStart{}, v.refusePush(ctx, ev, ErrUnknownUser)
	}
	if err != nil {
		return PushStart{}, fmt.Errorf("auth: start push: %w", err)
	}
	pol, err := v.policy(ctx, r.OrgID, sub.PolicyRev)
	if err != nil {
		return PushStart{}, fmt.Errorf("auth: start push: %w", err)
	}
	var tokens []store.Token
	for _, t := range sub.Tokens {
		if t.Type == "push" && t.State == store.TokenActive {
			tokens = append(tokens, t)
		}
	}
	switch {
	case sub.OrgDisabled:
		return PushStart{}, v.refusePush(ctx, ev, ErrOrgDisabled)
	case sub.Status != store.UserActive:
		return PushStart{}, v.refusePush(ctx, ev, ErrDisabled)
	case sub.LockedUntil.After(now):
		return PushStart{}, v.refusePush(ctx, ev, ErrLocked)
	case len(tokens) == 0 || !pol.Allows(policy.MethodPush):
		return PushStart{}, v.refusePush(ctx, ev, ErrNoToken)
	}
	number, err := pushNumber(v.rand)
	if err != nil {
		return PushStart{}, fmt.Errorf("auth: make push number: %w", err)
	}
	id, err := secret.Token(v.rand, 16)
	if err != nil {
		return PushStart{}, fmt.Errorf("auth: make push request id: %w", err)
	}
	txid, err := secret.Token(v.rand, 16)
	if err != nil {
		return PushStart{}, fmt.Errorf("auth: make transaction id: %w", err)
	}
	req := store.PushRequest{ID: id, OrgID: r.OrgID, UserID: sub.UserID, TxIDHash: secret.HashToken(txid), Number: number,
		Application: application, Source: r.Source, CreatedAt: now, ExpiresAt: now.Add(pol.PushTimeout.D())}
	if len(tokens) == 1 {
		// Bound to the one device, the request marks that token used; a
		// user with several devices gets it on each.
		req.TokenID = tokens[0].ID
	}
	ev.Result = "ok"
	lim := store.PushLimit{MaxOpen: maxOpenPush, Rate: pol.PushRate.Count, Window: pol.PushRate.Per}
	_, err = v.store.CreatePushRequest(ctx, req, lim, ev)
	if errors.Is(err, store.ErrTooManyPush) || errors.Is(err, store.ErrPushRateLimited) {
		ev.Detail += ", " + err.Error()
		return PushStart{}, v.refusePush(ctx, ev, ErrPushWithheld)
	}
	if err != nil {
		return PushStart{}, fmt.Errorf("auth: start push: %w", err)
	}
	if v.pushWaiting != nil {
		v.pushWaiting.PushWaiting(ctx, PushNotice{OrgID: r.OrgID, Username: username, RequestID: id, Application: application,
			Source: r.Source, CreatedAt: now, ExpiresAt: req.ExpiresAt})
	}
	return PushStart{TransactionID: txid, Number: number, ExpiresAt: req.ExpiresAt}, nil
}

// PushNotice says a push request waits for a user's answer, for the
// operator's own notification system.
type PushNotice struct {
	OrgID                            int64
	Username, RequestID, Application string
	Source                           string
	CreatedAt, ExpiresAt             time.Time
}

// PushNotifier is told of every push request made. It must not block:
// the sign-in that made the request waits for it.
type PushNotifier interface {
	PushWaiting(ctx context.Context, n PushNotice)
}

// Audit actions of push.
const (
	actionPushStart = "push.start"
	actionPushCheck = "push.check"
)

// refusePush audits and counts a push that was not sent, and returns the
// reason, or the failure to audit it.
func (v *Verifier) refusePush(ctx context.Context, ev store.Event, reason error) error {
	out, err := v.refuse(ctx, ev, reason)
	if err != nil {
		return err
	}
	return out.Reason
}

// CheckPush tells how the push request r names (r.TransactionID or
// r.TransactionHash) stands. While it waits the Outcome is Pending. Once
// answered or expired, the first call collects the outcome — whichever
// caller or instance comes first, exactly one — and later calls are
// refused with ErrNoChallenge: an approval is Accepted once (the lockout
// reset and the token marked used, as for a code); a denial, a wrong
// number or a fraud report is refused (AnswerPush counted it); an expired
// request is refused. When
// r.Username is set, the request must be that user's.
func (v *Verifier) CheckPush(ctx context.Context, r Request) (Outcome, error) {
	now := v.clock.Now()
	username := CanonicalUsername(r.Username)
	ev := store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: actionPushCheck, Target: username, Source: r.Source}
	hash := r.transaction()
	if hash == nil {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	p, err := v.store.PushRequestByTxHash(ctx, r.OrgID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	if err != nil {
		return v.fail(err)
	}
	u, err := v.store.UserByID(ctx, r.OrgID, p.UserID)
	if err != nil {
		return v.fail(err)
	}
	if r.Username != "" && username != u.Username {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	ev.Target = u.Username + " push " + p.Application
	if p.ConsumedAt.IsZero() && p.StatusAt(now) == store.PushPending {
		// Polling is no event: nothing is written while the user decides.
		return Outcome{Pending: true, Method: methodPush}, nil
	}
	c, err := v.store.CollectPushRequest(ctx, r.OrgID, hash, now, ev)
	if err != nil {
		return v.fail(err)
	}
	if !c.Collected {
		// Collected before: single use. Not audited again, so that
		// polling after the answer is harmless.
		v.outcomes[reasonName[ErrNoChallenge]].Inc()
		return Outcome{Reason: ErrNoChallenge, Method: methodPush}, nil
	}
	switch {
	case c.Locked:
		v.outcomes[reasonName[ErrLocked]].Inc()
		return Outcome{Reason: ErrLocked, Method: methodPush}, nil
	case c.Request.Status == store.PushAccepted:
		v.outcomes["accept"].Inc()
		return Outcome{Accepted: true, Method: methodPush}, nil
	}
	reason, ok := pushReason[c.Request.Status]
	if !ok {
		return v.fail(fmt.Errorf("push request has the unknown status %q", c.Request.Status))
	}
	v.outcomes[reasonName[reason]].Inc()
	return Outcome{Reason: reason, Method: methodPush}, nil
}

// methodPush is Outcome.Method for a push.
const methodPush = "push"

// tellFraud mails the user that a push they reported came from someone
// else: the mail goes in the background, like a lock notice.
func (v *Verifier) tellFraud(ctx context.Context, p store.PushRequest) {
	v.notify(ctx, "fraud notice", p.UserID, func(ctx context.Context) error {
		return v.sender.PushFraud(ctx, p.OrgID, p.UserID, p.Application, p.Source, p.CreatedAt)
	})
}

// pushNumber draws the two-digit number a push shows, 10 to 99, uniformly:
// bytes of 180 and more are drawn again, so that 90 divides the range.
func pushNumber(rand io.Reader) (int, error) {
	for {
		b, err := secret.Bytes(rand, 1)
		if err != nil {
			return 0, err
		}
		if b[0] < 180 {
			return 10 + int(b[0])%90, nil
		}
	}
}
