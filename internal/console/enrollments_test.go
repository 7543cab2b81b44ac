package console

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// figure is the count the report shows for the group labelled key.
func figure(t *testing.T, r response, key string) int {
	t.Helper()
	m := regexp.MustCompile(`<span class="value">(\d+)</span> <span class="label">` + regexp.QuoteMeta(en(key)) + `</span>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("the report (%d) shows no figure %q\n%s", r.status, key, r.body)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func (s *site) outboxCount() int {
	names, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
	return len(names)
}

// The journey of a rollout to 1,000 users: a preview that changes
// nothing, the sending, and a second preview that finds them waiting.
func TestRolloutToAThousandUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		const n = 1000
		start := time.Now()
		for i := range n {
			name := fmt.Sprintf("user%04d", i)
			if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: name, Email: name + "@acme.example"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"nomail1", "nomail2"} {
			if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: name}); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%d users added in %s", n+2, time.Since(start))
		c := s.signIn(ann)
		options := url.Values{"type": {"totp"}, "remind_days": {"3"}}

		start = time.Now()
		r := s.post(c, "/o/acme/admin/enrollments/rollout/preview", options)
		if r.status != http.StatusOK {
			t.Fatalf("preview: %d\n%s", r.status, r.body)
		}
		if got := figure(t, r, "console.rollout.group.invited_dry"); got != n {
			t.Errorf("preview: %d to invite, want %d", got, n)
		}
		if got := figure(t, r, "console.rollout.group.no_email_dry"); got != 2 {
			t.Errorf("preview: %d without email, want 2", got)
		}
		// The report stays readable: the first names of a group, and a count of the rest.
		has(t, r, en("console.rollout.dry_note"), "user0000", "user0099", en("console.rollout.more", n-reportNames), "nomail1", "nomail2")
		if strings.Contains(r.body, "user0100") {
			t.Errorf("the preview lists more than the first %d of a group", reportNames)
		}
		ens, err := s.admin.Enrollments(s.ctx, s.org, store.EnrollmentPending)
		if err != nil || len(ens) != 0 || s.outboxCount() != 0 {
			t.Fatalf("the preview changed something: %d pending invitations (%v), %d mails", len(ens), err, s.outboxCount())
		}
		t.Logf("preview in %s", time.Since(start))

		start = time.Now()
		r = s.post(c, "/o/acme/admin/enrollments/rollout", options)
		if r.status != http.StatusOK {
			t.Fatalf("send: %d\n%s", r.status, r.body)
		}
		t.Logf("rollout in %s", time.Since(start))
		if got := figure(t, r, "console.rollout.group.invited"); got != n {
			t.Errorf("sent: %d invited, want %d", got, n)
		}
		if got := figure(t, r, "console.rollout.group.no_email"); got != 2 {
			t.Errorf("sent: %d without email, want 2", got)
		}
		if got := s.outboxCount(); got != n {
			t.Errorf("%d mails in the outbox, want %d", got, n)
		}
		if ens, err := s.admin.Enrollments(s.ctx, s.org, store.EnrollmentPending); err != nil || len(ens) != n {
			t.Errorf("%d pending invitations after the rollout (%v), want %d", len(ens), err, n)
		}

		s.clock.Advance(time.Minute)
		r = s.post(c, "/o/acme/admin/enrollments/rollout/preview", options)
		if got := figure(t, r, "console.rollout.group.waiting_dry"); got != n {
			t.Errorf("second preview: %d waiting, want %d", got, n)
		}
		if got := figure(t, r, "console.rollout.group.invited_dry"); got != 0 {
			t.Errorf("second preview: %d to invite, want none", got)
		}
		if got := s.outboxCount(); got != n {
			t.Errorf("the second preview mailed: %d mails", got)
		}
	})
}

func TestRolloutRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		hal := s.person(s.org, "hal", store.RoleHelpdesk)
		if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: "dora", Email: "dora@acme.example"}); err != nil {
			t.Fatal(err)
		}
		c := s.signIn(ann)
		for _, days := range []string{"0", "x", "31"} {
			r := s.post(c, "/o/acme/admin/enrollments/rollout/preview", url.Values{"type": {"totp"}, "remind_days": {days}})
			if r.status != http.StatusBadRequest {
				t.Fatalf("remind after %q days: %d", days, r.status)
			}
			has(t, r, `id="remind_days-error"`, `aria-invalid="true"`)
		}
		if r := s.post(c, "/o/acme/admin/enrollments/rollout", url.Values{"type": {"sms"}, "remind_days": {"3"}}); r.status != http.StatusBadRequest {
			t.Fatalf("rollout of sms: %d", r.status)
		}
		// Sending asks for the password and a code again, and comes back
		// to the form with its options; the preview does not.
		s.clock.Advance(freshFor + time.Minute)
		r := s.post(c, "/o/acme/admin/enrollments/rollout", url.Values{"type": {"email"}, "remind_days": {"5"}})
		if want := "/o/acme/admin/enrollments/rollout?remind_days=5&type=email"; location(r) != "/o/acme/admin/reauth?next="+url.QueryEscape(want) {
			t.Fatalf("stale send: %d %q", r.status, location(r))
		}
		if s.outboxCount() != 0 {
			t.Fatal("a stale session sent invitations")
		}
		if r := s.post(c, "/o/acme/admin/enrollments/rollout/preview", url.Values{"type": {"email"}, "remind_days": {"5"}}); r.status != http.StatusOK {
			t.Fatalf("stale preview: %d", r.status)
		}
		if r := s.get(c, "/o/acme/admin/enrollments/rollout?remind_days=5&type=email"); r.status != http.StatusOK {
			t.Fatalf("form: %d", r.status)
		} else {
			has(t, r, `value="5"`, `<option value="email" selected>`)
		}
		// The helpdesk sees the invitations, but does not roll out.
		h := s.signIn(hal)
		if r := s.get(h, "/o/acme/admin/enrollments"); r.status != http.StatusOK {
			t.Fatalf("helpdesk, invitations: %d", r.status)
		}
		for _, path := range []string{"/o/acme/admin/enrollments/rollout", "/o/acme/admin/enrollments/rollout/preview"} {
			r := s.get(h, path)
			if path == "/o/acme/admin/enrollments/rollout/preview" {
				r = s.post(h, path, url.Values{"type": {"totp"}, "remind_days": {"3"}})
			}
			if r.status != http.StatusForbidden {
				t.Fatalf("helpdesk, %s: %d", path, r.status)
			}
		}
	})
}

func TestEnrollmentsFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		for _, name := range []string{"pia", "cato", "eve"} {
			if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: name, Email: name + "@acme.example"}); err != nil {
				t.Fatal(err)
			}
		}
		en1, err := s.admin.EnrollToken(s.ctx, s.org, "cato", "totp", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.admin.CancelEnrollment(s.ctx, s.org, "cato", en1.Token.Serial); err != nil {
			t.Fatal(err)
		}
		if _, err := s.admin.EnrollToken(s.ctx, s.org, "eve", "totp", ""); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(73 * time.Hour) // eve's invitation expires
		if _, err := s.admin.EnrollToken(s.ctx, s.org, "pia", "email", ""); err != nil {
			t.Fatal(err)
		}
		c := s.signIn(ann)
		link := func(u string) string { return `href="/o/acme/admin/users/` + u + `"` }
		for status, want := range map[string]string{
			"": "", "pending": "pia", "cancelled": "cato", "expired": "eve", "completed": "ann",
		} {
			r := s.get(c, "/o/acme/admin/enrollments?status="+status)
			if r.status != http.StatusOK {
				t.Fatalf("status %q: %d", status, r.status)
			}
			for _, u := range []string{"ann", "pia", "cato", "eve"} {
				shown := regexp.MustCompile(regexp.QuoteMeta(link(u))).MatchString(r.body)
				if shown != (want == "" || want == u) {
					t.Errorf("status %q: %s shown %v", status, u, shown)
				}
			}
			if status != "" {
				has(t, r, `<option value="`+status+`" selected>`)
			}
		}
		r := s.get(c, "/o/acme/admin/enrollments?status=lost")
		if r.status != http.StatusBadRequest {
			t.Fatalf("unknown status: %d", r.status)
		}
		has(t, r, `id="status-error"`)
		// The rollout is offered to an admin.
		has(t, s.get(c, "/o/acme/admin/enrollments"), `href="/o/acme/admin/enrollments/rollout"`, en("console.enrollment.state.expired"))
	})
}
