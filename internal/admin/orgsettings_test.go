package admin_test

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestSetOrgSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		before := len(e.events(t, e.org.ID))
		org, err := e.svc.SetOrgSettings(e.ctx, e.org, admin.OrgSettingsChange{
			SupportContact: ptr("  IT helpdesk, +31 20 123 4567, help@example.org "),
			ContinueURL:    ptr("https://intranet.acme.example/welcome?from=mfa"),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := store.OrgSettings{SupportContact: "IT helpdesk, +31 20 123 4567, help@example.org", ContinueURL: "https://intranet.acme.example/welcome?from=mfa"}
		if stored, _ := e.svc.Org(e.ctx, "acme"); org.OrgSettings != want || stored.OrgSettings != want {
			t.Fatalf("settings returned %+v, stored %+v; want %+v", org.OrgSettings, stored.OrgSettings, want)
		}
		e.wantEvent(t, e.org.ID, before, "org.settings", "acme")
		if d := e.events(t, e.org.ID)[0].Detail; d != `support_contact="IT helpdesk, +31 20 123 4567, help@example.org" (was ""), continue_url="https://intranet.acme.example/welcome?from=mfa" (was "")` {
			t.Errorf("detail %q; want the two settings changed, with their values", d)
		}

		// Only the settings named change, from a stale copy too; empty clears.
		before = len(e.events(t, e.org.ID))
		org, err = e.svc.SetOrgSettings(e.ctx, e.org, admin.OrgSettingsChange{SenderName: ptr("Acme IT"), ContinueURL: ptr("")})
		if err != nil {
			t.Fatal(err)
		}
		want = store.OrgSettings{SupportContact: want.SupportContact, SenderName: "Acme IT"}
		if stored, _ := e.svc.Org(e.ctx, "acme"); org.OrgSettings != want || stored.OrgSettings != want {
			t.Fatalf("after the second change: returned %+v, stored %+v; want %+v", org.OrgSettings, stored.OrgSettings, want)
		}
		e.wantEvent(t, e.org.ID, before, "org.settings", "acme")
		if d := e.events(t, e.org.ID)[0].Detail; !strings.HasPrefix(d, `continue_url="" (was "https://`) || !strings.HasSuffix(d, `sender_name="Acme IT" (was "")`) {
			t.Errorf("detail %q", d)
		}

		before = len(e.events(t, e.org.ID))
		if _, err := e.svc.SetOrgSettings(e.ctx, e.org, admin.OrgSettingsChange{SenderName: ptr(" Acme IT ")}); err != nil {
			t.Fatal(err)
		}
		e.wantNoEvent(t, e.org.ID, before)

		for _, u := range []string{"http://localhost:8080/done", "http://127.0.0.1/", "HTTPS://Intranet.Example/", "https://[2001:db8::1]/x"} {
			if _, err := e.svc.SetOrgSettings(e.ctx, e.org, admin.OrgSettingsChange{ContinueURL: ptr(u)}); err != nil {
				t.Errorf("continue URL %q refused: %v", u, err)
			}
		}
		stored, _ := e.svc.Org(e.ctx, "acme")

		for _, tt := range []struct {
			name string
			c    admin.OrgSettingsChange
			msg  string
		}{
			{"a change naming nothing", admin.OrgSettingsChange{}, "name at least one setting"},
			{"a support contact with a line break", admin.OrgSettingsChange{SupportContact: ptr("Helpdesk\r\nBcc: x@example.org")}, "the support contact may not contain line breaks"},
			{"a support contact with a tab", admin.OrgSettingsChange{SupportContact: ptr("Help\tdesk")}, "control characters"},
			{"a support contact too long", admin.OrgSettingsChange{SupportContact: ptr(strings.Repeat("é", admin.MaxSupportContact+1))}, "the support contact may be at most 200 characters"},
			{"a support contact not UTF-8", admin.OrgSettingsChange{SupportContact: ptr("Help \xff")}, "must be text"},
			{"a sender name with a line break", admin.OrgSettingsChange{SenderName: ptr("Acme\nBcc: x@example.org")}, "the sender name may not contain line breaks"},
			{"a sender name that looks like an address", admin.OrgSettingsChange{SenderName: ptr("Acme IT <it@acme.example>")}, "may not contain <, > or @"},
			{"a sender name holding an address", admin.OrgSettingsChange{SenderName: ptr("it@bank.example")}, "look like an address"},
			{"a sender name too long", admin.OrgSettingsChange{SenderName: ptr(strings.Repeat("a", admin.MaxSenderName+1))}, "the sender name may be at most 100 characters"},
			{"a continue URL over http", admin.OrgSettingsChange{ContinueURL: ptr("http://intranet.acme.example/")}, "must start with https://"},
			{"a continue URL over http to a name ending in localhost", admin.OrgSettingsChange{ContinueURL: ptr("http://localhost.evil.example/")}, "must start with https://"},
			{"a continue URL of another scheme", admin.OrgSettingsChange{ContinueURL: ptr("javascript:alert(1)")}, "not an absolute URL"},
			{"a continue URL of ftp", admin.OrgSettingsChange{ContinueURL: ptr("ftp://files.acme.example/")}, "must start with https://"},
			{"a relative continue URL", admin.OrgSettingsChange{ContinueURL: ptr("/welcome")}, "not an absolute URL"},
			{"a continue URL without a host", admin.OrgSettingsChange{ContinueURL: ptr("https:///welcome")}, "not an absolute URL"},
			{"a continue URL with a user", admin.OrgSettingsChange{ContinueURL: ptr("https://intranet.acme.example@evil.example/")}, "may not hold a user name or password"},
			{"a continue URL with a password", admin.OrgSettingsChange{ContinueURL: ptr("https://u:p@intranet.acme.example/")}, "may not hold a user name or password"},
			{"a continue URL with a space", admin.OrgSettingsChange{ContinueURL: ptr("https://intranet.acme.example/a b")}, "not an absolute URL"},
			{"a continue URL with a line break", admin.OrgSettingsChange{ContinueURL: ptr("https://intranet.acme.example/\nx")}, "line breaks"},
			{"a continue URL too long", admin.OrgSettingsChange{ContinueURL: ptr("https://intranet.acme.example/" + strings.Repeat("a", admin.MaxContinueURL))}, "at most 2000 characters"},
			{"a good value beside a bad one", admin.OrgSettingsChange{SenderName: ptr("New name"), ContinueURL: ptr("http://intranet.acme.example/")}, "https://"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				_, err := e.svc.SetOrgSettings(e.ctx, e.org, tt.c)
				wantInvalid(t, err, tt.msg)
				e.wantNoEvent(t, e.org.ID, before)
				if now, _ := e.svc.Org(e.ctx, "acme"); now.OrgSettings != stored.OrgSettings {
					t.Errorf("a refused change changed the settings to %+v", now.OrgSettings)
				}
			})
		}
	})
}

// encoded is an image of 2×2 pixels in a format.
func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSetOrgLogo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		pngLogo := encoded(t, func(w *bytes.Buffer, m image.Image) error { return png.Encode(w, m) })
		logos := []struct {
			name string
			data []byte
			typ  string
		}{
			{"PNG", pngLogo, "image/png"},
			{"JPEG", encoded(t, func(w *bytes.Buffer, m image.Image) error { return jpeg.Encode(w, m, nil) }), "image/jpeg"},
			{"GIF", encoded(t, func(w *bytes.Buffer, m image.Image) error { return gif.Encode(w, m, nil) }), "image/gif"},
			// The start of a lossless WebP file: RIFF, its size, WEBPVP8L.
			{"WebP", append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00"), make([]byte, 12)...), "image/webp"},
			{"PNG of the largest size", append(append([]byte{}, pngLogo...), make([]byte, admin.MaxLogoBytes-len(pngLogo))...), "image/png"},
		}
		for _, l := range logos {
			t.Run(l.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				org, err := e.svc.SetOrgLogo(e.ctx, e.org, l.data)
				if err != nil {
					t.Fatal(err)
				}
				e.wantEvent(t, e.org.ID, before, "org.logo", "acme")
				data, typ, err := e.store.OrgLogo(e.ctx, e.org.ID)
				if err != nil || !bytes.Equal(data, l.data) || typ != l.typ {
					t.Errorf("stored logo: %d bytes of %q, %v; want %d bytes of %s", len(data), typ, err, len(l.data), l.typ)
				}
				if stored, _ := e.svc.Org(e.ctx, "acme"); org.LogoHash == "" || stored.LogoHash != org.LogoHash {
					t.Errorf("logo hash returned %q, stored %q", org.LogoHash, stored.LogoHash)
				}
			})
		}
		if d := e.events(t, e.org.ID)[0].Detail; d != "set image/png, 65536 bytes" {
			t.Errorf("detail %q; want the type and size", d)
		}
		before := len(e.events(t, e.org.ID))
		if _, err := e.svc.SetOrgLogo(e.ctx, e.org, logos[len(logos)-1].data); err != nil {
			t.Fatal(err)
		}
		e.wantNoEvent(t, e.org.ID, before)
		stored, _ := e.svc.Org(e.ctx, "acme")

		for _, tt := range []struct {
			name string
			data []byte
			msg  string
		}{
			{"no bytes", nil, "the logo is empty"},
			{"one byte too many", append(append([]byte{}, pngLogo...), make([]byte, admin.MaxLogoBytes+1-len(pngLogo))...), "the logo is 65537 bytes; it may be at most 65536 bytes (64 KiB)"},
			{"an SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG is not accepted"},
			{"an SVG with an XML declaration", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "the logo is text/xml; charset=utf-8; it must be an image of type image/png, image/jpeg, image/gif, image/webp"},
			{"an HTML page", []byte(`<html><script>alert(1)</script></html>`), "the logo is text/html; charset=utf-8"},
			{"a BMP, an image not accepted", []byte("BM" + strings.Repeat("\x00", 40)), "the logo is image/bmp"},
			{"text", []byte("just text"), "the logo is text/plain"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				_, err := e.svc.SetOrgLogo(e.ctx, e.org, tt.data)
				wantInvalid(t, err, tt.msg)
				e.wantNoEvent(t, e.org.ID, before)
				if now, _ := e.svc.Org(e.ctx, "acme"); now.LogoHash != stored.LogoHash {
					t.Errorf("a refused logo changed the hash to %q", now.LogoHash)
				}
			})
		}

		before = len(e.events(t, e.org.ID))
		org, err := e.svc.RemoveOrgLogo(e.ctx, e.org)
		if err != nil || org.LogoHash != "" {
			t.Fatalf("RemoveOrgLogo = %q, %v", org.LogoHash, err)
		}
		e.wantEvent(t, e.org.ID, before, "org.logo", "acme")
		if d := e.events(t, e.org.ID)[0].Detail; d != "removed" {
			t.Errorf("detail %q, want removed", d)
		}
		if _, _, err := e.store.OrgLogo(e.ctx, e.org.ID); err == nil {
			t.Error("the logo is still there")
		}
		before = len(e.events(t, e.org.ID))
		if _, err := e.svc.RemoveOrgLogo(e.ctx, e.org); err != nil {
			t.Fatal(err)
		}
		e.wantNoEvent(t, e.org.ID, before)
	})
}

func TestSetOrgProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		zone := func(t *testing.T) string {
			t.Helper()
			org, _ := e.svc.Org(e.ctx, "acme")
			return storedZone(org)
		}
		before := len(e.events(t, e.org.ID))
		org, err := e.svc.SetOrgProfile(e.ctx, e.org, admin.OrgProfileChange{
			Name:              ptr(" Acme Corporation "),
			OrgSettingsChange: admin.OrgSettingsChange{SupportContact: ptr("IT, ext. 4567"), ContinueURL: ptr("https://intranet.acme.example/"), SenderName: ptr("")},
			TimeZone:          ptr("Europe/Amsterdam"),
		})
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := e.svc.Org(e.ctx, "acme")
		want := store.OrgSettings{SupportContact: "IT, ext. 4567", ContinueURL: "https://intranet.acme.example/"}
		if org.Name != "Acme Corporation" || stored.Name != org.Name || stored.OrgSettings != want || org.OrgSettings != want {
			t.Fatalf("returned %q %+v, stored %q %+v", org.Name, org.OrgSettings, stored.Name, stored.OrgSettings)
		}
		if z := zone(t); z != "Europe/Amsterdam" {
			t.Errorf("time zone %q", z)
		}
		evs := e.events(t, e.org.ID)
		if len(evs) != before+3 {
			t.Fatalf("%d events, want 3 (rename, settings, policy)", len(evs)-before)
		}
		got := map[string]string{}
		for _, ev := range evs[:3] {
			got[ev.Action] = ev.Detail
		}
		if got["org.rename"] != "from Acme Corp" || !strings.HasPrefix(got["org.settings"], `support_contact="IT, ext. 4567" (was "")`) || got["policy.set"] != "time_zone=Europe/Amsterdam (was UTC)" {
			t.Errorf("events %+v", got)
		}

		// The same values again write nothing.
		before = len(e.events(t, e.org.ID))
		if _, err := e.svc.SetOrgProfile(e.ctx, e.org, admin.OrgProfileChange{Name: ptr("Acme Corporation"), OrgSettingsChange: admin.OrgSettingsChange{SenderName: ptr("")}, TimeZone: ptr("Europe/Amsterdam")}); err != nil {
			t.Fatal(err)
		}
		e.wantNoEvent(t, e.org.ID, before)

		// One refusal changes nothing, not even what was fine.
		for _, tt := range []struct {
			name string
			c    admin.OrgProfileChange
			key  string
			msg  string
		}{
			{"a bad continue URL", admin.OrgProfileChange{Name: ptr("New"), TimeZone: ptr("Europe/Berlin"), OrgSettingsChange: admin.OrgSettingsChange{ContinueURL: ptr("http://x.example/"), SupportContact: ptr("new")}}, "continue_url", "https://"},
			{"a bad sender name", admin.OrgProfileChange{Name: ptr("New"), TimeZone: ptr("Europe/Berlin"), OrgSettingsChange: admin.OrgSettingsChange{SenderName: ptr("a@b.example")}}, "sender_name", "look like an address"},
			{"an empty name", admin.OrgProfileChange{Name: ptr("  "), TimeZone: ptr("Europe/Berlin")}, "name", "may not be empty"},
			{"a name with a line break", admin.OrgProfileChange{Name: ptr("A\nB"), OrgSettingsChange: admin.OrgSettingsChange{SupportContact: ptr("new")}}, "name", "line breaks"},
			{"an unknown time zone", admin.OrgProfileChange{Name: ptr("New"), TimeZone: ptr("Mars/Olympus")}, "time_zone", "IANA time zone"},
			{"the local time zone", admin.OrgProfileChange{Name: ptr("New"), TimeZone: ptr("Local")}, "time_zone", "IANA time zone"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				_, err := e.svc.SetOrgProfile(e.ctx, e.org, tt.c)
				wantInvalid(t, err, tt.msg)
				var ke *policy.KeyError
				if !errors.As(err, &ke) || ke.Key != tt.key {
					t.Errorf("refusal %v names %+v, want key %s", err, ke, tt.key)
				}
				e.wantNoEvent(t, e.org.ID, before)
				now, _ := e.svc.Org(e.ctx, "acme")
				if now.Name != stored.Name || now.OrgSettings != stored.OrgSettings || zone(t) != "Europe/Amsterdam" {
					t.Errorf("a refused change changed %q %+v %s", now.Name, now.OrgSettings, zone(t))
				}
			})
		}
	})
}

func storedZone(org store.Org) string {
	p, err := policy.Decode(org.Policy)
	if err != nil {
		return "?"
	}
	return p.TimeZone
}
