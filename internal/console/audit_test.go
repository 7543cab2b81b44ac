package console

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// auditSite is a site whose organization, in Amsterdam's time zone, has
// 130 events a minute apart before t0 besides those of its setup, with
// an admin, a helpdesk and an operator who was made a plain user after
// signing in, each signed in.
type auditSite struct {
	*site
	admin, helpdesk, demoted *http.Client
	zone                     *time.Location
}

func newAuditSite(t *testing.T, b storetest.Backend) auditSite {
	s := newSite(t, b)
	if _, err := s.admin.SetPolicy(s.ctx, s.org, map[string]string{"time_zone": "Europe/Amsterdam"}); err != nil {
		t.Fatal(err)
	}
	zone, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"acme/carol", "carol", "acme/carol TOTP0001", "carolyn", "bob backup code", "acme/bob"}
	actions := []string{"token.suspend", "token.resume", "validate", "user.add", "tokenizer"}
	for i := range 130 {
		e := store.Event{OrgID: s.org.ID, At: t0.Add(-time.Duration(130-i) * time.Minute), Actor: []string{"ann", "cli", "radius:vpn"}[i%3],
			Action: actions[i%len(actions)], Target: targets[i%len(targets)], Result: []string{"ok", "reject", "locked", "accept"}[i%4],
			Source: "192.0.2." + strconv.Itoa(i%7), Detail: fmt.Sprintf("seed %d, \"quoted\"", i)}
		if err := s.store.Audit(s.ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	a := auditSite{site: s, zone: zone}
	a.admin = s.signIn(s.person(s.org, "ann", store.RoleAdmin))
	a.helpdesk = s.signIn(s.person(s.org, "helen", store.RoleHelpdesk))
	a.demoted = s.signIn(s.person(s.org, "dave", store.RoleAdmin))
	if err := s.admin.SetRole(s.ctx, s.org, "dave", store.RoleUser); err != nil {
		t.Fatal(err)
	}
	s.person(s.org, "carol", store.RoleUser)
	return a
}

// log is every event of the organization that keep selects, newest first.
func (a auditSite) log(t *testing.T, keep func(store.Event) bool) []int64 {
	t.Helper()
	all, err := a.store.EventPage(a.ctx, store.EventFilter{OrgID: a.org.ID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range all {
		if keep(e) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

var (
	eventRow = regexp.MustCompile(`<tr id="event-(\d+)">`)
	nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

// walk reads every page of the audit log from path on, returning the
// events' ids in the order shown and the number of pages.
func (a auditSite) walk(t *testing.T, c *http.Client, path string) ([]int64, int) {
	t.Helper()
	var ids []int64
	pages := 0
	for path != "" {
		r := a.get(c, path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, r.status, r.body)
		}
		pages++
		rows := eventRow.FindAllStringSubmatch(r.body, -1)
		if len(rows) > auditPageSize {
			t.Fatalf("%s: %d rows on a page", path, len(rows))
		}
		for _, m := range rows {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
		path = ""
		if m := nextLink.FindStringSubmatch(r.body); m != nil {
			path = html.UnescapeString(m[1])
			if len(rows) != auditPageSize {
				t.Fatalf("a page of %d rows has a next page", len(rows))
			}
		}
	}
	return ids, pages
}

func aboutCarol(e store.Event) bool {
	return e.Target == "carol" || e.Target == "acme/carol" || strings.HasPrefix(e.Target, "carol ") || strings.HasPrefix(e.Target, "acme/carol ")
}

// auditFilters are filters of the log with what they select.
func auditFilters(zone *time.Location) []struct {
	name  string
	query url.Values
	keep  func(store.Event) bool
} {
	since := time.Date(2026, 11, 24, 8, 0, 0, 0, zone)
	until := time.Date(2026, 11, 24, 9, 30, 0, 0, zone)
	return []struct {
		name  string
		query url.Values
		keep  func(store.Event) bool
	}{
		{"everything", url.Values{}, func(store.Event) bool { return true }},
		{"a user, as typed", url.Values{"user": {"Carol"}}, aboutCarol},
		{"a family of actions", url.Values{"action": {"token.*"}}, func(e store.Event) bool { return strings.HasPrefix(e.Action, "token.") }},
		{"a result", url.Values{"result": {"locked"}}, func(e store.Event) bool { return e.Result == "locked" }},
		{"an actor", url.Values{"actor": {"radius:vpn"}}, func(e store.Event) bool { return e.Actor == "radius:vpn" }},
		{"a time range in the organization's zone", url.Values{"since": {"2026-11-24 08:00"}, "until": {"2026-11-24T09:30"}}, func(e store.Event) bool {
			return !e.At.Before(since) && e.At.Before(until)
		}},
		{"a user and a family of actions", url.Values{"user": {"carol"}, "action": {"token.*"}}, func(e store.Event) bool {
			return aboutCarol(e) && strings.HasPrefix(e.Action, "token.")
		}},
		{"nothing matches", url.Values{"actor": {"nobody"}}, func(store.Event) bool { return false }},
	}
}

func auditURL(query url.Values) string {
	if len(query) == 0 {
		return "/o/acme/admin/audit"
	}
	return "/o/acme/admin/audit?" + query.Encode()
}

func TestAuditLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newAuditSite(t, b)
		for _, tt := range auditFilters(a.zone) {
			t.Run(tt.name, func(t *testing.T) {
				want := a.log(t, tt.keep)
				if tt.name != "nothing matches" && len(want) == 0 {
					t.Fatal("the test selects no events")
				}
				got, pages := a.walk(t, a.admin, auditURL(tt.query))
				if !slices.Equal(got, want) {
					t.Fatalf("the pages show %d events %v,\nwant %d %v", len(got), got, len(want), want)
				}
				if wantPages := max(1, (len(want)+auditPageSize-1)/auditPageSize); pages != wantPages {
					t.Fatalf("%d events on %d pages, want %d", len(want), pages, wantPages)
				}
			})
		}

		t.Run("times are shown in the organization's zone", func(t *testing.T) {
			r := a.get(a.admin, auditURL(url.Values{"actor": {"radius:vpn"}}))
			has(t, r, "Europe/Amsterdam", `datetime="2026-11-24T06:52:10.000Z"`, en("console.audit.col.detail"), "seed 2, &#34;quoted&#34;")
		})

		t.Run("a helpdesk may read the log", func(t *testing.T) {
			if got, _ := a.walk(t, a.helpdesk, auditURL(url.Values{"result": {"locked"}})); len(got) == 0 {
				t.Fatal("the helpdesk sees no events")
			}
		})

		t.Run("a user's page leads to their events", func(t *testing.T) {
			r := a.get(a.admin, "/o/acme/admin/users/carol")
			m := regexp.MustCompile(`href="([^"]*audit\?user=carol)"`).FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("carol's page has no link to the audit log\n%s", r.body)
			}
			got, _ := a.walk(t, a.admin, html.UnescapeString(m[1]))
			if want := a.log(t, aboutCarol); len(got) == 0 || !slices.Equal(got, want) {
				t.Fatalf("carol's events: %v, want %v", got, want)
			}
		})

		t.Run("a bad time is an error on its field and shows no events", func(t *testing.T) {
			for _, field := range []string{"since", "until"} {
				r := a.get(a.admin, auditURL(url.Values{field: {"24.11.2026"}, "user": {"carol"}}))
				if r.status != http.StatusBadRequest {
					t.Fatalf("%s: %d", field, r.status)
				}
				has(t, r, en("console.audit.error.time"), `href="#`+field+`"`, `id="`+field+`-error"`, `value="24.11.2026"`, `value="carol"`)
				if !regexp.MustCompile(`id="` + field + `" name="` + field + `"[^>]*aria-invalid="true"`).MatchString(r.body) {
					t.Errorf("%s is not marked invalid", field)
				}
				if eventRow.MatchString(r.body) || strings.Contains(r.body, "/audit/export") {
					t.Errorf("%s: a refused filter shows events or exports", field)
				}
			}
		})

		t.Run("other bad filters are errors on their fields", func(t *testing.T) {
			for _, tt := range []struct {
				query url.Values
				field string
				key   string
			}{
				{url.Values{"user": {"other/carol"}}, "user", "console.audit.error.user"},
				{url.Values{"action": {"tok*"}}, "action", "console.audit.error.action"},
				{url.Values{"result": {strings.Repeat("x", 201)}}, "result", "console.audit.error.text"},
				{url.Values{"since": {"2026-11-24"}, "until": {"2026-11-23"}}, "until", "console.audit.error.range"},
				{url.Values{"before": {"not-a-page"}}, "", "console.audit.bad_page"},
			} {
				r := a.get(a.admin, auditURL(tt.query))
				if r.status != http.StatusBadRequest || eventRow.MatchString(r.body) {
					t.Fatalf("%v: %d", tt.query, r.status)
				}
				has(t, r, en(tt.key))
				if tt.field != "" {
					has(t, r, `id="`+tt.field+`-error"`)
				}
			}
		})

		t.Run("a plain user is refused", func(t *testing.T) {
			for _, path := range []string{"/o/acme/admin/audit", "/o/acme/admin/audit/export?format=csv"} {
				if r := a.get(a.demoted, path); r.status != http.StatusForbidden {
					t.Fatalf("%s as a plain user: %d", path, r.status)
				}
			}
		})
	})
}

func TestAuditExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newAuditSite(t, b)
		for _, tt := range auditFilters(a.zone) {
			t.Run(tt.name, func(t *testing.T) {
				want := a.log(t, tt.keep)

				q := url.Values{"format": {"csv"}}
				for k, v := range tt.query {
					q[k] = v
				}
				r := a.get(a.admin, "/o/acme/admin/audit/export?"+q.Encode())
				exported(t, r, "text/csv; charset=utf-8", ".csv")
				rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
				if err != nil {
					t.Fatalf("csv does not parse: %v\n%s", err, r.body)
				}
				if h := []string{"id", "time", "actor", "action", "target", "result", "source", "detail"}; !slices.Equal(rows[0], h) {
					t.Fatalf("csv header %q", rows[0])
				}
				var got []int64
				for _, row := range rows[1:] {
					id, _ := strconv.ParseInt(row[0], 10, 64)
					got = append(got, id)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("csv has %d events %v,\nwant %d %v", len(got), got, len(want), want)
				}

				q.Set("format", "json")
				r = a.get(a.admin, "/o/acme/admin/audit/export?"+q.Encode())
				exported(t, r, "application/x-ndjson; charset=utf-8", ".jsonl")
				got = nil
				dec := json.NewDecoder(strings.NewReader(r.body))
				for dec.More() {
					var e struct {
						ID     int64  `json:"id"`
						Time   string `json:"time"`
						Detail string `json:"detail"`
					}
					if err := dec.Decode(&e); err != nil {
						t.Fatalf("json does not parse: %v\n%s", err, r.body)
					}
					if _, err := time.Parse(time.RFC3339, e.Time); err != nil || !strings.HasSuffix(e.Time, "+01:00") {
						t.Fatalf("json time %q is not in Amsterdam's zone", e.Time)
					}
					got = append(got, e.ID)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("json has %d events %v,\nwant %d %v", len(got), got, len(want), want)
				}
			})
		}

		t.Run("the page links to the exports of its filters", func(t *testing.T) {
			r := a.get(a.admin, auditURL(url.Values{"user": {"carol"}, "action": {"token.*"}}))
			has(t, r, `href="/o/acme/admin/audit/export?action=token.%2A&amp;format=csv&amp;user=carol"`,
				`href="/o/acme/admin/audit/export?action=token.%2A&amp;format=json&amp;user=carol"`)
		})

		t.Run("a helpdesk may export", func(t *testing.T) {
			exported(t, a.get(a.helpdesk, "/o/acme/admin/audit/export?format=json"), "application/x-ndjson; charset=utf-8", ".jsonl")
		})

		t.Run("bad filters lead to the page that says so", func(t *testing.T) {
			r := a.get(a.admin, "/o/acme/admin/audit/export?format=csv&since=soon&user=carol")
			if got := location(r); got != "/o/acme/admin/audit?since=soon&user=carol" {
				t.Fatalf("bad filters: %d %q", r.status, got)
			}
		})

		t.Run("an unknown format is not found", func(t *testing.T) {
			if r := a.get(a.admin, "/o/acme/admin/audit/export?format=xml"); r.status != http.StatusNotFound {
				t.Fatalf("xml: %d", r.status)
			}
		})
	})
}

// exported checks that r is a download of contentType.
func exported(t *testing.T, r response, contentType, ext string) {
	t.Helper()
	if r.status != http.StatusOK || r.header.Get("Content-Type") != contentType {
		t.Fatalf("export: %d %q, want %q", r.status, r.header.Get("Content-Type"), contentType)
	}
	cd := r.header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment; filename=audit-acme-") || !strings.HasSuffix(cd, ext) {
		t.Fatalf("export Content-Disposition %q", cd)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export Cache-Control %q", r.header.Get("Cache-Control"))
	}
}
