package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// enrollmentRoutes are the enrollment section: the invitations by user,
// and the bulk rollout. The preview changes nothing, so it does not ask
// for the password again; sending does.
func (s *Server) enrollmentRoutes() []route {
	return []route{
		{pattern: "GET /enrollments", scope: orgScope, action: admin.UsersRead, h: s.enrollments},
		{pattern: "GET /enrollments/rollout", scope: orgScope, action: admin.TokensWrite, h: s.rolloutPage},
		{pattern: "POST /enrollments/rollout/preview", scope: orgScope, action: admin.TokensWrite, h: s.rollout(true)},
		{pattern: "POST /enrollments/rollout", scope: orgScope, action: admin.TokensWrite, fresh: true, h: s.rollout(false)},
	}
}

// Both rollout posts answer with the rollout's page, which keeps the
// options chosen (also after re-authenticating for sending).
func init() {
	rollout := page.Form{Path: "/o/{org}/admin/enrollments/rollout", Query: map[string]string{"type": "type", "remind_days": "remind_days"}}
	forms["POST /o/{org}/admin/enrollments/rollout"] = rollout
	forms["POST /o/{org}/admin/enrollments/rollout/preview"] = rollout
}

// maxListed is how many rows a list of the enrollment section shows: an
// organization of 100,000 users stays a page one can read, and the
// status filter or a user's own page finds the rest.
const (
	maxListed   = 500
	reportNames = 100
)

// EnrollmentsView lists the organization's invitations by user (page
// "enrollments"), with a GET filter (field status) to Action.
type EnrollmentsView struct {
	Action     string
	Status     string
	Statuses   []string
	Rows       []EnrollmentRowView
	More       int    // rows not shown, past maxListed
	RolloutURL string // the bulk rollout, when the operator may
}

// EnrollmentRowView is one invitation in the list.
type EnrollmentRowView struct {
	store.EnrollmentRow
	URL string // the user's page, where it is resent, extended or cancelled
}

func (s *Server) enrollments(w http.ResponseWriter, r *http.Request, v *visit) {
	status := r.URL.Query().Get("status")
	view := EnrollmentsView{Action: v.home() + "enrollments", Status: status, Statuses: admin.EnrollmentStatuses}
	if admin.Allowed(v.op.Role, admin.TokensWrite) {
		view.RolloutURL = v.home() + "enrollments/rollout"
	}
	p := s.page(w, r, v, "console.enrollments.title", nil)
	rows, err := v.admin.Enrollments(r.Context(), v.org, status)
	if s.listFailed(w, r, p, "enrollments", view, "status", err) {
		return
	}
	shown, more := firstOf(rows, maxListed)
	for _, e := range shown {
		view.Rows = append(view.Rows, EnrollmentRowView{e, v.userURL(e.Username)})
	}
	view.More = more
	p.Data = view
	s.show(w, http.StatusOK, "enrollments", p)
}

// firstOf is the first n of list, and how many more there are.
func firstOf[T any](list []T, n int) ([]T, int) {
	if len(list) <= n {
		return list, 0
	}
	return list[:n], len(list) - n
}

// RolloutView is the bulk rollout (page "rollout"): a form of type and
// remind_days, with csrf_token, whose buttons post to PreviewAction (a
// dry run) or Action (send); and the report of the last run.
type RolloutView struct {
	Action, PreviewAction string
	Type                  string
	Types                 []string
	RemindDays            string
	Back                  string // the enrollment list
	Report                *RolloutReportView
}

// RolloutReportView is what a rollout did or, Dry, would do: each group
// of users with its count and the first reportNames of them.
type RolloutReportView struct {
	Dry         bool
	Groups      []RolloutGroupView
	Outstanding int // still without an authenticator after it
}

// RolloutGroupView is one group of a rollout's report: Label and Why
// are catalogue keys of its name and of why its users are in it.
type RolloutGroupView struct {
	Key        string // invited, reminded, waiting, no_email, suspended, failed
	Label, Why string
	Count      int
	Entries    []RolloutEntryView
	More       int
}

// RolloutEntryView is one user in a group.
type RolloutEntryView struct {
	admin.RolloutEntry
	URL string
}

// Rollout's defaults and bounds, in days.
const (
	defaultRemindDays = 3
	maxRemindDays     = 30
)

var rolloutTypes = []string{"totp", "email"}

func (s *Server) rolloutPage(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	s.showRollout(w, r, v, http.StatusOK, page.Page{}, q.Get("type"), q.Get("remind_days"), nil)
}

func (s *Server) showRollout(w http.ResponseWriter, r *http.Request, v *visit, status int, refused page.Page, typ, days string, report *RolloutReportView) {
	if typ == "" {
		typ = rolloutTypes[0]
	}
	if days == "" {
		days = strconv.Itoa(defaultRemindDays)
	}
	base := v.home() + "enrollments/rollout"
	view := RolloutView{
		Action: base, PreviewAction: base + "/preview", Type: typ, Types: rolloutTypes, RemindDays: days,
		Back: v.home() + "enrollments", Report: report,
	}
	p := s.page(w, r, v, "console.rollout.title", view)
	p.Error, p.ErrorArgs, p.ErrorField = refused.Error, refused.ErrorArgs, refused.ErrorField
	s.show(w, status, "rollout", p)
}

// rollout runs the bulk rollout, dry or not, and shows its report. The
// invitations are mailed by s.Mailer as each is made.
func (s *Server) rollout(dry bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		typ, days := r.PostFormValue("type"), strings.TrimSpace(r.PostFormValue("remind_days"))
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > maxRemindDays {
			bad := page.Page{Error: "console.error.remind_days", ErrorArgs: []any{maxRemindDays}, ErrorField: "remind_days"}
			s.showRollout(w, r, v, http.StatusBadRequest, bad, typ, days, nil)
			return
		}
		rep, err := v.admin.Rollout(r.Context(), v.org, s.Mailer, admin.RolloutOptions{
			Type: typ, RemindAfter: time.Duration(n) * 24 * time.Hour, DryRun: dry,
		})
		if errors.Is(err, admin.ErrInvalid) {
			s.showRollout(w, r, v, http.StatusBadRequest, invalidInput(err, "type"), typ, days, nil)
			return
		}
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		s.showRollout(w, r, v, http.StatusOK, page.Page{}, typ, days, reportView(v, rep, dry))
	}
}

func reportView(v *visit, rep admin.RolloutReport, dry bool) *RolloutReportView {
	view := &RolloutReportView{Dry: dry, Outstanding: len(rep.Waiting) + len(rep.NoEmail) + len(rep.Suspended) + len(rep.Failed)}
	for _, g := range []struct {
		key     string
		entries []admin.RolloutEntry
	}{
		{"invited", rep.Invited}, {"reminded", rep.Reminded}, {"waiting", rep.Waiting},
		{"no_email", rep.NoEmail}, {"suspended", rep.Suspended}, {"failed", rep.Failed},
	} {
		shown, more := firstOf(g.entries, reportNames)
		group := RolloutGroupView{Key: g.key, Label: "console.rollout.group." + g.key, Why: "console.rollout.why." + g.key, Count: len(g.entries), More: more}
		if dry {
			// Nothing is done yet: "to invite", not "invited".
			group.Label += "_dry"
		}
		for _, e := range shown {
			group.Entries = append(group.Entries, RolloutEntryView{e, v.userURL(e.Username)})
		}
		view.Groups = append(view.Groups, group)
	}
	return view
}
