package console

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// settingsForm is the settings form as a browser posts it unchanged,
// but for changes.
func (s *site) settingsForm(changes map[string]string) url.Values {
	s.t.Helper()
	org, err := s.store.OrgByID(s.ctx, s.org.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	form := url.Values{"name": {org.Name}, "support_contact": {org.SupportContact}, "continue_url": {org.ContinueURL},
		"sender_name": {org.SenderName}, "time_zone": {s.policy().TimeZone}}
	for k, v := range changes {
		form.Set(k, v)
	}
	return form
}

// upload posts a file as the logo form does (multipart), with the
// browser's CSRF token.
func (s *site) upload(c *http.Client, path, field, filename string, data []byte) response {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", s.csrf(c))
	fw, _ := mw.CreateFormFile(field, filename)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", s.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return s.do(c, req)
}

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		hal := s.person(s.org, "hal", store.RoleHelpdesk)
		c := s.signIn(ann)

		r := s.get(c, "/o/acme/admin/settings")
		if r.status != http.StatusOK {
			t.Fatalf("settings page: %d", r.status)
		}
		for _, k := range settingsKeys {
			base := "console.settings.field." + k
			// html/template writes + as &#43;.
			has(t, r, `name="`+k+`"`, en(base+".label"), strings.ReplaceAll(en(base+".help"), "+", "&#43;"))
		}
		has(t, r, `id="name" name="name" type="text" value="Acme Corp"`, `id="time_zone" name="time_zone" type="text" value="UTC"`,
			`enctype="multipart/form-data"`, en("console.settings.no_logo"), en("console.settings.logo_help", 64, "PNG, JPEG, GIF, WebP"))

		// Nothing changed: nothing written.
		before := s.events()
		r = s.post(c, "/o/acme/admin/settings", s.settingsForm(nil))
		if location(r) != "/o/acme/admin/settings?done=console.flash.settings_unchanged" || s.events() != before {
			t.Fatalf("unchanged post: %d %s, %d events", r.status, location(r), s.events()-before)
		}

		// A bad value is refused on its field, and nothing changes: not
		// even the name and time zone sent with it.
		for _, bad := range []struct{ field, value, says string }{
			{"continue_url", "http://intranet.acme.example/", "must start with https://"},
			{"continue_url", "javascript:alert(1)", "not an absolute URL"},
			{"sender_name", "IT <it@acme.example>", "may not contain &lt;, &gt; or @"},
			{"time_zone", "Mars/Olympus", "IANA time zone"},
			{"name", "", "may not be empty"},
		} {
			changes := map[string]string{"name": "Acme Renamed", "time_zone": "Europe/Amsterdam", "support_contact": "IT", bad.field: bad.value}
			r = s.post(c, "/o/acme/admin/settings", s.settingsForm(changes))
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s=%q: %d, want 400", bad.field, bad.value, r.status)
			}
			has(t, r, `<a href="#`+bad.field+`">`, `id="`+bad.field+`-error"`, bad.says, `aria-describedby="`+bad.field+`-help `+bad.field+`-error" aria-invalid="true"`)
			if bad.value != "" {
				has(t, r, `value="`+strings.ReplaceAll(strings.ReplaceAll(bad.value, "<", "&lt;"), ">", "&gt;")+`"`)
			}
			org, _ := s.store.OrgByID(s.ctx, s.org.ID)
			if org.Name != "Acme Corp" || org.OrgSettings != (store.OrgSettings{}) || s.policy().TimeZone != "UTC" || s.events() != before {
				t.Errorf("%s refused, yet: name %q, settings %+v, zone %s, %d events", bad.field, org.Name, org.OrgSettings, s.policy().TimeZone, s.events()-before)
			}
		}

		// A change of everything changes it, audited as ann.
		r = s.post(c, "/o/acme/admin/settings", s.settingsForm(map[string]string{
			"name": "Acme Corporation", "support_contact": "IT helpdesk <b>ext. 4567</b>", "continue_url": "https://intranet.acme.example/welcome",
			"sender_name": "Acme IT", "time_zone": " Europe/Amsterdam ",
		}))
		if location(r) != "/o/acme/admin/settings?done=console.flash.settings" {
			t.Fatalf("change: %d %s\n%s", r.status, location(r), r.body)
		}
		org, _ := s.store.OrgByID(s.ctx, s.org.ID)
		want := store.OrgSettings{SupportContact: "IT helpdesk <b>ext. 4567</b>", ContinueURL: "https://intranet.acme.example/welcome", SenderName: "Acme IT"}
		if org.Name != "Acme Corporation" || org.OrgSettings != want || s.policy().TimeZone != "Europe/Amsterdam" {
			t.Fatalf("stored %q %+v %s", org.Name, org.OrgSettings, s.policy().TimeZone)
		}
		evs, _ := s.store.Events(s.ctx, s.org.ID, 3)
		actions := map[string]string{}
		for _, e := range evs {
			if e.Actor != "ann" {
				t.Errorf("event %s by %q, want ann", e.Action, e.Actor)
			}
			actions[e.Action] = e.Detail
		}
		if actions["org.rename"] != "from Acme Corp" || !strings.Contains(actions["org.settings"], `sender_name="Acme IT"`) || actions["policy.set"] != "time_zone=Europe/Amsterdam (was UTC)" {
			t.Errorf("audited %+v", actions)
		}

		// The pages show the new name and, escaped, the support contact.
		r = s.get(c, "/o/acme/admin/settings?done=console.flash.settings")
		has(t, r, en("console.flash.settings"), `<span>Acme Corporation</span>`, `value="Europe/Amsterdam"`,
			`<p class="support">`+en("layout.support", "IT helpdesk <b>ext. 4567</b>")+`</p>`)
		if strings.Contains(r.body, "<b>ext.") {
			t.Error("the support contact is not escaped")
		}
		has(t, s.get(s.browser(), "/o/acme/login"), `<p class="support">Questions? Contact: IT helpdesk &lt;b&gt;ext. 4567&lt;/b&gt;</p>`)
		// The enrollment-done page continues to the organization's URL.
		has(t, s.get(s.browser(), "/o/acme/enrolled"), `<a class="button button-primary" href="https://intranet.acme.example/welcome">`+en("enroll_done.continue")+`</a>`)

		// The helpdesk has no say.
		h := s.signIn(hal)
		for _, p := range []string{"/o/acme/admin/settings", "/o/acme/admin/settings/logo", "/o/acme/admin/settings/logo/remove"} {
			var r response
			if strings.HasSuffix(p, "settings") {
				r = s.get(h, p)
			} else {
				r = s.post(h, p, url.Values{})
			}
			if r.status != http.StatusForbidden {
				t.Errorf("helpdesk %s: %d, want 403", p, r.status)
			}
		}
		if r := s.post(h, "/o/acme/admin/settings", s.settingsForm(map[string]string{"name": "Hal's"})); r.status != http.StatusForbidden {
			t.Errorf("helpdesk post: %d", r.status)
		}
		if r := s.upload(h, "/o/acme/admin/settings/logo", "logo", "logo.png", tinyPNG(t)); r.status != http.StatusForbidden {
			t.Errorf("helpdesk upload: %d", r.status)
		}
		if org, _ := s.store.OrgByID(s.ctx, s.org.ID); org.Name != "Acme Corporation" || org.LogoHash != "" {
			t.Errorf("the helpdesk changed %q %q", org.Name, org.LogoHash)
		}
	})
}

// events counts the organization's audit events.
func (s *site) events() int {
	s.t.Helper()
	evs, err := s.store.Events(s.ctx, s.org.ID, 100000)
	if err != nil {
		s.t.Fatal(err)
	}
	return len(evs)
}

func TestSettingsLogo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		logo := tinyPNG(t)

		// Without a logo there is none to serve.
		if r := s.get(s.browser(), "/o/acme/logo"); r.status != http.StatusNotFound {
			t.Errorf("logo without one: %d, want 404", r.status)
		}

		before := s.events()
		r := s.upload(c, "/o/acme/admin/settings/logo", "logo", "logo.png", logo)
		if location(r) != "/o/acme/admin/settings?done=console.flash.logo" {
			t.Fatalf("upload: %d %s\n%s", r.status, location(r), r.body)
		}
		if s.events() != before+1 {
			t.Errorf("%d events, want 1 (org.logo)", s.events()-before)
		}
		org, _ := s.store.OrgByID(s.ctx, s.org.ID)
		src := "/o/acme/logo?v=" + store.LogoHash(logo)
		if org.LogoHash != store.LogoHash(logo) {
			t.Fatalf("logo hash %q", org.LogoHash)
		}
		r = s.get(c, "/o/acme/admin/settings")
		has(t, r, `<img class="org-logo" src="`+src+`" alt="">`, `<img class="org-logo" src="`+src+`" alt="`+en("console.settings.logo_alt", "Acme Corp")+`">`, en("console.settings.logo_remove"))
		has(t, s.get(s.browser(), "/o/acme/login"), `<img class="org-logo" src="`+src+`" alt="">`)

		// Served as stored, safely, cached for good under its hash.
		r = s.get(s.browser(), src)
		if r.status != http.StatusOK || r.body != string(logo) {
			t.Fatalf("logo: %d, %d bytes", r.status, len(r.body))
		}
		for h, want := range map[string]string{
			"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Content-Length": strconv.Itoa(len(logo)),
			"Cache-Control": "public, max-age=31536000, immutable",
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("CSP %q", csp)
		}
		// Another hash (an old logo's) is sent on to the current one, uncached.
		for _, p := range []string{"/o/acme/logo", "/o/acme/logo?v=0123"} {
			r = s.get(s.browser(), p)
			if r.status != http.StatusFound || r.header.Get("Location") != src || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %d to %q, %q", p, r.status, r.header.Get("Location"), r.header.Get("Cache-Control"))
			}
		}

		// Refused: too large, by the field and by the body; an SVG; nothing.
		before = s.events()
		big := append(append([]byte{}, logo...), make([]byte, admin.MaxLogoBytes+1-len(logo))...)
		r = s.upload(c, "/o/acme/admin/settings/logo", "logo", "big.png", big)
		if r.status != http.StatusBadRequest {
			t.Fatalf("a logo too large: %d", r.status)
		}
		has(t, r, `<a href="#logo">`, `id="logo-error"`, en("console.settings.logo_too_large", 64, "PNG, JPEG, GIF, WebP"), `aria-invalid="true"`)
		r = s.upload(c, "/o/acme/admin/settings/logo", "logo", "huge.png", make([]byte, maxBody+1))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a body too large: %d", r.status)
		}
		has(t, r, en("console.error.too_large"))
		if !strings.Contains(i18n.T("en", "console.error.too_large"), strconv.Itoa(admin.MaxLogoBytes>>10)+" KiB") {
			t.Error("console.error.too_large names another limit than admin.MaxLogoBytes")
		}
		r = s.upload(c, "/o/acme/admin/settings/logo", "logo", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
		if r.status != http.StatusBadRequest {
			t.Fatalf("an SVG: %d", r.status)
		}
		has(t, r, `id="logo-error"`, en("console.settings.logo_type", "PNG, JPEG, GIF, WebP", 64))
		r = s.upload(c, "/o/acme/admin/settings/logo", "logo", "empty.png", nil)
		has(t, r, en("console.settings.logo_missing"))
		if org, _ := s.store.OrgByID(s.ctx, s.org.ID); org.LogoHash != store.LogoHash(logo) || s.events() != before {
			t.Errorf("a refused logo changed the logo (%q) or wrote %d events", org.LogoHash, s.events()-before)
		}

		// Removed: gone from the pages and the URL.
		r = s.post(c, "/o/acme/admin/settings/logo/remove", url.Values{})
		if location(r) != "/o/acme/admin/settings?done=console.flash.logo_removed" {
			t.Fatalf("remove: %d %s", r.status, location(r))
		}
		if r := s.get(s.browser(), src); r.status != http.StatusNotFound {
			t.Errorf("removed logo: %d, want 404", r.status)
		}
		r = s.get(c, "/o/acme/admin/settings")
		has(t, r, en("console.settings.no_logo"))
		if strings.Contains(r.body, "org-logo") {
			t.Error("the removed logo is still shown")
		}
	})
}
