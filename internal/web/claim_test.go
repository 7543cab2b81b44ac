package web_test

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// stock imports a TOTP hardware token into the organization's inventory
// from an OATH CSV seed file, as an operator would, and returns a
// generator of the codes it shows.
func (s *site) stock(serial string) *otp.Generator {
	s.t.Helper()
	key := []byte("12345678901234567890" + serial)
	seed := "serial,key,type,digits,period\n" + serial + "," + hex.EncodeToString(key) + ",totp,6,30\n"
	if _, err := (&importer.Importer{Admin: s.admin}).ImportTokens(s.ctx, s.org, strings.NewReader(seed), importer.TokenOptions{}); err != nil {
		s.t.Fatal(err)
	}
	g, err := otp.NewGenerator(key, otp.SHA1, 6)
	if err != nil {
		s.t.Fatal(err)
	}
	return g
}

// A user without an authenticator claims a hardware token at sign-in,
// where the policy allows it: after the password, from the page that
// sets up an app at first sign-in or, where the password alone adds
// nothing, from a page of its own. A wrong code keeps the serial typed
// and says what to check; the right one makes the token theirs and goes
// on to the setup of a first authenticator.
func TestClaimAHardwareTokenAtSignIn(t *testing.T) {
	cases := []struct {
		name    string
		policy  string
		invited bool
		// via is where the password leads; the claim page is reached
		// from there, and shows help.
		via, help string
	}{
		{"offered beside the first app", `{"token_claim": true}`, false, "/o/acme/login/enroll", "claim.app_instead"},
		{"where the password alone adds nothing", `{"token_claim": true, "first_login_enrollment": false}`, false, "/o/acme/login/claim", "claim.without_help"},
		{"beside an invitation", `{"token_claim": true}`, true, "/o/acme/login/claim", "claim.without_invitation"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.setPolicy(tt.policy)
				s.addUser("bob", "correct horse")
				if tt.invited {
					s.enroll("bob")
				}
				g := s.stock("HW-0001")
				s.stock("HW-0002")
				c := s.browser()
				if got := location(s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})); got != tt.via {
					t.Fatalf("password: to %q, want %q", got, tt.via)
				}
				if tt.via != "/o/acme/login/claim" {
					has(t, s.get(c, tt.via), en("enroll.claim"), `href="/o/acme/login/claim"`)
				}
				has(t, s.get(c, "/o/acme/login/claim"), en("claim.title"), `name="serial"`, `name="code"`, en(tt.help))

				p := s.post(c, "/o/acme/login/claim", url.Values{"serial": {"HW-0001"}, "code": {"000000"}})
				has(t, p, en("error.claim_failed"), `value="HW-0001"`)
				p = s.post(c, "/o/acme/login/claim", url.Values{"serial": {"HW-9999"}, "code": {s.code(g)}})
				has(t, p, en("error.claim_failed"))
				if u := s.user("bob"); u.Failures != 2 {
					t.Errorf("after two refused claims bob has %d failures, want 2", u.Failures)
				}

				mailed := len(s.mails())
				if got := location(s.post(c, "/o/acme/login/claim", url.Values{"serial": {"HW-0001"}, "code": {s.code(g)}})); got != "/o/acme/backup" {
					t.Fatalf("the right code: to %q, want the backup codes of the setup", got)
				}
				s.finishSetup(c, "/o/acme/?done=added")
				has(t, s.get(c, "/o/acme/"), "HW-0001")
				tk, err := s.store.TokenBySerial(s.ctx, s.org.ID, "HW-0001")
				if err != nil || tk.UserID != s.user("bob").ID || tk.State != store.TokenActive {
					t.Errorf("HW-0001 = %+v, %v; want bob's, active", tk, err)
				}
				for _, tk := range s.tokens("bob") {
					if tk.SelfEnrolled && tk.State == store.TokenAssigned {
						t.Errorf("the app's setup %s still waits for its first code after the claim", tk.Serial)
					}
				}
				if ms := s.mails(); len(ms) != mailed+1 {
					t.Errorf("%d mails after the claim, want the notice of an authenticator added", len(ms)-mailed)
				}

				// Bob signs in with it from now on; its code step offers no claim.
				s.clock.Advance(30e9)
				s.login("bob", "correct horse", g)
			})
		})
	}
}

// Where the policy does not allow claims, or nothing is left to claim,
// the password leads where it did before, and the claim page is shut.
func TestNoClaimWithoutPolicyOrTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"first_login_enrollment": false}`)
		s.addUser("bob", "correct horse")
		g := s.stock("HW-0001")
		c := s.browser()
		p := s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		if p.status != http.StatusForbidden {
			t.Fatalf("claims off: %d %s, want 403 with whom to ask", p.status, location(p))
		}
		has(t, p, en("login.needs_help"))
		if got := location(s.post(c, "/o/acme/login/claim", url.Values{"serial": {"HW-0001"}, "code": {s.code(g)}})); got != "/o/acme/login" {
			t.Errorf("a claim without a session: to %q, want the sign-in", got)
		}

		// Claims on, then the one token claimed by someone else.
		s.setPolicy(`{"first_login_enrollment": false, "token_claim": true}`)
		if got := location(s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})); got != "/o/acme/login/claim" {
			t.Fatalf("claims on: to %q", got)
		}
		s.addUser("carol", "correct horse")
		if _, err := s.admin.AssignToken(s.ctx, s.org, "carol", "HW-0001"); err != nil {
			t.Fatal(err)
		}
		p = s.post(c, "/o/acme/login/claim", url.Values{"serial": {"HW-0001"}, "code": {s.code(g)}})
		if p.status != http.StatusForbidden {
			t.Fatalf("a claim with nothing left: %d, want 403", p.status)
		}
		has(t, p, en("error.claim_off"))
		if p := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}}); p.status != http.StatusForbidden {
			t.Errorf("nothing left to claim: %d %s, want 403 with whom to ask", p.status, location(p))
		}
	})
}

// A signed-in user adds a hardware token as another authenticator: the
// choice of what to add offers it where the policy allows claims.
func TestAddAHardwareToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"token_claim": true}`)
		s.addUser("alice", "correct horse")
		app := s.active("alice")
		hw := s.stock("HW-0001")
		c := s.login("alice", "correct horse", app)
		s.post(c, "/o/acme/add", url.Values{})
		s.post(c, "/o/acme/add/verify", url.Values{"code": {s.lastMailedCode()}})
		if got := location(s.post(c, "/o/acme/add/password", url.Values{"password": {"correct horse"}})); got != "/o/acme/add/choose" {
			t.Fatalf("password: to %q", got)
		}
		has(t, s.get(c, "/o/acme/add/choose"), `value="hardware"`, en("add_choose.hardware_help"))
		if got := location(s.post(c, "/o/acme/add/choose", url.Values{"method": {"hardware"}})); got != "/o/acme/add/hardware" {
			t.Fatalf("choose a hardware token: to %q", got)
		}
		has(t, s.get(c, "/o/acme/add/hardware"), `name="serial"`)
		has(t, s.post(c, "/o/acme/add/hardware", url.Values{"serial": {"HW-0001"}, "code": {"123"}}), en("error.code_malformed"))
		if got := location(s.post(c, "/o/acme/add/hardware", url.Values{"serial": {"HW-0001"}, "code": {s.code(hw)}})); got != "/o/acme/?done=added" {
			t.Fatalf("the right code: to %q", got)
		}
		if ts := s.tokens("alice"); len(ts) != 2 || ts[1].Serial != "HW-0001" || ts[1].State != store.TokenActive {
			t.Errorf("alice's tokens = %+v; want her app and HW-0001, active", ts)
		}
	})
}
