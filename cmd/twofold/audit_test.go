package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// auditFixture is an installation whose organization acme (time zone
// Europe/Amsterdam) has a log of 250 events a minute apart, newest first
// in events, written beside those of the commands that made it.
type auditFixture struct {
	in     *installation
	events []store.Event // newest first
	all    int           // acme's events in total
	zone   *time.Location
}

func newAuditFixture(t *testing.T, b storetest.Backend) auditFixture {
	t.Helper()
	in := newInstallation(t, b)
	in.ok("", "org", "create", "acme")
	in.ok("", "org", "create", "other")
	in.ok("", "policy", "set", "acme", "time_zone=Europe/Amsterdam")
	s := b.Open(t, clock.System{})
	ctx := context.Background()
	acme, err := s.OrgBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.OrgBySlug(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	// Half a minute off the minute, so that "--since 3h" read a moment
	// later than now falls between two events.
	now := time.Now().Truncate(time.Millisecond).Add(-30 * time.Second)
	targets := []string{"alice", "acme/alice TOTP0001", "acme/alice", "alicebob", "bob backup code", "=HYPERLINK(\"https://evil.example\")"}
	actions := []string{"validate", "token.suspend", "user.add", "tokenizer"}
	var events []store.Event
	for i := range 250 {
		e := store.Event{OrgID: acme.ID, At: now.Add(-time.Duration(i) * time.Minute), Actor: []string{"api:portal", "radius:vpn"}[i%2],
			Action: actions[i%len(actions)], Target: targets[i%len(targets)], Result: []string{"accept", "reject", "locked"}[i%3],
			Source: "192.0.2." + strconv.Itoa(i%7), Detail: fmt.Sprintf("event %d, \"quoted\"\nsecond line", i)}
		events = append(events, e)
	}
	// Oldest first, so ids rise with time as they do in a real log.
	for i := len(events) - 1; i >= 0; i-- {
		for _, org := range []int64{acme.ID, other.ID} {
			e := events[i]
			e.OrgID = org
			if err := s.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := s.EventPage(ctx, store.EventFilter{OrgID: acme.ID})
	if err != nil {
		t.Fatal(err)
	}
	zone, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return auditFixture{in: in, events: events, all: len(all), zone: zone}
}

// want returns the fixture's events that keep selects, as the export writes them.
func (f auditFixture) want(keep func(store.Event) bool) [][]string {
	var rows [][]string
	for _, e := range f.events {
		if keep(e) {
			rows = append(rows, []string{e.At.In(f.zone).Format("2006-01-02T15:04:05.000Z07:00"), e.Actor, e.Action, e.Target, e.Result, e.Source, e.Detail})
		}
	}
	return rows
}

// auditFails runs a command that must fail with a message saying want.
func auditFails(t *testing.T, in *installation, want string, args ...string) {
	t.Helper()
	code, out, errs := in.run("", args...)
	if code != 1 || !strings.HasPrefix(errs, "twofold: ") || !strings.Contains(errs, want) || out != "" {
		t.Errorf("twofold %s: exit %d, stdout %q, stderr %q; want exit 1 and a message saying %q", strings.Join(args, " "), code, out, errs, want)
	}
}

func aboutAlice(e store.Event) bool {
	return e.Target == "alice" || strings.HasPrefix(e.Target, "acme/alice")
}

func TestAuditExports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newAuditFixture(t, b)
		in := f.in
		tests := []struct {
			name string
			args []string
			keep func(store.Event) bool // nil: every event of acme, the commands' own included
		}{
			{"everything, with no limit", nil, nil},
			{"about a user in the last three hours", []string{"--user", "Alice", "--since", "3h"}, func(e store.Event) bool {
				return aboutAlice(e) && time.Since(e.At) < 3*time.Hour
			}},
			{"a family of actions by one actor", []string{"--action", "token.*", "--actor", "radius:vpn"}, func(e store.Event) bool {
				return e.Action == "token.suspend" && e.Actor == "radius:vpn"
			}},
			{"a result between two times", []string{"--result", "locked", "--since", "200m", "--until", f.events[20].At.Format(time.RFC3339Nano)}, func(e store.Event) bool {
				return e.Result == "locked" && time.Since(e.At) < 200*time.Minute && e.At.Before(f.events[20].At)
			}},
			{"a limit", []string{"--user", "acme/alice", "--limit", "7"}, func() func(store.Event) bool {
				n := 0
				return func(e store.Event) bool { n += btoi(aboutAlice(e)); return aboutAlice(e) && n <= 7 }
			}()},
			{"nothing that matches", []string{"--actor", "nobody"}, func(store.Event) bool { return false }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want [][]string
				if tt.keep != nil {
					want = f.want(tt.keep)
					if tt.name != "nothing that matches" && len(want) == 0 {
						t.Fatal("the test selects no events")
					}
				}

				out := in.ok("", append([]string{"audit", "acme", "--format", "csv"}, tt.args...)...)
				rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
				if err != nil {
					t.Fatalf("csv export does not parse: %v\n%s", err, out)
				}
				if h := []string{"id", "time", "actor", "action", "target", "result", "source", "detail"}; !slices.Equal(rows[0], h) {
					t.Fatalf("csv header %q, want %q", rows[0], h)
				}
				var got [][]string
				ids := map[string]bool{}
				for _, r := range rows[1:] {
					if _, err := strconv.ParseInt(r[0], 10, 64); err != nil || ids[r[0]] {
						t.Fatalf("csv id %q: want a number, once", r[0])
					}
					ids[r[0]] = true
					if strings.HasPrefix(r[4], "'=") {
						r[4] = r[4][1:] // made inert for spreadsheets; checked below
					}
					got = append(got, r[1:])
				}
				if tt.keep == nil {
					if len(got) != f.all {
						t.Fatalf("csv without filters has %d rows, want all %d events", len(got), f.all)
					}
				} else if !slices.EqualFunc(got, want, slices.Equal) {
					t.Fatalf("csv rows:\n%q\nwant:\n%q", got, want)
				}

				out = in.ok("", append([]string{"audit", "acme", "--format", "json"}, tt.args...)...)
				var lines [][]string
				for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					if line == "" && out == "" {
						break
					}
					var e map[string]any
					dec := json.NewDecoder(strings.NewReader(line))
					dec.UseNumber()
					if err := dec.Decode(&e); err != nil || dec.More() {
						t.Fatalf("json line %d %q is not one object: %v", i+1, line, err)
					}
					if len(e) != 8 {
						t.Fatalf("json line %d has fields %v, want id, time, actor, action, target, result, source, detail", i+1, e)
					}
					lines = append(lines, []string{e["time"].(string), e["actor"].(string), e["action"].(string), e["target"].(string),
						e["result"].(string), e["source"].(string), e["detail"].(string)})
				}
				if tt.keep == nil {
					if len(lines) != f.all {
						t.Fatalf("json without filters has %d lines, want all %d events", len(lines), f.all)
					}
				} else if !slices.EqualFunc(lines, want, slices.Equal) {
					t.Fatalf("json lines:\n%q\nwant:\n%q", lines, want)
				}
			})
		}

		t.Run("csv cells a spreadsheet would run are made inert", func(t *testing.T) {
			out := in.ok("", "audit", "acme", "--format", "csv", "--actor", "radius:vpn", "--limit", "10")
			if !strings.Contains(out, `,"'=HYPERLINK(""https://evil.example"")",`) {
				t.Fatalf("csv export lacks the inert formula:\n%s", out)
			}
		})
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAuditTable(t *testing.T) {
	f := newAuditFixture(t, storetest.SQLite(t))
	in := f.in
	code, out, errs := in.run("", "audit", "acme")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 1+100 {
		t.Fatalf("audit acme: exit %d, %d lines; want 0 and a header with the newest 100 events\n%s", code, len(lines), out)
	}
	if !strings.Contains(errs, "showing the newest 100 events; more match") {
		t.Errorf("a table cut short does not say so: stderr %q", errs)
	}
	header := strings.Fields(lines[0])
	if want := []string{"TIME", "(Europe/Amsterdam)", "ACTOR", "ACTION", "TARGET", "RESULT", "SOURCE", "DETAIL"}; !slices.Equal(header, want) {
		t.Fatalf("header %q, want %q", header, want)
	}
	// The newest events are the commands' own (policy.set); the first of the fixture's follows them.
	var first string
	for _, l := range lines[1:] {
		if strings.Contains(l, "api:portal") {
			first = l
			break
		}
	}
	e := f.events[0]
	wantFirst := []string{e.At.In(f.zone).Format("2006-01-02"), e.At.In(f.zone).Format("15:04:05"), e.Actor, e.Action, e.Target, e.Result, e.Source}
	if got := strings.Fields(first); len(got) < len(wantFirst) || !slices.Equal(got[:len(wantFirst)], wantFirst) {
		t.Fatalf("first event's row %q, want it to start %q", first, wantFirst)
	}
	if !strings.HasSuffix(first, strconv.Quote(e.Detail)) {
		t.Fatalf("a detail with a line break is not quoted in its row: %q", first)
	}
	// Columns line up: every row's actor starts where the header's does.
	col := strings.Index(lines[0], "ACTOR")
	for _, l := range lines[1:] {
		if l[col-2:col] != "  " || l[col] == ' ' {
			t.Fatalf("row %q is not aligned with the header %q", l, lines[0])
		}
	}

	code, out, errs = in.run("", "audit", "acme", "--user", "bob", "--limit", "0")
	if n := strings.Count(out, "\n"); code != 0 || n != 1+len(f.want(func(e store.Event) bool { return strings.HasPrefix(e.Target, "bob ") })) || errs != "" {
		t.Fatalf("--limit 0 table: exit %d, %d lines, stderr %q; want every event about bob and nothing on stderr", code, n, errs)
	}
	if _, _, errs := in.run("", "audit", "acme", "--actor", "nobody"); !strings.Contains(errs, "no events in the audit log of acme match") {
		t.Errorf("an empty table does not say so: %q", errs)
	}
}

func TestAuditRefusesBadFlags(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "name one organization, as in: twofold audit acme"},
		{[]string{"audit", "acme", "other"}, "name one organization"},
		{[]string{"audit", "nosuch"}, `no organization "nosuch"`},
		{[]string{"audit", "acme", "--format", "xml"}, `--format must be table, csv or json, not "xml"`},
		{[]string{"audit", "acme", "--limit", "-1"}, "--limit must be 0 (no limit) or more"},
		{[]string{"audit", "acme", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{[]string{"audit", "acme", "--since", "yesterday"}, `--since "yesterday" should be a time such as 2026-11-24T09:00:00Z`},
		{[]string{"audit", "acme", "--until", "-2h"}, `--until "-2h" should be a time`},
		{[]string{"audit", "acme", "--since", "1h", "--until", "2h"}, "must be before until"},
		{[]string{"audit", "acme", "--user", "other/alice"}, `user "other/alice" is not in organization acme`},
		{[]string{"audit", "acme", "--user", "al ice"}, "username"},
		{[]string{"audit", "acme", "--action", "tok*"}, "a family such as token.*"},
		{[]string{"audit", "acme", "--colour"}, "unknown flag: --colour"},
	} {
		auditFails(t, in, tt.want, tt.args...)
	}
	help := in.ok("", "audit", "--help")
	for _, want := range []string{"--format", "table, csv", "--since", "duration back from now", "audit_retention", "--data-dir"} {
		if !strings.Contains(help, want) {
			t.Errorf("audit --help does not mention %q:\n%s", want, help)
		}
	}
}
