package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// seedStats fills organization orgID of the database of b with n users,
// set-based so that it runs in seconds on both backends: of every 20
// users 14 have an active token and 6 an assigned one with a pending
// invitation (half of them expired); one in 100 is locked. It adds
// events audit events spread over the 30 days before t0, most of them
// sign-ins, so that a day holds a thirtieth of them.
func seedStats(b *testing.B, be storetest.Backend, orgID int64, n, events int) {
	b.Helper()
	driver, bytes := "sqlite", "CAST(serial AS BLOB)"
	if be.Driver == "postgres" {
		driver, bytes = "pgx", "convert_to(serial, 'UTF8')"
	}
	db, err := sql.Open(driver, be.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := ms(t0)
	count := func(n int) string {
		return fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < %d) `, n-1)
	}
	for _, q := range []string{
		count(n) + fmt.Sprintf(`INSERT INTO users (org_id, username, email, created_at, locked_until)
			SELECT %d, 'user' || i, 'user' || i || '@acme.example', %d, CASE WHEN i %% 100 = 7 THEN %d ELSE 0 END FROM n`,
			orgID, now, now+10*60*1000),
		fmt.Sprintf(`INSERT INTO tokens (org_id, user_id, serial, type, state, secret, algorithm, digits, period, last_step, created_at)
			SELECT org_id, id, 'S' || org_id || '-' || id, 'totp', CASE WHEN id %% 20 < 14 THEN 'active' ELSE 'assigned' END,
			%s, 'SHA1', 6, 30, 0, %d FROM (SELECT org_id, id, username AS serial FROM users WHERE org_id = %d) u`, bytes, now, orgID),
		fmt.Sprintf(`INSERT INTO enrollments (org_id, token_id, code_hash, status, expires_at, created_at)
			SELECT org_id, id, %s, 'pending', CASE WHEN id %% 2 = 0 THEN %d ELSE %d END, %d
			FROM tokens WHERE org_id = %d AND state = 'assigned'`, bytes, now+3600*1000, now-3600*1000, now, orgID),
		count(events) + fmt.Sprintf(`INSERT INTO audit_events (org_id, at, actor, action, target, result)
			SELECT %d, %d - i * %d, 'radius:vpn',
			CASE WHEN i %% 10 < 6 THEN 'validate' WHEN i %% 10 = 6 THEN 'login.password' WHEN i %% 10 = 7 THEN 'portal.login' ELSE 'token.enroll' END,
			'user' || (i %% %d), CASE WHEN i %% 7 = 0 THEN 'bad_code' ELSE 'accept' END FROM n`,
			orgID, now, int64(30*24*time.Hour/time.Millisecond)/int64(events), n),
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
	if be.Driver == "postgres" {
		// What autovacuum does on a server after a load like this one;
		// without it the planner knows nothing of the rows.
		if _, err := db.Exec(`VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOrgStats measures the dashboard's figures of an organization of
// 100,000 users and 1,000,000 audit events, beside a smaller one sharing
// the indexes, on both backends:
//
//	TWOFOLD_TEST_POSTGRES_URL=… go test ./internal/store -run '^$' -bench OrgStats -benchtime 50x
func BenchmarkOrgStats(b *testing.B) {
	storetest.EachB(b, func(b *testing.B, backend storetest.Backend) {
		s := backend.Open(b, clock.NewFake(t0))
		ctx := context.Background()
		var orgs [2]store.Org
		for i, slug := range []string{"acme", "other"} {
			var err error
			if orgs[i], err = s.CreateOrg(ctx, store.Org{Slug: slug, Name: slug, Policy: []byte(`{}`), CreatedAt: t0},
				store.Event{At: t0, Action: "org.create"}); err != nil {
				b.Fatal(err)
			}
		}
		seedStats(b, backend, orgs[1].ID, 1_000, 10_000)
		seedStats(b, backend, orgs[0].ID, 100_000, 1_000_000)
		since := t0.Add(-24 * time.Hour)
		st, err := s.OrgStats(ctx, orgs[0].ID, since)
		if err != nil {
			b.Fatal(err)
		}
		if st.Users != 100_000 || st.ActiveTokens != 70_000 || st.Locked != 1_000 || st.SignIns == 0 || st.Failures == 0 {
			b.Fatalf("figures %+v do not match the seed", st)
		}
		b.Logf("%+v", st)
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.OrgStats(ctx, orgs[0].ID, since); err != nil {
				b.Fatal(err)
			}
		}
	})
}
