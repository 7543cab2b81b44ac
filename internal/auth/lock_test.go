package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// lockMails returns the ends of the locks mailed about so far, earliest
// first (the background sends may finish in any order), once the mails
// have gone.
func (e *env) lockMails() []time.Time {
	e.v.Wait()
	e.mail.mu.Lock()
	defer e.mail.mu.Unlock()
	return slices.SortedFunc(slices.Values(e.mail.locks), time.Time.Compare)
}

func TestLockMailIsSentOncePerLock(t *testing.T) {
	tests := []struct {
		name string
		// guess makes one guess for username; the lock mails counted are
		// alice's.
		guess    func(e *env, username string) auth.Outcome
		username string
		want     func(t0, t1 time.Time) []time.Time
	}{
		{
			name: "wrong codes lock a known user, and each lock is mailed once",
			guess: func(e *env, u string) auth.Outcome {
				r := e.request("000000")
				r.Username = u
				return e.verify(r)
			},
			username: "alice",
			// The first lock of 10 minutes; the second, after it, twice as long.
			want: func(t0, t1 time.Time) []time.Time {
				return []time.Time{t0.Add(10 * time.Minute), t1.Add(20 * time.Minute)}
			},
		},
		{
			name: "wrong passwords lock as wrong codes do",
			guess: func(e *env, u string) auth.Outcome {
				out, err := e.v.CheckPassword(e.ctx, auth.Request{OrgID: e.org.ID, Username: u, Password: "wrong", Actor: "test"})
				if err != nil {
					t.Fatal(err)
				}
				return out
			},
			username: "alice",
			want: func(t0, t1 time.Time) []time.Time {
				return []time.Time{t0.Add(10 * time.Minute), t1.Add(20 * time.Minute)}
			},
		},
		{
			name: "an unknown user has no lock and no mail",
			guess: func(e *env, u string) auth.Outcome {
				r := e.request("000000")
				r.Username = u
				return e.verify(r)
			},
			username: "nobody",
			want:     func(time.Time, time.Time) []time.Time { return nil },
		},
		{
			name: "a correct password on the guess that would lock sets no lock and mails nothing",
			guess: func(e *env, u string) auth.Outcome {
				out, err := e.v.CheckPassword(e.ctx, auth.Request{OrgID: e.org.ID, Username: u, Password: "correct horse", Actor: "test"})
				if err != nil {
					t.Fatal(err)
				}
				return out
			},
			username: "alice",
			want:     func(time.Time, time.Time) []time.Time { return nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				e.active()
				start := e.clock.Now()
				for range 12 { // five guesses lock; the rest meet the lock
					tt.guess(e, tt.username)
				}
				if got := e.lockMails(); len(got) > 1 {
					t.Fatalf("%d lock mails during one lock, want at most one: %v", len(got), got)
				}
				e.clock.Advance(10 * time.Minute)
				t1 := e.clock.Now()
				for range 12 {
					tt.guess(e, tt.username)
				}
				if got, want := e.lockMails(), tt.want(start, t1); !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Fatalf("lock mails for the ends %v, want %v", got, want)
				}
			})
		})
	}
}

func TestLockMailPastTheHardLimitSaysForever(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.setPolicy(map[string]string{"lockout_hard_limit": "7"})
		e.active()
		for range 5 {
			e.verify(e.request("000000"))
		}
		e.clock.Advance(10 * time.Minute)
		for range 5 { // the seventh failure in a row is the hard limit
			e.verify(e.request("000000"))
		}
		want := []time.Time{t0.Add(60*time.Second + 10*time.Minute), store.LockedForever}
		if got := e.lockMails(); !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Fatalf("lock mails for the ends %v, want %v", got, want)
		}
	})
}

// The end of a lock is told only to a person who has proven to be the
// user; to anyone else a lock is the one answer for a wrong code.
func TestLockEndIsToldOnlyToTheIdentified(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		until := e.clock.Now().Add(10 * time.Minute)
		guess := func(code string, identified bool) auth.Outcome {
			r := e.request(code)
			r.Identified = identified
			return e.verify(r)
		}
		for range 4 {
			guess("000000", true)
		}
		if out := guess("000000", false); !out.LockedUntil.IsZero() {
			t.Fatalf("the guess that locked told an outsider the lock's end: %+v", out)
		}
		for _, code := range []string{"000000", e.code(tk, 0)} {
			if out := guess(code, false); out.Accepted || !out.LockedUntil.IsZero() || out.Reason != auth.ErrLocked {
				t.Errorf("locked, code %s, not identified: %+v; want a refusal without the lock's end", code, out)
			}
			if out := guess(code, true); out.Accepted || !out.LockedUntil.Equal(until) {
				t.Errorf("locked, code %s, identified: %+v; want a refusal locked until %v", code, out, until)
			}
		}
		// Another user, identified, is told nothing of a lock that is not there.
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		r := e.request("000000")
		r.Username, r.Identified = "bob", true
		if out := e.verify(r); !out.LockedUntil.IsZero() {
			t.Errorf("bob, not locked: %+v", out)
		}
	})
}

func TestRefusalSaysWhichMethodAndHowFarTheClockIsOff(t *testing.T) {
	tests := []struct {
		name       string
		code       func(e *env, tk token) string
		identified bool
		method     string
		offset     time.Duration
	}{
		{"a code of a phone two minutes ahead", func(e *env, tk token) string { return e.code(tk, 4) }, true, "app", 2 * time.Minute},
		{"a code of a phone a minute behind", func(e *env, tk token) string { return e.code(tk, -2) }, true, "app", -time.Minute},
		{"nothing but the reason is told to an outsider", func(e *env, tk token) string { return e.code(tk, 4) }, false, "", 0},
		{"a wrong code says nothing of the clock", func(e *env, tk token) string { return "000000" }, true, "app", 0},
		{"a backup code is taken for one", func(e *env, tk token) string { return "abcd-efgh-2345-67ab" }, true, "backup", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				tk := e.active()
				e.clock.Advance(5 * time.Minute) // steps behind now are unused
				r := e.request(tt.code(e, tk))
				r.Identified = tt.identified
				out := e.verify(r)
				if out.Accepted || out.Method != tt.method || out.ClockOffset != tt.offset {
					t.Fatalf("%+v; want a refusal of method %q with the clock %v off", out, tt.method, tt.offset)
				}
			})
		})
	}
}
