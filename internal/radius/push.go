package radius

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Push over RADIUS. A gateway can only wait for one answer to each
// Access-Request, so the request that asks for the push is held open
// until the user answers in the app or the policy's radius_push_wait has
// passed. With number matching the number must reach the user before they
// pick it, and a held request shows nothing: the push is sent on one
// request, answered with a challenge showing the number, and the next one
// (the user continues with an empty answer) is held.
//
// A retransmission of a held request is dropped, not evaluated (see
// Handle): the held request's answer carries the same Identifier and
// authenticator, so it answers every copy the gateway sent, and a copy
// arriving after it gets it from the retransmission cache. The challenge's
// State is used up by the first copy in any case, so no copy can send a
// second push.

// hasPush reports whether u has an active push token.
func (s *Server) hasPush(ctx context.Context, u store.User, log lazyLog) bool {
	tokens, err := s.c.Store.Tokens(ctx, u.OrgID, u.ID)
	if err != nil {
		log.Error("radius: cannot read the user's tokens; not offering push", "err", err)
		return false
	}
	for _, t := range tokens {
		if t.Type == policy.MethodPush && t.State == store.TokenActive {
			return true
		}
	}
	return false
}

// startPush sends a push for the challenge ch. Without number matching
// the request is held for the answer; with it, a challenge shows the
// number and the next request waits (awaitPush).
func (s *Server) startPush(ctx context.Context, r auth.Request, ch challenge, pol policy.Policy, application, source string,
	rs replies, release func()) []byte {
	sent := r
	sent.Source = source
	if pol.PushNumberMatching {
		start, reply := s.sendPush(ctx, sent, ch, application, rs)
		if reply != nil {
			return reply
		}
		ch.pushTx = start.TransactionID
		return rs.challenge(ch, msgPushNumber, start.Number)
	}
	unhold, ok := s.hold(release)
	if !ok {
		return typeCode(ch, rs)
	}
	defer unhold()
	start, reply := s.sendPush(ctx, sent, ch, application, rs)
	if reply != nil {
		return reply
	}
	ch.pushTx = start.TransactionID
	return s.wait(ctx, r, ch, pol, rs)
}

// awaitPush holds the request that follows the challenge showing the
// push's number until the push is answered.
func (s *Server) awaitPush(ctx context.Context, r auth.Request, ch challenge, pol policy.Policy, rs replies, release func()) []byte {
	unhold, ok := s.hold(release)
	if !ok {
		return typeCode(ch, rs)
	}
	defer unhold()
	return s.wait(ctx, r, ch, pol, rs)
}

// sendPush starts a push, or returns the reply that says why none was
// sent: past the fatigue limits the challenge goes on for a typed code,
// every other refusal (audited by the core) is an Access-Reject.
func (s *Server) sendPush(ctx context.Context, r auth.Request, ch challenge, application string, rs replies) (auth.PushStart, []byte) {
	start, err := s.c.Verifier.StartPush(ctx, r, application)
	switch {
	case errors.Is(err, auth.ErrPushWithheld):
		return start, typeCode(ch, rs)
	case auth.Refused(err):
		return start, rs.reject()
	case err != nil:
		rs.log.Error("radius: cannot send a push", "err", err)
		return start, rs.reject()
	}
	return start, nil
}

// typeCode goes on with the challenge ch asking for a typed code, as no
// push can be waited for; an empty answer then asks for a mailed code.
func typeCode(ch challenge, rs replies) []byte {
	ch.push, ch.pushTx = false, ""
	return rs.challenge(ch, msgPushTypeCode)
}

// hold moves a request from the places of those being evaluated to those
// of the requests held for a push answer, which wait for seconds and
// must not keep quick requests out. It reports false when every place is
// taken; unhold gives the place back.
func (s *Server) hold(release func()) (unhold func(), ok bool) {
	select {
	case s.held <- struct{}{}:
		release()
		return func() { <-s.held }, true
	default:
		s.c.Log.Warn("radius: too many requests held for a push answer; asking for a typed code", "limit", s.c.MaxHeld)
		return nil, false
	}
}

// wait polls the push ch.pushTx names until it is answered or the policy's
// radius_push_wait has passed, and answers the request.
func (s *Server) wait(ctx context.Context, r auth.Request, ch challenge, pol policy.Policy, rs replies) []byte {
	r.TransactionID = ch.pushTx
	deadline := s.c.Clock.Now().Add(pol.RadiusPushWait.D())
	poll := time.NewTicker(s.c.PushPoll)
	defer poll.Stop()
	for {
		out, err := s.c.Verifier.CheckPush(ctx, r)
		if err != nil || !out.Pending {
			return rs.verdict(out, err, ch.lang)
		}
		if !s.c.Clock.Now().Before(deadline) {
			// Reject rather than hold on: radius_push_wait is below the
			// gateway's retry timer, after which it resends (to no avail,
			// as this request is being evaluated), then gives up or fails
			// over. An answer sent later would reach a gateway no longer
			// listening, so the user would see a timeout instead of a
			// refusal, and an approval would be lost. The push stays
			// pending until push_timeout and then expires on its own; not
			// collected, it signs nobody in.
			return rs.refuse("push_unanswered")
		}
		select {
		case <-ctx.Done():
			// Shutting down: the gateway asks again, here or elsewhere.
			return nil
		case <-poll.C:
		}
	}
}

// maxSourceLength bounds the Calling-Station-Id shown as a push's source.
const maxSourceLength = 64

// pushSource is the address the app shows a push coming from: the
// Calling-Station-Id, where the gateway gives the user's address (or
// phone number) in it, and the gateway's own address otherwise. Only
// printable ASCII is taken, since the user reads it to decide.
func pushSource(req *radius.Packet, from netip.AddrPort) string {
	id := rfc2865.CallingStationID_GetString(req)
	if id == "" || len(id) > maxSourceLength {
		return from.Addr().String()
	}
	for _, c := range []byte(id) {
		if c < ' ' || c > '~' {
			return from.Addr().String()
		}
	}
	return id
}
