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
