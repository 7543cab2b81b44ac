package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// refused runs a command that must be refused with exit 1 and a message saying want.
func (in *installation) refused(want string, args ...string) {
	in.t.Helper()
	code, out, errs := in.run("", args...)
	if code != 1 || !strings.HasPrefix(errs, "twofold: ") || !strings.Contains(errs, want) {
		in.t.Errorf("twofold %s: exit %d, stdout %q, stderr %q; want 1 and a message saying %q",
			strings.Join(args, " "), code, out, errs, want)
	}
}

func TestServiceProviderAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		if out := in.ok("", "admin", "list"); !strings.Contains(out, "no service provider admins yet") {
			t.Errorf("admin list before any printed %q", out)
		}
		out := in.ok("correct horse battery\n", "admin", "create", "Root", "--email", "root@provider.example", "--password-stdin")
		if !strings.Contains(out, "created service provider admin root") || !strings.Contains(out, "twofold token enroll _provider/root") {
			t.Errorf("admin create printed %q", out)
		}
		in.refused("needs an email address", "admin", "create", "ann")
		in.refused(`"root" exists already`, "admin", "create", "root", "--email", "r@provider.example")
		in.refused("is not an address", "admin", "create", "ann", "--email", "ann")
		in.refused("twofold admin create", "user", "add", "_provider/eve")

		list := in.ok("", "admin", "list")
		if !regexp.MustCompile(`(?m)^root\s+root@provider\.example\s+active\s`).MatchString(list) {
			t.Errorf("admin list lacks root:\n%s", list)
		}

		// The admin enrolls an authenticator and signs in like any user.
		serial, g, _ := generator(t, in.ok("", "token", "enroll", "_provider/root", "--type", "hotp", "--no-email", "--show-secret"))
		in.ok(g.Code(0)+"\n", "token", "activate", "_provider/root", serial)
		if out := in.ok("correct horse battery\n"+g.Code(1)+"\n", "check", "--password-stdin", "_provider/root"); out != "accept\n" {
			t.Errorf("check of the provider admin printed %q, want accept", out)
		}
		if orgs := in.ok("", "org", "list"); !strings.Contains(orgs, "no organizations yet") {
			t.Errorf("org list shows the provider's own organization:\n%s", orgs)
		}
	})
}

func TestOrgListRenameDisable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme", "--name", "Acme Corp")
		in.ok("", "org", "create", "beta")
		in.ok("", "user", "add", "acme/alice")
		in.ok("", "user", "add", "acme/bob", "--role", "helpdesk")

		list := in.ok("", "org", "list")
		for _, row := range []string{`acme\s+Acme Corp\s+active\s+\S+ \S+\s+2`, `beta\s+beta\s+active\s+\S+ \S+\s+0`} {
			if !regexp.MustCompile(`(?m)^` + row + `$`).MatchString(list) {
				t.Errorf("org list lacks a row like %s:\n%s", row, list)
			}
		}

		out := in.ok("", "org", "rename", "acme", "--name", "Acme Corporation")
		if out != "organization acme is now named Acme Corporation\n" {
			t.Errorf("org rename printed %q", out)
		}
		if list := in.ok("", "org", "list"); !strings.Contains(list, "Acme Corporation") {
			t.Errorf("org list after rename:\n%s", list)
		}
		in.refused("--name", "org", "rename", "acme")
		in.refused("line breaks", "org", "rename", "acme", "--name", "Evil\nCorp")
		in.refused("already", "org", "rename", "acme", "--name", "Acme Corporation")
		in.refused(`no organization "nosuch"`, "org", "rename", "nosuch", "--name", "X")
		in.refused("cannot be renamed", "org", "rename", "_provider", "--name", "X")

		// Alice can sign in until her organization is disabled, and again once enabled.
		serial, g, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--no-email", "--show-secret"))
		in.ok(g.Code(0)+"\n", "token", "activate", "acme/alice", serial)
		if out := in.ok("", "org", "disable", "acme"); !strings.Contains(out, "acme disabled") {
			t.Errorf("org disable printed %q", out)
		}
		code, out, errs := in.run(g.Code(1)+"\n", "check", "acme/alice")
		if code != 1 || out != "reject\n" || !strings.Contains(errs, "organization disabled") {
			t.Errorf("check in a disabled organization: exit %d, %q, %q; want 1, reject, and the reason on stderr", code, out, errs)
		}
		if list := in.ok("", "org", "list"); !regexp.MustCompile(`(?m)^acme\s+Acme Corporation\s+disabled\s`).MatchString(list) {
			t.Errorf("org list does not show acme disabled:\n%s", list)
		}
		in.refused("disabled already", "org", "disable", "acme")
		in.refused("cannot be disabled", "org", "disable", "_provider")
		in.refused(`no organization "nosuch"`, "org", "enable", "nosuch")
		if out := in.ok("", "org", "enable", "acme"); out != "organization acme enabled\n" {
			t.Errorf("org enable printed %q", out)
		}
		if out := in.ok(g.Code(1)+"\n", "check", "acme/alice"); out != "accept\n" {
			t.Errorf("check after enable printed %q, want accept", out)
		}
		in.refused("active already", "org", "enable", "acme")
	})
}

func TestUserRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		in.ok("", "user", "add", "acme/carol", "--role", "helpdesk")
		if out := in.ok("", "user", "role", "acme/Alice", "helpdesk"); out != "acme/alice is now helpdesk\n" {
			t.Errorf("user role printed %q", out)
		}
		in.ok("", "user", "role", "acme/alice", "admin")
		in.refused("is admin already", "user", "role", "acme/alice", "admin")
		in.refused("is helpdesk already", "user", "role", "acme/carol", "helpdesk")
		in.refused("role must be user, helpdesk or admin", "user", "role", "acme/alice", "root")
		in.refused("role must be user, helpdesk or admin", "user", "add", "acme/dave", "--role", "owner")
		in.refused(`no user "bob"`, "user", "role", "acme/bob", "user")
		in.refused("should be ORG/USER", "user", "role", "alice", "user")
		in.refused("accepts 2 arg", "user", "role", "acme/alice")
		if code, out, _ := in.run("", "user", "role", "--help"); code != 0 || !strings.Contains(out, "helpdesk  find users") {
			t.Errorf("user role --help: exit %d, %q", code, out)
		}
	})
}
