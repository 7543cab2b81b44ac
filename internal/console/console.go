// Package console serves the operator console: each organization's at
// /o/{org}/admin/, for its admins and helpdesk, and the service
// provider's at /admin/, for the provider's admins. Its pages are built
// on package page, like the portal's, and every change goes through the
// same admin.Service as the CLI, so that it is checked and audited once.
//
// Who may do what is decided on every request, from the operator's role
// as stored now (admin.Allowed): each route names the action it performs.
// An operator's session belongs to one organization, and every object a
// URL names is looked up within it, so another organization's users and
// tokens are not found (404), never refused (403). Console sessions are
// shorter than the portal's, and changes that matter most ask for the
// password and a code again when the last time is more than a few
// minutes ago.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/directory"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

//go:embed templates
var templateFS embed.FS

// NewRenderer parses the console's pages.
func NewRenderer() (*page.Renderer, error) {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	return page.NewRenderer(sub, funcs())
}

// Store is what the console reads directly; every change goes through
// admin.Service.
type Store interface {
	page.SessionStore
	OrgBySlug(ctx context.Context, slug string) (store.Org, error)
	UserByID(ctx context.Context, orgID, id int64) (store.User, error)
	SetSessionData(ctx context.Context, idHash []byte, stage, data string) error
}

// Verifier checks an operator's password and code.
type Verifier interface {
	Verify(ctx context.Context, r auth.Request) (auth.Outcome, error)
	// Resync takes a token's code and the one after it, to catch up with
	// its clock or counter.
	Resync(ctx context.Context, r auth.Request, serial, next string) (auth.Outcome, error)
	// Whose finds the organization's authenticator apps that show code
	// now, for the helpdesk: it consumes nothing and counts no guess, and
	// audits the asking as actor.
	Whose(ctx context.Context, orgID int64, code, actor string) ([]store.TokenOwner, error)
}

// Config holds the parts of the console.
type Config struct {
	Store    Store
	Verifier Verifier
	// Admin carries out the operators' changes; each request uses a copy
	// acting as the signed-in operator.
	Admin *admin.Service
	// Directory keeps the organizations' directory connections; each
	// request uses a copy acting as the signed-in operator.
	Directory *directory.Service
	Mailer    Mailer
	Render    *page.Renderer
	Clock     clock.Clock
	Rand      io.Reader
	Log       *slog.Logger
}

// Mailer mails users what operators did for them; compose.Mailer is one.
type Mailer interface {
	admin.Inviter
	TempCodeIssued(ctx context.Context, org store.Org, u store.User, when, until time.Time, uses int, suspended bool) error
}

// Session lifetimes of the console: shorter than the portal's, as an
// operator's session can do more.
const (
	sessionIdle     = 15 * time.Minute
	sessionLifetime = 4 * time.Hour
	// freshFor is how long after entering the password and a code the
	// sensitive changes may be made without entering them again.
	freshFor = 10 * time.Minute
	// stageConsole is the stage of every console session: the portal
	// accepts none of its sessions.
	stageConsole = "console"
	// maxBody bounds a post: a logo and its form.
	maxBody = 128 << 10
)

const sessionCookie = "__Host-twofold-console"

// Server serves the console.
type Server struct {
	Config
	site     page.Site
	sessions page.Sessions
	routes   []route
	imports  importJobs
}

// New returns a Server.
func New(c Config) *Server {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		Config: c,
		site:   page.Site{Render: c.Render, Forms: forms, Rand: c.Rand, Log: c.Log},
		sessions: page.Sessions{
			Store: c.Store, Clock: c.Clock, Rand: c.Rand, Log: c.Log,
			Cookie: sessionCookie, Idle: sessionIdle,
		},
	}
	s.routes = s.table()
	return s
}

// route is one page or form of the console.
type route struct {
	pattern string // "GET /users/{user}", under the console's prefix
	// scope says whose console: an organization's (orgScope) or the
	// service provider's (providerScope).
	scope scope
	// action is what the operator must be allowed (admin.Allowed); the
	// provider's console is for its admins only.
	action admin.Action
	// fresh: the change asks for the password and a code again when
	// they were last entered more than freshFor ago.
	fresh bool
	h     handler
}

type scope int

const (
	orgScope scope = iota
	providerScope
)

func (sc scope) prefix() string {
	if sc == providerScope {
		return "/admin"
	}
	return "/o/{org}/admin"
}

// Pattern is the route's full pattern, method and path.
func (rt route) Pattern() string {
	method, path, _ := strings.Cut(rt.pattern, " ")
	return method + " " + rt.scope.prefix() + path
}

// visit is what a handler knows: the organization whose console it is,
// the operator and their session, and the service acting as them.
type visit struct {
	org   store.Org
	op    store.User
	ses   store.Session
	data  sessionData
	admin *admin.Service
}

type handler func(w http.ResponseWriter, r *http.Request, v *visit)

// sessionData is what a console session keeps.
type sessionData struct {
	// AuthAt is when the operator last entered their password and a code.
	AuthAt int64 `json:"auth_at"`
}

// Handler returns the console's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, sc := range []scope{orgScope, providerScope} {
		p := sc.prefix()
		mux.HandleFunc("GET "+p+"/login", s.withOrg(sc, s.loginPage))
		mux.HandleFunc("POST "+p+"/login", s.withOrg(sc, s.login))
		mux.HandleFunc("POST "+p+"/logout", s.withOrg(sc, s.logout))
		mux.HandleFunc("GET "+p+"/reauth", s.withOperator(sc, "", s.reauthPage))
		mux.HandleFunc("POST "+p+"/reauth", s.withOperator(sc, "", s.reauth))
	}
	for _, rt := range s.routes {
		h := rt.h
		if rt.fresh {
			h = s.fresh(h)
		}
		mux.HandleFunc(rt.Pattern(), s.withOperator(rt.scope, rt.action, h))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "error.not_found", "error.not_found_next")
	})
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case page.TooLarge(r) && isUpload(r.URL.Path):
			s.fail(w, r, nil, http.StatusRequestEntityTooLarge, "console.import.too_large", "console.import.too_large_next")
		case page.TooLarge(r):
			// The other large post is a logo.
			s.fail(w, r, nil, http.StatusRequestEntityTooLarge, "console.error.too_large", "console.error.too_large_next")
		default:
			s.fail(w, r, nil, http.StatusForbidden, "error.csrf", "error.csrf_next")
		}
	})
	// An import's file may be far larger than any other post.
	posts, uploads := page.Guard(mux, deny, maxBody), page.Guard(mux, deny, maxUpload)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpload(r.URL.Path) {
			uploads.ServeHTTP(w, r)
			return
		}
		posts.ServeHTTP(w, r)
	})
}

// consoleOrg resolves whose console a request is for: the organization
// in the path, or the service provider's own. The provider's organization
// has no console under /o/.
func (s *Server) consoleOrg(r *http.Request, sc scope) (store.Org, error) {
	slug := store.ProviderSlug
	if sc == orgScope {
		slug = r.PathValue("org")
		if slug == store.ProviderSlug {
			return store.Org{}, store.ErrNotFound
		}
	}
	return s.Store.OrgBySlug(r.Context(), slug)
}

// withOrg resolves the organization of the console.
func (s *Server) withOrg(sc scope, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org, err := s.consoleOrg(r, sc)
		if errors.Is(err, store.ErrNotFound) {
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

// withOperator requires a console session of the organization whose
// operator's role, read now, allows action ("" for any operator); without
// a session the operator is sent to sign in, and a signed-in person whose
// role does not allow it is told so (403): they know the console exists,
// having signed in to it.
func (s *Server) withOperator(sc scope, action admin.Action, h handler) http.HandlerFunc {
	return s.withOrg(sc, func(w http.ResponseWriter, r *http.Request, v *visit) {
		ok, err := s.loadSession(r, v)
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		if !ok {
			login := consoleURL(sc, v.org) + "login"
			if r.Method == http.MethodGet {
				login = withQuery(login, "next", r.URL.RequestURI())
			}
			page.Redirect(w, r, login)
			return
		}
		if !permitted(sc, v.op.Role, action) {
			s.fail(w, r, nil, http.StatusForbidden, "console.error.forbidden", "console.error.forbidden_next")
			return
		}
		svc := *s.Admin
		svc.Actor = v.op.Username
		v.admin = &svc
		h(w, r, v)
	})
}

// permitted reports whether an operator with role may do action in the
// console of scope.
func permitted(sc scope, role string, action admin.Action) bool {
	switch {
	case sc == providerScope:
		return role == store.RoleAdmin
	case action == "":
		return role == store.RoleAdmin || role == store.RoleHelpdesk
	}
	return admin.Allowed(role, action)
}

// loadSession finds the request's console session in v.org, and its
// operator, as they are now.
func (s *Server) loadSession(r *http.Request, v *visit) (bool, error) {
	ses, ok, err := s.sessions.Find(r)
	if err != nil || !ok || ses.OrgID != v.org.ID || ses.Stage != stageConsole {
		return false, err
	}
	if v.org.Status != store.OrgActive {
		return false, nil
	}
	op, err := s.Store.UserByID(r.Context(), v.org.ID, ses.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && op.Status != store.UserActive) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal([]byte(ses.Data), &v.data); err != nil {
		return false, nil
	}
	v.ses, v.op = ses, op
	return true, nil
}

// fresh asks for the password and a code again before h when they were
// last entered more than freshFor ago. A form post is answered with the
// re-authentication page, which leads back to the form's page.
func (s *Server) fresh(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		if s.Clock.Now().Sub(time.UnixMilli(v.data.AuthAt)) <= freshFor {
			h(w, r, v)
			return
		}
		next := "/"
		if self, ok := s.site.Forms.URL(r); ok {
			next = self.RequestURI()
		}
		page.Redirect(w, r, withQuery(v.home()+"reauth", "next", next))
	}
}

// scopeOf is the scope of an organization's console.
func scopeOf(org store.Org) scope {
	if org.Slug == store.ProviderSlug {
		return providerScope
	}
	return orgScope
}

// consoleURL is the console's home, ending in "/".
func consoleURL(sc scope, org store.Org) string {
	if sc == providerScope {
		return "/admin/"
	}
	return "/o/" + org.Slug + "/admin/"
}

// home is v's console home.
func (v *visit) home() string { return consoleURL(scopeOf(v.org), v.org) }
