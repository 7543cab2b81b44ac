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

func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := b.Open(t, clk)
		org, err := s.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{Action: "org.create"})
		if err != nil {
			t.Fatal(err)
		}
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

func TestPurgeFailuresAreWarnings(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() context.Context
		want []string
	}{
		{"each failing purge is a warning", context.Background, []string{
			`level=WARN msg="janitor: cannot remove expired sessions; trying again later" err="database is down"`,
			`level=WARN msg="janitor: cannot remove expired challenges; trying again later" err="database is down"`,
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
