package compose

import (
	"errors"
	htmlstd "html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
)

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mailSamples() map[string]any {
	when := time.Date(2026, time.November, 27, 9, 30, 0, 0, time.UTC)
	notice := NoticeMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries", TokenName: "Work phone", When: when, PortalURL: "https://mfa.acme.example/o/acme/"}
	return map[string]any{
		"invite":           InviteMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries", Link: "https://mfa.acme.example/enroll?code=Xk3p9-QrT2m", Expires: when},
		"token_added":      notice,
		"token_removed":    notice,
		"password_changed": notice,
		"backup_used":      NoticeMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries", When: when, Left: 3, PortalURL: "https://mfa.acme.example/o/acme/"},
		"verify_code":      VerifyCodeMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Code: "482913", Minutes: 10},
		"reset_link": ResetMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries",
			Link: "https://mfa.acme.example/o/acme/login/reset?token=Xk3p9-QrT2m", Minutes: 30},
		"account_locked": LockedMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries", When: when,
			Until: when.Add(10 * time.Minute), PortalURL: "https://mfa.acme.example/o/acme/"},
		"push_fraud": FraudMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries", Application: "Citrix gateway",
			Source: "198.51.100.23", When: when, PortalURL: "https://mfa.acme.example/o/acme/"},
		"temp_code": TempCodeMail{OrgName: "Acme Logistics", Name: "Jan de Vries", Username: "j.devries", When: when,
			Until: when.Add(24 * time.Hour), Uses: 1, Suspended: true, PortalURL: "https://mfa.acme.example/o/acme/"},
	}
}

func TestRenderMails(t *testing.T) {
	r := newRenderer(t)
	linkRE := regexp.MustCompile(`https?://[^\s"<>]+`)
	// The organization's zone: the samples' 09:30 UTC is 10:30 there.
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Languages {
		for name, data := range mailSamples() {
			subject, text, html, err := r.Render(l.Code, Frame{Loc: amsterdam}, name, data)
			if err != nil {
				t.Fatalf("%s %s: %v", l.Code, name, err)
			}
			for part, s := range map[string]string{"subject": subject, "text": text, "html": html} {
				for _, bad := range []string{"!(", "%!", "<no value>", "ZgotmplZ"} {
					if strings.Contains(s, bad) {
						t.Errorf("%s %s %s contains %q:\n%s", l.Code, name, part, bad, s)
					}
				}
				if !strings.Contains(s, "Acme Logistics") {
					t.Errorf("%s %s %s does not name the organization", l.Code, name, part)
				}
			}
			if strings.ContainsAny(subject, "\r\n") || subject == "" {
				t.Errorf("%s %s: subject %q", l.Code, name, subject)
			}
			if !strings.Contains(text, "Twofold") || !strings.Contains(html, "Twofold") {
				t.Errorf("%s %s: Twofold not named", l.Code, name)
			}
			greeting := i18n.T(l.Code, "mail.greeting", "Jan de Vries")
			if strings.Count(text, greeting) != 1 || strings.Count(html, greeting) != 1 {
				t.Errorf("%s %s: greeting %q not exactly once", l.Code, name, greeting)
			}
			if !strings.Contains(html, `<html lang="`+l.Code+`">`) {
				t.Errorf("%s %s: html lang", l.Code, name)
			}
			// Links: only the ones given.
			allowed := map[string]bool{}
			switch d := data.(type) {
			case InviteMail:
				allowed[d.Link] = true
				if !strings.Contains(text, d.Link) || !strings.Contains(html, `href="`+d.Link+`"`) {
					t.Errorf("%s %s: link missing", l.Code, name)
				}
				if !strings.Contains(text, i18n.DateTime(l.Code, amsterdam, d.Expires)) || !strings.Contains(text, "10:30 CET") {
					t.Errorf("%s %s: expiry in the organization's zone (10:30 CET) missing:\n%s", l.Code, name, text)
				}
			case NoticeMail:
				allowed[d.PortalURL] = true
				if !strings.Contains(text, "10:30 CET") || !strings.Contains(html, "10:30 CET") {
					t.Errorf("%s %s: the time in the organization's zone (10:30 CET) is missing:\n%s", l.Code, name, text)
				}
				if name != "password_changed" && !strings.Contains(text, d.TokenName) {
					t.Errorf("%s %s: token name missing", l.Code, name)
				}
			case ResetMail:
				allowed[d.Link] = true
				if !strings.Contains(text, d.Link) || !strings.Contains(html, `href="`+d.Link+`"`) {
					t.Errorf("%s %s: link missing", l.Code, name)
				}
			case LockedMail:
				allowed[d.PortalURL] = true
				if !strings.Contains(text, i18n.DateTime(l.Code, amsterdam, d.Until)) {
					t.Errorf("%s %s: end of the lock missing", l.Code, name)
				}
			case TempCodeMail:
				allowed[d.PortalURL] = true
				for _, at := range []time.Time{d.When, d.Until} {
					if !strings.Contains(text, i18n.DateTime(l.Code, amsterdam, at)) || !strings.Contains(html, i18n.DateTime(l.Code, amsterdam, at)) {
						t.Errorf("%s %s: the time %s is missing:\n%s", l.Code, name, i18n.DateTime(l.Code, amsterdam, at), text)
					}
				}
				if !strings.Contains(text, i18n.T(l.Code, "mail.temp_code.not_you")) {
					t.Errorf("%s %s: what to do if it wasn't them is missing", l.Code, name)
				}
			case FraudMail:
				allowed[d.PortalURL] = true
				for _, want := range []string{d.Source, d.Application, i18n.DateTime(l.Code, amsterdam, d.When)} {
					if !strings.Contains(text, want) || !strings.Contains(html, want) {
						t.Errorf("%s %s: %q is missing:\n%s", l.Code, name, want, text)
					}
				}
			case VerifyCodeMail:
				if !strings.Contains(text, d.Code) || !strings.Contains(html, d.Code) {
					t.Errorf("%s %s: code missing", l.Code, name)
				}
			}
			for _, s := range []string{text, html} {
				for _, link := range linkRE.FindAllString(s, -1) {
					if !allowed[strings.ReplaceAll(link, "&amp;", "&")] {
						t.Errorf("%s %s: unexpected link %s", l.Code, name, link)
					}
				}
			}
			if strings.Contains(text, "\n\n\n") || strings.HasPrefix(text, "\n") || !strings.HasSuffix(text, "\n") {
				t.Errorf("%s %s: untidy text:\n%q", l.Code, name, text)
			}
		}
	}
	// A notice without a portal address has no link at all.
	_, text, html, err := r.Render("nl", Frame{}, "token_removed", NoticeMail{OrgName: "Acme", Name: "anna", Username: "anna", When: time.Now()})
	if err != nil || strings.Contains(text, "http") || strings.Contains(html, "href") {
		t.Errorf("no portal: err %v\n%s\n%s", err, text, html)
	}
	// Subject stays on one line.
	subject, _, _, err := r.Render("en", Frame{}, "verify_code", VerifyCodeMail{OrgName: "Acme\r\nBcc: x@example.org", Code: "1", Minutes: 1})
	if err != nil || strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q, %v", subject, err)
	}
	if _, _, _, err := r.Render("en", Frame{}, "no_such_mail", nil); err == nil {
		t.Error("no error for an unknown mail")
	}
}

// TestRenderFooterNamesTheSupportContact checks that every mail, in every
// language, names the organization's support contact in its footer when
// it has one, as text (not markup) in the HTML, and nothing when not.
func TestRenderFooterNamesTheSupportContact(t *testing.T) {
	r := newRenderer(t)
	const support = "IT helpdesk <help@acme.example>, +31 20 123 4567"
	for _, l := range i18n.Languages {
		line := i18n.T(l.Code, "mail.support", support)
		for name, data := range mailSamples() {
			_, text, html, err := r.Render(l.Code, Frame{Support: support}, name, data)
			if err != nil {
				t.Fatalf("%s %s: %v", l.Code, name, err)
			}
			footer := i18n.T(l.Code, "mail.footer", "Acme Logistics") + "\n" + line + "\n"
			if !strings.HasSuffix(text, footer) {
				t.Errorf("%s %s: text does not end with the footer %q:\n%s", l.Code, name, footer, text)
			}
			if strings.Count(htmlstd.UnescapeString(html), line) != 1 || strings.Contains(html, "<help@") {
				t.Errorf("%s %s: html does not name the support contact once, escaped:\n%s", l.Code, name, html)
			}
			_, text, html, err = r.Render(l.Code, Frame{}, name, data)
			if err != nil {
				t.Fatalf("%s %s: %v", l.Code, name, err)
			}
			if none := i18n.T(l.Code, "mail.support", ""); strings.Contains(text, none) || strings.Contains(html, none) {
				t.Errorf("%s %s: without a support contact the mail says %q", l.Code, name, none)
			}
		}
	}
}

// TestWriteSampleMails writes every sample mail, in every language, to the
// directory in TWOFOLD_WRITE_SAMPLES, for looking at them.
func TestWriteSampleMails(t *testing.T) {
	dir := os.Getenv("TWOFOLD_WRITE_SAMPLES")
	if dir == "" {
		t.Skip("set TWOFOLD_WRITE_SAMPLES=/some/dir to write the sample mails")
	}
	r := newRenderer(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Languages {
		for name, data := range mailSamples() {
			subject, text, html, err := r.Render(l.Code, Frame{}, name, data)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Join(dir, "mail-"+name+"-"+l.Code)
			if err := errors.Join(
				os.WriteFile(base+".txt", []byte("Subject: "+subject+"\n\n"+text), 0o644),
				os.WriteFile(base+".html", []byte(html), 0o644),
			); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTemplateKeysExist checks that every catalogue key the mail templates
// name is in the catalogue.
func TestTemplateKeysExist(t *testing.T) {
	keyRE := regexp.MustCompile(`"([a-z_]+(?:\.[a-z_]+)+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			if !i18n.Has(m[1]) {
				t.Errorf("%s: %q is not in the catalogue", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
