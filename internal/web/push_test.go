package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// pushUser adds user with a password, an authenticator app and an
// activated Twofold Authenticator.
func (s *site) pushUser(user, password string) {
	s.t.Helper()
	s.addUser(user, password)
	s.active(user)
	s.activateDevice(s.pushToken(user))
}

// pending is the user's one push request waiting for an answer.
func (s *site) pending(user string) store.PushRequest {
	s.t.Helper()
	rs, err := s.store.PendingPushRequests(s.ctx, s.user(user).ID, s.clock.Now())
	if err != nil || len(rs) != 1 {
		s.t.Fatalf("pending push requests: %+v %v, want one", rs, err)
	}
	return rs[0]
}

// answer answers the user's push as the device would.
func (s *site) answer(user, decision string, number int) {
	s.t.Helper()
	r := s.pending(user)
	if _, err := s.verifier.AnswerPush(s.ctx, auth.PushAnswer{OrgID: s.org.ID, UserID: r.UserID, RequestID: r.ID, Decision: decision, Number: number,
		Event: store.Event{OrgID: s.org.ID, Action: "push.answer"}}); err != nil {
		s.t.Fatal(err)
	}
}

var pushNumberRE = regexp.MustCompile(`<p class="push-number">.*?<strong>(\d+)</strong>`)

// choosePush chooses push at the code step and returns the number the
// waiting page shows.
func (s *site) choosePush(c *http.Client) int {
	s.t.Helper()
	if p := s.post(c, "/o/acme/login/method", url.Values{"method": {"push"}}); location(p) != "/o/acme/login/code" {
		s.t.Fatalf("choose push: %d %s\n%s", p.status, location(p), p.body)
	}
	return s.waiting(c)
}

// waiting checks the code step is the page waiting for a push and returns
// its number.
func (s *site) waiting(c *http.Client) int {
	s.t.Helper()
	p := s.get(c, "/o/acme/login/code")
	m := pushNumberRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		s.t.Fatalf("the push page: %d, no number\n%s", p.status, p.body)
	}
	has(s.t, p, `<meta http-equiv="refresh" content="3">`, en("login_code.push_check"), `action="/o/acme/login/push"`,
		`name="method" value="app"`, en("login_code.push_instead"), `<a href="/o/acme/login/code?refresh=off" data-refresh-stop>`)
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestSignInWithPush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.pushUser("alice", "correct horse")
		c := s.password("alice", "correct horse")
		n := s.choosePush(c)
		if want := s.pending("alice").Number; n != want {
			t.Fatalf("the page shows %d, the request has %d", n, want)
		}
		// Waiting is no failure, however often the page looks.
		s.waiting(c)
		if p := s.post(c, "/o/acme/login/push", url.Values{}); location(p) != "/o/acme/login/code" {
			t.Fatalf("check now while pending: %d %s", p.status, location(p))
		}
		s.answer("alice", store.PushApprove, n)
		if p := s.get(c, "/o/acme/login/code"); location(p) != "/o/acme/" {
			t.Fatalf("after the approval: %d %s, want the dashboard", p.status, location(p))
		}
		has(t, s.get(c, "/o/acme/"), en("dashboard.title"))
		if u := s.user("alice"); u.LastMethod != "push" || u.Failures != 0 {
			t.Errorf("after a push sign-in: last method %q, %d failures", u.LastMethod, u.Failures)
		}

		// Next time push is where the code step opens, sent at once.
		s.clock.Advance(time.Minute)
		c = s.password("alice", "correct horse")
		n = s.waiting(c)
		s.answer("alice", store.PushApprove, n)
		if p := s.post(c, "/o/acme/login/push", url.Values{}); location(p) != "/o/acme/" {
			t.Fatalf("check now after the approval: %d %s, want the dashboard", p.status, location(p))
		}
	})
}

func TestPushRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(s *site, n int)
		error  string
		failed int // failures counted
	}{
		{"wrong number", func(s *site, n int) { s.answer("alice", store.PushApprove, 10+(n-10+1)%90) }, "error.push_wrong_number", 1},
		{"denied", func(s *site, n int) { s.answer("alice", store.PushDeny, n) }, "error.push_denied", 1},
		{"reported", func(s *site, n int) { s.answer("alice", store.PushReport, n) }, "error.push_denied", 1},
		{"expired", func(s *site, _ int) { s.clock.Advance(121 * time.Second) }, "error.push_expired", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.pushUser("alice", "correct horse")
				c := s.password("alice", "correct horse")
				tc.answer(s, s.choosePush(c))
				p := s.get(c, "/o/acme/login/code")
				if p.status != http.StatusOK {
					t.Fatalf("after the refusal: %d %s", p.status, location(p))
				}
				// Back at the code step, with what happened, and push to
				// send again.
				has(t, p, en(tc.error), `name="code"`, `name="method" value="push"`)
				if strings.Contains(p.body, "http-equiv") {
					t.Error("the code step still reloads itself")
				}
				if u := s.user("alice"); u.Failures != tc.failed {
					t.Errorf("%d failures counted, want %d", u.Failures, tc.failed)
				}
				// The answer was collected once: it does not sign in later.
				if p = s.get(c, "/o/acme/login/code"); strings.Contains(p.body, en(tc.error)) || location(p) != "" {
					t.Errorf("the refusal again: %d %s", p.status, location(p))
				}
				if p = s.get(c, "/o/acme/"); location(p) != "/o/acme/login" {
					t.Errorf("signed in after a refused push: %d %s", p.status, location(p))
				}
			})
		})
	}
}

// Past the policy's push rate the portal withholds push and asks for a
// typed code, which still signs in.
func TestPushWithheld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		tok := s.pushToken("alice")
		s.activateDevice(tok)
		s.setPolicy(`{"methods": ["app", "push"], "push_timeout": "30s", "push_rate": "2/5m"}`)
		c := s.password("alice", "correct horse")
		for range 2 {
			s.choosePush(c)
			s.clock.Advance(31 * time.Second)
		}
		p := s.post(c, "/o/acme/login/method", url.Values{"method": {"push"}})
		has(t, p, en("error.push_withheld"), `name="code"`)
		if strings.Contains(p.body, `class="push-number"`) {
			t.Error("a withheld push shows a number")
		}
		if p = s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(g)}}); location(p) != "/o/acme/" {
			t.Fatalf("a typed code after push was withheld: %d %s", p.status, location(p))
		}

		// A login that would open with push says why it does not.
		if err := s.store.SetLastMethod(s.ctx, s.user("alice").ID, "push"); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(30 * time.Second)
		c = s.browser()
		p = s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
		if location(p) != "/o/acme/login/code?push=withheld" {
			t.Fatalf("login with push withheld: %d %s", p.status, location(p))
		}
		has(t, s.get(c, location(p)), en("error.push_withheld"), `name="code"`)
	})
}

// A user whose only authenticator is the Twofold Authenticator gets push
// first and may type the app's offline code instead, which signs in.
func TestPushOnlyUserTypesAnOfflineCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		tok := s.pushToken("alice")
		s.activateDevice(tok)
		c := s.password("alice", "correct horse")
		s.waiting(c)
		if p := s.post(c, "/o/acme/login/method", url.Values{"method": {"app"}}); location(p) != "/o/acme/login/code" {
			t.Fatalf("choose a typed code: %d %s\n%s", p.status, location(p), p.body)
		}
		has(t, s.get(c, "/o/acme/login/code"), `name="code"`, `name="method" value="push"`)
		if p := s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(s.generator(tok))}}); location(p) != "/o/acme/" {
			t.Fatalf("the offline code: %d %s, want the dashboard", p.status, location(p))
		}
		if u := s.user("alice"); u.LastMethod != "app" {
			t.Errorf("last method %q after an offline code, want app", u.LastMethod)
		}
	})
}

// Both pages that reload themselves let the person stop it (WCAG 2.2.1):
// the same page with ?refresh=off does not reload, and its "Check now"
// keeps it so.
func TestStopRefreshing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("bob", "")
		link := strings.TrimPrefix(s.pushToken("bob").Link, s.srv.URL)
		stop := html.EscapeString(link + "&refresh=off")
		has(t, s.get(s.client, link), `<a href="`+stop+`" data-refresh-stop>`)
		p := s.get(s.client, link+"&refresh=off")
		has(t, p, en("enroll_push.wait_off"), `href="`+stop+`">`+en("enroll_push.check"))
		if strings.Contains(p.body, "http-equiv") || strings.Contains(p.body, "data-refresh-stop") {
			t.Error("the push enrollment page with refresh=off still reloads itself or offers to stop")
		}

		s.pushUser("alice", "correct horse")
		c := s.password("alice", "correct horse")
		n := s.choosePush(c)
		p = s.get(c, "/o/acme/login/code?refresh=off")
		has(t, p, en("login_code.push_wait_off"), "<strong>"+strconv.Itoa(n)+"</strong>", `action="/o/acme/login/push?refresh=off"`)
		if strings.Contains(p.body, "http-equiv") || strings.Contains(p.body, "data-refresh-stop") {
			t.Error("the push page with refresh=off still reloads itself or offers to stop")
		}
		if p = s.post(c, "/o/acme/login/push?refresh=off", url.Values{}); location(p) != "/o/acme/login/code?refresh=off" {
			t.Fatalf("check now without the reload: %d %s", p.status, location(p))
		}
		s.answer("alice", store.PushApprove, n)
		if p = s.post(c, "/o/acme/login/push?refresh=off", url.Values{}); location(p) != "/o/acme/" {
			t.Fatalf("check now after the approval: %d %s, want the dashboard", p.status, location(p))
		}
	})
}
