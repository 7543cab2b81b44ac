package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

type fixture struct {
	s    *store.Store
	org  store.Org
	user store.User
	tok  store.Token
}

func setup(t *testing.T, b storetest.Backend) fixture {
	t.Helper()
	ctx := context.Background()
	s := b.Open(t, clock.NewFake(t0))
	org, err := s.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0},
		store.Event{At: t0, Actor: "test", Action: "org.create", Target: "acme", Result: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{s: s, org: org}
	f.user = addUser(t, f, "alice")
	f.tok = addToken(t, f, "TOTP0001")
	return f
}

// addUser adds an active user named username to f's organization.
func addUser(t *testing.T, f fixture, username string) store.User {
	t.Helper()
	u, err := f.s.CreateUser(context.Background(), store.User{OrgID: f.org.ID, Username: username, Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0},
		store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "user.add", Target: "acme/" + username, Result: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// addToken gives f's user an active TOTP token at step 100.
func addToken(t *testing.T, f fixture, serial string) store.Token {
	t.Helper()
	tok, err := f.s.CreateToken(context.Background(), store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: serial, Type: "totp", State: store.TokenActive,
		Algorithm: "SHA1", Digits: 6, Period: 30, LastStep: 100, CreatedAt: t0},
		func(tk store.Token) ([]byte, error) { return append([]byte("sealed:"), store.SecretAD(tk)...), nil }, nil,
		store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "token.enroll", Target: serial, Result: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		s := f.s

		if _, err := s.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Again", CreatedAt: t0}, store.Event{Action: "org.create"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("second org acme: err = %v, want ErrExists", err)
		}
		if _, err := s.OrgBySlug(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OrgBySlug(nope): err = %v, want ErrNotFound", err)
		}
		if _, err := s.CreateUser(ctx, store.User{OrgID: f.org.ID, Username: "alice", Role: "user", Status: "active", CreatedAt: t0}, store.Event{Action: "user.add"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("second user alice: err = %v, want ErrExists", err)
		}
		toks, err := s.Tokens(ctx, f.org.ID, f.user.ID)
		if err != nil || len(toks) != 1 {
			t.Fatalf("Tokens() = %v, %v; want one token", toks, err)
		}
		if got, want := string(toks[0].Secret), "sealed:"+string(store.SecretAD(toks[0])); got != want {
			t.Errorf("secret = %q, want it sealed with the row's own id: %q", got, want)
		}
		if !toks[0].CreatedAt.Equal(t0) || !toks[0].ActivatedAt.IsZero() {
			t.Errorf("times = %v, %v; want %v and zero", toks[0].CreatedAt, toks[0].ActivatedAt, t0)
		}

		// A failed step rolls back everything, event included.
		_, err = s.CreateToken(ctx, store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: "TOTP0002", Type: "totp", State: store.TokenAssigned,
			Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0},
			func(store.Token) ([]byte, error) { return nil, errors.New("no key") }, nil,
			store.Event{OrgID: f.org.ID, Action: "token.enroll"})
		if err == nil {
			t.Fatal("CreateToken with a failing sealer succeeded")
		}
		if _, err := s.TokenBySerial(ctx, f.org.ID, "TOTP0002"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("half-created token exists: err = %v, want ErrNotFound", err)
		}

		// Tokens of one organization are invisible from another.
		other, err := s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", CreatedAt: t0}, store.Event{Action: "org.create"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenBySerial(ctx, other.ID, "TOTP0001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token seen from another organization: err = %v", err)
		}
		if err := s.SetTokenState(ctx, other.ID, f.tok.ID, []string{store.TokenActive}, store.TokenRevoked, store.Event{Action: "token.revoke"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token revoked from another organization: err = %v", err)
		}

		if err := s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenActive}, store.TokenSuspended, store.Event{OrgID: f.org.ID, Action: "token.suspend"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenActive}, store.TokenSuspended, store.Event{Action: "token.suspend"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("suspending a suspended token: err = %v, want ErrNotFound", err)
		}

		evs, err := s.Events(ctx, f.org.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		if want := []string{"token.suspend", "token.enroll", "user.add", "org.create"}; !equal(actions, want) {
			t.Errorf("events = %v, want %v", actions, want)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSubject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		sub, err := f.s.Subject(ctx, f.org.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if sub.UserID != f.user.ID || len(sub.Tokens) != 1 || sub.Tokens[0].Serial != "TOTP0001" || sub.Tokens[0].LastStep != 100 {
			t.Fatalf("Subject() = %+v, want alice with TOTP0001 at step 100", sub)
		}
		if err := f.s.SetTokenState(ctx, f.org.ID, f.tok.ID, []string{store.TokenActive}, store.TokenRevoked, store.Event{Action: "token.revoke"}); err != nil {
			t.Fatal(err)
		}
		if sub, err = f.s.Subject(ctx, f.org.ID, "alice"); err != nil || len(sub.Tokens) != 0 {
			t.Fatalf("Subject() after revoke = %+v, %v; want no usable token", sub, err)
		}
		if _, err := f.s.Subject(ctx, f.org.ID, "bob"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Subject(bob) err = %v, want ErrNotFound", err)
		}
	})
}

// TestSubjectsReadTogether: on PostgreSQL the Subject reads asked for at
// once share one statement, and each still gets its own subject: a user's
// tokens, nobody's under an unknown name, no organization under an unknown
// id; and a read the database refuses fails alone.
func TestSubjectsReadTogether(t *testing.T) {
	ctx := context.Background()
	f := setup(t, storetest.Postgres(t))
	bob := addUser(t, f, "bob")
	orgs := []int64{f.org.ID, f.org.ID, f.org.ID, f.org.ID + 1000, f.org.ID, f.org.ID}
	names := []string{"alice", "bob", "carol", "alice", "alice", "\xff"}
	subs, errs := f.s.SubjectsAsOneBatch(ctx, orgs, names)
	for i, want := range []struct {
		user   int64
		tokens int
		absent bool
	}{
		{f.user.ID, 1, false}, {bob.ID, 0, false}, {0, 0, true}, {0, 0, true}, {f.user.ID, 1, false}, {0, 0, false},
	} {
		switch {
		case i == len(names)-1:
			if errs[i] == nil || errors.Is(errs[i], store.ErrNotFound) {
				t.Errorf("subject %q: error %v, want PostgreSQL's refusal of a name that is no UTF-8", names[i], errs[i])
			}
		case want.absent:
			if !errors.Is(errs[i], store.ErrNotFound) {
				t.Errorf("subject %d/%q: error %v, want ErrNotFound", orgs[i], names[i], errs[i])
			}
		case errs[i] != nil || subs[i].UserID != want.user || len(subs[i].Tokens) != want.tokens:
			t.Errorf("subject %q = %+v, %v; want user %d with %d tokens", names[i], subs[i], errs[i], want.user, want.tokens)
		}
	}
	if subs[2].PolicyRev != subs[0].PolicyRev || subs[3].PolicyRev != 0 {
		t.Errorf("policy revisions %d (unknown user) and %d (unknown organization), want %d and 0", subs[2].PolicyRev, subs[3].PolicyRev, subs[0].PolicyRev)
	}
	if len(subs[0].Tokens) == 1 && (subs[0].Tokens[0].Serial != "TOTP0001" || subs[0].Tokens[0].OrgID != f.org.ID) {
		t.Errorf("alice's token %+v, want TOTP0001 of her organization", subs[0].Tokens[0])
	}

	// Many at once, as a busy server asks: nobody gets another's.
	users := map[string]int64{"alice": f.user.ID, "bob": bob.ID}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			name := []string{"alice", "bob"}[i%2]
			for range 20 {
				sub, err := f.s.Subject(ctx, f.org.ID, name)
				if err != nil || sub.UserID != users[name] {
					t.Errorf("Subject(%s) = user %d, %v; want %d", name, sub.UserID, err, users[name])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestReserveAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lock := store.Lockout{Threshold: 3, LockFor: 10 * time.Minute, HardLimit: 100}
		reserve := func(now time.Time) (int, bool) {
			t.Helper()
			r, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, now, lock)
			if err != nil {
				t.Fatal(err)
			}
			return r.Failures, ok
		}
		user := func() store.User {
			t.Helper()
			u, err := f.s.UserByName(ctx, f.org.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		for i := 1; i <= 3; i++ {
			if n, ok := reserve(t0); !ok || n != i {
				t.Fatalf("guess %d: reserve = %d, %v; want %d, true", i, n, ok, i)
			}
		}
		if _, ok := reserve(t0); ok {
			t.Fatal("a fourth guess within the lock period was reserved")
		}
		if _, ok := reserve(t0.Add(9 * time.Minute)); ok {
			t.Fatal("a guess before the lock ran out was reserved")
		}
		// The next period counts on from the failures before it, and its
		// lock lasts twice as long.
		t1 := t0.Add(10 * time.Minute)
		for i := 4; i <= 6; i++ {
			if n, ok := reserve(t1); !ok || n != i {
				t.Fatalf("after the first lock, guess %d: reserve = %d, %v; want %d, true", i, n, ok, i)
			}
		}
		if u := user(); u.Failures != 3 || u.TotalFailures != 6 || !u.LockedUntil.Equal(t1.Add(20*time.Minute)) {
			t.Fatalf("after two locks: failures %d, total %d, locked until %v; want 3, 6, %v",
				u.Failures, u.TotalFailures, u.LockedUntil, t1.Add(20*time.Minute))
		}
		if _, ok := reserve(t1.Add(19 * time.Minute)); ok {
			t.Fatal("the second lock lasted no longer than the first")
		}
		if err := f.s.Unlock(ctx, f.org.ID, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.unlock"}); err != nil {
			t.Fatal(err)
		}
		if u := user(); u.Failures != 0 || u.TotalFailures != 0 || !u.LockedUntil.IsZero() {
			t.Fatalf("after unlock: %+v; want no failures and no lock", u)
		}
	})
}

// Exactly one reservation sets each lock, and says until when: the lock
// mail goes out once per lock.
func TestReservationThatSetsTheLockSaysUntilWhen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lock := store.Lockout{Threshold: 2, LockFor: 10 * time.Minute, HardLimit: 6}
		t1, t2 := t0.Add(10*time.Minute), t0.Add(30*time.Minute)
		for i, st := range []struct {
			at    time.Time
			ok    bool
			until time.Time
		}{
			{t0, true, time.Time{}},
			{t0, true, t1}, // the second guess uses up the allowance
			{t0, false, time.Time{}},
			{t1, true, time.Time{}},
			{t1, true, t2}, // the second lock lasts twice as long
			{t2, true, time.Time{}},
			{t2, true, store.LockedForever}, // the sixth failure in a row is the hard limit
			{t2.Add(24 * time.Hour), false, time.Time{}},
		} {
			r, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, st.at, lock)
			if err != nil {
				t.Fatal(err)
			}
			if ok != st.ok || !r.LockedUntil.Equal(st.until) {
				t.Errorf("guess %d: reserved %v, lock set until %v; want %v, %v", i+1, ok, r.LockedUntil, st.ok, st.until)
			}
		}
		sub, err := f.s.Subject(ctx, f.org.ID, "alice")
		if err != nil || !sub.LockedUntil.Equal(store.LockedForever) {
			t.Fatalf("Subject: locked until %v, %v; want %v", sub.LockedUntil, err, store.LockedForever)
		}
	})
}

func TestHardLimitLocksUntilUnlocked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lock := store.Lockout{Threshold: 5, LockFor: time.Minute, HardLimit: 12}
		now, evaluated := t0, 0
		// A guesser who waits out every lock, for a year.
		for range 400 {
			if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, now, lock); err != nil {
				t.Fatal(err)
			} else if ok {
				evaluated++
			}
			now = now.Add(time.Hour * 24)
		}
		if evaluated != 12 {
			t.Fatalf("%d guesses evaluated over a year, want the hard limit of 12", evaluated)
		}
		u, err := f.s.UserByName(ctx, f.org.ID, "alice")
		if err != nil || !u.LockedUntil.Equal(store.LockedForever) {
			t.Fatalf("past the hard limit: locked until %v, %v; want %v", u.LockedUntil, err, store.LockedForever)
		}
		if err := f.s.Unlock(ctx, f.org.ID, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.unlock"}); err != nil {
			t.Fatal(err)
		}
		if r, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, now, lock); err != nil || !ok || r.Failures != 1 {
			t.Fatalf("after an operator's unlock: reserve = %d, %v, %v; want 1, true", r.Failures, ok, err)
		}
	})
}

func TestLoweringTheThresholdKeepsTheCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		for range 4 {
			if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, store.Lockout{Threshold: 5, LockFor: time.Minute, HardLimit: 100}); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		lower := store.Lockout{Threshold: 3, LockFor: time.Minute, HardLimit: 100}
		if r, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, lower); err != nil || !ok || r.Failures != 5 {
			t.Fatalf("first guess after lowering the threshold: %d, %v, %v; want 5, true", r.Failures, ok, err)
		}
		if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, lower); err != nil || ok {
			t.Fatalf("a guess past the lowered threshold was reserved (%v)", err)
		}
	})
}

func TestReleaseAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lock := store.Lockout{Threshold: 3, LockFor: 10 * time.Minute, HardLimit: 100}
		for range 2 {
			if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, lock); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		// Ten correct passwords: each reserves and gives back.
		for i := range 10 {
			if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, lock); err != nil || !ok {
				t.Fatalf("correct password %d was refused as locked (%v)", i+1, err)
			}
			if err := f.s.ReleaseAttempt(ctx, f.user.ID, t0, lock); err != nil {
				t.Fatal(err)
			}
		}
		u, err := f.s.UserByName(ctx, f.org.ID, "alice")
		if err != nil || u.Failures != 2 || u.TotalFailures != 2 || !u.LockedUntil.IsZero() {
			t.Fatalf("after two failures and ten correct passwords: %+v, %v; want the two failures kept, no lock", u, err)
		}
	})
}

func TestConsumeIsSingleUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		c := store.Consumption{TokenID: f.tok.ID, UserID: f.user.ID, Step: 101, At: t0, From: store.TokenActive,
			Event: store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Result: "accept"}}
		if err := f.s.Consume(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, step := range []int64{101, 100, 50} {
			c.Step = step
			if err := f.s.Consume(ctx, c); !errors.Is(err, store.ErrNotConsumed) {
				t.Errorf("step %d after 101: err = %v, want ErrNotConsumed", step, err)
			}
		}
		c.Step, c.From = 102, store.TokenAssigned
		if err := f.s.Consume(ctx, c); !errors.Is(err, store.ErrNotConsumed) {
			t.Errorf("activating an active token: err = %v, want ErrNotConsumed", err)
		}
	})
}

// hammer calls try n times at once, alternating between the stores (two
// instances on one database, as two servers would be), and counts how
// many calls report true.
func hammer(t *testing.T, n int, stores [2]*store.Store, try func(*store.Store) (bool, error)) int {
	t.Helper()
	var succeeded atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := try(stores[i%2])
			if err != nil {
				t.Error(err)
			}
			if ok {
				succeeded.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(succeeded.Load())
}

func TestConcurrentConsume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		accepted := hammer(t, 200, stores, func(s *store.Store) (bool, error) {
			err := s.Consume(context.Background(), store.Consumption{TokenID: f.tok.ID, UserID: f.user.ID, Step: 101, At: t0,
				From: store.TokenActive, Event: store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Result: "accept"}})
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return err == nil, err
		})
		if accepted != 1 {
			t.Fatalf("accepted %d of 200 concurrent uses of one step, want exactly 1", accepted)
		}
	})
}

func TestConcurrentReserve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		reserved := hammer(t, 500, stores, func(s *store.Store) (bool, error) {
			_, ok, err := s.ReserveAttempt(context.Background(), f.user.ID, t0, store.Lockout{Threshold: 5, LockFor: 10 * time.Minute, HardLimit: 100})
			return ok, err
		})
		if reserved != 5 {
			t.Fatalf("reserved %d of 500 concurrent guesses, want exactly 5", reserved)
		}
	})
}

func TestReopenKeepsSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		again := b.Open(t, clock.NewFake(t0))
		v, err := again.SchemaVersion(context.Background())
		if err != nil || v < 1 {
			t.Fatalf("SchemaVersion() = %d, %v; want at least 1", v, err)
		}
		if _, err := again.OrgBySlug(context.Background(), f.org.Slug); err != nil {
			t.Fatalf("data lost on reopen: %v", err)
		}
	})
}

func TestSetPolicyRefusesAStaleRevision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if err := f.s.SetPolicy(ctx, f.org.ID, f.org.PolicyRev, []byte(`{"lockout_threshold": 3}`), store.Event{OrgID: f.org.ID, Action: "policy.set"}); err != nil {
			t.Fatal(err)
		}
		// A second change made from the same, now stale, reading.
		err := f.s.SetPolicy(ctx, f.org.ID, f.org.PolicyRev, []byte(`{"lockout_threshold": 9}`), store.Event{OrgID: f.org.ID, Action: "policy.set"})
		if !errors.Is(err, store.ErrChanged) {
			t.Fatalf("change from a stale revision: %v, want ErrChanged", err)
		}
		org, err := f.s.OrgByID(ctx, f.org.ID)
		if err != nil || string(org.Policy) != `{"lockout_threshold": 3}` || org.PolicyRev != f.org.PolicyRev+1 {
			t.Fatalf("policy %s at revision %d, %v; want the first change kept at revision %d", org.Policy, org.PolicyRev, err, f.org.PolicyRev+1)
		}
	})
}

// A resend replaces the link: the old one finds its enrollment as
// replaced, so the page can say a newer link was sent; twice over too.
func TestRenewEnrollmentRemembersTheReplacedLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		tok, err := f.s.CreateToken(ctx, store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: "TOTP0002", Type: "totp", State: store.TokenAssigned,
			Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0}, func(store.Token) ([]byte, error) { return []byte("sealed"), nil },
			&store.Enrollment{CodeHash: []byte("first"), Status: store.EnrollmentPending, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0},
			store.Event{OrgID: f.org.ID, Action: "token.enroll"})
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range []string{"second", "third"} {
			if err := f.s.RenewEnrollment(ctx, f.org.ID, tok.ID, []byte(code), t0.Add(2*time.Hour), store.Event{OrgID: f.org.ID, At: t0, Action: "enrollment.resend"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			code     string
			replaced bool
		}{{"first", true}, {"second", true}, {"third", false}} {
			en, err := f.s.EnrollmentByCodeHash(ctx, []byte(c.code))
			if err != nil || en.Replaced != c.replaced || en.Token.ID != tok.ID || en.Enrollment.Status != store.EnrollmentPending {
				t.Errorf("link %s: %+v, %v; want the pending enrollment, replaced %v", c.code, en.Enrollment, err, c.replaced)
			}
		}
		if _, err := f.s.EnrollmentByCodeHash(ctx, []byte("never")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a link never sent: %v, want ErrNotFound", err)
		}
	})
}
