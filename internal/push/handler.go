package push

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Store is what the device endpoints need of the database.
type Store interface {
	EnrollmentByCodeHash(ctx context.Context, hash []byte) (store.EnrollmentView, error)
	ActivatePushToken(ctx context.Context, codeHash []byte, d store.PushDevice, now time.Time, e store.Event) error
	PushDeviceBySerial(ctx context.Context, serial string) (store.PushDeviceView, error)
	PendingPushRequests(ctx context.Context, userID int64, now time.Time) ([]store.PushRequest, error)
	Audit(ctx context.Context, e store.Event) error
}

// Answerer records a device's answer through the verification core, which
// counts a refusal against the lockout and mails a fraud report
// (auth.Verifier).
type Answerer interface {
	AnswerPush(ctx context.Context, a auth.PushAnswer) (string, error)
}

// Keyring opens a token's sealed TOTP secret (see secret.Keyring).
type Keyring interface {
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Notifier mails a user about a change to their account, as the portal
// does (compose.Mailer): name is the notice's, such as "token_added".
type Notifier interface {
	Notice(ctx context.Context, name string, org store.Org, u store.User, tokenName string, when time.Time) error
}

// maxBody bounds every request body: the largest, an activation, is a
// few hundred bytes.
const maxBody = 16 << 10

// maxDeviceName bounds the name a device gives itself, in characters.
const maxDeviceName = 64

// defaultPollEvery is how often a long poll re-reads the table: often
// enough that a person barely waits, rarely enough for many devices.
const defaultPollEvery = 500 * time.Millisecond

// The refusals devices see. Each covers every reason of its kind, so
// nothing outside learns why (the audit log and the server log do).
const (
	refuseActivation = "the activation code is unknown, used or expired"
	refuseSignature  = "the request is not signed by an active device"
	refuseRequest    = "no such push request"
)

// Handler serves the device endpoints of the push protocol under
// /push/v1/. Every field but PollEvery must be set.
type Handler struct {
	Store   Store
	Answers Answerer
	Keys    Keyring
	// Notifier tells the user that a device was added to their account.
	Notifier  Notifier
	Clock     clock.Clock
	Log       *slog.Logger
	PublicURL string // the server's base URL, told to activated devices
	// PollEvery is how often a long poll re-reads pending requests;
	// zero means every 500 ms.
	PollEvery time.Duration
	// Draining, once closed, ends every long poll at once with what it
	// has: a server shutting down gracefully waits for requests in
	// flight, and would otherwise wait out each device's poll. Nil never
	// drains.
	Draining <-chan struct{}
}

// ServeHTTP answers the device endpoints to any origin (CORS), so that
// the web app served by one Twofold server can hold tokens of others. That
// opens nothing: no endpoint reads a cookie or any credential a browser
// adds by itself — an activation is authorized by its single-use code and
// every later request by the device key's signature, which a page of
// another origin has no more than any other client does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, "+SignatureHeader)
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	path := r.URL.Path
	switch {
	case path == PathActivate:
		h.only(w, r, http.MethodPost, h.activate)
	case path == PathRequests:
		h.only(w, r, http.MethodGet, h.signed(h.list))
	case strings.HasPrefix(path, PathRequests+"/") && !strings.Contains(path[len(PathRequests)+1:], "/") && len(path) > len(PathRequests)+1:
		h.only(w, r, http.MethodPost, h.signed(h.answer))
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// only runs next for requests of method, and refuses others.
func (h *Handler) only(w http.ResponseWriter, r *http.Request, method string, next http.HandlerFunc) {
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	next(w, r)
}

func (h *Handler) activate(w http.ResponseWriter, r *http.Request) {
	var req ActivateRequest
	if !readJSON(w, r, &req) {
		return
	}
	key, err := ParseDeviceKey(req.Alg, req.PublicKey)
	name := strings.TrimSpace(req.DeviceName)
	if err != nil || req.ActivationCode == "" || !validCode(req.ActivationCode) || !validName(name) {
		writeError(w, http.StatusBadRequest, `activation_code, public_key (base64url: Ed25519, 32 bytes, or with "alg": "ES256" an uncompressed P-256 point, 65 bytes) and a device_name of at most 64 characters are required`)
		return
	}
	now := h.Clock.Now()
	source := remoteIP(r.RemoteAddr)
	// Link codes are lower-case base32; a person may have typed one in
	// capitals, as the enrollment page allows.
	hash := secret.HashToken(strings.ToLower(req.ActivationCode))
	v, err := h.Store.EnrollmentByCodeHash(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		h.Log.Info("push activation refused", "reason", "unknown code", "source", source)
		writeError(w, http.StatusNotFound, refuseActivation)
		return
	}
	if err != nil {
		h.fail(w, "push activation: find enrollment", err)
		return
	}
	target := v.Org.Slug + "/" + v.User.Username + " " + v.Token.Serial
	event := store.Event{OrgID: v.Org.ID, At: now, Actor: v.User.Username, Action: "push.activate", Target: target, Source: source,
		Detail: "device key " + key.Alg}
	refuse := func(reason string) {
		event.Result = reason
		if err := h.Store.Audit(r.Context(), event); err != nil {
			h.Log.Error("push activation: audit a refusal", "err", err)
		}
		writeError(w, http.StatusNotFound, refuseActivation)
	}
	switch {
	case v.Replaced:
		refuse("replaced link")
		return
	case v.Enrollment.Status != store.EnrollmentPending:
		refuse("enrollment " + v.Enrollment.Status)
		return
	case !now.Before(v.Enrollment.ExpiresAt):
		refuse("enrollment expired")
		return
	case v.Token.Type != "push":
		refuse("not a push token")
		return
	case v.Token.State != store.TokenAssigned:
		refuse("token " + v.Token.State)
		return
	case v.User.Status != store.UserActive || v.Org.Status != store.OrgActive:
		refuse("account disabled")
		return
	}
	pol, err := policy.Parse(v.Org.Policy)
	if err != nil {
		h.fail(w, "push activation: organization "+v.Org.Slug, err)
		return
	}
	// Opened before the code is spent, so a key problem leaves the
	// activation to be tried again.
	otpKey, err := h.Keys.Open(v.Token.Secret, store.SecretAD(v.Token))
	if err != nil {
		h.fail(w, "push activation: open the token secret", err)
		return
	}
	defer clear(otpKey)
	event.Result = "ok"
	err = h.Store.ActivatePushToken(r.Context(), hash, store.PushDevice{TokenID: v.Token.ID, PublicKey: key.Public, Alg: key.Alg, Name: name, CreatedAt: now}, now, event)
	if errors.Is(err, store.ErrNotConsumed) {
		refuse("used meanwhile")
		return
	}
	if err != nil {
		h.fail(w, "push activation", err)
		return
	}
	h.tellAdded(r.Context(), v, name, now)
	writeJSON(w, http.StatusOK, ActivateResponse{
		Serial: v.Token.Serial, Org: Org{Slug: v.Org.Slug, Name: v.Org.Name}, Username: v.User.Username, URL: h.PublicURL,
		TOTP: TOTP{Secret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(otpKey),
			Algorithm: v.Token.Algorithm, Digits: v.Token.Digits, Period: v.Token.Period},
		PIN: PIN{Required: pol.PINMode == policy.PINToken, MinLength: pol.PINMinLength, MaxAttempts: pol.TokenPINAttempts},
	})
}

// tellAdded mails the user of enrollment v that the device called device
// was added to their account at at, as the portal does for every
// authenticator, so that one added by someone else does not go unseen.
// The token is active by then: a mail that fails is logged, not refused.
func (h *Handler) tellAdded(ctx context.Context, v store.EnrollmentView, device string, at time.Time) {
	if v.User.Email == "" {
		return
	}
	name := v.Token.Name
	if name == "" {
		name = device
	}
	if err := h.Notifier.Notice(ctx, "token_added", v.Org, v.User, name, at); err != nil {
		h.Log.Error("push activation: notice not sent", "mail", "token_added", "user", v.User.Username, "err", err)
	}
}

// signedHandler serves a request whose signature verified, from the device v.
type signedHandler func(w http.ResponseWriter, r *http.Request, v store.PushDeviceView, body []byte)

// signed verifies a request's signature against the device key of the
// token it names, which must be active, before next sees it. Every
// problem gets the same 401.
func (h *Handler) signed(next signedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			writeError(w, http.StatusBadRequest, "unreadable request body")
			return
		}
		v, reason, err := h.verify(r, body)
		if err != nil {
			h.fail(w, "push: verify a signed request", err)
			return
		}
		if reason != "" {
			h.Log.Info("push request refused", "reason", reason, "source", remoteIP(r.RemoteAddr), "path", r.URL.Path)
			writeError(w, http.StatusUnauthorized, refuseSignature)
			return
		}
		next(w, r, v, body)
	}
}

// verify returns the device that signed r, or why it is refused; an error
// only when the store failed.
func (h *Handler) verify(r *http.Request, body []byte) (store.PushDeviceView, string, error) {
	header := r.Header.Values(SignatureHeader)
	if len(header) != 1 {
		return store.PushDeviceView{}, "no single signature header", nil
	}
	sig, err := ParseSignature(header[0])
	if err != nil {
		return store.PushDeviceView{}, err.Error(), nil
	}
	v, err := h.Store.PushDeviceBySerial(r.Context(), sig.Serial)
	if errors.Is(err, store.ErrNotFound) {
		return v, "no device for serial " + sig.Serial, nil
	}
	if err != nil {
		return v, "", err
	}
	if err := sig.Verify(DeviceKey{Alg: v.Device.Alg, Public: v.Device.PublicKey}, r.Method, r.URL.RequestURI(), body, h.Clock.Now()); err != nil {
		return v, err.Error() + " (" + sig.Serial + ")", nil
	}
	if v.Token.State != store.TokenActive || v.User.Status != store.UserActive || v.Org.Status != store.OrgActive {
		return v, "token " + sig.Serial + " is " + v.Token.State + " or its account disabled", nil
	}
	return v, "", nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, v store.PushDeviceView, _ []byte) {
	wait := 0
	if s := r.URL.Query().Get("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "wait must be a number of seconds")
			return
		}
		wait = min(n, MaxWait)
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(wait)*time.Second)
	defer cancel()
	every := h.PollEvery
	if every <= 0 {
		every = defaultPollEvery
	}
	// Re-reading the table, rather than waiting for a signal from the
	// instance that created a request, works on every instance.
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		out, err := h.pending(r.Context(), v)
		if err != nil {
			h.fail(w, "push: pending requests", err)
			return
		}
		if len(out) > 0 {
			writeJSON(w, http.StatusOK, RequestsResponse{Requests: out})
			return
		}
		select {
		case <-ctx.Done():
			writeJSON(w, http.StatusOK, RequestsResponse{Requests: []Request{}})
			return
		case <-h.Draining:
			writeJSON(w, http.StatusOK, RequestsResponse{Requests: []Request{}})
			return
		case <-tick.C:
		}
	}
}

// pending is what device v shows now: its user's pending requests meant
// for it or for any of the user's devices.
func (h *Handler) pending(ctx context.Context, v store.PushDeviceView) ([]Request, error) {
	rs, err := h.Store.PendingPushRequests(ctx, v.User.ID, h.Clock.Now())
	if err != nil {
		return nil, err
	}
	pol, err := policy.Parse(v.Org.Policy)
	if err != nil {
		return nil, fmt.Errorf("organization %s: %w", v.Org.Slug, err)
	}
	var out []Request
	for _, p := range rs {
		if p.TokenID != 0 && p.TokenID != v.Token.ID {
			continue
		}
		// Without number matching the app shows the one number, which
		// approving sends back: the protocol stays the same.
		numbers := []int{p.Number}
		if pol.PushNumberMatching {
			numbers = Choices(p.ID, p.Number)
		}
		out = append(out, Request{
			ID: p.ID, Org: v.Org.Name, Application: p.Application, Source: p.Source,
			CreatedAt: p.CreatedAt.Format(time.RFC3339), ExpiresAt: p.ExpiresAt.Format(time.RFC3339),
			Numbers: numbers,
		})
	}
	return out, nil
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, v store.PushDeviceView, body []byte) {
	id := strings.TrimPrefix(r.URL.Path, PathRequests+"/")
	var a AnswerRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&a); err != nil || dec.More() {
		writeError(w, http.StatusBadRequest, "the body must be one JSON object")
		return
	}
	switch {
	case a.Decision == DecisionApprove && (a.Number < 10 || a.Number > 99):
		writeError(w, http.StatusBadRequest, "approve needs the number picked, 10 to 99")
		return
	case a.Decision != DecisionApprove && a.Decision != DecisionDeny && a.Decision != DecisionFraud:
		writeError(w, http.StatusBadRequest, `decision must be "approve", "deny" or "fraud"`)
		return
	}
	event := store.Event{OrgID: v.Org.ID, Actor: v.User.Username, Action: "push.answer",
		Target: v.Org.Slug + "/" + v.User.Username + " " + v.Token.Serial, Detail: "request " + id + ", " + a.Decision,
		Source: remoteIP(r.RemoteAddr)}
	status, err := h.Answers.AnswerPush(r.Context(), auth.PushAnswer{OrgID: v.Org.ID, UserID: v.User.ID, RequestID: id,
		Decision: a.Decision, Number: a.Number, Event: event})
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, refuseRequest)
	case errors.Is(err, store.ErrNotConsumed):
		writeError(w, http.StatusConflict, "the push request was answered already or has expired")
	case err != nil:
		h.fail(w, "push: answer", err)
	default:
		writeJSON(w, http.StatusOK, AnswerResponse{Status: status})
	}
}

// fail answers a server-side failure, logging what went wrong.
func (h *Handler) fail(w http.ResponseWriter, what string, err error) {
	h.Log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// readJSON decodes r's body into v, answering 400 or 413 itself when it
// cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "the body must be one JSON object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// An error here means the client went away: no one is left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}

// validName accepts a device name of printable characters, at most
// maxDeviceName of them.
func validName(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxDeviceName {
		return false
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// remoteIP is the address part of a request's RemoteAddr.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
