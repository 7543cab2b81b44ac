package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/api"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/radius"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"no latencies give 0", nil, 0.5, 0},
		{"one latency is every percentile", ms(7), 0.999, 7 * time.Millisecond},
		{"the median of 1..100 is 50", ms(hundred...), 0.5, 50 * time.Millisecond},
		{"p99 of 1..100 is 99", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p99.9 of 1..100 is the largest", ms(hundred...), 0.999, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.q); got != tc.want {
				t.Fatalf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

// TestWrongCodeIsNoCodeOfTheWindow: a wrong code has the length of a
// right one and is the code of no counter a server may take, also where
// the code after the right one is the code of a neighbouring counter.
func TestWrongCodeIsNoCodeOfTheWindow(t *testing.T) {
	w := uint64(policy.MaxTOTPWindow)
	for _, digits := range []int{6, 8} {
		g, err := otp.NewGenerator([]byte("12345678901234567890"), otp.SHA1, digits)
		if err != nil {
			t.Fatal(err)
		}
		counters := []uint64{0, 1, 59_000_000}
		// A counter whose code plus one is a neighbour's code: the
		// first wrong code to try is then a right one.
		if digits == 6 {
			for c := w; ; c++ {
				next := fmt.Sprintf("%06d", (g.Value(c)+1)%1_000_000)
				if _, ok := g.Match(next, c-w, c+w); ok {
					counters = append(counters, c)
					break
				}
			}
		}
		for _, c := range counters {
			code := wrong(g, c)
			if _, ok := g.Match(code, c-min(c, w), c+w); ok || len(code) != digits {
				t.Errorf("%d digits, counter %d: wrong code %s (right %s) is right, or of another length", digits, c, code, g.Code(c))
			}
		}
	}
}

func TestWalkerSendsEachUserOneCodePerStep(t *testing.T) {
	period := 30 * time.Second
	w := &walker{accounts: []Account{{Username: "a", Period: period}, {Username: "b", Period: period}}, last: make([]atomic.Int64, 2)}
	at := time.Unix(1_800_000_000, 0)
	var got []string
	for range 2 {
		a, _, ok := w.take(at)
		if !ok {
			t.Fatal("no user for the first two codes of the step")
		}
		got = append(got, a.Username)
	}
	if got[0] == got[1] {
		t.Fatalf("one step gave %v: a user twice", got)
	}
	if a, _, ok := w.take(at.Add(time.Second)); ok {
		t.Fatalf("a third code in one step, for %s: every user has had theirs", a.Username)
	}
	a, counter, ok := w.take(at.Add(period))
	if !ok || counter != uint64(at.Add(period).Unix()/30) {
		t.Fatalf("the next step: %v, counter %d, ok %v", a, counter, ok)
	}
}

func TestReadAccounts(t *testing.T) {
	const secret = "PWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV"
	for _, tc := range []struct {
		name, file string
		users      []string
		ok         bool
	}{
		{"a seed file", "username,serial,secret,algorithm,digits,period\nuser000001,TOTP-1," + secret + ",SHA1,6,30\n", []string{"user000001"}, true},
		{"the peer's users.tsv", "user00000\t" + secret + "\tpap-password\nuser00001\t" + secret + "\tx\n", []string{"user00000", "user00001"}, true},
		{"a line without a secret", "user00000\n", nil, false},
		{"a secret that is not base32", "user00000\t!!!\n", nil, false},
		{"an empty file", "", nil, false},
		{"a seed file without its columns", "username,serial\nu,s\n", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as, err := ReadAccounts(strings.NewReader(tc.file))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if len(as) != len(tc.users) {
				t.Fatalf("%d users, want %v", len(as), tc.users)
			}
			for i, a := range as {
				if a.Username != tc.users[i] || len(a.Secret) != 20 {
					t.Errorf("user %d: %s with a %d-byte secret, want %s with 20", i, a.Username, len(a.Secret), tc.users[i])
				}
			}
		})
	}
}

func FuzzReadAccounts(f *testing.F) {
	f.Add("username,serial,secret,algorithm,digits,period\nuser000001,TOTP-1,PWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV,SHA1,6,30\n")
	f.Add("user00000\tPWXDUOBUKJ374QL4GQIVL4QOBBDUYQKV\tpw\n")
	// Found by the fuzzer: a seed row with no username.
	f.Add("username,serial,secret,algorithm,digits,period\n,,22,,0,00")
	f.Fuzz(func(t *testing.T, file string) {
		as, err := ReadAccounts(strings.NewReader(file))
		if err == nil && len(as) == 0 {
			t.Fatal("no error and no users")
		}
		for _, a := range as {
			if a.Username == "" {
				t.Fatal("a user without a name")
			}
		}
	})
}

// twofold is a real Twofold server's RADIUS and REST listeners on a real
// store, with an organization of synthetic users, a RADIUS client for
// 127.0.0.1 and an API key.
type twofold struct {
	accounts     []Account
	radiusAddr   string
	secret       string
	restURL, key string
}

func startTwofold(t *testing.T, b storetest.Backend, users int) twofold {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.System{}
	st := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cheap := &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}
	svc := &admin.Service{Store: st, Keys: keys, Hasher: cheap, Clock: clk, Rand: rand.Reader, PublicURL: "https://mfa.example", Actor: "test"}
	var seed bytes.Buffer
	org, err := (&importer.Importer{Admin: svc}).Synthetic(ctx, "load", users, &seed)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := ReadAccounts(&seed)
	if err != nil {
		t.Fatal(err)
	}
	added, err := svc.AddRadiusClient(ctx, org, admin.NewRadiusClient{Name: "load", Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := svc.CreateAPIKey(ctx, org, "load")
	if err != nil {
		t.Fatal(err)
	}
	v := auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap, Rand: rand.Reader})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := radius.New(radius.Config{Store: st, Keys: keys, Verifier: v, Clock: clk})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.New(v, st, slog.New(slog.DiscardHandler)))
	web := httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		web.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return twofold{accounts: accounts, radiusAddr: conn.LocalAddr().String(), secret: added.Secret, restURL: web.URL, key: key}
}

// TestRunAgainstTwofold drives a real server over RADIUS and REST, with
// right codes and wrong ones, and checks the counts: every right code
// accepted once, every wrong one rejected, nothing lost.
func TestRunAgainstTwofold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		tf := startTwofold(t, b, 200)
		rad := RADIUS{Addr: tf.radiusAddr, Secret: []byte(tf.secret)}
		rest := REST{URL: tf.restURL, APIKey: tf.key, Insecure: true}
		client := rest.Client(4)
		for _, tc := range []struct {
			name      string
			accounts  []Account
			newWorker func() (Worker, error)
			wrong     bool
		}{
			{"RADIUS, right codes", tf.accounts[:100], rad.NewWorker, false},
			{"REST, right codes", tf.accounts[100:], func() (Worker, error) { return rest.NewWorker(client), nil }, false},
			{"RADIUS, wrong codes", tf.accounts[:50], rad.NewWorker, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, err := Run(context.Background(), Config{Accounts: tc.accounts, Concurrency: 4, Duration: time.Minute,
					Requests: len(tc.accounts), Wrong: tc.wrong, NewWorker: tc.newWorker})
				if err != nil {
					t.Fatal(err)
				}
				want := Result{Requests: len(tc.accounts), Accepts: len(tc.accounts)}
				if tc.wrong {
					want.Accepts, want.Rejects = 0, len(tc.accounts)
				}
				if r.Requests != want.Requests || r.Accepts != want.Accepts || r.Rejects != want.Rejects || r.Errors != 0 {
					t.Fatalf("%d requests, %d accepts, %d rejects, %d errors (first: %v); want %d, %d, %d, 0",
						r.Requests, r.Accepts, r.Rejects, r.Errors, r.FirstError, want.Requests, want.Accepts, want.Rejects)
				}
				if r.P50 <= 0 || r.P999 < r.P99 || r.P99 < r.P50 || r.Rate() <= 0 {
					t.Fatalf("latencies p50 %v p99 %v p99.9 %v, rate %v", r.P50, r.P99, r.P999, r.Rate())
				}
				var out bytes.Buffer
				r.Print(&out, tc.name)
				if !strings.Contains(out.String(), "result rps=") {
					t.Fatalf("no result line in\n%s", out.String())
				}
			})
		}
		// A second round of the same step would be replays: the walker
		// stops instead.
		r, err := Run(context.Background(), Config{Accounts: tf.accounts[:10], Concurrency: 2, Duration: time.Minute, NewWorker: rad.NewWorker})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Exhausted || r.Accepts+r.Rejects > 10 {
			t.Fatalf("exhausted %v after %d answers; want it to stop after at most 10", r.Exhausted, r.Accepts+r.Rejects)
		}
		// A wrong shared secret: no answer verifies.
		bad := RADIUS{Addr: tf.radiusAddr, Secret: []byte("not the secret"), Timeout: 200 * time.Millisecond}
		r, err = Run(context.Background(), Config{Accounts: tf.accounts[150:152], Concurrency: 1, Duration: time.Minute, Requests: 2, NewWorker: bad.NewWorker})
		if err != nil {
			t.Fatal(err)
		}
		if r.Errors != 2 {
			t.Fatalf("with a wrong secret: %d errors of 2 (accepts %d)", r.Errors, r.Accepts)
		}
	})
}
