//go:build unix

package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o077} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			testenv.Umask(t, umask)
			dir := t.TempDir()
			// The data directory exists already and others may list it.
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "twofold.db")
			s, err := store.Open(context.Background(), "sqlite", path, clock.NewFake(t0))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// A write makes sure the -wal and -shm files exist.
			if _, err := s.CreateOrg(context.Background(), store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0},
				store.Event{At: t0, Actor: "test", Action: "org.create", Target: "acme", Result: "ok"}); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{path, path + "-wal", path + "-shm"} {
				st, err := os.Stat(name)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := st.Mode().Perm(); got != 0o600 {
					t.Errorf("%s has mode %04o, want 0600", filepath.Base(name), got)
				}
			}
		})
	}
}

func TestSQLiteOpenLeavesAnExistingFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twofold.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), "sqlite", path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Changing an operator's choice is for the operator: serve warns.
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("after Open the existing database has mode %v (%v), want 0640 as it was", st.Mode().Perm(), err)
	}
}
