//go:build unix

package testenv

import (
	"syscall"
	"testing"
)

// Umask sets the process's file mode creation mask to mask until the test
// ends, for tests of the modes files are created with. The mask belongs to
// the whole process, so such a test must not run in parallel with others.
func Umask(t testing.TB, mask int) {
	t.Helper()
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}
