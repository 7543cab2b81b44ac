// Package loadtest drives a RADIUS or REST server with one-time codes of
// many users, as gateways and applications would, and measures what comes
// back: answers per second, latency percentiles, accepts, rejects and
// errors, and the server's CPU time per answer.
//
// The workload is replay-free: each user is sent at most one code per
// TOTP step, so that a server that refuses a code used before (Twofold)
// and one that does not (FreeRADIUS's rlm_totp) get the same sequence of
// requests and answer them alike. A run that has sent every user's code
// of the current step stops there and says so: walk more users.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/procstat"
)

// Account is a user with an active TOTP token whose secret is known.
type Account struct {
	Username string
	Secret   []byte
	// Algorithm, Digits and Period are the token's: SHA1, 6 and 30 s
	// when zero.
	Algorithm otp.Algorithm
	Digits    int
	Period    time.Duration
}

// A Worker sends one request at a time and waits for its answer; each
// runs in a goroutine of its own, with its own socket or connection.
type Worker interface {
	// Check sends user's code and reports whether it was accepted. An
	// error is an answer that is neither accept nor reject, or none.
	Check(ctx context.Context, user, code string) (accepted bool, err error)
	Close() error
}

// Config is one run.
type Config struct {
	Accounts    []Account
	Concurrency int           // requests in flight, one per Worker
	Duration    time.Duration // how long to send
	Requests    int           // stop after this many; 0: until Duration
	// Wrong sends a wrong code for each user instead of the right one:
	// the reject path, and once a user is locked the locked path.
	Wrong bool
	// ServerPID, when not 0, is the server's process, whose CPU time per
	// answer is reported.
	ServerPID int
	NewWorker func() (Worker, error)
	Now       func() time.Time // time.Now when nil
}

// Result is what a run measured.
type Result struct {
	Requests, Accepts, Rejects, Errors int
	Elapsed                            time.Duration
	P50, P99, P999                     time.Duration
	// ServerCPU is the server's CPU time during the run, when its pid
	// was given.
	ServerCPU time.Duration
	// Exhausted says the run stopped early: every user's code of the
	// step had been sent.
	Exhausted bool
	// FirstError is the first error seen, to tell the operator what went
	// wrong.
	FirstError error
}

// Rate is answers per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// CPUPerAnswer is the server's CPU time per answer, or 0 when unknown.
func (r Result) CPUPerAnswer() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Requests)
}

// walker hands out (user, step) pairs so that no user is sent two codes
// of one step.
type walker struct {
	accounts []Account
	next     atomic.Uint64
	// last is, per account, the step its last code was made for.
	last []atomic.Int64
}

// take returns the account to send a code to at now and the counter of
// that code, or false when every account has had its code of this step.
func (w *walker) take(now time.Time) (*Account, uint64, bool) {
	for range 2 {
		i := w.next.Add(1) - 1
		a := &w.accounts[i%uint64(len(w.accounts))]
		step := otp.Step(now, a.Period)
		last := &w.last[i%uint64(len(w.accounts))]
		if old := last.Load(); old < step && last.CompareAndSwap(old, step) {
			return a, uint64(step), true
		}
	}
	return nil, 0, false
}

// wrong returns a code of g's length that is none of its codes for the
// counters a server may take around counter (policy.MaxTOTPWindow either
// side), so that a wrong code is never a right one.
func wrong(g *otp.Generator, counter uint64) string {
	code := g.Code(counter)
	mod := 1
	for range code {
		mod *= 10
	}
	n, _ := strconv.Atoi(code)
	w := uint64(policy.MaxTOTPWindow)
	for {
		n = (n + 1) % mod
		code = fmt.Sprintf("%0*d", len(code), n)
		if _, ok := g.Match(code, counter-min(counter, w), counter+w); !ok {
			return code
		}
	}
}

// Run sends requests from c.Concurrency workers until c.Duration has
// passed, c.Requests were sent or the users' codes of the step ran out.
func Run(ctx context.Context, c Config) (Result, error) {
	if len(c.Accounts) == 0 {
		return Result{}, errors.New("loadtest: no users to send codes for")
	}
	if c.Concurrency < 1 {
		return Result{}, errors.New("loadtest: the concurrency must be at least 1")
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	accounts := slices.Clone(c.Accounts)
	for i := range accounts {
		a := &accounts[i]
		if a.Algorithm == "" {
			a.Algorithm = otp.SHA1
		}
		if a.Digits == 0 {
			a.Digits = 6
		}
		if a.Period == 0 {
			a.Period = 30 * time.Second
		}
		if _, err := otp.NewGenerator(a.Secret, a.Algorithm, a.Digits); err != nil {
			return Result{}, fmt.Errorf("loadtest: user %s: %w", a.Username, err)
		}
	}
	w := &walker{accounts: accounts, last: make([]atomic.Int64, len(accounts))}
	workers := make([]Worker, 0, c.Concurrency)
	defer func() {
		for _, wk := range workers {
			wk.Close()
		}
	}()
	for range c.Concurrency {
		wk, err := c.NewWorker()
		if err != nil {
			return Result{}, err
		}
		workers = append(workers, wk)
	}

	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var (
		sent                atomic.Int64
		accepts, rejects    atomic.Int64
		errorsSeen          atomic.Int64
		exhausted           atomic.Bool
		firstErr            error
		errOnce             sync.Once
		wg                  sync.WaitGroup
		latencies           = make([][]time.Duration, len(workers))
		cpuBefore, cpuAfter time.Duration
	)
	if c.ServerPID != 0 {
		var err error
		if cpuBefore, err = procstat.CPU(c.ServerPID); err != nil {
			return Result{}, fmt.Errorf("loadtest: the server's CPU time (--server-pid): %w", err)
		}
	}
	start := now()
	// The end is judged by the clock, not by ctx alone: a read whose
	// deadline is ctx's can time out a moment before ctx says so.
	end, _ := ctx.Deadline()
	over := func(t time.Time) bool { return ctx.Err() != nil || !t.Before(end) }
	for i, wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			defer func() { latencies[i] = lat }()
			for !over(now()) {
				if c.Requests > 0 && sent.Add(1) > int64(c.Requests) {
					return
				}
				t := now()
				a, counter, ok := w.take(t)
				if !ok {
					exhausted.Store(true)
					cancel()
					return
				}
				g, _ := otp.NewGenerator(a.Secret, a.Algorithm, a.Digits)
				var code string
				if c.Wrong {
					code = wrong(g, counter)
				} else {
					code = g.Code(counter)
				}
				accepted, err := wk.Check(ctx, a.Username, code)
				done := now()
				if err != nil && over(done) {
					return // cut short by the end of the run
				}
				lat = append(lat, done.Sub(t))
				switch {
				case err != nil:
					errorsSeen.Add(1)
					errOnce.Do(func() { firstErr = err })
				case accepted:
					accepts.Add(1)
				default:
					rejects.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := now().Sub(start)
	r := Result{
		Accepts: int(accepts.Load()), Rejects: int(rejects.Load()), Errors: int(errorsSeen.Load()),
		Elapsed: elapsed, Exhausted: exhausted.Load(), FirstError: firstErr,
	}
	r.Requests = r.Accepts + r.Rejects + r.Errors
	if c.ServerPID != 0 {
		var err error
		if cpuAfter, err = procstat.CPU(c.ServerPID); err != nil {
			return Result{}, fmt.Errorf("loadtest: the server's CPU time (--server-pid): %w", err)
		}
		r.ServerCPU = cpuAfter - cpuBefore
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	r.P50, r.P99, r.P999 = percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999)
	return r, nil
}

// percentile returns the q-quantile of sorted latencies by the
// nearest-rank method, 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Print writes the result for a person, then one line of key=value pairs
// for scripts (bench/).
func (r Result) Print(w io.Writer, what string) {
	fmt.Fprintf(w, "%s: %d requests in %.2f s: %.0f requests/s\n", what, r.Requests, r.Elapsed.Seconds(), r.Rate())
	fmt.Fprintf(w, "  latency p50 %v, p99 %v, p99.9 %v\n", r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.P999.Round(time.Microsecond))
	fmt.Fprintf(w, "  accepts %d, rejects %d, errors %d\n", r.Accepts, r.Rejects, r.Errors)
	if r.ServerCPU > 0 {
		fmt.Fprintf(w, "  server CPU %.2f s, %.1f µs per answer\n", r.ServerCPU.Seconds(), float64(r.CPUPerAnswer().Nanoseconds())/1e3)
	}
	if r.FirstError != nil {
		fmt.Fprintf(w, "  first error: %v\n", r.FirstError)
	}
	if r.Exhausted {
		fmt.Fprintf(w, "  stopped early: every user had been sent their code of this step; give more users (--users) or a shorter --duration\n")
	}
	fmt.Fprintf(w, "result rps=%.0f p50_us=%d p99_us=%d p999_us=%d requests=%d accepts=%d rejects=%d errors=%d cpu_us_per_answer=%.1f exhausted=%v\n",
		r.Rate(), r.P50.Microseconds(), r.P99.Microseconds(), r.P999.Microseconds(), r.Requests, r.Accepts, r.Rejects, r.Errors,
		float64(r.CPUPerAnswer().Nanoseconds())/1e3, r.Exhausted)
}
