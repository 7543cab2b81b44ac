package main

import (
	"reflect"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// A lock the CLI's check sets is told to the user like one the server
// sets: the notice is in the outbox when the command has returned.
func TestCheckMailsTheLockItSets(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example")
	in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--no-email")
	for i := range 4 {
		if code, _, _ := in.run("000000\n", "check", "acme/alice"); code != 1 {
			t.Fatalf("wrong code %d: exit %d, want 1", i+1, code)
		}
		if got := in.outbox(); len(got) != 0 {
			t.Fatalf("after %d wrong codes the outbox holds %v, want nothing yet", i+1, got)
		}
	}
	if code, _, _ := in.run("000000\n", "check", "acme/alice"); code != 1 {
		t.Fatalf("fifth wrong code: exit %d, want 1", code)
	}
	if got, want := in.outbox(), []string{"<alice@acme.example>"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the fifth wrong code the outbox holds %v, want the lock notice to %v", got, want)
	}
}
