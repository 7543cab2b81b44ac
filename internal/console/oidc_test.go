package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestApplications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		base := home(s.org) + "integrations"

		r := s.post(c, base+"/oidc", url.Values{"app_name": {"Wiki"}, "redirect_uris": {"https://wiki.acme.example/cb\r\nhttps://wiki.acme.example/cb2"}, "first_party": {"1"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "Application Wiki") {
			t.Fatalf("register: %d\n%s", r.status, r.body)
		}
		apps, err := s.store.OIDCClients(s.ctx, s.org.ID)
		if err != nil || len(apps) != 1 || len(apps[0].RedirectURIs) != 2 || !apps[0].FirstParty || apps[0].Public {
			t.Fatalf("clients = %+v, %v; want Wiki, first-party, two redirect URIs", apps, err)
		}
		shown := strings.Contains(r.body, apps[0].ClientID)
		secrets := 0
		for _, f := range strings.Fields(r.body) {
			if w := strings.TrimSuffix(strings.TrimPrefix(f, `class="code-shown">`), "</p>"); len(w) > 40 && string(secret.HashToken(w)) == string(apps[0].SecretHash) {
				secrets++
			}
		}
		if !shown || secrets != 1 {
			t.Fatalf("the page shows the client id: %v, the secret %d times; want both once", shown, secrets)
		}
		if again := s.get(c, base); strings.Contains(again.body, "code-shown") {
			t.Fatal("the secret is shown again on the next view")
		}

		r = s.post(c, base+"/oidc", url.Values{"app_name": {"Bad"}, "redirect_uris": {"http://wiki.acme.example/cb"}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="redirect_uris" name="redirect_uris"`) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Fatalf("an http redirect URI: %d, want 400 with the field marked\n%s", r.status, r.body)
		}
		if apps, _ := s.store.OIDCClients(s.ctx, s.org.ID); len(apps) != 1 {
			t.Fatalf("a refused registration added a client: %+v", apps)
		}

		r = s.post(c, base+"/oidc/remove", url.Values{"client_id": {apps[0].ClientID}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("remove: %d", r.status)
		}
		if apps, _ := s.store.OIDCClients(s.ctx, s.org.ID); len(apps) != 0 {
			t.Fatalf("after remove: %+v", apps)
		}
		evs, err := s.store.Events(s.ctx, s.org.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			if strings.HasPrefix(e.Action, "oidc.") {
				actions = append(actions, e.Action+" by "+e.Actor)
			}
		}
		if strings.Join(actions, ", ") != "oidc.client.remove by ann, oidc.client.add by ann" {
			t.Fatalf("audit: %v", actions)
		}
	})
}
