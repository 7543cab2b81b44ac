package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// auditLog writes n events to org and as many to other from base on,
// each set varied in actor, action, target and result, three events to
// each second so that paging must break ties by id. It returns org's
// events in the order written, so oldest first.
func auditLog(t *testing.T, s *store.Store, org, other int64, base time.Time, n int) []store.Event {
	t.Helper()
	actors := []string{"cli", "alice", "api:portal", "radius:vpn"}
	actions := []string{"validate", "token.suspend", "token.revoke", "user.add", "policy.set", "tokenizer.run"}
	targets := []string{"acme/alice", "acme/alice TOTP0001", "alice", "alice backup code", "acme/alicebob", "alicebob", "acme/bob", "bob", "a%ice", "ALICE"}
	results := []string{"accept", "reject", "ok", "locked"}
	var written []store.Event
	for i := range n {
		e := store.Event{OrgID: org, At: base.Add(time.Duration(i/3) * time.Second),
			Actor: actors[i%len(actors)], Action: actions[i%len(actions)], Target: targets[i%len(targets)],
			Result: results[(i/7)%len(results)], Detail: fmt.Sprintf("event %d", i), Source: "192.0.2.1"}
		for _, ev := range []store.Event{e, {OrgID: other, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Result: e.Result}} {
			if err := s.Audit(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
		}
		written = append(written, e)
	}
	return written
}

// withoutID compares events on everything but the id the database gave them.
func withoutID(es []store.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%d %s %s %s %s %s %s %s", e.OrgID, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Target, e.Result, e.Detail, e.Source)
	}
	return out
}

func TestEventFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		other, err := f.s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{Action: "org.create"})
		if err != nil {
			t.Fatal(err)
		}
		// The events setup wrote are older than the ones written here.
		setupEvents, err := f.s.EventPage(ctx, store.EventFilter{OrgID: f.org.ID})
		if err != nil || len(setupEvents) != 3 {
			t.Fatalf("setup wrote %d events (%v), want 3", len(setupEvents), err)
		}
		const n = 3000
		written := auditLog(t, f.s, f.org.ID, other.ID, t0.Add(time.Hour), n)
		newestFirst := slices.Clone(written)
		slices.Reverse(newestFirst)
		newestFirst = append(newestFirst, setupEvents...)
		aboutAlice := func(e store.Event) bool {
			return e.Target == "acme/alice" || e.Target == "acme/alice TOTP0001" || e.Target == "alice" || e.Target == "alice backup code"
		}
		at := func(i int) time.Time { return written[i].At }

		tests := []struct {
			name   string
			filter store.EventFilter
			want   func(e store.Event) bool
		}{
			{"no filter selects the organization's every event", store.EventFilter{}, func(store.Event) bool { return true }},
			{"about a user: the target is the user or starts with the user and a space",
				store.EventFilter{About: []string{"acme/alice", "alice"}}, aboutAlice},
			{"about a user with a wildcard in the name matches that name only",
				store.EventFilter{About: []string{"a%ice"}}, func(e store.Event) bool { return e.Target == "a%ice" }},
			{"an actor", store.EventFilter{Actor: "api:portal"}, func(e store.Event) bool { return e.Actor == "api:portal" }},
			{"an action", store.EventFilter{Action: "token.revoke"}, func(e store.Event) bool { return e.Action == "token.revoke" }},
			{"a family of actions, not actions that merely start alike", store.EventFilter{Action: "token.*"},
				func(e store.Event) bool { return strings.HasPrefix(e.Action, "token.") }},
			{"a result", store.EventFilter{Result: "reject"}, func(e store.Event) bool { return e.Result == "reject" }},
			{"since is inclusive, until exclusive", store.EventFilter{Since: at(300), Until: at(1200)},
				func(e store.Event) bool { return !e.At.Before(at(300)) && e.At.Before(at(1200)) }},
			{"every filter at once", store.EventFilter{About: []string{"acme/alice", "alice"}, Actor: "cli", Action: "validate", Result: "ok", Since: at(100)},
				func(e store.Event) bool {
					return aboutAlice(e) && e.Actor == "cli" && e.Action == "validate" && e.Result == "ok" && !e.At.Before(at(100))
				}},
			{"nothing matches", store.EventFilter{Actor: "nobody"}, func(store.Event) bool { return false }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []store.Event
				for _, e := range newestFirst {
					if tt.want(e) {
						want = append(want, e)
					}
				}
				filter := tt.filter
				filter.OrgID = f.org.ID
				var streamed []store.Event
				if err := f.s.EachEvent(ctx, filter, func(e store.Event) error {
					streamed = append(streamed, e)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if got, want := withoutID(streamed), withoutID(want); !slices.Equal(got, want) {
					t.Fatalf("streamed %d events, want %d; first differences:\n%s", len(got), len(want), firstDiff(got, want))
				}
				for i := 1; i < len(streamed); i++ {
					if a, b := streamed[i-1], streamed[i]; a.At.Before(b.At) || (a.At.Equal(b.At) && a.ID <= b.ID) {
						t.Fatalf("events %d and %d out of newest-first order: %+v then %+v", i-1, i, a, b)
					}
				}

				// Page by page, 97 at a time, gives the same events once each.
				var paged []store.Event
				page := filter
				page.Limit = 97
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatal("paging does not end")
					}
					es, err := f.s.EventPage(ctx, page)
					if err != nil {
						t.Fatal(err)
					}
					if len(es) > page.Limit {
						t.Fatalf("page of %d events, limit %d", len(es), page.Limit)
					}
					paged = append(paged, es...)
					if len(es) < page.Limit {
						break
					}
					page.Before = es[len(es)-1].Cursor()
				}
				if got, want := withoutID(paged), withoutID(want); !slices.Equal(got, want) {
					t.Fatalf("paged %d events, want %d; first differences:\n%s", len(got), len(want), firstDiff(got, want))
				}
			})
		}

		t.Run("a callback's error stops the stream and is returned", func(t *testing.T) {
			stop := errors.New("enough")
			calls := 0
			err := f.s.EachEvent(ctx, store.EventFilter{OrgID: f.org.ID}, func(store.Event) error {
				calls++
				return stop
			})
			if !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("EachEvent = %v after %d calls, want %v after 1", err, calls, stop)
			}
		})
		t.Run("the other organization's events stay its own", func(t *testing.T) {
			es, err := f.s.EventPage(ctx, store.EventFilter{OrgID: other.ID, Limit: n + 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != n+1 { // and its org.create
				t.Fatalf("other has %d events, want %d", len(es), n+1)
			}
		})
	})
}

func firstDiff(got, want []string) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)) && b.Len() < 1000; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			fmt.Fprintf(&b, "  [%d] got  %q\n       want %q\n", i, g, w)
		}
	}
	return b.String()
}

func TestPurgeEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		other, err := f.s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{Action: "org.create"})
		if err != nil {
			t.Fatal(err)
		}
		base := t0.Add(time.Hour)
		auditLog(t, f.s, f.org.ID, other.ID, base, 30) // ten seconds, three events a second, after setup's three
		purge := store.Event{At: base.Add(time.Hour), Actor: "janitor", Action: "audit.purge", Target: "acme", Result: "ok", Detail: "(audit_retention=24h)"}
		steps := []struct {
			name   string
			before time.Time
			want   int64
			left   int // events of acme after the purge, its own record included
		}{
			{"nothing is older: nothing goes and nothing is recorded", t0, 0, 33},
			{"setup's and the first four seconds' events go, with one event that says so", base.Add(4 * time.Second), 15, 18 + 1},
			{"again at the same time removes nothing more", base.Add(4 * time.Second), 0, 19},
			{"the rest goes, the records of purges stay", base.Add(time.Minute), 18, 2},
		}
		for _, st := range steps {
			got, err := f.s.PurgeEvents(ctx, f.org.ID, st.before, purge)
			if err != nil {
				t.Fatal(err)
			}
			es, err := f.s.EventPage(ctx, store.EventFilter{OrgID: f.org.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got != st.want || len(es) != st.left {
				t.Fatalf("%s: removed %d leaving %d, want %d leaving %d", st.name, got, len(es), st.want, st.left)
			}
			if st.want > 0 {
				wantDetail := fmt.Sprintf("removed %d events from before %s (audit_retention=24h)", st.want, st.before.Format(time.RFC3339))
				if e := es[0]; e.Action != "audit.purge" || e.OrgID != f.org.ID || e.Detail != wantDetail {
					t.Fatalf("%s: newest event %+v, want audit.purge saying %q", st.name, e, wantDetail)
				}
			}
		}
		if es, _ := f.s.EventPage(ctx, store.EventFilter{OrgID: other.ID}); len(es) != 31 {
			t.Fatalf("the other organization has %d events left, want its 31", len(es))
		}
	})
}
