package main

import (
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestTokenFind(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	in.ok("", "user", "add", "acme/alice")
	in.ok("", "user", "add", "acme/bob")
	serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/bob", "--type", "hotp", "--show-secret", "--no-email"))
	in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/bob", serial)

	if out := in.ok(hotp.Code(1)+"\n", "token", "find", "acme"); !strings.HasPrefix(out, "acme/bob\t"+serial+"\thotp\tactive") {
		t.Fatalf("token find printed %q, want bob's %s", out, serial)
	}
	// Finding used nothing up: bob signs in with the same code.
	if out := in.ok(hotp.Code(1)+"\n", "check", "acme/bob"); out != "accept\n" {
		t.Fatalf("check after the lookup printed %q, want accept", out)
	}
	if code, _, errs := in.run(hotp.Code(40)+"\n", "token", "find", "acme"); code != 1 || !strings.Contains(errs, "no authenticator of acme shows that code") {
		t.Fatalf("a code nobody shows: exit %d, %q", code, errs)
	}
	if code, _, errs := in.run("12ab\n", "token", "find", "acme"); code == 0 || !strings.Contains(errs, "no one-time code") {
		t.Fatalf("a malformed code: exit %d, %q", code, errs)
	}
}
