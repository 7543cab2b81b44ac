package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var activationRE = regexp.MustCompile(`T1[0-9A-Z]{2}(?:-[0-9A-Z]{1,4})+`)

// A push token assigned on the user's page shows its activation string
// this once, for a user the invitation mail cannot reach, and mails it to
// one it can.
func TestInvitePushShowsTheActivationOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: "dave", Email: "dave@acme.example"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.admin.AddUser(s.ctx, s.org, admin.NewUser{Username: "erin"}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s.get(c, "/o/acme/admin/users/dave").body, `<option value="push">`) {
			t.Error("push is offered where the policy does not allow it")
		}
		if _, err := s.admin.SetPolicy(s.ctx, s.org, map[string]string{"methods": "app,push"}); err != nil {
			t.Fatal(err)
		}
		has(t, s.get(c, "/o/acme/admin/users/dave"), `<option value="push">`)

		r := s.post(c, "/o/acme/admin/users/dave/invite", url.Values{"type": {"push"}})
		shown := activationRE.FindString(r.body)
		if r.status != http.StatusOK || shown == "" {
			t.Fatalf("invite push: %d, activation %q", r.status, shown)
		}
		has(t, r, en("console.activation.title"), en("console.flash.invited"))
		if mailed := s.lastMailMatch("dave@acme.example", activationRE); mailed != shown {
			t.Errorf("mailed activation %q, shown %q", mailed, shown)
		}
		if again := s.get(c, "/o/acme/admin/users/dave"); strings.Contains(again.body, shown) {
			t.Error("the activation string is shown again")
		}

		r = s.post(c, "/o/acme/admin/users/erin/invite", url.Values{"type": {"push"}})
		if r.status != http.StatusOK || activationRE.FindString(r.body) == "" {
			t.Fatalf("invite push without an address: %d", r.status)
		}
		has(t, r, en("console.flash.invited_no_email"))

		// Other types go back to the page, as before.
		if r = s.post(c, "/o/acme/admin/users/dave/invite", url.Values{"type": {"totp"}}); location(r) != "/o/acme/admin/users/dave?done=console.flash.invited" {
			t.Fatalf("invite totp: %d %q", r.status, location(r))
		}
	})
}

// Users' "this wasn't me" reports reach the admins on the dashboard, with
// a link to the audit events that hold them; a day without one shows none.
func TestDashboardShowsFraudReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		const link = `href="/o/acme/admin/audit?action=push.answer&amp;result=fraud"`
		if r := s.get(c, "/o/acme/admin/"); strings.Contains(r.body, link) {
			t.Error("the dashboard shows fraud reports where there are none")
		}
		for _, result := range []string{"fraud", "denied", "fraud"} {
			if err := s.store.Audit(s.ctx, store.Event{OrgID: s.org.ID, At: s.clock.Now(), Actor: "dave", Action: "push.answer", Target: "acme/dave", Result: result}); err != nil {
				t.Fatal(err)
			}
		}
		r := s.get(c, "/o/acme/admin/")
		has(t, r, link)
		if got := figure(t, r, "console.dashboard.fraud"); got != 2 {
			t.Errorf("the dashboard counts %d fraud reports, want 2", got)
		}
	})
}
