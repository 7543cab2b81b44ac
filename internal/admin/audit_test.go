package admin_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestAuditFilter(t *testing.T) {
	svc := &admin.Service{Clock: clock.NewFake(t0), Actor: "test"}
	org := store.Org{ID: 7, Slug: "acme"}
	tests := []struct {
		name  string
		query admin.AuditQuery
		want  store.EventFilter // when refused, nothing
		error string            // what the refusal says; empty: allowed
	}{
		{"no query selects the organization's whole log", admin.AuditQuery{}, store.EventFilter{OrgID: 7}, ""},
		{"a user is looked for as org/user and as the bare name, canonically", admin.AuditQuery{User: " Alice "},
			store.EventFilter{OrgID: 7, About: []string{"acme/alice", "alice"}}, ""},
		{"a user may be written ORG/USER", admin.AuditQuery{User: "acme/ALICE"},
			store.EventFilter{OrgID: 7, About: []string{"acme/alice", "alice"}}, ""},
		{"a user of another organization is refused", admin.AuditQuery{User: "other/alice"}, store.EventFilter{}, `user "other/alice" is not in organization acme`},
		{"a name no user can have is refused", admin.AuditQuery{User: "al ice"}, store.EventFilter{}, "username"},
		{"a name with a slash after the organization is refused", admin.AuditQuery{User: "acme/a/b"}, store.EventFilter{}, "username"},
		{"an actor, action and result are taken as given, trimmed", admin.AuditQuery{Actor: " api:portal ", Action: " Token.Suspend", Result: "reject"},
			store.EventFilter{OrgID: 7, Actor: "api:portal", Action: "token.suspend", Result: "reject"}, ""},
		{"a family of actions is allowed", admin.AuditQuery{Action: "token.*"}, store.EventFilter{OrgID: 7, Action: "token.*"}, ""},
		{"a wildcard elsewhere is refused", admin.AuditQuery{Action: "tok*"}, store.EventFilter{}, "a family such as token.*"},
		{"an action with a space is refused", admin.AuditQuery{Action: "token suspend"}, store.EventFilter{}, `action "token suspend"`},
		{"an actor with a line break is refused", admin.AuditQuery{Actor: "cli\nforged"}, store.EventFilter{}, "actor must be"},
		{"a very long result is refused", admin.AuditQuery{Result: strings.Repeat("x", 201)}, store.EventFilter{}, "result must be at most 200"},
		{"since before until is allowed", admin.AuditQuery{Since: t0.Add(-time.Hour), Until: t0, Limit: 10},
			store.EventFilter{OrgID: 7, Since: t0.Add(-time.Hour), Until: t0, Limit: 10}, ""},
		{"since after until is refused", admin.AuditQuery{Since: t0, Until: t0.Add(-time.Hour)}, store.EventFilter{}, "since (2026-11-24T09:00:10Z) must be before until"},
		{"since equal to until is refused", admin.AuditQuery{Since: t0, Until: t0}, store.EventFilter{}, "must be before until"},
		{"a negative limit is refused", admin.AuditQuery{Limit: -1}, store.EventFilter{}, "limit must be 0 (no limit) or more"},
		{"a cursor is passed on", admin.AuditQuery{Before: store.EventCursor{At: t0, ID: 42}}, store.EventFilter{OrgID: 7, Before: store.EventCursor{At: t0, ID: 42}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.AuditFilter(org, tt.query)
			if tt.error != "" {
				wantInvalid(t, err, tt.error)
				return
			}
			if err != nil {
				t.Fatalf("AuditFilter(%+v) = %v, want %+v", tt.query, err, tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("AuditFilter(%+v) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestAuditTime(t *testing.T) {
	svc := &admin.Service{Clock: clock.NewFake(t0)}
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value string
		want  time.Time
		error string
	}{
		{"2026-11-20T08:30:00Z", time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC), ""},
		{"2026-11-20T08:30:00+02:00", time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC), ""},
		{"2026-11-20", time.Date(2026, 11, 19, 23, 0, 0, 0, time.UTC), ""}, // midnight in Amsterdam
		{"2026-11-20T08:30", time.Date(2026, 11, 20, 7, 30, 0, 0, time.UTC), ""},
		{" 24h ", t0.Add(-24 * time.Hour), ""},
		{"90m", t0.Add(-90 * time.Minute), ""},
		{"7d", t0.Add(-7 * 24 * time.Hour), ""},
		{"0s", t0, ""},
		{"-24h", time.Time{}, `since "-24h" should be a time such as`},
		{"yesterday", time.Time{}, "or a duration back from now such as 24h or 7d"},
		{"2026-13-01", time.Time{}, "should be a time"},
		{"", time.Time{}, "should be a time"},
		{"99999999d", time.Time{}, "should be a time"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := svc.AuditTime("since", tt.value, amsterdam)
			if tt.error != "" {
				wantInvalid(t, err, tt.error)
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("AuditTime(%q) = %v, %v; want %v", tt.value, got, err, tt.want)
			}
		})
	}
}

// The events of the operators' own changes are found by the user they
// are about, in their organization only.
func TestAuditEventsOfAUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		other, err := e.svc.CreateOrg(e.ctx, "other", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, org := range []store.Org{e.org, other} {
			for _, name := range []string{"alice2", "bob"} {
				if _, err := e.svc.AddUser(e.ctx, org, admin.NewUser{Username: name}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := e.svc.AddUser(e.ctx, other, admin.NewUser{Username: "alice"}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if err := e.svc.Unlock(e.ctx, e.org, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Audit(e.ctx, store.Event{OrgID: e.org.ID, At: e.clock.Now(), Actor: "alice", Action: "validate", Target: "alice TOTP0001", Result: "reject"}); err != nil {
			t.Fatal(err)
		}
		es, err := e.svc.AuditEvents(e.ctx, e.org, admin.AuditQuery{User: "Alice"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range es {
			got = append(got, ev.Action+" "+ev.Target)
		}
		want := []string{"validate alice TOTP0001", "user.unlock acme/alice", "user.add acme/alice"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("events about alice: %q, want %q", got, want)
		}
		if _, err := e.svc.AuditEvents(e.ctx, e.org, admin.AuditQuery{Limit: -5}); err == nil {
			t.Fatal("a negative limit was taken")
		}
		var streamed int
		if err := e.svc.EachAuditEvent(e.ctx, e.org, admin.AuditQuery{Since: t0.Add(time.Second)}, func(store.Event) error {
			streamed++
			return nil
		}); err != nil || streamed != 2 {
			t.Fatalf("streamed %d events since the minute passed (%v), want 2", streamed, err)
		}
	})
}
