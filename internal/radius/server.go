// Package radius is Twofold's RADIUS server (RFC 2865, PAP): gateways such
// as VPN concentrators and Citrix send an Access-Request and get an
// Access-Accept, Access-Reject or Access-Challenge.
//
// Every code goes through the one verification core (package auth), so
// RADIUS enforces the same policy, lockout and replay rules as the portal
// and the REST API. The server promises:
//
//   - A packet from an address no client is registered for is dropped
//     without an answer. The client list is held in memory and read again
//     when the store's access revision moves, which the server asks for
//     every CheckEvery (a client added or removed on any instance counts
//     within a second), and at most once a second when an unknown address
//     sends, so looking a client up costs no database query.
//   - A request's Message-Authenticator (RFC 3579) is verified when
//     present, and one is required unless the client was registered
//     without that requirement; a request failing either is dropped.
//     Every answer carries a Message-Authenticator as its first attribute
//     (the BlastRADIUS mitigation).
//   - A retransmission (same source address and port, identifier and
//     request authenticator within RetransmitWindow) gets the answer
//     already sent and is not evaluated again. Requests are told apart
//     by source address, port and identifier, and a new Request
//     Authenticator under them is a new request, whose answer replaces
//     the one kept (RFC 5080 section 2.2.2): a gateway that reuses its
//     identifiers keeps at most 256 answers per socket.
//   - A fixed pool of Workers goroutines reads, evaluates and answers the
//     packets; what arrives while all are busy waits in the socket's
//     buffer, and the kernel drops what does not fit.
//   - The second step of a challenge is named by a random State, kept in
//     this process's memory: with several instances behind one address the
//     gateway must send the answer to the instance that challenged.
//   - Memory stays bounded whatever arrives: at most MaxAnswers answers are
//     kept for retransmissions and at most MaxChallenges challenges are
//     pending; when a table is full the entry set longest ago (the first
//     to expire) is forgotten to make room for the new one.
//   - In the second step of a challenge, a user with a push token can
//     approve the sign-in in the Twofold Authenticator instead of typing a
//     code (see push.go). A request held for the push answer waits in a
//     goroutine of its own, at most MaxHeld at once, outside the requests
//     being evaluated, so it neither blocks the read loop nor keeps quick
//     requests out.
//   - Every answer (Access-Accept, -Reject and -Challenge) carries the
//     request's Proxy-State attributes, unchanged and in order.
//   - Every verification lands in the audit log with the client's name
//     ("radius:NAME") and the source address.
package radius

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Verifier is what the server needs from the verification core.
type Verifier interface {
	Verify(ctx context.Context, r auth.Request) (auth.Outcome, error)
	CheckPassword(ctx context.Context, r auth.Request) (auth.Outcome, error)
	StartEmail(ctx context.Context, r auth.Request, activate bool) (string, error)
	StartPush(ctx context.Context, r auth.Request, application string) (auth.PushStart, error)
	CheckPush(ctx context.Context, r auth.Request) (auth.Outcome, error)
	OrgPolicy(ctx context.Context, orgID int64) (policy.Policy, error)
}

// Store is what the server reads and writes directly.
type Store interface {
	RadiusClients(ctx context.Context, orgID int64) ([]store.RadiusClient, error)
	UserByName(ctx context.Context, orgID int64, username string) (store.User, error)
	Tokens(ctx context.Context, orgID, userID int64) ([]store.Token, error)
	Audit(ctx context.Context, e store.Event) error
	AccessRevision(ctx context.Context) (int64, error)
}

// Opener opens the sealed shared secrets.
type Opener interface {
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Defaults of Config's durations.
const (
	DefaultCheckEvery       = 500 * time.Millisecond
	DefaultRetransmitWindow = 5 * time.Second
	DefaultChallengeTTL     = 5 * time.Minute
	DefaultPushPoll         = 500 * time.Millisecond
)

// Defaults of Config's limits on the server's tables. An answer is at most
// 4 KiB (radius.MaxPacketLength; echoed Proxy-State can make it that large),
// so the retransmission cache holds at most 64 MiB; a challenge is a few
// hundred bytes.
const (
	DefaultMaxAnswers    = 1 << 14
	DefaultMaxChallenges = 1 << 16
	// A held request is a goroutine of a few KiB waiting for at most
	// policy.MaxRadiusPushWait: 1024 is 40 sign-ins a second, each held
	// that long, for some MiB.
	DefaultMaxHeld = 1 << 10
)

// DefaultWorkers is how many requests are evaluated at once by default:
// enough to keep the database's writer busy with requests that wait for
// it, few enough that their stacks stay small.
const DefaultWorkers = 64

// Config holds a Server's parts.
type Config struct {
	Store    Store
	Keys     Opener
	Verifier Verifier
	Clock    clock.Clock
	Rand     io.Reader // State and Class values; crypto/rand when nil
	Log      *slog.Logger

	CheckEvery       time.Duration // how often the clients' revision is read; 0: DefaultCheckEvery
	RetransmitWindow time.Duration // 0: DefaultRetransmitWindow
	ChallengeTTL     time.Duration // 0: DefaultChallengeTTL
	PushPoll         time.Duration // how often a held request asks for the push answer; 0: DefaultPushPoll

	MaxAnswers    int // answers kept for retransmissions; 0: DefaultMaxAnswers
	MaxChallenges int // pending challenges; 0: DefaultMaxChallenges
	MaxHeld       int // requests held for a push answer at once; 0: DefaultMaxHeld
	Workers       int // requests evaluated at once; 0: DefaultWorkers
}

// Server answers RADIUS Access-Requests. It is safe for concurrent use.
type Server struct {
	c Config

	clients clientTable

	mu      sync.Mutex
	answers *boundedMap[requestKey, *answer]
	pending *boundedMap[string, challenge]
	// Entries forgotten to make room since the last sweep, which says so.
	forgotAnswers, forgotChallenges int

	held chan struct{} // places of the requests held for a push answer
}

// requestKey names a request for retransmission detection: what a
// gateway keeps apart in its own table of requests outstanding.
type requestKey struct {
	from netip.AddrPort
	id   byte
}

// answer is a request's reply; done is false while it is being evaluated
// (since at). auth is the request's Request Authenticator: another one
// under the same key is a new request.
type answer struct {
	auth  [16]byte
	reply []byte
	done  bool
	at    time.Time
}

// challenge is the server side of an Access-Challenge's State: the
// password (where the mode asks for one) was right, and the next request
// carrying the State may give the code.
type challenge struct {
	clientID int64
	orgID    int64
	username string // as typed in the first request
	txid     string // the emailed code's transaction, once one was sent
	push     bool   // the user may approve in the app instead of typing a code
	pushTx   string // the push's transaction, once one was sent and its number shown
	lang     string
	expires  time.Time
}

// New returns a Server.
func New(c Config) *Server {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.CheckEvery <= 0 {
		c.CheckEvery = DefaultCheckEvery
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.RetransmitWindow <= 0 {
		c.RetransmitWindow = DefaultRetransmitWindow
	}
	if c.ChallengeTTL <= 0 {
		c.ChallengeTTL = DefaultChallengeTTL
	}
	if c.MaxAnswers <= 0 {
		c.MaxAnswers = DefaultMaxAnswers
	}
	if c.MaxChallenges <= 0 {
		c.MaxChallenges = DefaultMaxChallenges
	}
	if c.MaxHeld <= 0 {
		c.MaxHeld = DefaultMaxHeld
	}
	if c.PushPoll <= 0 {
		c.PushPoll = DefaultPushPoll
	}
	s := &Server{
		c:       c,
		answers: newBoundedMap[requestKey, *answer](c.MaxAnswers),
		pending: newBoundedMap[string, challenge](c.MaxChallenges),
		held:    make(chan struct{}, c.MaxHeld),
	}
	s.clients.server = s
	return s
}

// Serve answers the requests arriving on conn until ctx is done, then
// closes conn and waits for the requests being evaluated.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	if err := s.clients.reload(ctx); err != nil {
		s.c.Log.Error("radius: cannot load the clients; retrying", "err", err)
	}
	// A read error ends the server as ctx does.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.maintain(ctx)
	}()

	errs := make(chan error, 1)
	// worker reads, evaluates and answers packets until conn is closed. A
	// request held for a push answer gives its place to a new worker and
	// ends its own once answered.
	var worker func()
	worker = func() {
		defer wg.Done()
		buf := make([]byte, radius.MaxPacketLength+1)
		for {
			n, addr, err := conn.ReadFrom(buf)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				select {
				case errs <- fmt.Errorf("radius: read: %w", err):
				default:
				}
				cancel()
				return
			}
			from, ok := addrPort(addr)
			if !ok {
				continue
			}
			held := false
			release := func() {
				if !held {
					held = true
					wg.Add(1)
					go worker()
				}
			}
			if reply := s.handle(ctx, buf[:n], from, release); reply != nil {
				if _, err := conn.WriteTo(reply, addr); err != nil && ctx.Err() == nil {
					s.c.Log.Warn("radius: cannot send the answer", "to", from.String(), "err", err)
				}
			}
			if held {
				return
			}
		}
	}
	for range s.c.Workers {
		wg.Add(1)
		go worker()
	}
	<-ctx.Done()
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), err == nil
}

// maintain reloads the clients when their revision moves and forgets
// expired challenges.
func (s *Server) maintain(ctx context.Context) {
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	check := time.NewTicker(s.c.CheckEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			s.sweep()
		case <-check.C:
			if err := s.clients.refresh(ctx); err != nil && ctx.Err() == nil {
				s.c.Log.Error("radius: cannot reload the clients; keeping the ones loaded", "err", err)
			}
		}
	}
}

// sweep forgets expired challenges, and warns when a table was full since
// the last sweep: once a second at most, not per request. Answers are not
// walked: each is replaced by the next request under its key, and the
// table is bounded by its size; one older than RetransmitWindow answers
// no retransmission.
func (s *Server) sweep() {
	now := s.c.Clock.Now()
	s.mu.Lock()
	s.pending.deleteFunc(func(c challenge) bool { return !now.Before(c.expires) })
	answers, challenges := s.forgotAnswers, s.forgotChallenges
	s.forgotAnswers, s.forgotChallenges = 0, 0
	s.mu.Unlock()
	if answers > 0 {
		s.c.Log.Warn("radius: the retransmission cache is full; forgot older answers to make room", "forgotten", answers, "limit", s.c.MaxAnswers)
	}
	if challenges > 0 {
		s.c.Log.Warn("radius: too many pending challenges; forgot the oldest to make room", "forgotten", challenges, "limit", s.c.MaxChallenges)
	}
}

// remember keeps a's answer for retransmissions of the request key names.
// s.mu must be held.
func (s *Server) remember(key requestKey, a *answer) {
	if s.answers.set(key, a) {
		s.forgotAnswers++
	}
}

// Handle answers one datagram received from `from`. It returns the
// datagram to send back, or nil when the request is dropped. A request
// held for a push answer returns when the answer is in.
func (s *Server) Handle(ctx context.Context, packet []byte, from netip.AddrPort) []byte {
	return s.handle(ctx, packet, from, func() {})
}

// handle is Handle for Serve, whose release frees the request's place
// among those being evaluated when it is held for a push answer instead.
func (s *Server) handle(ctx context.Context, packet []byte, from netip.AddrPort, release func()) []byte {
	b, err := wellFormed(packet)
	if err != nil || radius.Code(b[0]) != radius.CodeAccessRequest {
		if s.c.Log.Enabled(ctx, slog.LevelDebug) {
			s.c.Log.Debug("radius: dropped a packet that is not a well-formed Access-Request", "source", from.String())
		}
		return nil
	}
	c, ok := s.clients.lookup(ctx, from.Addr())
	if !ok {
		if s.c.Log.Enabled(ctx, slog.LevelDebug) {
			s.c.Log.Debug("radius: dropped a packet from an unknown address", "source", from.String())
		}
		return nil
	}
	key := requestKey{from: from, id: b[1]}
	mine := &answer{at: s.c.Clock.Now()}
	copy(mine.auth[:], b[4:20])
	s.mu.Lock()
	if a, ok := s.answers.get(key); ok && a.auth == mine.auth && (!a.done || mine.at.Sub(a.at) <= s.c.RetransmitWindow) {
		reply := a.reply // nil while the first copy is evaluated: this one is dropped
		s.mu.Unlock()
		if s.c.Log.Enabled(ctx, slog.LevelDebug) {
			s.c.Log.Debug("radius: retransmission", "client", c.Name, "source", from.String(), "answered", reply != nil)
		}
		return reply
	}
	s.remember(key, mine)
	s.mu.Unlock()

	reply := s.answer(ctx, c, b, from, release)

	// A new request under the same key may have replaced this one
	// meanwhile: its entry is left alone.
	s.mu.Lock()
	if a, ok := s.answers.get(key); ok && a == mine {
		if reply == nil {
			s.answers.delete(key)
		} else {
			mine.reply, mine.done, mine.at = reply, true, s.c.Clock.Now()
		}
	}
	s.mu.Unlock()
	return reply
}

// answer evaluates a request from a known client.
func (s *Server) answer(ctx context.Context, c *client, b []byte, from netip.AddrPort, release func()) []byte {
	// The logger that names the client and the source is made only when
	// something is logged.
	log := lazyLog{base: s.c.Log, client: c.Name, from: from}
	switch err := checkRequest(b, c.secret); {
	case errors.Is(err, errNoMessageAuth) && !c.RequireMessageAuthenticator:
	case err != nil:
		log.Warn("radius: dropped a request", "why", err)
		return nil
	}
	req, err := radius.Parse(b, c.secret)
	if err != nil {
		log.Warn("radius: dropped a request", "why", err)
		return nil
	}
	ev := store.Event{OrgID: c.OrgID, Actor: c.actor, Action: "validate", Source: from.Addr().String()}
	username := rfc2865.UserName_GetString(req)
	ev.Target = auth.CanonicalUsername(username)
	respond := func(code radius.Code, fill func(*radius.Packet)) []byte {
		resp := req.Response(code)
		if fill != nil {
			fill(resp)
		}
		echoProxyState(resp, req)
		out, err := encodeResponse(resp, req.Authenticator)
		if err != nil {
			log.Error("radius: cannot encode the answer", "err", err)
			return nil
		}
		return out
	}
	reject := func() []byte { return respond(radius.CodeAccessReject, nil) }
	// refuse rejects a request the core never saw, and audits why.
	refuse := func(why string) []byte {
		ev.At, ev.Result = s.c.Clock.Now(), why
		if err := s.c.Store.Audit(ctx, ev); err != nil {
			log.Error("radius: cannot audit", "err", err)
		}
		return reject()
	}

	// An answer to a challenge may come without User-Password: an
	// attribute cannot be empty, so some clients (radclient among them)
	// send an empty answer that way rather than as padding.
	typed := ""
	_, challenged := req.Lookup(rfc2865.State_Type)
	switch hidden, ok := req.Lookup(rfc2865.UserPassword_Type); {
	case ok:
		pw, err := radius.UserPassword(hidden, c.secret, req.Authenticator[:])
		if err != nil {
			return refuse("malformed")
		}
		typed = string(pw)
		clear(pw)
	case !challenged:
		return refuse("no_password")
	}

	pol, err := s.c.Verifier.OrgPolicy(ctx, c.OrgID)
	if err != nil {
		log.Error("radius: cannot read the organization's policy", "err", err)
		return reject()
	}
	r := auth.Request{OrgID: c.OrgID, Username: username, Actor: ev.Actor, Source: ev.Source}

	accept := func(out auth.Outcome, lang string) []byte {
		class, err := secret.Token(s.c.Rand, 10)
		if err != nil {
			return reject()
		}
		return respond(radius.CodeAccessAccept, func(p *radius.Packet) {
			replied := false
			for _, a := range pol.RadiusAttributes {
				name, value, err := policy.RadiusAttribute(a)
				if err != nil {
					continue
				}
				kind := policy.RadiusAttributeKinds[name]
				replied = replied || name == "Reply-Message"
				if kind.Number {
					var n uint32
					fmt.Sscan(value, &n)
					p.Add(radius.Type(kind.Type), radius.NewInteger(n))
				} else {
					p.Add(radius.Type(kind.Type), radius.Attribute(value))
				}
			}
			if !replied {
				rfc2865.ReplyMessage_AddString(p, message(lang, msgAccepted))
			}
			rfc2865.Class_AddString(p, "twofold:"+class)
		})
	}
	// challengeWith goes on with ch under a new State, asking with the
	// message msg, filled in with args.
	challengeWith := func(ch challenge, msg string, args ...any) []byte {
		state, err := secret.Token(s.c.Rand, 16)
		if err != nil {
			return reject()
		}
		ch.clientID, ch.orgID, ch.username = c.ID, c.OrgID, username
		ch.expires = s.c.Clock.Now().Add(s.c.ChallengeTTL)
		s.mu.Lock()
		if s.pending.set(state, ch) {
			s.forgotChallenges++
		}
		s.mu.Unlock()
		return respond(radius.CodeAccessChallenge, func(p *radius.Packet) {
			rfc2865.State_SetString(p, state)
			text := message(ch.lang, msg)
			if len(args) > 0 {
				text = fmt.Sprintf(text, args...)
			}
			rfc2865.ReplyMessage_SetString(p, text)
		})
	}
	verdict := func(out auth.Outcome, err error, lang string) []byte {
		if err != nil {
			log.Error("radius: the check could not be made", "err", err)
			return reject()
		}
		if !out.Accepted {
			return reject()
		}
		return accept(out, lang)
	}
	rs := replies{challenge: challengeWith, verdict: verdict, reject: reject, refuse: refuse, log: log}
	// askCode answers a right password with a challenge for the code,
	// which offers what the user can have instead of typing one.
	askCode := func() []byte {
		ch := challenge{lang: "en"}
		if u, err := s.c.Store.UserByName(ctx, c.OrgID, auth.CanonicalUsername(username)); err == nil {
			if u.Language != "" {
				ch.lang = u.Language
			}
			ch.push = pol.Allows(policy.MethodPush) && s.hasPush(ctx, u, log)
		}
		email := pol.Allows(policy.MethodEmail)
		switch {
		case ch.push && email:
			return challengeWith(ch, msgAskCodePushEmail)
		case ch.push:
			return challengeWith(ch, msgAskCodePush)
		case email:
			return challengeWith(ch, msgAskCode)
		}
		return challengeWith(ch, msgAskAppCode)
	}

	if state, ok := req.Lookup(rfc2865.State_Type); ok {
		s.mu.Lock()
		ch, found := s.pending.get(string(state))
		s.pending.delete(string(state))
		s.mu.Unlock()
		if !found || ch.clientID != c.ID || ch.username != username || !s.c.Clock.Now().Before(ch.expires) {
			return refuse("no_challenge")
		}
		if typesNoCode(typed) {
			switch {
			case strings.EqualFold(typed, askEmail):
			case ch.pushTx != "":
				return s.awaitPush(ctx, r, ch, pol, rs, release)
			case ch.push:
				return s.startPush(ctx, r, ch, pol, c.Name, pushSource(req, from), rs, release)
			}
			return s.startEmail(ctx, r, ch, rs)
		}
		r.Code, r.TransactionID = typed, ch.txid
		out, err := s.c.Verifier.Verify(ctx, r)
		return verdict(out, err, ch.lang)
	}

	switch pol.RadiusMode {
	case policy.RadiusPassword:
		r.Password = typed
		out, err := s.c.Verifier.CheckPassword(ctx, r)
		if err != nil || !out.Accepted {
			return verdict(out, err, "")
		}
		return askCode()
	case policy.RadiusPasswordCode:
		password, code, ok := splitCode(typed, pol.OTPDigits)
		if !ok {
			// No code after the password: check the password alone and
			// ask for the code (or a mailed one) in a challenge.
			r.Password = typed
			out, err := s.c.Verifier.CheckPassword(ctx, r)
			if err != nil || !out.Accepted {
				return verdict(out, err, "")
			}
			return askCode()
		}
		r.Password, r.CheckPassword, r.Code = password, true, code
	default:
		r.Code = typed
	}
	out, err := s.c.Verifier.Verify(ctx, r)
	return verdict(out, err, "")
}

// echoProxyState copies the request's Proxy-State attributes into its
// answer, unchanged and in their order, after the answer's own (RFC 2865
// section 5.33): a proxy between the gateway and Twofold finds the request
// an answer belongs to by the Proxy-State it added, and drops an answer
// that lacks it.
func echoProxyState(resp, req *radius.Packet) {
	for _, a := range req.Attributes {
		if a.Type == rfc2865.ProxyState_Type {
			resp.Add(a.Type, a.Attribute)
		}
	}
}

// replies are the ways answer answers one request, for the steps it
// hands on.
type replies struct {
	challenge func(ch challenge, msg string, args ...any) []byte
	verdict   func(out auth.Outcome, err error, lang string) []byte
	reject    func() []byte
	refuse    func(why string) []byte // audited
	log       lazyLog
}

// lazyLog logs with the client's name and the source address, and makes
// the logger that carries them only when a line is written.
type lazyLog struct {
	base   *slog.Logger
	client string
	from   netip.AddrPort
}

func (l lazyLog) logger() *slog.Logger {
	return l.base.With("client", l.client, "source", l.from.String())
}

// Warn and Error log msg at their level, with args.
func (l lazyLog) Warn(msg string, args ...any)  { l.logger().Warn(msg, args...) }
func (l lazyLog) Error(msg string, args ...any) { l.logger().Error(msg, args...) }

// startEmail mails a code for a pending challenge and challenges for it.
func (s *Server) startEmail(ctx context.Context, r auth.Request, ch challenge, rs replies) []byte {
	txid, err := s.c.Verifier.StartEmail(ctx, r, false)
	switch {
	case err == nil:
		ch.txid = txid
		return rs.challenge(ch, msgMailed)
	case errors.Is(err, auth.ErrTooSoon):
		return rs.challenge(ch, msgTooSoon)
	case errors.Is(err, auth.ErrNoEmailToken):
		return rs.challenge(ch, msgAskAppCode)
	default:
		rs.log.Error("radius: cannot mail a code", "err", err)
		return rs.reject()
	}
}

// askEmail, as the answer to a challenge, asks for a code by email even
// where push is offered.
const askEmail = "e"

// typesNoCode reports whether an answer to a challenge types no code but
// asks for another way: an empty answer or a single character. Which way
// is for the caller: "e" (askEmail) mails a code; any other, such as ""
// or "p", sends a push where the challenge offered one and mails a code
// where it did not.
func typesNoCode(typed string) bool {
	return len([]rune(typed)) <= 1
}

// splitCode splits "password123456" into the password and a code of
// digits digits. It reports false when the value does not end in that many
// digits after at least one character of password.
func splitCode(typed string, digits int) (password, code string, ok bool) {
	if len(typed) <= digits {
		return "", "", false
	}
	password, code = typed[:len(typed)-digits], typed[len(typed)-digits:]
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", "", false
		}
	}
	return password, code, true
}
