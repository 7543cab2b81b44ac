package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestKilledImportChild is the import that TestKillDuringImport kills:
// it runs only as that test's child process.
func TestKilledImportChild(t *testing.T) {
	if os.Getenv("TWOFOLD_TEST_KILL_CHILD") != "1" {
		t.Skip("runs as the child of TestKillDuringImport")
	}
	os.Exit(run(context.Background(), []string{"user", "import", "acme", os.Getenv("TWOFOLD_TEST_CSV")},
		strings.NewReader(""), os.Stdout, os.Stderr, os.Getenv))
}

// TestKillDuringImport kills (SIGKILL) a real twofold process while it
// imports users, once some batches are in, and checks that the database
// holds whole batches: every user with its audit event and search terms,
// a multiple of the batch size, and no user of a batch without the rest.
func TestKillDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process that imports 30,000 users")
	}
	be := storetest.SQLite(t)
	in := newInstallation(t, be)
	in.ok("", "org", "create", "acme")
	csv := filepath.Join(t.TempDir(), "users.csv")
	var b strings.Builder
	b.WriteString("username,email,display name\n")
	const rows = 30000
	for i := range rows {
		fmt.Fprintf(&b, "u%05d,u%05d@acme.example,User %d\n", i, i, i)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestKilledImportChild$")
	child.Env = append(os.Environ(), "TWOFOLD_TEST_KILL_CHILD=1", "TWOFOLD_TEST_CSV="+csv)
	for k, v := range in.env {
		child.Env = append(child.Env, k+"="+v)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	db := be.DB(t)
	count := func(query string) int {
		var n int
		if err := db.QueryRow(query).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for count(`SELECT COUNT(*) FROM users`) < 2000 {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the import wrote nothing within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := child.Wait()
	if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed mid-import: %v (it may have finished first)", err)
	}

	users := count(`SELECT COUNT(*) FROM users`)
	events := count(`SELECT COUNT(*) FROM audit_events WHERE action = 'user.add'`)
	indexed := count(`SELECT COUNT(DISTINCT user_id) FROM user_search_terms`)
	t.Logf("killed with %d of %d users in", users, rows)
	if users <= 0 || users >= rows || users%1000 != 0 {
		t.Errorf("%d users in the database; want whole batches of 1000, fewer than %d", users, rows)
	}
	if events != users || indexed != users {
		t.Errorf("%d users, %d user.add events, %d users indexed for search; want them equal", users, events, indexed)
	}
	// The rest goes in with --skip-bad, which passes over those there.
	out := in.ok("", "user", "import", "acme", csv, "--skip-bad")
	if want := fmt.Sprintf("imported %d users into acme from %d rows", rows-users, rows); !strings.Contains(out, want) {
		t.Errorf("the import again:\n%.300s\nwant %q", out, want)
	}
	if n := count(`SELECT COUNT(*) FROM users`); n != rows {
		t.Errorf("%d users after the second import, want %d", n, rows)
	}
}
