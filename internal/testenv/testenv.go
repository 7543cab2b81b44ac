// Package testenv decides what a test does when an outside part it needs
// (PostgreSQL, oathtool, Chromium, radclient) is missing: a user running
// the tests on a bare machine gets a skip that says what to install, while
// CI, which sets TWOFOLD_REQUIRE_ALL=1, gets a failure.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether missing parts fail tests instead of skipping them.
func Required() bool { return os.Getenv("TWOFOLD_REQUIRE_ALL") == "1" }

// Missing skips the test with why, or fails it under TWOFOLD_REQUIRE_ALL=1.
func Missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (TWOFOLD_REQUIRE_ALL=1 requires it)", why)
	}
	t.Skip(why)
}

// Command returns the path of program, or calls Missing with a hint that
// names the Debian package providing it.
func Command(t testing.TB, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		Missing(t, program+" is not installed (apt-get install "+debianPackage+")")
	}
	return path
}

// PostgresURL returns TWOFOLD_TEST_POSTGRES_URL, or calls Missing.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TWOFOLD_TEST_POSTGRES_URL")
	if u == "" {
		Missing(t, "PostgreSQL tests need TWOFOLD_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test")
	}
	return u
}
