package console

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auditexport"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// auditRoutes are the audit log's: a page of it and its exports.
func (s *Server) auditRoutes() []route {
	return []route{
		{pattern: "GET /audit", scope: orgScope, action: admin.AuditRead, h: s.audit},
		{pattern: "GET /audit/export", scope: orgScope, action: admin.AuditRead, h: s.auditExport},
	}
}

// auditPageSize is how many events a page of the audit log shows.
const auditPageSize = 50

// auditFields are the filter form's fields, in the form's order, each
// with where it goes in a query (a time field is read first, in the
// organization's zone). bad is the catalogue key saying what the query
// refuses of the field, help that of the field's help, if any.
var auditFields = []struct {
	name, bad, help string
	set             func(q *admin.AuditQuery, v string)
	time            func(q *admin.AuditQuery) *time.Time
}{
	{name: "user", bad: "console.audit.error.user", set: func(q *admin.AuditQuery, v string) { q.User = v }},
	{name: "actor", bad: "console.audit.error.text", set: func(q *admin.AuditQuery, v string) { q.Actor = v }},
	{name: "action", bad: "console.audit.error.action", help: "console.audit.action_help", set: func(q *admin.AuditQuery, v string) { q.Action = v }},
	{name: "result", bad: "console.audit.error.text", set: func(q *admin.AuditQuery, v string) { q.Result = v }},
	{name: "since", bad: "console.audit.error.range", time: func(q *admin.AuditQuery) *time.Time { return &q.Since }},
	{name: "until", bad: "console.audit.error.range", time: func(q *admin.AuditQuery) *time.Time { return &q.Until }},
}

// FilterView is a field of the audit log's filter form: its name (and
// id), its value as typed, and the catalogue key of its help, if any,
// with the help's arguments.
type FilterView struct {
	Name, Value string
	Help        string
	HelpArgs    []any
}

// AuditView is the audit log (page "audit"): the filter form (GET, the
// fields of auditFields, as typed), one page of the events it selects,
// newest first, links to the next page and back to the first, and the
// exports of every event it selects.
type AuditView struct {
	Action string // the log itself: the filter form's action
	Fields []FilterView
	Zone   string // the organization's time zone, which the times are in
	// Refused is set when the filters are not accepted: no events are shown.
	Refused bool
	Events  []store.Event
	Next    string // the next page, or empty
	First   string // the first page, when this is a later one
	CSV     string // the exports, when the filters are accepted
	JSON    string
}

// auditFilters reads the filter form of r into a query. Bad input is
// refused with the page error on its field: each field is added in the
// form's order and the query checked again, so the first field that
// makes it unacceptable is the one the error is about (since after until
// is until's error).
func (s *Server) auditFilters(r *http.Request, v *visit) (admin.AuditQuery, url.Values, *page.Page) {
	typed := url.Values{}
	for _, f := range auditFields {
		if value := strings.TrimSpace(r.URL.Query().Get(f.name)); value != "" {
			typed.Set(f.name, value)
		}
	}
	loc := page.Location(v.org)
	var q admin.AuditQuery
	for _, f := range auditFields {
		value := typed.Get(f.name)
		if value == "" {
			continue
		}
		bad := f.bad
		var err error
		if f.time != nil {
			if *f.time(&q), err = v.admin.AuditTime(f.name, value, loc); err != nil {
				bad = "console.audit.error.time"
			}
		} else {
			f.set(&q, value)
		}
		if err == nil {
			// Only bad input fails a check: it reads nothing.
			_, err = v.admin.AuditFilter(v.org, q)
		}
		if err != nil {
			return q, typed, &page.Page{Error: bad, ErrorField: f.name}
		}
	}
	return q, typed, nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, v *visit) {
	q, typed, bad := s.auditFilters(r, v)
	view := AuditView{Action: v.home() + "audit", Zone: page.Location(v.org).String()}
	for _, f := range auditFields {
		fv := FilterView{Name: f.name, Value: typed.Get(f.name), Help: f.help}
		if f.time != nil {
			fv.Help, fv.HelpArgs = "console.audit.time_help", []any{view.Zone}
		}
		view.Fields = append(view.Fields, fv)
	}
	p := s.page(w, r, v, "console.audit.title", nil)
	if bad == nil && r.URL.Query().Get("before") != "" {
		var ok bool
		if q.Before, ok = parseCursor(r.URL.Query().Get("before")); !ok {
			bad = &page.Page{Error: "console.audit.bad_page"}
		}
	}
	if bad != nil {
		p.Error, p.ErrorArgs, p.ErrorField = bad.Error, bad.ErrorArgs, bad.ErrorField
		view.Refused = true
		p.Data = view
		s.show(w, http.StatusBadRequest, "audit", p)
		return
	}
	q.Limit = auditPageSize + 1 // one more tells whether there is a next page
	events, err := v.admin.AuditEvents(r.Context(), v.org, q)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		view.Next = withValues(view.Action, typed, "before", formatCursor(events[len(events)-1].Cursor()))
	}
	if !q.Before.IsZero() {
		view.First = withValues(view.Action, typed, "", "")
	}
	view.Events = events
	view.CSV = withValues(view.Action+"/export", typed, "format", string(auditexport.CSV))
	view.JSON = withValues(view.Action+"/export", typed, "format", string(auditexport.JSON))
	p.Data = view
	s.show(w, http.StatusOK, "audit", p)
}

// withValues is the page at path with the query fields and, when name is
// not empty, name=value.
func withValues(path string, fields url.Values, name, value string) string {
	q := url.Values{}
	for k, vs := range fields {
		q[k] = vs
	}
	if name != "" {
		q.Set(name, value)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// formatCursor and parseCursor carry a position in the log in a link:
// the event's time in milliseconds, as the store keeps it, and its id.
func formatCursor(c store.EventCursor) string {
	return fmt.Sprintf("%d.%d", c.At.UnixMilli(), c.ID)
}

func parseCursor(s string) (store.EventCursor, bool) {
	at, id, ok := strings.Cut(s, ".")
	ms, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return store.EventCursor{}, false
	}
	return store.EventCursor{At: time.UnixMilli(ms).UTC(), ID: n}, true
}

// auditExport streams every event the filters select as a download, not
// one page: the same filters as the page's, checked before anything is
// sent, so that a refusal is still a page.
func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, v *visit) {
	format, err := auditexport.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		s.fail(w, r, nil, http.StatusNotFound, "error.not_found", "error.not_found_next")
		return
	}
	q, typed, bad := s.auditFilters(r, v)
	if bad != nil {
		// The log's page says what is wrong, on its field.
		page.Redirect(w, r, withValues(v.home()+"audit", typed, "", ""))
		return
	}
	loc := page.Location(v.org)
	name := fmt.Sprintf("audit-%s-%s%s", v.org.Slug, s.Clock.Now().In(loc).Format("20060102-150405"), format.Extension())
	h := w.Header()
	h.Set("Content-Type", format.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	out := &sentWriter{w: w}
	err = auditexport.Write(out, format, loc, func(fn func(store.Event) error) error {
		return v.admin.EachAuditEvent(r.Context(), v.org, q, fn)
	})
	switch {
	case err == nil:
	case !out.sent:
		h.Del("Content-Disposition")
		s.unavailable(w, r, err)
	default:
		// Part of the file is out: breaking the connection is the only
		// way left to tell the browser it is not the whole log.
		s.Log.Error("console: audit export cut short", "org", v.org.Slug, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// sentWriter notes whether anything was written to the response.
type sentWriter struct {
	w    io.Writer
	sent bool
}

func (sw *sentWriter) Write(b []byte) (int, error) {
	sw.sent = sw.sent || len(b) > 0
	return sw.w.Write(b)
}
