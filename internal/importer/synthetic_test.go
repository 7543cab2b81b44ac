package importer_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 10, 0, time.UTC)

var cheap = &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}

// env is an Importer on a real store.
type env struct {
	ctx   context.Context
	clock *clock.Fake
	store *store.Store
	svc   *admin.Service
	im    *importer.Importer
}

func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	s := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &admin.Service{Store: s, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: "https://mfa.example", Actor: "test"}
	return &env{ctx: context.Background(), clock: clk, store: s, svc: svc, im: &importer.Importer{Admin: svc}}
}

func (e *env) verifier() *auth.Verifier {
	return auth.NewVerifier(auth.Config{Store: e.store, Keys: e.svc.Keys, Clock: e.clock, Hasher: cheap})
}

// code is what the app of seed shows now.
func (e *env) code(t *testing.T, s importer.Seed) string {
	t.Helper()
	g, err := otp.NewGenerator(s.Secret, otp.Algorithm(s.Algorithm), s.Digits)
	if err != nil {
		t.Fatal(err)
	}
	return g.Code(uint64(otp.Step(e.clock.Now(), time.Duration(s.Period)*time.Second)))
}

func TestSyntheticFillsAnOrganizationWithUsableTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var calls [][2]int
		e.im.Batch = 40
		e.im.Progress = func(done, total int) { calls = append(calls, [2]int{done, total}) }
		var seed bytes.Buffer
		org, err := e.im.Synthetic(e.ctx, "load", 100, &seed)
		if err != nil {
			t.Fatal(err)
		}
		if want := [][2]int{{40, 100}, {80, 100}, {100, 100}}; len(calls) != 3 || calls[0] != want[0] || calls[1] != want[1] || calls[2] != want[2] {
			t.Errorf("progress = %v, want %v", calls, want)
		}
		if !strings.HasPrefix(seed.String(), "username,serial,secret,algorithm,digits,period\n") {
			t.Errorf("seed file starts %.60q; want the header row", seed.String())
		}
		seeds, err := importer.ReadSeed(&seed)
		if err != nil {
			t.Fatal(err)
		}
		if len(seeds) != 100 {
			t.Fatalf("seed file has %d rows, want 100", len(seeds))
		}
		first, last := seeds[0], seeds[99]
		if first.Username != "user000001" || last.Username != "user000100" || first.Serial != "TOTP-LOAD-000001" ||
			first.Algorithm != "SHA1" || first.Digits != 6 || first.Period != 30 || len(first.Secret) != 20 {
			t.Errorf("seeds = %+v … %+v", first, last)
		}
		if bytes.Equal(first.Secret, last.Secret) {
			t.Error("two users share a secret")
		}

		// The tokens are active at once: the seed's code signs in, once.
		v := e.verifier()
		for _, s := range []importer.Seed{first, seeds[57], last} {
			req := auth.Request{OrgID: org.ID, Username: s.Username, Code: e.code(t, s), Actor: "test"}
			if out, err := v.Verify(e.ctx, req); err != nil || !out.Accepted || out.Serial != s.Serial {
				t.Errorf("%s's code: %+v, %v; want accepted by %s", s.Username, out, err, s.Serial)
			}
			if out, err := v.Verify(e.ctx, req); err != nil || out.Accepted {
				t.Errorf("%s's code again: %+v, %v; want refused as used", s.Username, out, err)
			}
		}

		// Each user is audited as a single add is, and found by the directory.
		evs, err := e.store.Events(e.ctx, org.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, ev := range evs {
			count[ev.Action]++
		}
		if count["user.add"] != 100 || count["token.import"] != 100 {
			t.Errorf("events by action = %v; want 100 user.add and 100 token.import", count)
		}
		page, err := e.store.SearchUsers(e.ctx, store.UserQuery{OrgID: org.ID, Search: "user00005", Limit: 50, Now: t0})
		if err != nil || len(page.Users) != 10 {
			t.Errorf("search user00005: %d rows, %v; want 10", len(page.Users), err)
		}

		// A secret copied into another user's row does not open.
		a, _ := e.store.TokenBySerial(e.ctx, org.ID, first.Serial)
		z, _ := e.store.TokenBySerial(e.ctx, org.ID, last.Serial)
		a.ID, a.UserID = z.ID, z.UserID
		if _, err := e.svc.Keys.Open(a.Secret, store.SecretAD(a)); err == nil {
			t.Error("a sealed secret opens in another token's row")
		}

		if _, err := e.im.Synthetic(e.ctx, "load", 5, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "exists already") {
			t.Errorf("a second synthetic load: %v; want it refused as existing", err)
		}
	})
}

func TestSyntheticRefusesAnOddNumber(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	for _, n := range []int{0, -1, importer.MaxSynthetic + 1} {
		if _, err := e.im.Synthetic(e.ctx, "load", n, &bytes.Buffer{}); err == nil {
			t.Errorf("Synthetic(%d): no error", n)
		}
	}
	if _, err := e.store.OrgBySlug(e.ctx, "load"); err == nil {
		t.Error("a refused synthetic load made the organization")
	}
}

// A seed file row the load tool could not use is refused with its line.
func TestReadSeedRefusesUnusableRows(t *testing.T) {
	const header = "username,serial,secret,algorithm,digits,period\n"
	for _, tc := range []struct{ row, want string }{
		{",S1,PWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV,SHA1,6,30", "line 2: no username"},
		{"u1,S1,PWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV,MD5,6,30", "line 2"},
		{"u1,S1,PWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV,SHA1,0,30", "digits must be 6 to 8"},
		{"u1,S1,PWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV,SHA1,6,0", "period must be"},
	} {
		if _, err := importer.ReadSeed(strings.NewReader(header + tc.row + "\n")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadSeed(%q) = %v, want an error saying %q", tc.row, err, tc.want)
		}
	}
}
