package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// policyValue returns the value policy show prints for key.
func policyValue(t *testing.T, show, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + key + `\s+(\S+)\s+(\S+)\s+\S`).FindStringSubmatch(show)
	if m == nil {
		t.Fatalf("policy show lists no %s:\n%s", key, show)
	}
	return m[1]
}

func TestPolicyShowAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")

		show := in.ok("", "policy", "show", "acme")
		if !strings.HasPrefix(show, "SETTING ") {
			t.Errorf("policy show prints no header:\n%s", show)
		}
		for key, want := range map[string]string{"lockout_threshold": "5", "lockout_duration": "10m", "login_form": "two-step", "mfa_required": "true"} {
			if got := policyValue(t, show, key); got != want {
				t.Errorf("policy show: %s is %s, want %s", key, got, want)
			}
		}
		if !strings.Contains(show, "(1 to 100)") {
			t.Errorf("policy show does not say which values are allowed:\n%s", show)
		}

		out := in.ok("", "policy", "set", "acme", "lockout_threshold=3", "lockout_duration=30m")
		if !regexp.MustCompile(`lockout_threshold\s+3\s+\(was 5\)`).MatchString(out) ||
			!regexp.MustCompile(`lockout_duration\s+30m\s+\(was 10m\)`).MatchString(out) {
			t.Errorf("policy set printed %q, want the new values of both settings", out)
		}
		show = in.ok("", "policy", "show", "acme")
		for key, want := range map[string]string{"lockout_threshold": "3", "lockout_duration": "30m", "login_form": "two-step"} {
			if got := policyValue(t, show, key); got != want {
				t.Errorf("policy show after set: %s is %s, want %s", key, got, want)
			}
		}
		if out := in.ok("", "policy", "set", "acme", "lockout_threshold=3"); !strings.Contains(out, "unchanged") {
			t.Errorf("setting a value as it was printed %q, want it to say nothing changed", out)
		}

		// Refusals exit 1, say what is allowed, and change nothing, not
		// even the valid settings given with them.
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"lockout_threshold=0"}, "lockout_threshold must be between 1 and 100"},
			{[]string{"login_form=sideways"}, "login_form must be two-step or combined"},
			{[]string{"lockout_treshold=2"}, "the settings are mfa_required, login_form, lockout_threshold"},
			{[]string{"lockout_duration=1h", "lockout_threshold=many"}, "lockout_threshold takes a whole number"},
			{[]string{"login_form=combined", "lockout_threshold=0", "mfa_required=perhaps"}, "mfa_required takes true or false"},
			{[]string{"lockout_threshold"}, `"lockout_threshold" should be KEY=VALUE`},
			{[]string{"=3"}, "should be KEY=VALUE"},
			{[]string{"lockout_threshold=2", "lockout_threshold=4"}, "given twice"},
			{nil, "at least one setting"},
		} {
			args := append([]string{"policy", "set", "acme"}, tt.args...)
			code, out, errs := in.run("", args...)
			if code != 1 || out != "" || !strings.HasPrefix(errs, "twofold: ") || !strings.Contains(errs, tt.want) {
				t.Errorf("twofold %s: exit %d, stdout %q, stderr %q; want 1 and a message saying %q",
					strings.Join(args, " "), code, out, errs, tt.want)
			}
		}
		if again := in.ok("", "policy", "show", "acme"); again != show {
			t.Errorf("refused changes changed the policy:\nbefore:\n%s\nafter:\n%s", show, again)
		}
		if code, _, errs := in.run("", "policy", "show", "nosuch"); code != 1 || !strings.Contains(errs, "no organization") {
			t.Errorf("policy show of an unknown organization: exit %d %q, want 1 and a clear message", code, errs)
		}
		if code, _, errs := in.run("", "policy", "set", "nosuch", "lockout_threshold=3"); code != 1 || !strings.Contains(errs, "no organization") {
			t.Errorf("policy set of an unknown organization: exit %d %q, want 1 and a clear message", code, errs)
		}
		if out := in.ok("", "policy", "set", "--help"); !strings.Contains(out, "twofold policy set acme lockout_threshold=3 lockout_duration=30m") ||
			!strings.Contains(out, "enrollment_lifetime") {
			t.Errorf("policy set --help lacks the example or the list of settings:\n%s", out)
		}
	})
}

func TestPolicyLockoutThresholdTakesEffect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret"))
		in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)

		in.ok("", "policy", "set", "acme", "lockout_threshold=2")
		wrong := codeNotAmong(hotp, 100)
		for i := range 2 {
			if code, out, _ := in.run(wrong+"\n", "check", "acme/alice"); code != 1 || out != "reject\n" {
				t.Fatalf("wrong code %d: exit %d %q, want 1 and reject", i+1, code, out)
			}
		}
		if code, out, errs := in.run(hotp.Code(1)+"\n", "check", "acme/alice"); code != 1 || out != "reject\n" || !strings.Contains(errs, "user locked") {
			t.Fatalf("right code after two wrong ones: exit %d %q %q, want 1, reject and the reason user locked", code, out, errs)
		}
		if list := in.ok("", "token", "list", "acme/alice"); !strings.Contains(list, "after 2 failed attempts") {
			t.Fatalf("token list does not show the lock after 2 attempts:\n%s", list)
		}
	})
}
