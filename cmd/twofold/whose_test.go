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

func TestTokenDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret", "--no-email"))
		in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)

		// In use: refused, and the token still works.
		if code, _, errs := in.run("", "token", "delete", "acme/alice", serial); code == 0 || !strings.Contains(errs, "revoke it first") {
			t.Fatalf("deleting an active token: exit %d, %q; want a refusal that says to revoke it first", code, errs)
		}
		if out := in.ok(hotp.Code(1)+"\n", "check", "acme/alice"); out != "accept\n" {
			t.Fatalf("check after the refused delete printed %q, want accept", out)
		}
		in.ok("", "token", "revoke", "acme/alice", serial)
		if out := in.ok("", "token", "delete", "acme/alice", serial); !strings.Contains(out, "deleted") {
			t.Fatalf("deleting a revoked token printed %q", out)
		}
		if out := in.ok("", "token", "list", "acme/alice"); strings.Contains(out, serial) {
			t.Fatalf("token list after the delete still shows %s:\n%s", serial, out)
		}
		// An invitation never taken up goes too, with its link.
		pending, _, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "totp", "--show-secret", "--no-email"))
		in.ok("", "token", "delete", "acme/alice", pending)
		if code, _, errs := in.run("", "token", "delete", "acme/alice", pending); code == 0 || !strings.Contains(errs, "no token") {
			t.Fatalf("deleting it again: exit %d, %q; want that there is no such token", code, errs)
		}
		if out := in.ok("", "audit", "acme", "--action", "token.delete", "--format", "csv"); strings.Count(out, "token.delete") != 2 {
			t.Fatalf("audit of the deletes:\n%s", out)
		}
	})
}
