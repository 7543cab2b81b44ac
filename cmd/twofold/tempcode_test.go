package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var tempCodeRE = regexp.MustCompile(`(?m)^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$`)

func TestUserTempCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme", "--name", "Acme Corp")
		in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example")
		serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret", "--no-email"))
		in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)

		refusals := []struct {
			name string
			args []string
			msg  string
		}{
			{"a longer time than the policy's", []string{"--valid", "48h"}, "temp_code_lifetime"},
			{"more uses than the policy's", []string{"--uses", "2"}, "temp_code_uses"},
			{"one token and all", []string{"--suspend", serial, "--suspend-all"}, "not both"},
			{"a token she does not have", []string{"--suspend", "HOTPNOPE"}, "no token"},
		}
		for _, r := range refusals {
			code, out, errs := in.run("", append([]string{"user", "temp-code", "acme/alice"}, r.args...)...)
			if code == 0 || !strings.Contains(errs, r.msg) || tempCodeRE.MatchString(out) {
				t.Errorf("%s: exit %d, stderr %q, stdout %q; want a failure saying %q and no code", r.name, code, errs, out, r.msg)
			}
		}

		out := in.ok("", "user", "temp-code", "acme/alice", "--valid", "4h")
		code := tempCodeRE.FindString(out)
		if code == "" || !strings.Contains(out, "suspended "+serial) || !strings.Contains(out, "notice mailed to alice@acme.example") {
			t.Fatalf("temp-code printed:\n%s\nwant the code, the suspended token and the notice", out)
		}
		mails, _ := filepath.Glob(filepath.Join(in.env["TWOFOLD_DATA_DIR"], "outbox", "*.eml"))
		if len(mails) != 1 {
			t.Fatalf("%d mails in the outbox, want the notice", len(mails))
		}
		body, err := os.ReadFile(mails[0])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), code) || strings.Contains(string(body), strings.ReplaceAll(code, "-", "")) {
			t.Fatalf("the notice holds the code:\n%s", body)
		}

		// The lost token is refused; the temporary code is accepted once.
		if c, _, _ := in.run(hotp.Code(1)+"\n", "check", "acme/alice"); c != 1 {
			t.Fatalf("the suspended token's code: exit %d, want 1", c)
		}
		if out := in.ok(strings.ToLower(code)+"\n", "check", "acme/alice"); out != "accept\n" {
			t.Fatalf("check with the temporary code printed %q, want accept", out)
		}
		if c, out, _ := in.run(code+"\n", "check", "acme/alice"); c != 1 || out != "reject\n" {
			t.Fatalf("the used-up temporary code: exit %d %q, want 1 and reject", c, out)
		}

		// A new code replaces the old; with the token suspended already
		// there is nothing more to suspend.
		first := code
		in.ok("", "policy", "set", "acme", "temp_code_uses=3")
		out = in.ok("", "user", "temp-code", "acme/alice", "--uses", "3")
		code = tempCodeRE.FindString(out)
		if code == "" || code == first || strings.Contains(out, "suspended") {
			t.Fatalf("second temp-code printed:\n%s", out)
		}
	})
}
