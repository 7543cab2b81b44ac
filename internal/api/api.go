// Package api serves Twofold's REST JSON API under /api/v1/ and its OpenAPI 3 document.
//
// Applications (VPN gateways, web applications) check their users' codes
// with POST /api/v1/validate, authenticated by an organization's API key.
// Every refusal — unknown user, wrong code, wrong password, locked, code
// used already — is the same answer, {"result":"reject"}; the reason goes
// to the audit log only. The one refusal that is an error instead is a
// code that is not 6 to 8 digits, which is decided before any account is
// looked up and so tells nothing about one.
//
// The validate path is hot: it does not log above debug level, answers
// with pre-built bytes, and parses the body once.
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
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Verifier is what the API needs from the verification core.
type Verifier interface {
	Verify(ctx context.Context, r auth.Request) (auth.Outcome, error)
}

// Keys finds API keys.
type Keys interface {
	APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error)
}

// The paths served.
const (
	pathValidate = "/api/v1/validate"
	pathOpenAPI  = "/api/v1/openapi.json"
)

// routes lists every path the handler serves with the methods it allows,
// as the Allow header says them. The tests hold openapi.json to it.
var routes = map[string]string{
	pathValidate: "POST",
	pathOpenAPI:  "GET, HEAD",
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
	openAPI = fixed(http.StatusOK, string(openAPIDocument), nil)
)

type handler struct {
	v    Verifier
	keys Keys
	log  *slog.Logger
}

// New returns the handler for /api/v1/ (mount it at "/api/v1/" on a ServeMux). log may be nil.
func New(v Verifier, keys Keys, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{v: v, keys: keys, log: log}
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
		write(w, notFound)
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

func (h *handler) validate(w http.ResponseWriter, r *http.Request) {
	key, ok := bearer(r.Header)
	if !ok {
		if len(r.Header["Authorization"]) == 0 {
			write(w, missingKey)
		} else {
			write(w, notBearer)
		}
		return
	}
	// Detached from the connection: see verifyTimeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), verifyTimeout)
	defer cancel()
	source := remoteIP(r.RemoteAddr)

	k, err := h.keys.APIKeyByHash(ctx, secret.HashToken(key))
	if errors.Is(err, store.ErrNotFound) {
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.DebugContext(ctx, "validate: unknown or revoked API key", "remote", source)
		}
		write(w, invalidKey)
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "validate: cannot look up the API key; answered 503", "remote", source, "err", err)
		write(w, unavailable)
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

	out, err := h.v.Verify(ctx, auth.Request{
		OrgID:         k.OrgID,
		Username:      in.Username,
		Code:          in.Code,
		Password:      in.Password,
		CheckPassword: in.HasPassword,
		Actor:         "api:" + k.Name,
		Source:        source,
	})
	switch {
	case err != nil:
		// Never the code, password or key: err comes from the store.
		h.log.ErrorContext(ctx, "validate: cannot verify; answered 503", "key", k.Name, "remote", source, "err", err)
		write(w, unavailable)
	case out.Accepted:
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.DebugContext(ctx, "validate: accept", "key", k.Name, "remote", source, "token", out.Serial)
		}
		write(w, accept)
	case errors.Is(out.Reason, auth.ErrMalformed):
		write(w, malformedCode)
	default:
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.DebugContext(ctx, "validate: reject", "key", k.Name, "remote", source, "reason", out.Reason)
		}
		write(w, reject)
	}
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
