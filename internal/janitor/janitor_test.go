package janitor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// logLines returns the lines logged since the last call.
type logLines struct{ bytes.Buffer }

func (l *logLines) take() string {
	defer l.Reset()
	return strings.TrimSpace(l.String())
}

func newLog() (*slog.Logger, *logLines) {
	l := &logLines{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})), l
}

// newOrg makes the organization acme on s.
func newOrg(t *testing.T, s *store.Store) store.Org {
	t.Helper()
	org, err := s.CreateOrg(context.Background(), store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{Action: "org.create"})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := b.Open(t, clk)
		org := newOrg(t, s)
		user, err := s.CreateUser(ctx, store.User{OrgID: org.ID, Username: "alice", Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0}, store.Event{})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateToken(ctx, store.Token{OrgID: org.ID, UserID: user.ID, Serial: "EMAIL001", Type: "email", State: store.TokenActive, CreatedAt: t0},
			func(store.Token) ([]byte, error) { return []byte("sealed"), nil }, nil, store.Event{})
		if err != nil {
			t.Fatal(err)
		}
		for i, expires := range []time.Time{t0.Add(30 * time.Minute), t0.Add(48 * time.Hour)} {
			if err := s.CreateSession(ctx, store.Session{IDHash: []byte{byte(i)}, OrgID: org.ID, UserID: user.ID, Stage: "done",
				CreatedAt: t0, LastSeenAt: t0, ExpiresAt: expires}, store.Event{}); err != nil {
				t.Fatal(err)
			}
		}
		// One code mailed, valid ten minutes; an organization whose policy
		// allows one code a day must still see it until the day is over.
		daily := store.SendLimit{Every: 30 * time.Second, Max: 1, Window: 24 * time.Hour}
		mail := func(txid string) error {
			_, err := s.CreateChallenge(ctx, store.Challenge{OrgID: org.ID, UserID: user.ID, TokenID: tok.ID, TxIDHash: []byte(txid), Kind: "email",
				CodeMAC: []byte("mac"), Status: store.ChallengePending, CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(10 * time.Minute)}, daily, store.Event{})
			return err
		}
		if err := mail("first"); err != nil {
			t.Fatal(err)
		}

		log, logged := newLog()
		j := New(Config{Store: s, Clock: clk, Log: log})
		steps := []struct {
			name    string
			advance time.Duration
			logged  string             // "" when nothing may be logged
			then    func(t *testing.T) // checks after the purge, if any
		}{
			{"nothing has expired: nothing is removed or logged", 0, "", nil},
			{"an hour later the expired session goes, the challenge stays for the send limit", time.Hour,
				`level=INFO msg="janitor: removed expired rows" sessions=1 challenges=0`, func(t *testing.T) {
					if err := mail("second"); !errors.Is(err, store.ErrRateLimited) {
						t.Fatalf("a second code the same day: %v, want ErrRateLimited (the kept challenge counts)", err)
					}
				}},
			{"a day after the code expired the challenge goes", 23*time.Hour + 10*time.Minute,
				`level=INFO msg="janitor: removed expired rows" sessions=0 challenges=1`, nil},
			{"two days in the other session has expired and goes", 24 * time.Hour,
				`level=INFO msg="janitor: removed expired rows" sessions=1 challenges=0`, nil},
			{"an empty purge logs nothing", time.Hour, "", nil},
		}
		for _, st := range steps {
			clk.Advance(st.advance)
			j.purge(ctx)
			if got := logged.take(); got != st.logged {
				t.Fatalf("%s: logged %q, want %q", st.name, got, st.logged)
			}
			if st.then != nil {
				st.then(t)
			}
		}
	})
}

func TestPurgeSpentLeftovers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := b.Open(t, clk)
		org := newOrg(t, s)
		var users []store.User
		for _, name := range []string{"alice", "bob"} {
			u, err := s.CreateUser(ctx, store.User{OrgID: org.ID, Username: name, Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0}, store.Event{})
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		// alice's code lasts a day, bob's an hour.
		for i, valid := range []time.Duration{24 * time.Hour, time.Hour} {
			if err := s.IssueTempCode(ctx, store.TempCode{OrgID: org.ID, UserID: users[i].ID, CodeMAC: []byte{byte(i)}, Uses: 1, UsesLeft: 1,
				ExpiresAt: t0.Add(valid), CreatedAt: t0}, nil, store.Event{OrgID: org.ID, Action: "user.temp-code"}); err != nil {
				t.Fatal(err)
			}
		}
		// An invitation whose first link a resend replaced.
		tok, err := s.CreateToken(ctx, store.Token{OrgID: org.ID, UserID: users[0].ID, Serial: "TOTP001", Type: "totp", State: store.TokenAssigned, CreatedAt: t0},
			func(store.Token) ([]byte, error) { return []byte("sealed"), nil },
			&store.Enrollment{CodeHash: []byte("first"), Status: store.EnrollmentPending, ExpiresAt: t0.Add(72 * time.Hour), CreatedAt: t0}, store.Event{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RenewEnrollment(ctx, org.ID, tok.ID, []byte("second"), t0.Add(72*time.Hour), store.Event{OrgID: org.ID, At: t0, Action: "enrollment.resend"}); err != nil {
			t.Fatal(err)
		}

		log, logged := newLog()
		j := New(Config{Store: s, Clock: clk, Log: log})
		steps := []struct {
			name    string
			advance time.Duration
			logged  string
		}{
			{"nothing is spent yet", 0, ""},
			{"two hours on, bob's expired code goes", 2 * time.Hour, `level=INFO msg="janitor: removed spent rows" temp_codes=1 replaced_links=0`},
			{"a day on, alice's goes too", 22 * time.Hour, `level=INFO msg="janitor: removed spent rows" temp_codes=1 replaced_links=0`},
			{"the replaced link is remembered while a link may live", 28 * 24 * time.Hour, ""},
			{"past the longest enrollment lifetime it is forgotten", 24 * time.Hour, `level=INFO msg="janitor: removed spent rows" temp_codes=0 replaced_links=1`},
		}
		for _, st := range steps {
			clk.Advance(st.advance)
			j.purge(ctx)
			got := logged.take()
			// The session and challenge purge has nothing to say here.
			if got != st.logged {
				t.Fatalf("%s: logged %q, want %q", st.name, got, st.logged)
			}
		}
		if _, err := s.LiveTempCode(ctx, users[0].ID, clk.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alice's code after the purge: %v, want gone", err)
		}
	})
}

// fakeStore answers each purge with err and reports the time it was asked for on purged.
type fakeStore struct {
	err    error
	purged chan time.Time
}

func (f *fakeStore) DeleteExpiredSessions(_ context.Context, now time.Time) (int64, error) {
	if f.purged != nil {
		f.purged <- now
	}
	return 0, f.err
}

func (f *fakeStore) DeleteExpiredChallenges(context.Context, time.Time, time.Duration) (int64, error) {
	return 0, f.err
}

func (f *fakeStore) DeleteSpentLeftovers(context.Context, time.Time, time.Duration) (int64, int64, error) {
	return 0, 0, f.err
}

func (f *fakeStore) OrgPolicies(context.Context) ([]store.Org, error) {
	return nil, f.err
}

func (f *fakeStore) PurgeEvents(context.Context, int64, time.Time, store.Event) (int64, error) {
	return 0, f.err
}

func (f *fakeStore) PurgeOIDC(context.Context, time.Time) (int64, error) { return 0, f.err }

func TestPurgeFailuresAreWarnings(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() context.Context
		want []string
	}{
		{"each failing purge is a warning", context.Background, []string{
			`level=WARN msg="janitor: cannot remove expired sessions; trying again later" err="database is down"`,
			`level=WARN msg="janitor: cannot remove expired challenges; trying again later" err="database is down"`,
			`level=WARN msg="janitor: cannot remove spent temporary codes and old replaced links; trying again later" err="database is down"`,
			`level=WARN msg="janitor: cannot remove expired single sign-on requests and tokens; trying again later" err="database is down"`,
			`level=WARN msg="janitor: cannot read the organizations to purge old audit events; trying again later" err="database is down"`,
		}},
		{"a purge cut short by the server stopping is not", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logged := newLog()
			New(Config{Store: &fakeStore{err: errors.New("database is down")}, Clock: clock.NewFake(t0), Log: log}).purge(tt.ctx())
			if got, want := logged.take(), strings.Join(tt.want, "\n"); got != want {
				t.Fatalf("logged\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestRunPurgesAtOnceAndOnEveryTickUntilStopped(t *testing.T) {
	clk := clock.NewFake(t0)
	f := &fakeStore{purged: make(chan time.Time)}
	log, logged := newLog()
	j := New(Config{Store: f, Clock: clk, Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		j.run(ctx, tick)
	}()
	if at := <-f.purged; !at.Equal(t0) {
		t.Fatalf("first purge at %v, want at once (%v)", at, t0)
	}
	for i := range 3 {
		clk.Advance(j.c.Every)
		tick <- clk.Now()
		if at, want := <-f.purged, t0.Add(time.Duration(i+1)*DefaultEvery); !at.Equal(want) {
			t.Fatalf("purge after tick %d at %v, want %v", i+1, at, want)
		}
	}
	cancel()
	<-stopped
	if got := logged.take(); got != "" {
		t.Fatalf("purges that removed nothing logged %q", got)
	}
}

func TestAuditRetention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := b.Open(t, clk)
		orgs := map[string]store.Org{}
		for _, o := range []struct{ slug, policy string }{
			{"acme", `{"audit_retention": "48h"}`},
			{"broken", `{"audit_retention": "1h"}`}, // stored by hand; Validate would refuse it
			{"daily", `{"audit_retention": "24h"}`},
			{"forever", `{}`},
		} {
			slug, pol := o.slug, o.policy
			org, err := s.CreateOrg(ctx, store.Org{Slug: slug, Name: slug, Policy: []byte(pol), CreatedAt: t0},
				store.Event{At: t0, Action: "org.create", Target: slug, Result: "ok"})
			if err != nil {
				t.Fatal(err)
			}
			orgs[slug] = org
		}
		// Every organization gets ten events an hour for three days, before
		// the janitor first runs.
		for h := range 72 {
			for i := range 10 {
				for _, org := range orgs {
					if err := s.Audit(ctx, store.Event{OrgID: org.ID, At: t0.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Minute),
						Actor: "alice", Action: "validate", Target: "alice", Result: "accept"}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		count := func(t *testing.T, slug string) (all, purges int) {
			t.Helper()
			es, err := s.EventPage(ctx, store.EventFilter{OrgID: orgs[slug].ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Action == "audit.purge" {
					purges++
				}
			}
			return len(es), purges
		}

		log, logged := newLog()
		j := New(Config{Store: s, Clock: clk, Log: log})
		steps := []struct {
			name   string
			at     time.Time
			logged []string
			left   map[string][2]int // per organization: events, of which purge records
		}{
			{"at the end of the three days, each organization keeps what its retention says", t0.Add(72 * time.Hour), []string{
				`level=INFO msg="janitor: removed old audit events" org=acme events=241 audit_retention=48h`,
				`level=WARN msg="janitor: audit_retention is out of range (24h to 87600h); the organization's audit events are kept" org=broken audit_retention=1h`,
				`level=INFO msg="janitor: removed old audit events" org=daily events=481 audit_retention=24h`,
			}, map[string][2]int{"acme": {480 + 1, 1}, "daily": {240 + 1, 1}, "forever": {721, 0}, "broken": {721, 0}}},
			{"ten minutes later the next events of the oldest hour kept go", t0.Add(72*time.Hour + 10*time.Minute), []string{
				`level=INFO msg="janitor: removed old audit events" org=acme events=10 audit_retention=48h`,
				`level=WARN msg="janitor: audit_retention is out of range (24h to 87600h); the organization's audit events are kept" org=broken audit_retention=1h`,
				`level=INFO msg="janitor: removed old audit events" org=daily events=10 audit_retention=24h`,
			}, map[string][2]int{"acme": {470 + 2, 2}, "daily": {230 + 2, 2}, "forever": {721, 0}, "broken": {721, 0}}},
			{"a purge that finds nothing old records and logs nothing but the warning", t0.Add(72*time.Hour + 10*time.Minute), []string{
				`level=WARN msg="janitor: audit_retention is out of range (24h to 87600h); the organization's audit events are kept" org=broken audit_retention=1h`,
			}, map[string][2]int{"acme": {472, 2}, "daily": {232, 2}, "forever": {721, 0}, "broken": {721, 0}}},
			{"a day later the daily organization keeps its last purge record only", t0.Add(96*time.Hour + 11*time.Minute), []string{
				`level=INFO msg="janitor: removed old audit events" org=acme events=240 audit_retention=48h`,
				`level=WARN msg="janitor: audit_retention is out of range (24h to 87600h); the organization's audit events are kept" org=broken audit_retention=1h`,
				`level=INFO msg="janitor: removed old audit events" org=daily events=232 audit_retention=24h`,
			}, map[string][2]int{"acme": {230 + 3, 3}, "daily": {1, 1}, "forever": {721, 0}, "broken": {721, 0}}},
		}
		for _, st := range steps {
			clk.Set(st.at)
			j.purge(ctx)
			if got, want := logged.take(), strings.Join(st.logged, "\n"); got != want {
				t.Fatalf("%s: logged\n%s\nwant\n%s", st.name, got, want)
			}
			for slug, want := range st.left {
				if all, purges := count(t, slug); all != want[0] || purges != want[1] {
					t.Errorf("%s: %s has %d events of which %d purge records, want %d and %d", st.name, slug, all, purges, want[0], want[1])
				}
			}
		}
		es, err := s.EventPage(ctx, store.EventFilter{OrgID: orgs["acme"].ID, Action: "audit.purge", Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("acme's purge records: %v, %v", es, err)
		}
		want := store.Event{ID: es[0].ID, OrgID: orgs["acme"].ID, At: t0.Add(96*time.Hour + 11*time.Minute), Actor: "janitor", Action: "audit.purge",
			Target: "acme", Result: "ok", Detail: "removed 240 events from before 2026-11-26T09:11:00Z (audit_retention=48h)"}
		if es[0] != want {
			t.Fatalf("purge record\n%+v\nwant\n%+v", es[0], want)
		}
	})
}
