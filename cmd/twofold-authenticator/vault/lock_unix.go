//go:build unix

package vault

import (
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock on the file at path, creating it,
// and returns what releases it. The lock is on a file of its own because
// the store itself is replaced, not rewritten, on every change.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	// Closing the file releases the lock.
	return func() { f.Close() }, nil
}
