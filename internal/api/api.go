// Package api serves Twofold's REST JSON API under /api/v1/ and its OpenAPI 3 document.
//
// Applications (VPN gateways, web applications) check their users' codes
// with POST /api/v1/validate, authenticated by an organization's API key.
// Every refusal — unknown user, wrong code, wrong password, locked, code
// used already, no email token, unknown transaction — is the same answer,
// {"result":"reject"}; the reason goes to the audit log only. The one
// refusal that is an error instead is a code that is not 6 to 8 digits,
// which is decided before any account is looked up and so tells nothing
// about one.
//
// The same endpoint starts an email challenge ("methods": ["email"]),
// which answers {"result":"challenge","transaction_id":…}; the code the
// user receives is then validated with that transaction_id, and
// GET /api/v1/transactions/{id} tells how the challenge stands. A push
// ("methods": ["push"]) answers the challenge with the number the
// application shows; the application then polls the transaction until it
// is accepted, denied or expired. A push withheld by the fatigue limits
// answers {"result":"challenge","methods":["code"]}: ask for a typed code.
//
// The validate path is hot: it does not log above debug level, answers
// codes with pre-built bytes, and parses the body once.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Verifier is what the API needs from the verification core.
type Verifier interface {
	Verify(ctx context.Context, r auth.Request) (auth.Outcome, error)
	CheckPassword(ctx context.Context, r auth.Request) (auth.Outcome, error)
	StartEmail(ctx context.Context, r auth.Request, activate bool) (string, error)
	ResendEmail(ctx context.Context, r auth.Request) error
	StartPush(ctx context.Context, r auth.Request, application string) (auth.PushStart, error)
	CheckPush(ctx context.Context, r auth.Request) (auth.Outcome, error)
}

// Store is what the API needs from persistence: it finds API keys, which
// it holds in memory until the access revision moves, and challenges for
// their status. *store.Store is one.
type Store interface {
	APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error)
	AccessRevision(ctx context.Context) (int64, error)
	ChallengeByTxID(ctx context.Context, orgID int64, hash []byte) (store.Challenge, error)
	PushRequestByTxHash(ctx context.Context, orgID int64, hash []byte) (store.PushRequest, error)
}

// The paths served.
const (
	pathValidate       = "/api/v1/validate"
	pathTransaction    = prefixTransactions + "{id}" // as the OpenAPI document says it
	prefixTransactions = "/api/v1/transactions/"
	pathOpenAPI        = "/api/v1/openapi.json"
)

// routes lists every path the handler serves with the methods it allows,
// as the Allow header says them. The tests hold openapi.json to it.
var routes = map[string]string{
	pathValidate:    "POST",
	pathTransaction: "GET",
	pathOpenAPI:     "GET, HEAD",
}

// maxBody is the largest validate body accepted.
const maxBody = 4 << 10

// verifyTimeout bounds one validation, key lookup included. The
// validation is detached from the client's connection, so that a client
// hanging up cannot cut an attempt short between reserving it and
// auditing it; this bound keeps a stuck database from holding requests
// for ever.
const verifyTimeout = 15 * time.Second

//go:embed openapi.json
var openAPIDocument []byte

// A response is a fixed answer, built once.
type response struct {
	status int
	body   []byte
	length []string // Content-Length
	extra  http.Header
}

func fixed(status int, body string, extra http.Header) *response {
	return &response{status: status, body: []byte(body), length: []string{strconv.Itoa(len(body))}, extra: extra}
}

// errorResponse builds the response {"error": msg}.
func errorResponse(status int, msg string, extra http.Header) *response {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<key>" readable for people using curl
	if err := enc.Encode(struct {
		Error string `json:"error"`
	}{msg}); err != nil {
		panic(err) // a string always encodes
	}
	return fixed(status, strings.TrimSuffix(b.String(), "\n"), extra)
}

// The answers of the API. Header values are shared slices: the handler
// assigns them to the header map instead of calling Set, which would
// allocate a new slice per request. Nothing may modify them.
var (
	headerJSON    = []string{"application/json"}
	headerNoStore = []string{"no-store"}
	headerNosniff = []string{"nosniff"}

	accept = fixed(http.StatusOK, `{"result":"accept"}`, nil)
	// reject is the one answer to every refusal.
	reject = fixed(http.StatusOK, `{"result":"reject"}`, nil)

	malformedCode = errorResponse(http.StatusBadRequest,
		"code must be 6 to 8 digits; spaces and hyphens are ignored", nil)
	missingKey = errorResponse(http.StatusUnauthorized,
		`missing API key: send the header "Authorization: Bearer <key>" with a key made by: twofold apikey create ORG --name APPLICATION`,
		http.Header{"Www-Authenticate": {`Bearer`}})
	notBearer = errorResponse(http.StatusUnauthorized,
		`the Authorization header must be "Bearer <key>", once, with a key made by: twofold apikey create ORG --name APPLICATION`,
		http.Header{"Www-Authenticate": {`Bearer`}})
	invalidKey = errorResponse(http.StatusUnauthorized, "invalid API key",
		http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}})
	notJSON = errorResponse(http.StatusUnsupportedMediaType,
		"Content-Type must be application/json (with charset utf-8, if any)", nil)
	tooLarge = errorResponse(http.StatusRequestEntityTooLarge,
		"request body is larger than "+strconv.Itoa(maxBody)+" bytes", nil)
	unreadable  = errorResponse(http.StatusBadRequest, "the request body could not be read", nil)
	unavailable = errorResponse(http.StatusServiceUnavailable, "temporarily unavailable, try again", nil)
	notFound    = errorResponse(http.StatusNotFound,
		"no such endpoint; the API is described at "+pathOpenAPI, nil)
	onlyPost = errorResponse(http.StatusMethodNotAllowed, "use POST here",
		http.Header{"Allow": {routes[pathValidate]}})
	onlyGet = errorResponse(http.StatusMethodNotAllowed, "use GET here",
		http.Header{"Allow": {routes[pathOpenAPI]}})
	onlyGetTransaction = errorResponse(http.StatusMethodNotAllowed, "use GET here",
		http.Header{"Allow": {routes[pathTransaction]}})
	tooSoon = errorResponse(http.StatusTooManyRequests,
		"a code was mailed to this user moments ago or too often: wait before asking for another (by default one per 30 seconds, five per 15 minutes)", nil)
	noTransaction = errorResponse(http.StatusNotFound, "no such transaction", nil)
	// codeRequired answers a push withheld by the fatigue limits: the
	// application asks the user for a typed one-time code instead.
	codeRequired = fixed(http.StatusOK, `{"result":"challenge","methods":["code"]}`, nil)

	// statuses are the answers of GET /api/v1/transactions/{id}.
	statuses = map[string]*response{
		store.ChallengePending:  fixed(http.StatusOK, `{"status":"pending"}`, nil),
		store.ChallengeAccepted: fixed(http.StatusOK, `{"status":"accepted"}`, nil),
		store.ChallengeDenied:   fixed(http.StatusOK, `{"status":"denied"}`, nil),
		store.ChallengeExpired:  fixed(http.StatusOK, `{"status":"expired"}`, nil),
	}
	// pushStatuses are the push protocol's statuses in the words of the
	// transactions endpoint: any refusal by the user is denied.
	pushStatuses = map[string]string{
		store.PushPending:     store.ChallengePending,
		store.PushAccepted:    store.ChallengeAccepted,
		store.PushDenied:      store.ChallengeDenied,
		store.PushWrongNumber: store.ChallengeDenied,
		store.PushFraud:       store.ChallengeDenied,
		store.PushExpired:     store.ChallengeExpired,
	}
	openAPI = fixed(http.StatusOK, string(openAPIDocument), nil)
)

type handler struct {
	v     Verifier
	store Store
	clock clock.Clock
	log   *slog.Logger
	keys  *keyCache
}

// An Option changes a handler made by New.
type Option func(*handler)

// WithClock makes the handler tell the time by clk instead of the system
// clock; it decides when a pending transaction has expired. Give it the
// verifier's clock.
func WithClock(clk clock.Clock) Option {
	return func(h *handler) { h.clock = clk }
}

// New returns the handler for /api/v1/ (mount it at "/api/v1/" on a ServeMux). log may be nil.
func New(v Verifier, st Store, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{v: v, store: st, clock: clock.System{}, log: log}
	for _, o := range opts {
		o(h)
	}
	h.keys = &keyCache{store: st, clock: h.clock}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathValidate:
		if r.Method != http.MethodPost {
			write(w, onlyPost)
			return
		}
		h.validate(w, r)
	case pathOpenAPI:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			write(w, onlyGet)
			return
		}
		write(w, openAPI)
	default:
		id, ok := strings.CutPrefix(r.URL.Path, prefixTransactions)
		if !ok || id == "" || strings.Contains(id, "/") {
			write(w, notFound)
			return
		}
		if r.Method != http.MethodGet {
			write(w, onlyGetTransaction)
			return
		}
		h.transaction(w, r, id)
	}
}

// write sends a fixed response.
func write(w http.ResponseWriter, resp *response) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNosniff
	h["Content-Length"] = resp.length
	for k, v := range resp.extra {
		h[k] = v
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// writeError sends {"error": msg} with status; for problems found in the
// body, which are not on the path of a well-formed request.
func writeError(w http.ResponseWriter, status int, msg string) {
	write(w, errorResponse(status, msg, nil))
}

// challengeAnswer is the answer that a challenge was started: the
// application sends the code the user receives back with the
// transaction id.
type challengeAnswer struct {
	Result        string   `json:"result"`
	TransactionID string   `json:"transaction_id"`
	Methods       []string `json:"methods"`
	// Number is what the application shows for a push: the user picks it
	// in the app.
	Number int `json:"number,omitempty"`
}

// writeChallenge answers that the challenge txid waits for a mailed code.
func writeChallenge(w http.ResponseWriter, txid string) {
	writeAnswer(w, challengeAnswer{Result: "challenge", TransactionID: txid, Methods: []string{methodEmail}})
}

// writeAnswer sends a challenge answer.
func writeAnswer(w http.ResponseWriter, a challengeAnswer) {
	body, err := json.Marshal(a)
	if err != nil {
		panic(err) // strings always encode
	}
	write(w, &response{status: http.StatusOK, body: body, length: []string{strconv.Itoa(len(body))}})
}

// authenticate returns the API key the request carries, or answers the
// request itself and returns false. op names the endpoint in log lines.
func (h *handler) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, op, source string) (store.APIKey, bool) {
	key, ok := bearer(r.Header)
	if !ok {
		if len(r.Header["Authorization"]) == 0 {
			write(w, missingKey)
		} else {
			write(w, notBearer)
		}
		return store.APIKey{}, false
	}
	k, err := h.keys.lookup(ctx, secret.HashToken(key))
	if errors.Is(err, store.ErrNotFound) {
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.DebugContext(ctx, op+": unknown or revoked API key", "remote", source)
		}
		write(w, invalidKey)
		return store.APIKey{}, false
	}
	if err != nil {
		h.log.ErrorContext(ctx, op+": cannot look up the API key; answered 503", "remote", source, "err", err)
		write(w, unavailable)
		return store.APIKey{}, false
	}
	return k, true
}

func (h *handler) validate(w http.ResponseWriter, r *http.Request) {
	// Detached from the connection: see verifyTimeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), verifyTimeout)
	defer cancel()
	source := remoteIP(r.RemoteAddr)
	k, ok := h.authenticate(ctx, w, r, "validate", source)
	if !ok {
		return
	}

	if !isJSON(r.Header["Content-Type"]) {
		write(w, notJSON)
		return
	}
	if r.ContentLength > maxBody {
		write(w, tooLarge)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			write(w, tooLarge)
		} else {
			write(w, unreadable)
		}
		return
	}
	in, err := parseValidate(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	req := auth.Request{
		OrgID:         k.OrgID,
		Username:      in.Username,
		Code:          in.Code,
		Password:      in.Password,
		CheckPassword: in.HasPassword,
		TransactionID: in.TransactionID,
		Actor:         "api:" + k.Name,
		Source:        source,
	}
	switch {
	case in.Methods != nil:
		h.startChallenge(ctx, w, k, req, in.Methods)
	case in.Resend:
		h.resend(ctx, w, k, req)
	default:
		h.verify(ctx, w, k, req)
	}
}

// verify checks a code, on its own or as the answer to a challenge.
func (h *handler) verify(ctx context.Context, w http.ResponseWriter, k store.APIKey, req auth.Request) {
	out, err := h.v.Verify(ctx, req)
	switch {
	case err != nil:
		// Never the code, password or key: err comes from the store.
		h.log.ErrorContext(ctx, "validate: cannot verify; answered 503", "key", k.Name, "remote", req.Source, "err", err)
		write(w, unavailable)
	case out.Accepted:
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.DebugContext(ctx, "validate: accept", "key", k.Name, "remote", req.Source, "token", out.Serial, "method", out.Method)
		}
		write(w, accept)
	case errors.Is(out.Reason, auth.ErrMalformed):
		write(w, malformedCode)
	default:
		h.rejected(ctx, w, k, req, out.Reason)
	}
}

// startChallenge sends the user a push or mails a code, whichever of the
// methods asked for comes first and works for the user, after checking the
// password when the request has one.
func (h *handler) startChallenge(ctx context.Context, w http.ResponseWriter, k store.APIKey, req auth.Request, methods []string) {
	if req.CheckPassword {
		// Checked first, so that no code is mailed to a stranger's
		// request; it counts against the lockout like any guess.
		out, err := h.v.CheckPassword(ctx, req)
		if err != nil {
			h.log.ErrorContext(ctx, "validate: cannot check the password; answered 503", "key", k.Name, "remote", req.Source, "err", err)
			write(w, unavailable)
			return
		}
		if !out.Accepted {
			h.rejected(ctx, w, k, req, out.Reason)
			return
		}
	}
	withheld := false
	for _, m := range methods {
		switch m {
		case methodEmail:
			txid, err := h.v.StartEmail(ctx, req, false)
			if errors.Is(err, auth.ErrNoEmailToken) {
				continue
			}
			h.mailed(ctx, w, k, req, txid, err)
			return
		case methodPush:
			p, err := h.v.StartPush(ctx, req, k.Name)
			switch {
			case err == nil:
				writeAnswer(w, challengeAnswer{Result: "challenge", TransactionID: p.TransactionID, Methods: []string{methodPush}, Number: p.Number})
				return
			case errors.Is(err, auth.ErrPushWithheld):
				withheld = true
			case !auth.Refused(err):
				h.log.ErrorContext(ctx, "validate: cannot start a push; answered 503", "key", k.Name, "remote", req.Source, "err", err)
				write(w, unavailable)
				return
			}
		}
	}
	if withheld {
		// Only a user who has a push token and passed the first factor
		// gets here, so the answer tells an outsider nothing.
		write(w, codeRequired)
		return
	}
	h.rejected(ctx, w, k, req, auth.ErrNoToken)
}

// resend mails a new code for the challenge req names.
func (h *handler) resend(ctx context.Context, w http.ResponseWriter, k store.APIKey, req auth.Request) {
	h.mailed(ctx, w, k, req, req.TransactionID, h.v.ResendEmail(ctx, req))
}

// mailed answers the mailing of a code for challenge txid: the challenge
// when err is nil; the one reject when there is no such challenge or
// email token; 429 when codes are asked for too often; 503 otherwise.
func (h *handler) mailed(ctx context.Context, w http.ResponseWriter, k store.APIKey, req auth.Request, txid string, err error) {
	switch {
	case errors.Is(err, auth.ErrNoChallenge), errors.Is(err, auth.ErrNoEmailToken):
		h.rejected(ctx, w, k, req, err)
	case errors.Is(err, auth.ErrTooSoon):
		write(w, tooSoon)
	case err != nil:
		h.log.ErrorContext(ctx, "validate: cannot mail a code; answered 503", "key", k.Name, "remote", req.Source, "err", err)
		write(w, unavailable)
	default:
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.DebugContext(ctx, "validate: code mailed", "key", k.Name, "remote", req.Source, "method", methodEmail)
		}
		writeChallenge(w, txid)
	}
}

// rejected sends the one answer to every refusal; the reason goes to the
// debug log only.
func (h *handler) rejected(ctx context.Context, w http.ResponseWriter, k store.APIKey, req auth.Request, reason error) {
	if h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.DebugContext(ctx, "validate: reject", "key", k.Name, "remote", req.Source, "reason", reason)
	}
	write(w, reject)
}

// maxTxID is the longest transaction id looked up; Twofold's are 26 characters.
const maxTxID = 128

// transaction answers the status of the challenge named id.
func (h *handler) transaction(w http.ResponseWriter, r *http.Request, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), verifyTimeout)
	defer cancel()
	source := remoteIP(r.RemoteAddr)
	k, ok := h.authenticate(ctx, w, r, "transaction", source)
	if !ok {
		return
	}
	if len(id) > maxTxID {
		write(w, noTransaction)
		return
	}
	// Never the id in a log line: with the code it completes a login.
	hash := secret.HashToken(id)
	p, err := h.store.PushRequestByTxHash(ctx, k.OrgID, hash)
	if err == nil {
		h.pushStatus(ctx, w, k, source, p)
		return
	}
	if !errors.Is(err, store.ErrNotFound) {
		h.log.ErrorContext(ctx, "transaction: cannot look up the transaction; answered 503", "key", k.Name, "remote", source, "err", err)
		write(w, unavailable)
		return
	}
	c, err := h.store.ChallengeByTxID(ctx, k.OrgID, hash)
	if errors.Is(err, store.ErrNotFound) {
		write(w, noTransaction)
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "transaction: cannot look up the transaction; answered 503", "key", k.Name, "remote", source, "err", err)
		write(w, unavailable)
		return
	}
	status := c.Status
	if status == store.ChallengePending && !h.clock.Now().Before(c.ExpiresAt) {
		status = store.ChallengeExpired
	}
	resp, ok := statuses[status]
	if !ok {
		h.log.ErrorContext(ctx, "transaction: the stored status is not one the API knows; answered 503", "key", k.Name, "remote", source, "status", status)
		write(w, unavailable)
		return
	}
	write(w, resp)
}

// pushStatus answers how push request p stands. The first read after the
// answer collects it through the verifier, which counts it once; every
// read answers the status as collected, so polling on is harmless.
func (h *handler) pushStatus(ctx context.Context, w http.ResponseWriter, k store.APIKey, source string, p store.PushRequest) {
	if p.ConsumedAt.IsZero() && p.StatusAt(h.clock.Now()) != store.PushPending {
		req := auth.Request{OrgID: k.OrgID, TransactionHash: p.TxIDHash, Actor: "api:" + k.Name, Source: source}
		if _, err := h.v.CheckPush(ctx, req); err != nil {
			h.log.ErrorContext(ctx, "transaction: cannot collect the push; answered 503", "key", k.Name, "remote", source, "err", err)
			write(w, unavailable)
			return
		}
		var err error
		if p, err = h.store.PushRequestByTxHash(ctx, k.OrgID, p.TxIDHash); err != nil {
			h.log.ErrorContext(ctx, "transaction: cannot read the push; answered 503", "key", k.Name, "remote", source, "err", err)
			write(w, unavailable)
			return
		}
	}
	resp, ok := statuses[pushStatuses[p.StatusAt(h.clock.Now())]]
	if !ok {
		h.log.ErrorContext(ctx, "transaction: the stored push status is not one the API knows; answered 503", "key", k.Name, "remote", source, "status", p.Status)
		write(w, unavailable)
		return
	}
	write(w, resp)
}

// bearer returns the key of an "Authorization: Bearer <key>" header. The
// scheme is case-insensitive (RFC 9110, section 11.1); the header must
// appear once.
func bearer(h http.Header) (string, bool) {
	v := h["Authorization"]
	if len(v) != 1 {
		return "", false
	}
	scheme, key, ok := strings.Cut(v[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.Trim(key, " \t")
	return key, key != ""
}

// isJSON reports whether a Content-Type header says JSON: application/json,
// in any case, with no parameter but charset=utf-8.
func isJSON(v []string) bool {
	if len(v) != 1 {
		return false
	}
	typ, params, _ := strings.Cut(v[0], ";")
	if !strings.EqualFold(strings.TrimSpace(typ), "application/json") {
		return false
	}
	for p := range strings.SplitSeq(params, ";") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		name, value, _ := strings.Cut(p, "=")
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if !strings.EqualFold(strings.TrimSpace(name), "charset") || !strings.EqualFold(value, "utf-8") {
			return false
		}
	}
	return true
}

// readBody reads the request body, at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

// remoteIP is the address the request came from: the peer of the
// connection, never a header a client can set.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
