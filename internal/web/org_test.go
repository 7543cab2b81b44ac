package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestDisabledOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		signedIn := s.login("alice", "correct horse", g)
		if err := s.admin.DisableOrg(s.ctx, "acme"); err != nil {
			t.Fatal(err)
		}

		if p := s.get(signedIn, "/o/acme/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login" {
			t.Errorf("dashboard of a session begun before the organization was disabled: %d %s, want a redirect to login",
				p.status, p.header.Get("Location"))
		}
		right := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
		wrong := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"alice"}, "password": {"nope"}})
		has(t, right, en("error.login_failed"))
		if right.status != wrong.status || right.header.Get("Location") != "" {
			t.Errorf("right password in a disabled organization: %d %q; wrong one: %d; want the same refusal",
				right.status, right.header.Get("Location"), wrong.status)
		}
		evs, err := s.store.Events(s.ctx, s.org.ID, 2)
		if err != nil || len(evs) != 2 || evs[1].Result != "org_disabled" {
			t.Errorf("audit events %+v, %v; want the right password refused as org_disabled", evs, err)
		}

		if err := s.admin.EnableOrg(s.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		s.login("alice", "correct horse", g)
	})
}
