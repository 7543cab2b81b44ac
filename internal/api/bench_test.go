package api

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/procstat"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// BenchmarkValidate measures accepted validations through the whole
// handler, real verifier and real store: serially with a TOTP token (the
// clock moves one step per validation, so each code is fresh), and in
// parallel with one HOTP token per goroutine.
func BenchmarkValidate(b *testing.B) {
	storetest.EachB(b, func(b *testing.B, backend storetest.Backend) {
		// One database for every run of the sub-benchmarks below.
		f := newFixture(b, backend)
		// As in production: logging at info level, so nothing per request.
		h := New(f.v, f.st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		auth := []string{"Bearer " + f.key}
		b.Run("serial", func(b *testing.B) { benchmarkSerial(b, f, h, auth) })
		b.Run("parallel", func(b *testing.B) { benchmarkParallel(b, f, h, auth) })
	})
}

func benchmarkSerial(b *testing.B, f *fixture, h http.Handler, auth []string) {
	g, err := otp.NewGenerator(f.secrets["alice"], otp.SHA1, 6)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"username": "alice", "code": "000000"}`)
	codeAt := bytes.Index(body, []byte("000000"))
	b.ReportAllocs()
	cpu := procstat.Self()
	for b.Loop() {
		f.clk.Advance(period)
		putCode(body[codeAt:codeAt+6], g.Value(uint64(otp.Step(f.clk.Now(), period))))
		rec := serve(h, auth, body)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), accept.body) {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validates/s")
	b.ReportMetric(float64(procstat.Self()-cpu)/float64(b.N), "cpu-ns/op")
}

// hotpUser is a user of the parallel benchmark with an HOTP token.
type hotpUser struct {
	name string
	g    *otp.Generator
	next uint64 // the next counter
}

func benchmarkParallel(b *testing.B, f *fixture, h http.Handler, auth []string) {
	// One user per goroutine, made once per GOMAXPROCS and kept across
	// runs, since each keeps its counter.
	users := f.hotpUsers(b)
	var taken atomic.Int32
	b.ReportAllocs()
	b.ResetTimer()
	cpu := procstat.Self()
	b.RunParallel(func(pb *testing.PB) {
		u := users[int(taken.Add(1)-1)%len(users)]
		body := []byte(`{"username": "` + u.name + `", "code": "000000"}`)
		codeAt := bytes.Index(body, []byte("000000"))
		for pb.Next() {
			putCode(body[codeAt:codeAt+6], u.g.Value(u.next))
			u.next++
			rec := serve(h, auth, body)
			if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), accept.body) {
				b.Errorf("%s: %d %s", u.name, rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validates/s")
	b.ReportMetric(float64(procstat.Self()-cpu)/float64(b.N), "cpu-ns/op")
}

// hotpUsers returns one user with an active HOTP token per goroutine of
// RunParallel, making them on first use.
func (f *fixture) hotpUsers(b *testing.B) []*hotpUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := runtime.GOMAXPROCS(0) // RunParallel's goroutines
	for len(f.hotp) < n {
		name := fmt.Sprintf("hotp%d", len(f.hotp))
		u, err := f.svc.AddUser(f.ctx, f.org, admin.NewUser{Username: name})
		if err != nil {
			b.Fatal(err)
		}
		en, err := f.svc.EnrollToken(f.ctx, f.org, u.Username, "hotp", "")
		if err != nil {
			b.Fatal(err)
		}
		k, err := otp.ParseURI(en.URI)
		if err != nil {
			b.Fatal(err)
		}
		g, err := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
		if err != nil {
			b.Fatal(err)
		}
		out, err := f.v.Activate(f.ctx, auth.Request{OrgID: f.org.ID, Username: name, Code: g.Code(k.Counter), Actor: "test"}, en.Token.Serial)
		if err != nil || !out.Accepted {
			b.Fatalf("activate %s: %+v, %v", name, out, err)
		}
		f.hotp = append(f.hotp, &hotpUser{name: name, g: g, next: k.Counter + 1})
	}
	return f.hotp[:n]
}

// serve posts body to h as a validate request and returns the answer.
func serve(h http.Handler, auth []string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, pathValidate, bytes.NewReader(body))
	req.Header["Authorization"] = auth
	req.Header["Content-Type"] = headerJSON
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// putCode writes v as len(dst) decimal digits into dst.
func putCode(dst []byte, v uint32) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// BenchmarkParseValidate measures the decoding of a validate body alone.
func BenchmarkParseValidate(b *testing.B) {
	body := []byte(`{"username": "user000123", "code": "123456", "password": "correct horse"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseValidate(body); err != nil {
			b.Fatal(err)
		}
	}
}
