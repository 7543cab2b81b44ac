package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestValidateKeepsTheInvariantsUnderConcurrency holds the single-use and
// bounded-guessing invariants (DESIGN.md section 3) against many parallel
// requests, on each store, served by one instance and by two instances
// sharing one database.
func TestValidateKeepsTheInvariantsUnderConcurrency(t *testing.T) {
	for instances, name := range []string{1: "one instance", 2: "two instances on one database"} {
		if name == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				f := newFixture(t, b)
				servers := []*httptest.Server{f.srv}
				for len(servers) < instances {
					servers = append(servers, f.newInstance().srv)
				}
				threshold := 5 // the default policy's

				t.Run("Of 200 requests with the same valid code, exactly one is accepted.", func(t *testing.T) {
					results := f.storm(servers, 200, f.body("alice", f.code("alice", 0)))
					if results[string(accept.body)] != 1 || results[string(reject.body)] != 199 {
						t.Errorf("answers: %v; want 1 accept and 199 rejects", results)
					}
					counts := f.auditResults("alice")
					if counts["accept"] != 1 {
						t.Errorf("audit results for alice: %v; want exactly one accept", counts)
					}
				})

				t.Run("Of 500 parallel wrong guesses, exactly the threshold are evaluated.", func(t *testing.T) {
					results := f.storm(servers, 500, f.body("bob", f.wrongCode("bob")))
					if results[string(reject.body)] != 500 {
						t.Errorf("answers: %v; want 500 rejects", results)
					}
					counts := f.auditResults("bob")
					if counts["bad_code"] != threshold || counts["locked"] != 500-threshold || len(counts) != 2 {
						t.Errorf("audit results for bob: %v; want %d bad_code and %d locked", counts, threshold, 500-threshold)
					}
					if u := f.user("bob"); u.Failures != threshold || !u.LockedUntil.After(f.clk.Now()) {
						t.Errorf("bob has %d failures, locked until %v; want %d, locked", u.Failures, u.LockedUntil, threshold)
					}
					for _, srv := range servers {
						got := f.validate(srv, f.body("bob", f.code("bob", 0)))
						if !bytes.Equal(got.body, reject.body) {
							t.Errorf("bob's correct code while locked: %d %s, want reject", got.status, got.body)
						}
						if ev := f.lastEvent(); ev.Result != "locked" {
							t.Errorf("audit result of bob's correct code while locked: %s, want locked", ev.Result)
						}
					}
				})
			})
		})
	}
}

// storm posts body n times at once, spread over servers, and counts the
// answers by status and body. Any status but 200 fails the test.
func (f *fixture) storm(servers []*httptest.Server, n int, body string) map[string]int {
	f.t.Helper()
	var (
		mu      sync.Mutex
		results = map[string]int{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for i := range n {
		req, err := http.NewRequest(http.MethodPost, servers[i%len(servers)].URL+pathValidate, strings.NewReader(body))
		if err != nil {
			f.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.key)
		req.Header.Set("Content-Type", "application/json")
		wg.Go(func() {
			<-start
			resp, err := f.client.Do(req)
			var got string
			if err != nil {
				got = "error: " + err.Error()
			} else {
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				got = buf.String()
				if resp.StatusCode != http.StatusOK {
					got = fmt.Sprintf("%d %s", resp.StatusCode, got)
				}
			}
			mu.Lock()
			results[got]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for got, count := range results {
		if got != string(accept.body) && got != string(reject.body) {
			f.t.Errorf("%d answers %s", count, got)
		}
	}
	return results
}

// auditResults counts the results of the validate events for user.
func (f *fixture) auditResults(user string) map[string]int {
	counts := map[string]int{}
	for _, ev := range f.events(10000) {
		if ev.Action == "validate" && (ev.Target == user || strings.HasPrefix(ev.Target, user+" ")) {
			counts[ev.Result]++
		}
	}
	return counts
}
