package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// policyForm is the policy page's form as a browser posts it unchanged,
// but for changes.
func policyForm(p policy.Policy, changes map[string]string) url.Values {
	form := url.Values{}
	for _, st := range p.Settings() {
		form.Set(st.Key, st.Value)
	}
	for k, v := range changes {
		form.Set(k, v)
	}
	return form
}

func (s *site) policy() policy.Policy {
	s.t.Helper()
	org, err := s.store.OrgByID(s.ctx, s.org.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	p, err := policy.Decode(org.Policy)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// Every setting is explained in every language, so that a setting added
// to the policy cannot reach the page without its words.
func TestEverySettingIsExplained(t *testing.T) {
	for _, st := range policy.Default().Settings() {
		for _, part := range []string{"label", "help", "allowed"} {
			if key := "console.policy.setting." + st.Key + "." + part; !i18n.Has(key) {
				t.Errorf("the catalogue lacks %s", key)
			}
		}
		for _, c := range st.Choices {
			if st.Key != "otp_algorithm" && st.Key != "otp_digits" && st.Key != "otp_period" && !i18n.Has("console.policy.choice."+st.Key+"."+c) {
				t.Errorf("the catalogue lacks choice %s of %s", c, st.Key)
			}
		}
	}
}

func TestPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		hal := s.person(s.org, "hal", store.RoleHelpdesk)
		c := s.signIn(ann)

		r := s.get(c, "/o/acme/admin/policy")
		if r.status != http.StatusOK {
			t.Fatalf("policy page: %d", r.status)
		}
		for _, st := range policy.Default().Settings() {
			base := "console.policy.setting." + st.Key
			has(t, r, `name="`+st.Key+`"`, en(base+".label"), en(base+".help"), en("console.policy.allowed", i18n.T("en", base+".allowed")))
		}
		has(t, r, `<option value="true" selected>`, `id="lockout_threshold" name="lockout_threshold" type="text" value="5" inputmode="numeric"`,
			en("console.policy.default", "10m"), en("console.policy.duration_format"), en("console.policy.no_history"))

		// Changing one setting changes only it, and the history says who and what.
		before := s.policy()
		r = s.post(c, "/o/acme/admin/policy", policyForm(before, map[string]string{"lockout_threshold": "3", "methods": "app, email"}))
		if location(r) != "/o/acme/admin/policy?done=console.flash.policy" {
			t.Fatalf("change: %d %q\n%s", r.status, location(r), r.body)
		}
		want := before
		want.LockoutThreshold = 3
		if got := policy.Changes(want, s.policy()); len(got) != 0 {
			t.Fatalf("the change also changed %+v", got)
		}
		r = s.get(c, location(r))
		has(t, r, en("console.flash.policy"), "ann: <code>lockout_threshold=3 (was 5)</code>", `value="3"`)

		// A bad value is shown on its field, as typed, and changes nothing.
		s.clock.Advance(time.Minute)
		for value, key := range map[string]string{"0": "lockout_threshold", "three": "lockout_threshold"} {
			r = s.post(c, "/o/acme/admin/policy", policyForm(s.policy(), map[string]string{key: value, "password_min_length": "12"}))
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s=%s: %d", key, value, r.status)
			}
			base := "console.policy.setting." + key
			has(t, r, `id="`+key+`-error"`, `href="#`+key+`"`, `value="`+value+`"`, `value="12"`, `aria-describedby="`+key+`-help `+key+`-error" aria-invalid="true"`,
				en("console.policy.refused", i18n.T("en", base+".label"), i18n.T("en", base+".allowed")))
			if got := policy.Changes(want, s.policy()); len(got) != 0 {
				t.Fatalf("a refused change changed %+v", got)
			}
		}
		// A form of nothing new says so and writes nothing.
		r = s.post(c, "/o/acme/admin/policy", policyForm(s.policy(), nil))
		if location(r) != "/o/acme/admin/policy?done=console.flash.policy_unchanged" {
			t.Fatalf("no change: %d %q", r.status, location(r))
		}

		// A stale session is sent to re-authenticate first.
		s.clock.Advance(freshFor + time.Minute)
		r = s.post(c, "/o/acme/admin/policy", policyForm(s.policy(), map[string]string{"lockout_threshold": "4"}))
		if location(r) != "/o/acme/admin/reauth?next=%2Fo%2Facme%2Fadmin%2Fpolicy" {
			t.Fatalf("stale change: %d %q", r.status, location(r))
		}
		if s.policy().LockoutThreshold != 3 {
			t.Fatal("a stale session changed the policy")
		}

		// The policy is no helpdesk matter, to read or to change, and not in its navigation.
		h := s.signIn(hal)
		if r := s.get(h, "/o/acme/admin/policy"); r.status != http.StatusForbidden {
			t.Fatalf("helpdesk reads the policy: %d", r.status)
		}
		if r := s.post(h, "/o/acme/admin/policy", policyForm(s.policy(), map[string]string{"lockout_threshold": "4"})); r.status != http.StatusForbidden {
			t.Fatalf("helpdesk changes the policy: %d", r.status)
		}
		if r := s.get(h, "/o/acme/admin/"); r.status != http.StatusOK || strings.Contains(r.body, `href="/o/acme/admin/policy"`) {
			t.Fatalf("helpdesk's navigation: %d, lists the policy: %v", r.status, strings.Contains(r.body, `href="/o/acme/admin/policy"`))
		}
		if s.policy().LockoutThreshold != 3 {
			t.Fatal("the helpdesk changed the policy")
		}
	})
}

// The provider's default policy is what new organizations start with;
// the ones that exist keep theirs.
func TestDefaultPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		root := s.provider()
		c := s.signIn(root)
		r := s.get(c, "/admin/policy")
		has(t, r, en("console.policy.default_title"), `name="lockout_threshold"`)
		def, err := s.admin.DefaultPolicy(s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		r = s.post(c, "/admin/policy", policyForm(def, map[string]string{"lockout_threshold": "3"}))
		if location(r) != "/admin/policy?done=console.flash.policy" {
			t.Fatalf("set default: %d %q\n%s", r.status, location(r), r.body)
		}
		has(t, s.get(c, "/admin/policy"), "root", "lockout_threshold=3")
		if r := s.post(c, "/admin/policy", policyForm(def, map[string]string{"lockout_threshold": "0"})); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="lockout_threshold-error"`) {
			t.Fatalf("bad default: %d", r.status)
		}
		if got := s.policy().LockoutThreshold; got == 3 {
			t.Fatal("an organization that existed took the new default")
		}
		org, err := s.admin.CreateOrg(s.ctx, "initech", "Initech")
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.admin.Policy(s.ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		if p.LockoutThreshold != 3 {
			t.Fatalf("a new organization's lockout_threshold is %d, want the default 3", p.LockoutThreshold)
		}
		// An organization's admin has no say in it.
		ann := s.person(s.org, "ann", store.RoleAdmin)
		if location(s.get(s.signIn(ann), "/admin/policy")) != "/admin/login?next=%2Fadmin%2Fpolicy" {
			t.Fatal("an organization's admin reached the default policy")
		}
	})
}
