package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

func TestSyntheticImportWritesASeedFileOathtoolAgreesWith(t *testing.T) {
	oathtool := testenv.Command(t, "oathtool", "oathtool")
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		seedFile := filepath.Join(t.TempDir(), "seed.csv")
		out := in.ok("", "user", "import", "load", "--synthetic", "25", "--seed-out", seedFile)
		if !strings.Contains(out, "created organization load with 25 synthetic users") {
			t.Errorf("output = %q", out)
		}
		fi, err := os.Stat(seedFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("seed file: %v, %v; want mode 0600", fi, err)
		}
		f, _ := os.Open(seedFile)
		defer f.Close()
		seeds, err := importer.ReadSeed(f)
		if err != nil || len(seeds) != 25 {
			t.Fatalf("seed file: %d rows, %v; want 25", len(seeds), err)
		}
		s := seeds[11]
		code, err := exec.Command(oathtool, "--totp", "-b", otp.EncodeSecret(s.Secret)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if out := in.ok(string(code), "check", "load/"+s.Username); strings.TrimSpace(out) != "accept" {
			t.Errorf("check %s with oathtool's code: %q, want accept", s.Username, out)
		}

		// The organization exists now: a second run is refused, and the
		// seed file named is never overwritten.
		if code, _, errs := in.run("", "user", "import", "load", "--synthetic", "5", "--seed-out", filepath.Join(t.TempDir(), "again.csv")); code == 0 || !strings.Contains(errs, "exists already") {
			t.Errorf("a second synthetic load: exit %d, %q; want refused", code, errs)
		}
		if code, _, errs := in.run("", "user", "import", "other", "--synthetic", "5", "--seed-out", seedFile); code == 0 || !strings.Contains(errs, "seed file") {
			t.Errorf("an existing seed file: exit %d, %q; want refused", code, errs)
		}
	})
}

func TestUserImportAndExport(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	file := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(file, []byte("username,email,display name\nbob,bob@acme.example,Bob\ncarol,carol@acme.example,Carol\nbob,,Bob again\n"), 0o600)

	code, out, errs := in.run("", "user", "import", "acme", file, "--dry-run")
	if code == 0 || !strings.Contains(out, "refused line 4 (bob): username bob is on line 2 already") ||
		!strings.Contains(out, "dry run: nothing was changed; of 3 rows, 2 users would be added, 1 rows are refused") ||
		!strings.Contains(errs, "--skip-bad") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, _ := in.run("", "user", "import", "acme", file); code == 0 || strings.Contains(out, "imported") {
		t.Errorf("a refused row: exit %d\n%s", code, out)
	}
	if out := in.ok("", "user", "list", "acme"); !strings.Contains(out, "no users") {
		t.Errorf("after a refused import:\n%s", out)
	}
	out = in.ok("", "user", "import", "acme", file, "--skip-bad")
	if !strings.Contains(out, "imported 2 users into acme from 3 rows") || !strings.Contains(out, "1 rows refused") {
		t.Errorf("skip bad:\n%s", out)
	}
	out = in.ok("", "user", "export", "acme")
	if want := "username,email,display name,language,role,status,authenticators,enrollment,enrollment expires\nbob,bob@acme.example,Bob,,user,active,0,,\ncarol,carol@acme.example,Carol,,user,active,0,,\n"; out != want {
		t.Errorf("export:\n%s\nwant\n%s", out, want)
	}
	// Standard input is "-".
	out = in.ok("username\ndave\n", "user", "import", "acme", "-")
	if !strings.Contains(out, "imported 1 users") {
		t.Errorf("from standard input:\n%s", out)
	}
	if code, _, errs := in.run("", "user", "import", "acme", filepath.Join(t.TempDir(), "missing.csv")); code == 0 || !strings.Contains(errs, "no such file") {
		t.Errorf("a missing file: exit %d, %s", code, errs)
	}
}

func TestTokenImportInventoryAndAssign(t *testing.T) {
	oathtool := testenv.Command(t, "oathtool", "oathtool")
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	in.ok("", "user", "add", "acme/alice")
	dir := t.TempDir()
	psk := filepath.Join(dir, "transport.key")
	os.WriteFile(psk, []byte("12345678901234567890123456789012\n"), 0o600)
	fig6, _ := filepath.Abs("../../internal/importer/testdata/rfc6030-figure6.pskc")

	fig7, _ := filepath.Abs("../../internal/importer/testdata/rfc6030-figure7.pskc")
	if out := in.ok("qwerty\n", "token", "import", "acme", fig7, "--password-stdin", "--dry-run"); !strings.Contains(out, "would import 1 tokens (pskc)") {
		t.Errorf("PBKDF2 with the password from standard input:\n%s", out)
	}
	if code, _, errs := in.run("qwertz\n", "token", "import", "acme", fig7, "--password-stdin"); code == 0 || !strings.Contains(errs, "MAC") {
		t.Errorf("the wrong password: exit %d\n%s", code, errs)
	}
	if code, out, errs := in.run("", "token", "import", "acme", fig6); code == 0 || !strings.Contains(errs, "--psk-file") {
		t.Errorf("without the key: exit %d\n%s\n%s", code, out, errs)
	}
	out := in.ok("", "token", "import", "acme", fig6, "--psk-file", psk, "--dry-run")
	if !strings.Contains(out, "dry run: nothing was changed; would import 1 tokens (pskc) into acme: 0 to users, 1 to the inventory") {
		t.Errorf("dry run:\n%s", out)
	}
	if out := in.ok("", "token", "inventory", "acme"); !strings.Contains(out, "no unassigned tokens") {
		t.Errorf("inventory after a dry run:\n%s", out)
	}
	in.ok("", "token", "import", "acme", fig6, "--psk-file", psk)
	if out := in.ok("", "token", "inventory", "acme"); !strings.Contains(out, "987654321  hotp  8       next 0") {
		t.Errorf("inventory:\n%s", out)
	}
	in.ok("", "keys", "rotate")
	if out := in.ok("", "token", "assign", "acme/alice", "987654321"); !strings.Contains(out, "active") {
		t.Errorf("assign:\n%s", out)
	}
	code, err := exec.Command(oathtool, "--hotp", "-d", "8", "3132333435363738393031323334353637383930").Output()
	if err != nil {
		t.Fatal(err)
	}
	if out := in.ok(string(code), "check", "acme/alice"); strings.TrimSpace(out) != "accept" {
		t.Errorf("check with oathtool's first code: %q", out)
	}

	// An OATH CSV from standard input, given to alice by --assign.
	out = in.ok("S-2,3132333435363738393031323334353637383930,hotp,6,1\n", "token", "import", "acme", "-", "--assign", "S-2=alice")
	if !strings.Contains(out, "imported 1 tokens (oath-csv) into acme: 1 to users") || !strings.Contains(out, "S-2  → acme/alice") {
		t.Errorf("OATH CSV:\n%s", out)
	}
	if code, out, _ := in.run("S-3,zz,hotp\n", "token", "import", "acme", "-"); code == 0 || !strings.Contains(out, "refused line 1 (S-3): the key is not hexadecimal") {
		t.Errorf("a bad row: exit %d\n%s", code, out)
	}
}
