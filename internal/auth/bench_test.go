package auth_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/procstat"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// BenchmarkVerify measures a full accepted verification — lookup, lockout
// reservation, unseal, compute, consume and audit — through each store.
// Every goroutine has a user and HOTP token of its own, so the figures
// are throughput, not contention on one row; eight goroutines per CPU
// stand for the requests a server has in flight at once.
func BenchmarkVerify(b *testing.B) {
	storetest.EachB(b, benchmarkVerify)
}

func benchmarkVerify(b *testing.B, backend storetest.Backend) {
	e := newEnv(b, backend)
	const users = 64
	type subject struct {
		name    string
		gen     *otp.Generator
		counter uint64
	}
	subjects := make([]*subject, users)
	for i := range subjects {
		name := fmt.Sprintf("user%d", i)
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: name}); err != nil {
			b.Fatal(err)
		}
		en, err := e.admin.EnrollToken(e.ctx, e.org, name, "hotp", "")
		if err != nil {
			b.Fatal(err)
		}
		k, _ := otp.ParseURI(en.URI)
		g, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
		if out, err := e.v.Activate(e.ctx, auth.Request{OrgID: e.org.ID, Username: name, Code: g.Code(0)}, en.Token.Serial); err != nil || !out.Accepted {
			b.Fatalf("activate: %+v %v", out, err)
		}
		subjects[i] = &subject{name: name, gen: g, counter: 1}
	}
	var next atomic.Int32
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := procstat.Self()
	b.RunParallel(func(pb *testing.PB) {
		s := subjects[int(next.Add(1)-1)%users]
		ctx := context.Background()
		for pb.Next() {
			out, err := e.v.Verify(ctx, auth.Request{OrgID: e.org.ID, Username: s.name, Code: s.gen.Code(s.counter), Actor: "bench"})
			if err != nil || !out.Accepted {
				b.Errorf("verify: %+v %v", out, err)
				return
			}
			s.counter++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validates/s")
	// CPU time per validation moves less than the rate on a shared machine
	// (PostgreSQL's own CPU is not in it).
	b.ReportMetric(float64(procstat.Self()-cpu)/float64(b.N), "cpu-ns/op")
}
