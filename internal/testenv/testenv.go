// Package testenv decides what a test does when an outside part it needs
// (PostgreSQL, oathtool, Chromium, radclient) is missing: a user running
// the tests on a bare machine gets a skip that says what to install, while
// CI, which sets TWOFOLD_REQUIRE_ALL=1, gets a failure.
package testenv

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
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

// Run runs the program bin with args, stdin and the environment plus env
// (NAME=value entries), and returns its exit status and output. Only a
// program that could not be started ends the test.
func Run(t testing.TB, bin string, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errs.String()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return 0, out.String(), errs.String()
}
