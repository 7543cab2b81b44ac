package main

import (
	"bytes"
	"html"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// wantRows fails unless out has a line matching each of rows.
func wantRows(t *testing.T, what, out string, rows ...string) {
	t.Helper()
	for _, row := range rows {
		if !regexp.MustCompile(`(?m)^` + row + `$`).MatchString(out) {
			t.Errorf("%s lacks a line like %s:\n%s", what, row, out)
		}
	}
}

func TestOrgShowAndSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		dir := t.TempDir()
		file := func(name string, data []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		var logo bytes.Buffer
		if err := png.Encode(&logo, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
			t.Fatal(err)
		}
		pngFile := file("acme.png", logo.Bytes())
		svgFile := file("evil.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
		bigFile := file("big.png", append(logo.Bytes(), make([]byte, 64<<10)...))

		in.ok("", "org", "create", "acme", "--name", "Acme Corp")
		wantRows(t, "org show", in.ok("", "org", "show", "acme"),
			`organization:\s+acme`, `name:\s+Acme Corp`, `status:\s+active`, `support contact:\s+-`, `continue URL:\s+-`,
			`sender name:\s+- \(mail comes from "Acme Corp via Twofold"\)`, `logo:\s+none`, `created:\s+\S+ \S+`)

		out := in.ok("", "org", "settings", "acme", "--support", "IT helpdesk, +31 20 123 4567, help@acme.example",
			"--continue-url", "https://intranet.acme.example/", "--sender-name", "Acme IT", "--logo", pngFile)
		settings := []string{`support contact:\s+IT helpdesk, \+31 20 123 4567, help@acme\.example`,
			`continue URL:\s+https://intranet\.acme\.example/`, `sender name:\s+Acme IT`,
			`logo:\s+image/png, ` + strconv.Itoa(logo.Len()) + ` bytes`}
		wantRows(t, "org settings", out, settings...)
		wantRows(t, "org show after settings", in.ok("", "org", "show", "acme"), settings...)

		// Every refusal changes nothing, also of the settings given beside it.
		for _, tt := range []struct {
			want string
			args []string
		}{
			{"name at least one setting to change: --support", nil},
			{"it must be an image of type image/png, image/jpeg, image/gif, image/webp (SVG is not accepted", []string{"--support", "New", "--logo", svgFile}},
			{"the logo is " + strconv.Itoa(logo.Len()+64<<10) + " bytes; it may be at most 65536 bytes (64 KiB)", []string{"--sender-name", "New", "--logo", bigFile}},
			{"read the logo", []string{"--support", "New", "--logo", filepath.Join(dir, "missing.png")}},
			{"none of the others can be", []string{"--logo", pngFile, "--no-logo"}},
			{"must start with https://", []string{"--support", "New", "--continue-url", "http://intranet.acme.example/"}},
			{"the support contact may not contain line breaks", []string{"--support", "Help\ndesk"}},
			{"the sender name may be at most 100 characters", []string{"--sender-name", strings.Repeat("x", 101)}},
		} {
			in.refused(tt.want, append([]string{"org", "settings", "acme"}, tt.args...)...)
		}
		in.refused(`no organization "nosuch"`, "org", "settings", "nosuch", "--support", "x")
		in.refused(`no organization "nosuch"`, "org", "show", "nosuch")
		wantRows(t, "org show after refusals", in.ok("", "org", "show", "acme"), settings...)

		// Mail comes from the sender name and names the support contact,
		// as a mail client reads it.
		in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example")
		in.ok("", "token", "enroll", "acme/alice", "--type", "totp")
		mails, _ := filepath.Glob(filepath.Join(in.env["TWOFOLD_DATA_DIR"], "outbox", "*.eml"))
		if len(mails) != 1 {
			t.Fatalf("outbox holds %v, want the invitation", mails)
		}
		raw, err := os.ReadFile(mails[0])
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseMail(raw)
		if err != nil {
			t.Fatal(err)
		}
		if from, err := m.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Acme IT" {
			t.Errorf("From = %v, %v; want the sender name Acme IT", from, err)
		}
		support := "Questions? Contact: IT helpdesk, +31 20 123 4567, help@acme.example"
		if !strings.Contains(m.text, support+"\n") || !strings.Contains(html.UnescapeString(m.html), support) {
			t.Errorf("the invitation does not name the support contact:\n%s\n%s", m.text, m.html)
		}

		out = in.ok("", "org", "settings", "acme", "--support", "", "--sender-name", "", "--no-logo")
		wantRows(t, "org settings clearing", out, `support contact:\s+-`, `continue URL:\s+https://intranet\.acme\.example/`,
			`sender name:\s+- \(mail comes from "Acme Corp via Twofold"\)`, `logo:\s+none`)
		if code, out, _ := in.run("", "org", "settings", "--help"); code != 0 || !strings.Contains(out, "not SVG, which can carry script") {
			t.Errorf("org settings --help: exit %d, %q", code, out)
		}
	})
}
