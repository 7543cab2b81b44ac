package main

import (
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/directory/ldaptest"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestDirectoryCommands(t *testing.T) {
	srv := ldaptest.Start(t)
	ann := srv.Person(t, "ann", "ann-pass", "ann@example.org", "Ann Example", nil)
	srv.Person(t, "bob", "bob-pass", "bob@example.org", "Bob Example", nil)
	admins := srv.Group(t, "twofold-admins", ann)

	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	wantRows(t, "directory show before any", in.ok("", "directory", "show", "acme"), `organization acme has no directory.*`, `url\s+-`)

	code, _, errs := in.run("", "directory", "set", "acme", "url=http://dc", "page_size=0")
	if code == 0 || !strings.Contains(errs, "url: must be ldaps://") || !strings.Contains(errs, "page_size: must be a whole number") {
		t.Fatalf("bad settings: exit %d, %s; want both refusals", code, errs)
	}
	out := in.ok(ldaptest.ServicePassword+"\n", "directory", "set", "acme", "url="+srv.LDAPSURL, "ca_file="+srv.CAFile,
		"bind_dn="+ldaptest.ServiceDN, "base_dn="+ldaptest.PeopleDN, "roles=admin:"+admins, "--bind-password-stdin")
	wantRows(t, "directory set", out, `url\s+`+srv.LDAPSURL, `bind password\s+set \(sealed; never shown\)`, `last sync\s+never`)
	if show := in.ok("", "directory", "show", "acme"); strings.Contains(show, ldaptest.ServicePassword) {
		t.Fatalf("directory show prints the bind password:\n%s", show)
	}

	out = in.ok("", "directory", "sync", "acme", "--dry-run")
	wantRows(t, "dry run", out, `would create\s+ann\s+from uid=ann,.*`, `would create\s+bob\s+.*`,
		`dry run, nothing changed; 2 found: would create 2, update 0, disable 0, enable 0; 0 unchanged, 0 skipped`)
	if code, _, _ := in.run("", "user", "show", "acme/ann"); code == 0 {
		t.Fatal("a dry run created ann")
	}
	wantRows(t, "sync", in.ok("", "directory", "sync", "acme"), `2 found: 2 created, 0 updated, 0 disabled, 0 enabled, 0 unchanged, 0 skipped`)
	wantRows(t, "user show ann", in.ok("", "user", "show", "acme/ann"), `role:\s+admin`)
	srv.Replace(t, ann, "mail", "ann@new.example.org")
	wantRows(t, "sync after a change", in.ok("", "directory", "sync", "acme"),
		`update\s+ann\s+email: "ann@example.org" -> "ann@new.example.org"`, `2 found: 0 created, 1 updated, .*`)
	wantRows(t, "directory show after syncs", in.ok("", "directory", "show", "acme"), `last sync\s+\S+ \S+: 2 found: 0 created, 1 updated.*`)
	wantRows(t, "audit", in.ok("", "audit", "acme"), `.*directory\.sync.*`, `.*directory\.user\.create.*`, `.*directory\.set.*`)

	// A new master key re-seals the bind password too, which still opens.
	if out := in.ok("", "keys", "rotate"); !strings.Contains(out, "re-sealed 1 secrets") {
		t.Fatalf("keys rotate: %s; want the bind password re-sealed", out)
	}
	wantRows(t, "sync after keys rotate", in.ok("", "directory", "sync", "acme"), `2 found: 0 created, 0 updated, .*`)

	code, _, errs = in.run("", "directory", "sync", "nosuch")
	if code == 0 || !strings.Contains(errs, `no organization "nosuch"`) {
		t.Fatalf("sync of an unknown organization: exit %d, %s", code, errs)
	}
}

// TestDirectoryPasswordsOnEveryChannel: with password_auth, the password
// RADIUS and twofold check take is the directory's, through the one core.
func TestDirectoryPasswordsOnEveryChannel(t *testing.T) {
	srv := ldaptest.Start(t)
	srv.Person(t, "ann", "ann-directory-pass", "ann@example.org", "Ann Example", nil)
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	in.ok(ldaptest.ServicePassword+"\n", "directory", "set", "acme", "url="+srv.URL, "ca_file="+srv.CAFile,
		"bind_dn="+ldaptest.ServiceDN, "base_dn="+ldaptest.PeopleDN, "password_auth=true", "--bind-password-stdin")
	in.ok("", "directory", "sync", "acme")
	serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/ann", "--type", "hotp", "--show-secret", "--no-email"))
	in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/ann", serial)

	if code, out, _ := in.run("wrong\n"+hotp.Code(1)+"\n", "check", "acme/ann", "--password-stdin"); code == 0 {
		t.Fatalf("check with a wrong password: exit 0\n%s", out)
	}
	in.ok("ann-directory-pass\n"+hotp.Code(2)+"\n", "check", "acme/ann", "--password-stdin")

	in.ok("", "policy", "set", "acme", "radius_mode=password")
	rs := startRadiusServer(t, in)
	secret := strings.TrimSpace(in.ok("", "radius", "client", "add", "acme", "--name", "vpn", "--cidr", "127.0.0.1"))
	time.Sleep(1100 * time.Millisecond) // the server reloads on a miss at most once a second
	if got, out := radclient(t, rs.addr, secret, pap("ann", "wrong")...); got != "Access-Reject" {
		t.Fatalf("RADIUS with a wrong password: %q, want Access-Reject\n%s", got, out)
	}
	if got, out := radclient(t, rs.addr, secret, pap("ann", "ann-directory-pass")...); got != "Access-Challenge" {
		t.Fatalf("RADIUS with the directory's password: %q, want Access-Challenge for the code\n%s", got, out)
	}
	srv.Stop()
	if got, out := radclient(t, rs.addr, secret, pap("ann", "ann-directory-pass")...); got == "Access-Challenge" || got == "Access-Accept" {
		t.Fatalf("RADIUS with the directory down: %q, want no pass\n%s", got, out)
	}
}
