// Package web serves Twofold's pages: the enrollment page a user reaches
// from the invitation mail, and each organization's user portal under
// /o/{org}/ — login, second factor, and the dashboard of the user's
// authenticators. Pages are server-rendered HTML that works without
// JavaScript, in English, Dutch and German.
//
// Handlers are thin: they parse the form, call the verification core or
// the operator actions, and render. Every login path goes through the same
// auth.Verifier as the API, so lockout, replay and the one answer hold here
// too. Every form carries a CSRF token; every page sends a strict
// Content-Security-Policy.
package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Store is what the pages need from persistence.
type Store interface {
	OrgBySlug(ctx context.Context, slug string) (store.Org, error)
	UserByName(ctx context.Context, orgID int64, username string) (store.User, error)
	UserByID(ctx context.Context, orgID, id int64) (store.User, error)
	Tokens(ctx context.Context, orgID, userID int64) ([]store.Token, error)
	// Inventory lists the organization's unassigned hardware tokens.
	Inventory(ctx context.Context, orgID int64, after string, limit int) ([]store.InventoryToken, error)
	EnrollmentByCodeHash(ctx context.Context, hash []byte) (store.EnrollmentView, error)
	CreateSession(ctx context.Context, s store.Session, e store.Event) error
	SessionByHash(ctx context.Context, idHash []byte, now time.Time, idle time.Duration) (store.Session, error)
	TouchSession(ctx context.Context, idHash []byte, now time.Time) error
	DeleteSession(ctx context.Context, idHash []byte, e store.Event) error
	SetSessionData(ctx context.Context, idHash []byte, stage, data string) error
	SetLanguage(ctx context.Context, userID int64, lang string) error
	BackupCodesLeft(ctx context.Context, userID int64) (int, error)
	LiveTempCode(ctx context.Context, userID int64, now time.Time) (store.TempCode, error)
	SetLastMethod(ctx context.Context, userID int64, method string) error
	ChallengeByTxID(ctx context.Context, orgID int64, hash []byte) (store.Challenge, error)
	OrgLogo(ctx context.Context, orgID int64) (data []byte, contentType string, err error)
}

// Verifier is the verification core.
type Verifier interface {
	Verify(ctx context.Context, r auth.Request) (auth.Outcome, error)
	Activate(ctx context.Context, r auth.Request, serial string) (auth.Outcome, error)
	// Replace activates serial and retires old in one step.
	Replace(ctx context.Context, r auth.Request, serial, old string) (auth.Outcome, error)
	// Claim makes the inventory's hardware token serial the user's when
	// r.Code is a code it shows; name names it.
	Claim(ctx context.Context, r auth.Request, serial string, name func(store.InventoryToken) string) (auth.Outcome, error)
	CheckPassword(ctx context.Context, r auth.Request) (auth.Outcome, error)
	CheckPIN(ctx context.Context, r auth.Request) (auth.Outcome, error)
	// StartEmail mails a code and returns the transaction id naming it;
	// ResendEmail mails a new one for r.TransactionID.
	StartEmail(ctx context.Context, r auth.Request, activate bool) (string, error)
	ResendEmail(ctx context.Context, r auth.Request) error
	// StartVerification mails the code that confirms it is the user
	// adding an authenticator; CheckVerification checks it.
	StartVerification(ctx context.Context, r auth.Request) (string, error)
	CheckVerification(ctx context.Context, r auth.Request) (auth.Outcome, error)
	// StartReset makes the password reset links to mail for the
	// account r.Username names, if any.
	StartReset(ctx context.Context, r auth.Request) ([]auth.ResetLink, error)
	// StartPush sends a push request to the user's Twofold
	// Authenticator; CheckPush tells whether it is answered, and collects
	// the answer once.
	StartPush(ctx context.Context, r auth.Request, application string) (auth.PushStart, error)
	CheckPush(ctx context.Context, r auth.Request) (auth.Outcome, error)
	// PasswordsInDirectory says whether the organization's passwords are
	// checked in its directory rather than against a stored hash.
	PasswordsInDirectory(ctx context.Context, orgID int64) (bool, error)
}

// passwordOf says whether a user of org with the stored password hash has
// a password to prove — a stored one, or one their organization's
// directory checks — and whether it is the directory's, which cannot be
// changed here.
func (s *Server) passwordOf(ctx context.Context, org store.Org, hash string) (has, inDirectory bool, err error) {
	inDirectory, err = s.Verifier.PasswordsInDirectory(ctx, org.ID)
	if err != nil {
		return false, false, err
	}
	return hash != "" || inDirectory, inDirectory, nil
}

// Sealer opens sealed token secrets, to show them on the enrollment page,
// and seals the backup codes a session keeps until they are saved.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Session lifetimes: idle, and absolute from sign-in.
const (
	sessionIdle     = 30 * time.Minute
	sessionLifetime = 12 * time.Hour
)

// Config holds the parts of the web Server.
type Config struct {
	Store    Store
	Verifier Verifier
	Keys     Sealer
	Admin    *admin.Service // operator actions, done on the user's behalf
	Mailer   *compose.Mailer
	Render   *page.Renderer
	Clock    clock.Clock
	Rand     io.Reader
	Log      *slog.Logger
}

// Server serves the pages.
type Server struct {
	Config
	// jobs is the work done after the answer has gone (mailing reset
	// links); slots bounds how much of it runs at once.
	jobs  sync.WaitGroup
	slots chan struct{}

	site     page.Site
	sessions page.Sessions
}

// backgroundSlots bounds the work running after its answer has gone.
const backgroundSlots = 16

// New returns a Server.
func New(c Config) *Server {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		Config: c,
		slots:  make(chan struct{}, backgroundSlots),
		site:   page.Site{Render: c.Render, Forms: forms, Rand: c.Rand, Log: c.Log},
		sessions: page.Sessions{
			Store: c.Store, Clock: c.Clock, Rand: c.Rand, Log: c.Log,
			Cookie: sessionCookie, Idle: sessionIdle,
		},
	}
}

// Wait blocks until the work begun after earlier answers is done, so
// that a server shutting down mails what it said it would.
func (s *Server) Wait() { s.jobs.Wait() }

// later runs job after the answer to r, so that the answer takes as long
// whatever the job finds to do. The request waits for a free slot (up to
// its deadline), which bounds the jobs any number of requests can start.
func (s *Server) later(r *http.Request, job func(ctx context.Context)) error {
	select {
	case s.slots <- struct{}{}:
	case <-r.Context().Done():
		return r.Context().Err()
	}
	s.jobs.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	go func() {
		defer func() { cancel(); <-s.slots; s.jobs.Done() }()
		job(ctx)
	}()
	return nil
}

// Handler returns the routes of the pages, with security headers, language
// choice and CSRF protection around them.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", page.StaticHandler())
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /enroll", s.enrollPage)
	mux.HandleFunc("POST /enroll", s.enrollPassword)
	mux.HandleFunc("POST /enroll/verify", s.enrollVerify)
	mux.HandleFunc("POST /enroll/email", s.enrollSendCode)

	mux.HandleFunc("GET /o/{org}/{$}", s.withUser(s.dashboard))
	mux.HandleFunc("GET /o/{org}/login", s.withOrg(s.loginPage))
	mux.HandleFunc("POST /o/{org}/login", s.withOrg(s.login))
	mux.HandleFunc("GET /o/{org}/login/code", s.withStage(stagePassword, s.codePage))
	mux.HandleFunc("POST /o/{org}/login/code", s.withStage(stagePassword, s.code))
	mux.HandleFunc("POST /o/{org}/login/method", s.withStage(stagePassword, s.chooseMethod))
	mux.HandleFunc("POST /o/{org}/login/resend", s.withStage(stagePassword, s.resendCode))
	mux.HandleFunc("POST /o/{org}/login/push", s.withStage(stagePassword, s.pushCheck))
	mux.HandleFunc("GET /o/{org}/login/pin", s.withStage(stagePIN, s.setPINPage))
	mux.HandleFunc("POST /o/{org}/login/pin", s.withStage(stagePIN, s.setPIN))
	mux.HandleFunc("GET /o/{org}/login/enroll", s.withStage(stageFirstEnroll, s.pendingEnrollPage))
	mux.HandleFunc("GET /o/{org}/login/claim", s.withStage(stageClaim, s.claimPage, stageFirstEnroll))
	mux.HandleFunc("POST /o/{org}/login/claim", s.withStage(stageClaim, s.claimAtSignIn, stageFirstEnroll))
	mux.HandleFunc("POST /o/{org}/login/enroll", s.withStage(stageFirstEnroll, s.firstEnroll))
	mux.HandleFunc("GET /o/{org}/login/forgot", s.withReset(s.forgotPage))
	mux.HandleFunc("POST /o/{org}/login/forgot", s.withReset(s.forgot))
	mux.HandleFunc("GET /o/{org}/login/reset", s.withReset(s.resetPage))
	mux.HandleFunc("POST /o/{org}/login/reset", s.withReset(s.reset))
	mux.HandleFunc("POST /o/{org}/logout", s.withOrg(s.logout))
	mux.HandleFunc("POST /o/{org}/tokens/rename", s.withUser(s.rename))
	mux.HandleFunc("GET /o/{org}/tokens/remove", s.withUser(s.removePage))
	mux.HandleFunc("POST /o/{org}/tokens/remove", s.withUser(s.remove))
	mux.HandleFunc("POST /o/{org}/password", s.withUser(s.changePassword))
	mux.HandleFunc("POST /o/{org}/pin", s.withUser(s.changePIN))
	mux.HandleFunc("POST /o/{org}/tokens/replace", s.withUser(s.replace))
	mux.HandleFunc("POST /o/{org}/backup", s.withUser(s.makeBackupCodes))
	mux.HandleFunc("GET /o/{org}/backup", s.withStage(stageFull, s.backupCodesPage, stageSetup))
	mux.HandleFunc("POST /o/{org}/backup/new", s.withStage(stageFull, s.newBackupCodes, stageSetup))
	mux.HandleFunc("POST /o/{org}/backup/done", s.withStage(stageFull, s.backupCodesSaved, stageSetup))
	mux.HandleFunc("GET /o/{org}/setup/email", s.withStage(stageSetup, s.setupEmailPage))
	mux.HandleFunc("POST /o/{org}/setup/email", s.withStage(stageSetup, s.setupEmail))
	mux.HandleFunc("GET /o/{org}/enrolled", s.withOrg(s.enrolledPage))
	mux.HandleFunc("GET /o/{org}/logo", s.withOrg(s.logo))
	mux.HandleFunc("POST /o/{org}/add", s.withUser(s.addStart))
	mux.HandleFunc("GET /o/{org}/add/verify", s.withAdd(addVerify, s.addVerifyPage))
	mux.HandleFunc("POST /o/{org}/add/verify", s.withAdd(addVerify, s.addVerify))
	mux.HandleFunc("POST /o/{org}/add/resend", s.withAdd(addVerify, s.sendVerifyCode))
	mux.HandleFunc("GET /o/{org}/add/password", s.withAdd(addPassword, s.addPasswordPage))
	mux.HandleFunc("POST /o/{org}/add/password", s.withAdd(addPassword, s.addPassword))
	mux.HandleFunc("GET /o/{org}/add/choose", s.withAdd(addChoose, s.addChoosePage))
	mux.HandleFunc("POST /o/{org}/add/choose", s.withAdd(addChoose, s.addChoose))
	mux.HandleFunc("GET /o/{org}/add/email", s.withAdd(addEmail, s.addEmailPage))
	mux.HandleFunc("POST /o/{org}/add/email", s.withAdd(addEmail, s.addEmail))
	mux.HandleFunc("POST /o/{org}/add/email/resend", s.withAdd(addEmail, s.addEmailResend))
	mux.HandleFunc("GET /o/{org}/add/app", s.withAdd(addApp, s.pendingEnrollPage))
	mux.HandleFunc("POST /o/{org}/add/app", s.withAdd(addApp, s.addApp))
	mux.HandleFunc("GET /o/{org}/add/hardware", s.withAdd(addHardware, s.addHardwarePage))
	mux.HandleFunc("POST /o/{org}/add/hardware", s.withAdd(addHardware, s.addHardware))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "error.not_found", "error.not_found_next")
	})
	return s.secure(mux)
}

// forms names, for each form post whose page is not at the post's own
// path, the page its form is on (page.Forms).
var forms = page.Forms{
	"POST /enroll":                   {Path: "/enroll", Query: map[string]string{"code": "code"}},
	"POST /enroll/verify":            {Path: "/enroll", Query: map[string]string{"code": "enrollment"}},
	"POST /o/{org}/login/method":     {Path: "/o/{org}/login/code"},
	"POST /o/{org}/login/resend":     {Path: "/o/{org}/login/code"},
	"POST /o/{org}/logout":           {Path: "/o/{org}/login"},
	"POST /o/{org}/tokens/rename":    {Path: "/o/{org}/"},
	"POST /o/{org}/tokens/remove":    {Path: "/o/{org}/tokens/remove", Query: map[string]string{"serial": "serial"}},
	"POST /o/{org}/password":         {Path: "/o/{org}/"},
	"POST /o/{org}/pin":              {Path: "/o/{org}/"},
	"POST /o/{org}/backup":           {Path: "/o/{org}/"},
	"POST /o/{org}/backup/done":      {Path: "/o/{org}/"},
	"POST /o/{org}/add":              {Path: "/o/{org}/add/verify"},
	"POST /o/{org}/add/resend":       {Path: "/o/{org}/add/verify"},
	"POST /o/{org}/add/email/resend": {Path: "/o/{org}/add/email"},
}

// home is the server's front page: it says Twofold runs and where the
// organizations' portals are, without naming any organization, so that
// the first address a newcomer opens is not a 404 and tells nobody which
// organizations this server has.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.show(w, http.StatusOK, "home", s.page(w, r, "home.title", nil, nil))
}

// secure guards every page (page.Guard): a refused post gets the
// friendly error page.
func (s *Server) secure(next http.Handler) http.Handler {
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusForbidden, "error.csrf", "error.csrf_next")
	})
	return page.Guard(next, deny, 16<<10)
}

// page fills what every page has, and the organization it belongs to.
func (s *Server) page(w http.ResponseWriter, r *http.Request, title string, org *store.Org, data any) page.Page {
	p := s.site.Page(w, r, title, data)
	p.Loc = time.UTC
	if org != nil {
		p.In(*org)
	}
	return p
}

// show renders a page.
func (s *Server) show(w http.ResponseWriter, status int, name string, p page.Page) {
	s.site.Show(w, status, name, p)
}

// fail shows the friendly error page: under an organization's portal with
// its name and a way back to the portal. err, when not nil, is logged: it
// is a failure of Twofold, not of the person.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, status int, message, next string) {
	if err != nil {
		s.Log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	view := page.ErrorView{Status: status, Message: message, Next: next}
	org := s.pathOrg(r)
	if org != nil {
		view.BackURL = homeURL(*org)
	}
	s.show(w, status, "error", s.page(w, r, "error.title", org, view))
}

// pathOrg is the organization whose portal a request's path is under
// (/o/{org}/…), or nil when there is none — or none to be found, which is
// no reason to fail the error page. The path is read directly, as a CSRF
// refusal comes before routing.
func (s *Server) pathOrg(r *http.Request) *store.Org {
	rest, ok := strings.CutPrefix(r.URL.Path, "/o/")
	slug, _, _ := strings.Cut(rest, "/")
	if !ok || slug == "" {
		return nil
	}
	org, err := s.Store.OrgBySlug(r.Context(), slug)
	if err != nil {
		return nil
	}
	return &org
}

// unavailable is the answer when the database or mail cannot be reached.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, err, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_next")
}

// redirect answers a form post with a redirect to a page.
func redirect(w http.ResponseWriter, r *http.Request, to string) { page.Redirect(w, r, to) }

// source is the address a request came from, for the audit log.
func source(r *http.Request) string { return page.Source(r) }

// isNotFound reports a missing row.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
