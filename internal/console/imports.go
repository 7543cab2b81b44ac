package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/secret"
)

// Imports: users from CSV and tokens from seed files, uploaded. A
// preview checks the file and shows what an import would do; the import
// itself runs in the background while its page reloads itself to show
// the progress (no JavaScript), and then shows the report. Jobs live in
// the memory of the instance that runs them: behind a load balancer the
// progress page needs the same instance (a sticky session), as RADIUS
// challenges do.
func (s *Server) importRoutes() []route {
	org := func(pattern string, action admin.Action, h handler, fresh bool) route {
		return route{pattern: pattern, scope: orgScope, action: action, h: h, fresh: fresh}
	}
	return []route{
		org("GET /import", admin.UsersWrite, s.importPage, false),
		org("POST /import/users/preview", admin.UsersWrite, s.importUsers(true), false),
		org("POST /import/users", admin.UsersWrite, s.importUsers(false), true),
		org("POST /import/tokens/preview", admin.TokensWrite, s.importTokens(true), false),
		org("POST /import/tokens", admin.TokensWrite, s.importTokens(false), true),
		org("GET /import/jobs/{job}", admin.UsersWrite, s.importJobPage, false),
		org("GET /users.csv", admin.UsersRead, s.exportUsers, false),
	}
}

func init() {
	for _, post := range []string{"users", "users/preview", "tokens", "tokens/preview"} {
		forms["POST /o/{org}/admin/import/"+post] = pageForm("/o/{org}/admin/import")
	}
}

const (
	// maxUpload bounds an import's post: some 250,000 users, or a
	// hundred thousand tokens in PSKC. Larger files go by the CLI.
	maxUpload = 16 << 20
	// importRefresh is how often, in seconds, a running import's page
	// reloads itself.
	importRefresh = 2
	// maxJobs is how many imports an instance keeps, running or
	// finished, at once; keepJobs how long a finished one's report stays.
	maxJobs  = 16
	keepJobs = time.Hour
	// reportRows is how many refused rows, users or assignments a report
	// lists; the rest it counts.
	reportRows = 100
)

// isUpload reports whether a request's path is one of the imports' posts,
// which may carry a file up to maxUpload.
func isUpload(path string) bool {
	rest, ok := strings.CutPrefix(path, "/o/")
	_, rest, _ = strings.Cut(rest, "/")
	return ok && strings.HasPrefix(rest, "admin/import/")
}

// ImportView is the import page (page "import"): a form uploading a users
// CSV (field file; skip_bad, invite) whose buttons post to UsersPreview or
// UsersAction, one uploading a seed file (field file; format, psk,
// password) posting to TokensPreview or TokensAction, each with
// csrf_token; and the report of the last preview.
type ImportView struct {
	UsersAction, UsersPreview   string
	TokensAction, TokensPreview string
	ExportURL                   string
	Tokens                      bool // the operator may import tokens
	Formats                     []string
	Format                      string
	SkipBad, Invite             bool
	MaxMiB                      int
	Report                      *ImportReportView
}

// ImportReportView is what an import did or, Dry, would do.
type ImportReportView struct {
	Kind   string // "users" or "tokens"
	Dry    bool
	Failed string // why the import as a whole failed; empty if it did not
	// Stopped says rows were refused, so nothing was (or would be)
	// imported.
	Stopped bool
	Rows    int // rows (users) or tokens (tokens) in the file
	Written int // users or tokens written
	// Users are the users that pass (a dry run: would be added), Stock
	// the tokens for the inventory, Assigned those given to users.
	Users    []string
	Stock    int
	Assigned []importer.Assignment
	Format   string
	Errors   []string
	More     int // refused rows beyond Errors
	MoreRows int // users or assignments beyond those listed
	// The counts of Users, Assigned and Errors, those not listed too.
	UserCount, AssignedCount, ErrorCount int
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showImport(w, r, v, http.StatusOK, page.Page{}, nil, r.URL.Query().Get("format"), false, false)
}

func (s *Server) showImport(w http.ResponseWriter, r *http.Request, v *visit, status int, refused page.Page, rep *ImportReportView, format string, skipBad, invite bool) {
	base := v.home() + "import/"
	view := ImportView{
		UsersAction: base + "users", UsersPreview: base + "users/preview",
		TokensAction: base + "tokens", TokensPreview: base + "tokens/preview",
		ExportURL: v.home() + "users.csv", Tokens: admin.Allowed(v.op.Role, admin.TokensWrite),
		Formats: importer.Formats, Format: format, SkipBad: skipBad, Invite: invite, MaxMiB: maxUpload >> 20, Report: rep,
	}
	p := s.page(w, r, v, "console.import.title", view)
	p.Flash = flash(r)
	p.Error, p.ErrorArgs, p.ErrorField, p.ErrorForm = refused.Error, refused.ErrorArgs, refused.ErrorField, refused.ErrorForm
	s.show(w, status, "import", p)
}

// upload reads the post's file, refusing the form with a message on its
// field when there is none. form names the form for the error summary.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, v *visit, form string, refuse func(page.Page)) ([]byte, bool) {
	f, _, err := r.FormFile("file")
	if err != nil {
		refuse(page.Page{Error: "console.import.file_missing", ErrorField: "file-" + form, ErrorForm: "console.import." + form})
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		s.unavailable(w, r, err)
		return nil, false
	}
	if len(data) == 0 {
		refuse(page.Page{Error: "console.import.file_missing", ErrorField: "file-" + form, ErrorForm: "console.import." + form})
		return nil, false
	}
	return data, true
}

func (s *Server) importUsers(dry bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		opt := importer.UserOptions{DryRun: dry, SkipBad: r.PostFormValue("skip_bad") != "", Invite: nil}
		invite := r.PostFormValue("invite") != ""
		if invite && !dry {
			opt.Invite = s.Mailer
		}
		refuse := func(p page.Page) { s.showImport(w, r, v, http.StatusBadRequest, p, nil, "", opt.SkipBad, invite) }
		data, ok := s.upload(w, r, v, "users", refuse)
		if !ok {
			return
		}
		im := &importer.Importer{Admin: v.admin}
		if dry {
			rep, err := im.ImportUsers(r.Context(), v.org, bytes.NewReader(data), opt)
			s.showImportResult(w, r, v, usersReport(rep, err, true), err, "users", "", opt.SkipBad, invite)
			return
		}
		s.startImport(w, r, v, "users", func(ctx context.Context, progress func(done, total int)) *ImportReportView {
			im.Progress = progress
			rep, err := im.ImportUsers(ctx, v.org, bytes.NewReader(data), opt)
			return usersReport(rep, err, false)
		})
	}
}

func (s *Server) importTokens(dry bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		format := r.PostFormValue("format")
		refuse := func(p page.Page) { s.showImport(w, r, v, http.StatusBadRequest, p, nil, format, false, false) }
		opt := importer.TokenOptions{Format: format, DryRun: dry}
		if psk := strings.TrimSpace(r.PostFormValue("psk")); psk != "" {
			key, err := hex.DecodeString(strings.ReplaceAll(psk, " ", ""))
			if err != nil {
				refuse(page.Page{Error: "console.import.psk_hex", ErrorField: "psk", ErrorForm: "console.import.tokens"})
				return
			}
			opt.Keys.PreShared = key
		}
		if pw := r.PostFormValue("password"); pw != "" {
			opt.Keys.Password = []byte(pw)
		}
		data, ok := s.upload(w, r, v, "tokens", refuse)
		if !ok {
			return
		}
		im := &importer.Importer{Admin: v.admin}
		if dry {
			rep, err := im.ImportTokens(r.Context(), v.org, bytes.NewReader(data), opt)
			clear(opt.Keys.PreShared)
			clear(opt.Keys.Password)
			s.showImportResult(w, r, v, tokensReport(rep, err, true), err, "tokens", format, false, false)
			return
		}
		s.startImport(w, r, v, "tokens", func(ctx context.Context, progress func(done, total int)) *ImportReportView {
			im.Progress = progress
			rep, err := im.ImportTokens(ctx, v.org, bytes.NewReader(data), opt)
			clear(opt.Keys.PreShared)
			clear(opt.Keys.Password)
			return tokensReport(rep, err, false)
		})
	}
}

// showImportResult shows a preview's report on the import page; a file
// refused as a whole is an error on the form's file field.
func (s *Server) showImportResult(w http.ResponseWriter, r *http.Request, v *visit, rep *ImportReportView, err error, form, format string, skipBad, invite bool) {
	switch {
	case errors.Is(err, importer.ErrFile), errors.Is(err, admin.ErrInvalid):
		p := page.Page{Error: "console.error.invalid", ErrorArgs: []any{detail(err)}, ErrorField: "file-" + form, ErrorForm: "console.import." + form}
		s.showImport(w, r, v, http.StatusBadRequest, p, nil, format, skipBad, invite)
	case err != nil && !errors.Is(err, importer.ErrRows):
		s.unavailable(w, r, err)
	default:
		s.showImport(w, r, v, http.StatusOK, page.Page{}, rep, format, skipBad, invite)
	}
}

func usersReport(rep importer.UserReport, err error, dry bool) *ImportReportView {
	view := &ImportReportView{Kind: "users", Dry: dry, Rows: rep.Rows, Written: rep.Added}
	for i, u := range rep.Users {
		if i == reportRows {
			view.MoreRows = len(rep.Users) - reportRows
			break
		}
		view.Users = append(view.Users, u.Username)
	}
	view.UserCount = len(rep.Users)
	view.errors(rep.Errors, err)
	return view
}

func tokensReport(rep importer.TokenReport, err error, dry bool) *ImportReportView {
	view := &ImportReportView{Kind: "tokens", Dry: dry, Rows: rep.Tokens, Written: rep.Added, Format: rep.Format, Stock: len(rep.Stock)}
	view.Assigned, view.MoreRows = firstOf(rep.Assigned, reportRows)
	view.AssignedCount = len(rep.Assigned)
	view.errors(rep.Errors, err)
	return view
}

func (view *ImportReportView) errors(es []importer.RowError, err error) {
	shown, more := firstOf(es, reportRows)
	for _, e := range shown {
		view.Errors = append(view.Errors, e.Error())
	}
	view.More, view.ErrorCount = more, len(es)
	switch {
	case errors.Is(err, importer.ErrRows):
		// The rows say why; the page says what that means for the
		// import, in the operator's language.
		view.Stopped = true
	case err != nil:
		view.Failed = detail(err)
	}
}

// importJob is an import running, or run, in the background.
type importJob struct {
	orgID   int64
	kind    string
	started time.Time

	mu          sync.Mutex
	done, total int
	report      *ImportReportView // once finished
	ended       time.Time
}

// importJobs are an instance's imports by id.
type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

// add keeps j under a new id, forgetting finished jobs older than
// keepJobs; it refuses when maxJobs are kept and none may go.
func (js *importJobs) add(id string, j *importJob, now time.Time) bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.jobs == nil {
		js.jobs = map[string]*importJob{}
	}
	for id, old := range js.jobs {
		old.mu.Lock()
		gone := old.report != nil && now.Sub(old.ended) > keepJobs
		old.mu.Unlock()
		if gone {
			delete(js.jobs, id)
		}
	}
	if len(js.jobs) >= maxJobs {
		return false
	}
	js.jobs[id] = j
	return true
}

func (js *importJobs) get(id string) (*importJob, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.jobs[id]
	return j, ok
}

// startImport runs work in the background as a job of the operator's
// organization and sends the operator to its page. The work outlives the
// request: it is not cancelled when the browser goes.
func (s *Server) startImport(w http.ResponseWriter, r *http.Request, v *visit, kind string, work func(ctx context.Context, progress func(done, total int)) *ImportReportView) {
	id, err := secret.Token(s.Rand, 16)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	j := &importJob{orgID: v.org.ID, kind: kind, started: s.Clock.Now()}
	if !s.imports.add(id, j, s.Clock.Now()) {
		s.showImport(w, r, v, http.StatusServiceUnavailable, page.Page{Error: "console.import.busy"}, nil, "", false, false)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	go func() {
		rep := work(ctx, func(done, total int) {
			j.mu.Lock()
			j.done, j.total = done, total
			j.mu.Unlock()
		})
		if rep.Failed != "" {
			s.Log.Warn("import failed", "org", v.org.Slug, "kind", kind, "err", rep.Failed)
		}
		j.mu.Lock()
		j.report, j.ended = rep, s.Clock.Now()
		j.mu.Unlock()
	}()
	page.Redirect(w, r, v.home()+"import/jobs/"+id)
}

// ImportJobView is an import's page (page "import_job"): while it runs,
// how far it is (and the page reloads itself every Refresh seconds,
// unless the operator stopped it at StopURL; CheckURL looks again); then
// its report.
type ImportJobView struct {
	Kind              string
	Done, Total       int
	Running           bool
	Refresh           int
	CheckURL, StopURL string
	Back              string
	Report            *ImportReportView
}

func (s *Server) importJobPage(w http.ResponseWriter, r *http.Request, v *visit) {
	j, ok := s.imports.get(r.PathValue("job"))
	if !ok || j.orgID != v.org.ID {
		s.fail(w, r, nil, http.StatusNotFound, "console.import.job_unknown", "console.import.job_unknown_next")
		return
	}
	j.mu.Lock()
	self := v.home() + "import/jobs/" + r.PathValue("job")
	view := ImportJobView{Kind: j.kind, Done: j.done, Total: j.total, Running: j.report == nil, Report: j.report, Back: v.home() + "import"}
	j.mu.Unlock()
	if view.Running {
		view.Refresh, view.CheckURL, view.StopURL = page.RefreshEvery(r, importRefresh), page.KeepRefresh(r, self), page.StopRefresh(self)
	}
	p := s.page(w, r, v, "console.import.job_title", view)
	p.Refresh = view.Refresh
	s.show(w, http.StatusOK, "import_job", p)
}

// exportUsers sends the organization's users as CSV, as twofold user
// export writes them.
func (s *Server) exportUsers(w http.ResponseWriter, r *http.Request, v *visit) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+v.org.Slug+`-users.csv"`)
	im := &importer.Importer{Admin: v.admin}
	if err := im.ExportUsers(r.Context(), v.org, w); err != nil {
		// The header is sent; a cut-short file is all that can tell.
		s.Log.Error("export users", "org", v.org.Slug, "err", err)
	}
}
