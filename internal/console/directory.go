package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/directory"
	"github.com/twofold-mfa/twofold/internal/page"
)

// directoryRoutes are the organization's directory connection: its
// settings, and a sync or a dry run now. Like the settings, an admin's
// matter; changing what the console connects with asks for the password
// and a code again.
func (s *Server) directoryRoutes() []route {
	return []route{
		{pattern: "GET /directory", scope: orgScope, action: admin.PolicyWrite, h: s.directoryPage},
		{pattern: "POST /directory", scope: orgScope, action: admin.PolicyWrite, fresh: true, h: s.setDirectory},
		{pattern: "POST /directory/sync", scope: orgScope, action: admin.PolicyWrite, h: s.syncDirectory(false)},
		{pattern: "POST /directory/dry-run", scope: orgScope, action: admin.PolicyWrite, h: s.syncDirectory(true)},
	}
}

func init() {
	for _, post := range []string{"", "/sync", "/dry-run"} {
		forms["POST /o/{org}/admin/directory"+post] = pageForm("/o/{org}/admin/directory")
	}
}

// DirectoryView is the organization's directory (page "directory"): one
// form posting every setting under its key, the write-only bind_password
// (empty: kept) and bind_password_remove, with csrf_token, to Action; and
// two buttons posting to SyncAction and DryRunAction. Report, after one of
// those, is what the sync did or would do.
type DirectoryView struct {
	Action, SyncAction, DryRunAction string
	Fields                           []DirectoryField
	Configured, HasPassword          bool
	LastSyncAt                       time.Time
	LastResult                       string
	Report                           *directory.Report
	Changes                          []directory.Change // the report's first maxShownChanges
	More                             int                // changes not shown
	SyncError                        string
}

// DirectoryField is one setting of the form; its catalogue texts are
// console.directory.field.<Key>.{label,help}.
type DirectoryField struct {
	Key, Value string
	Kind       string // "bool", "number", "duration" or "text"
}

// maxShownChanges bounds the changes a report lists on the page; the
// audit log has them all.
const maxShownChanges = 200

// directory is the directory service acting as the visit's operator.
func (s *Server) directory(v *visit) *directory.Service {
	d := *s.Directory
	d.Actor = v.op.Username
	return &d
}

func (s *Server) directoryPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.directory.title", nil)
	p.Flash = flash(r)
	s.showDirectory(w, r, v, http.StatusOK, p, nil, DirectoryView{})
}

// showDirectory shows the directory on p, with the values typed in the
// form when typed is not nil, and what view holds of a sync.
func (s *Server) showDirectory(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, typed map[string]string, view DirectoryView) {
	cfg, err := s.directory(v).Config(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	h := v.home() + "directory"
	view.Action, view.SyncAction, view.DryRunAction = h, h+"/sync", h+"/dry-run"
	view.Configured, view.HasPassword, view.LastSyncAt, view.LastResult = cfg.Configured, cfg.HasPassword, cfg.LastSyncAt, cfg.LastResult
	for _, st := range cfg.List() {
		f := DirectoryField{Key: st.Key, Value: st.Value, Kind: st.Kind}
		if value, ok := typed[st.Key]; ok {
			f.Value = value
		}
		view.Fields = append(view.Fields, f)
	}
	p.Data = view
	s.show(w, status, "directory", p)
}

// setDirectory sends the settings that differ from the stored ones, and
// a bind password typed, to directory.Service.Set, which changes all of
// them or, refusing one, none.
func (s *Server) setDirectory(w http.ResponseWriter, r *http.Request, v *visit) {
	svc := s.directory(v)
	cfg, err := svc.Config(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	typed, changes := map[string]string{}, map[string]string{}
	for _, st := range cfg.List() {
		value := strings.TrimSpace(r.PostFormValue(st.Key))
		typed[st.Key] = value
		if value != st.Value {
			changes[st.Key] = value
		}
	}
	var password *string
	if pw := r.PostFormValue("bind_password"); pw != "" {
		password = &pw
	} else if r.PostFormValue("bind_password_remove") != "" && cfg.HasPassword {
		password = &pw
	}
	if len(changes) == 0 && password == nil {
		page.Redirect(w, r, withDone(v.home()+"directory", "console.flash.directory_unchanged"))
		return
	}
	_, err = svc.Set(r.Context(), v.org, changes, password)
	if err == nil {
		page.Redirect(w, r, withDone(v.home()+"directory", "console.flash.directory"))
		return
	}
	if !errors.Is(err, admin.ErrInvalid) {
		s.unavailable(w, r, err)
		return
	}
	p := s.page(w, r, v, "console.directory.title", nil)
	// The refusal names every problem; the page shows the first on its field.
	var ke *directory.KeyError
	if errors.As(err, &ke) {
		p.Error, p.ErrorArgs, p.ErrorField = "console.error.invalid", []any{ke.Err.Error()}, ke.Key
	} else {
		p.Error, p.ErrorArgs = "console.error.invalid", []any{detail(err)}
	}
	s.showDirectory(w, r, v, http.StatusBadRequest, p, typed, DirectoryView{})
}

// syncDirectory syncs now, or makes a dry run, and shows what it did.
func (s *Server) syncDirectory(dryRun bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		rep, err := s.directory(v).Sync(r.Context(), v.org, dryRun)
		p := s.page(w, r, v, "console.directory.title", nil)
		var view DirectoryView
		status := http.StatusOK
		switch {
		case errors.Is(err, admin.ErrInvalid):
			p.Error, p.ErrorArgs, p.ErrorForm = "console.error.invalid", []any{detail(err)}, "console.directory.sync"
			status = http.StatusBadRequest
		case errors.Is(err, directory.ErrBusy):
			p.Error, p.ErrorForm = "console.directory.busy", "console.directory.sync"
			status = http.StatusConflict
		case err != nil:
			// The directory's own words say what to fix: a certificate,
			// a bind, a search that found nobody.
			s.Log.Warn("console: directory sync failed", "org", v.org.Slug, "err", err)
			p.Error, p.ErrorArgs, p.ErrorForm = "console.directory.sync_failed", []any{err.Error()}, "console.directory.sync"
			status = http.StatusBadGateway
		default:
			view.Report = &rep
			view.Changes = rep.Changes[:min(len(rep.Changes), maxShownChanges)]
			view.More = len(rep.Changes) - len(view.Changes)
		}
		s.showDirectory(w, r, v, status, p, nil, view)
	}
}
