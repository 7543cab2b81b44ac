package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestWhoseAuthenticator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.signIn(s.person(s.org, "ann", store.RoleAdmin))
		helen := s.signIn(s.person(s.org, "helen", store.RoleHelpdesk))
		demoted := s.signIn(s.person(s.org, "dave", store.RoleAdmin))
		if err := s.admin.SetRole(s.ctx, s.org, "dave", store.RoleUser); err != nil {
			t.Fatal(err)
		}
		carol := s.person(s.org, "carol", store.RoleUser)

		if r := s.get(ann, "/o/acme/admin/tokens"); r.status != http.StatusOK {
			t.Fatalf("tokens page: %d", r.status)
		} else {
			has(t, r, en("console.tokens.whose_help"), `aria-current="page">`+en("console.nav.tokens"))
		}

		// The code carol's app shows now is hers, for an admin and for
		// the helpdesk, and finding it uses nothing up.
		for who, c := range map[string]*http.Client{"admin": ann, "helpdesk": helen} {
			r := s.post(c, "/o/acme/admin/tokens", url.Values{"code": {s.code(carol)}})
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d\n%s", who, r.status, r.body)
			}
			has(t, r, en("console.tokens.found"), `<a href="/o/acme/admin/users/carol">carol</a>`, carol.serial)
			if strings.Contains(r.body, en("console.tokens.none")) {
				t.Errorf("%s: found and not found", who)
			}
		}
		if out, err := s.verifier.Verify(s.ctx, auth.Request{OrgID: s.org.ID, Username: "carol", Code: s.code(carol)}); err != nil || !out.Accepted {
			t.Fatalf("carol's code after the lookups: %+v %v", out, err)
		}
		events, err := s.admin.AuditEvents(s.ctx, s.org, admin.AuditQuery{Action: "token.find", Actor: "helen"})
		if err != nil || len(events) != 1 {
			t.Fatalf("the helpdesk's lookup in the audit log: %v %v", events, err)
		}

		// A code no app shows now finds nobody.
		s.clock.Advance(30 * time.Second)
		stale := carol.gen.Code(uint64(otp.Step(s.clock.Now().Add(-time.Hour), 30*time.Second)))
		r := s.post(ann, "/o/acme/admin/tokens", url.Values{"code": {stale}})
		if r.status != http.StatusOK {
			t.Fatalf("stale code: %d", r.status)
		}
		has(t, r, en("console.tokens.none"))
		if strings.Contains(r.body, "/o/acme/admin/users/carol") {
			t.Error("an hour-old code found carol")
		}

		// What is no code is an error on the field.
		r = s.post(ann, "/o/acme/admin/tokens", url.Values{"code": {"12ab"}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("no code: %d", r.status)
		}
		has(t, r, en("console.tokens.malformed"), `id="code-error"`, `aria-invalid="true"`)

		// A plain user may not ask.
		if r := s.get(demoted, "/o/acme/admin/tokens"); r.status != http.StatusForbidden {
			t.Fatalf("plain user, page: %d", r.status)
		}
		if r := s.post(demoted, "/o/acme/admin/tokens", url.Values{"code": {s.code(carol)}}); r.status != http.StatusForbidden || strings.Contains(r.body, "carol") {
			t.Fatalf("plain user, lookup: %d", r.status)
		}
	})
}
