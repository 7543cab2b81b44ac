package main

import (
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// outbox returns the recipients of the mails in the installation's outbox.
func (in *installation) outbox() []string {
	in.t.Helper()
	paths, _ := filepath.Glob(filepath.Join(in.env["TWOFOLD_DATA_DIR"], "outbox", "*.eml"))
	to := []string{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			in.t.Fatal(err)
		}
		msg, err := mail.ReadMessage(f)
		f.Close()
		if err != nil {
			in.t.Fatalf("%s: %v", p, err)
		}
		to = append(to, msg.Header.Get("To"))
	}
	sort.Strings(to)
	return to
}

func TestUserDirectoryCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "org", "create", "other")
		in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example", "--display-name", "Alice Archer")
		in.ok("", "user", "add", "acme/bob")
		in.ok("", "user", "add", "acme/carol", "--email", "carol@acme.example", "--display-name", "Carol Ann")
		in.ok("", "user", "add", "other/dave")
		out := in.ok("", "token", "enroll", "acme/alice", "--no-email")
		serial := regexp.MustCompile(`token (\S+) to`).FindStringSubmatch(out)[1]
		in.ok("", "user", "backup-codes", "acme/alice")

		for _, tt := range []struct {
			name    string
			args    []string
			want    []string // in this order
			wantNot []string
		}{
			{"a list of everyone", []string{"user", "list", "acme"},
				[]string{"USERNAME", "INVITATION", "alice", "Alice Archer", "alice@acme.example", "active", "user", "0", "pending", "bob", "carol"},
				[]string{"dave", "more users"}},
			{"a page of one says the --after of the next", []string{"user", "list", "acme", "--limit", "1"},
				[]string{"alice", "more users: add --after alice for the next page"}, []string{"bob"}},
			{"the next page", []string{"user", "list", "acme", "--limit", "1", "--after", "alice"},
				[]string{"bob", "--after bob"}, []string{"alice", "carol"}},
			{"a search", []string{"user", "list", "acme", "--search", "ANN"}, []string{"carol"}, []string{"alice", "bob"}},
			{"a filter", []string{"user", "list", "acme", "--filter", "pending"}, []string{"alice"}, []string{"bob", "carol"}},
			{"nobody matches", []string{"user", "list", "acme", "--search", "zzz"}, []string{"no users in acme match"}, nil},
			{"a user's account, tokens, enrollments and backup codes", []string{"user", "show", "acme/ALICE"},
				[]string{"user:", "acme/alice", "display name:", "Alice Archer", "email:", "alice@acme.example", "status:", "active",
					"role:", "user", "language:", "lock:", "not locked", "failures in a row:", "0", "backup codes left:", "10",
					"tokens:", "SERIAL", "LAST USED", serial, "totp", "assigned",
					"enrollments:", "STATUS", "EXPIRES", serial, "pending"}, nil},
			{"a user without tokens", []string{"user", "show", "acme/bob"},
				[]string{"email:", "-", "tokens: none (twofold token enroll acme/bob)", "enrollments: none"}, nil},
			{"enrollments", []string{"enrollment", "list", "acme"}, []string{"USERNAME", "SERIAL", "CREATED", "EXPIRES", "alice", serial, "totp", "pending"}, nil},
			{"enrollments of one status", []string{"enrollment", "list", "acme", "--status", "completed"}, []string{"no completed enrollments in acme"}, []string{serial}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				out := in.ok("", tt.args...)
				rest := out
				for _, w := range tt.want {
					i := strings.Index(rest, w)
					if i < 0 {
						t.Fatalf("twofold %s lacks %q after the earlier parts:\n%s", strings.Join(tt.args, " "), w, out)
					}
					rest = rest[i+len(w):]
				}
				for _, w := range tt.wantNot {
					if strings.Contains(out, w) {
						t.Errorf("twofold %s shows %q:\n%s", strings.Join(tt.args, " "), w, out)
					}
				}
			})
		}

		// Deleting asks for --yes and says what it would delete.
		code, out, errs := in.run("", "user", "delete", "acme/alice")
		if code != 1 || out != "" || !strings.Contains(errs, "deleting acme/alice deletes for good 1 tokens, 1 enrollments, 0 challenges, 0 sessions, 10 backup codes") ||
			!strings.Contains(errs, "run again with --yes") {
			t.Fatalf("delete without --yes: exit %d, stdout %q, stderr %q; want 1 and what would be deleted", code, out, errs)
		}
		in.ok("", "user", "show", "acme/alice")
		if out := in.ok("", "user", "delete", "acme/alice", "--yes"); out != "deleted acme/alice with 1 tokens, 1 enrollments, 0 challenges, 0 sessions, 10 backup codes\n" {
			t.Fatalf("delete printed %q", out)
		}
		if out := in.ok("", "enrollment", "list", "acme"); out != "no enrollments in acme\n" {
			t.Errorf("alice's enrollment is listed after her delete:\n%s", out)
		}

		// Bad input gets a clear error and exit 1.
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"user", "list", "acme", "--filter", "asleep"}, "filter must be one of no-authenticator, pending, expired, locked"},
			{[]string{"user", "list", "acme", "--limit", "0"}, "a page holds 1 to 500 users"},
			{[]string{"user", "list", "nosuch"}, `no organization "nosuch"`},
			{[]string{"user", "list"}, "accepts 1 arg"},
			{[]string{"user", "show", "acme/alice"}, `no user "alice" in organization "acme"`},
			{[]string{"user", "show", "other/carol"}, `no user "carol" in organization "other"`},
			{[]string{"user", "delete", "other/bob", "--yes"}, `no user "bob" in organization "other"`},
			{[]string{"user", "delete", "acme"}, "should be ORG/USER"},
			{[]string{"enrollment", "list", "acme", "--status", "lost"}, "status must be one of pending, completed, expired, cancelled"},
			{[]string{"rollout", "acme", "--type", "hotp"}, "a rollout assigns totp or email tokens"},
			{[]string{"rollout", "acme", "--remind-after", "1s"}, "remind after must be at least a minute"},
		} {
			if code, _, errs := in.run("", tt.args...); code != 1 || !strings.HasPrefix(errs, "twofold: ") || !strings.Contains(errs, tt.want) {
				t.Errorf("twofold %s: exit %d, stderr %q; want 1 and %q", strings.Join(tt.args, " "), code, errs, tt.want)
			}
		}
		for _, args := range [][]string{
			{"user", "list", "--help"}, {"user", "show", "--help"}, {"user", "delete", "--help"},
			{"enrollment", "list", "--help"}, {"rollout", "--help"},
		} {
			if out := in.ok("", args...); !strings.Contains(out, "Usage:") || !strings.Contains(out, "twofold "+args[0]) {
				t.Errorf("twofold %s: %s", strings.Join(args, " "), out)
			}
		}
	})
}

func TestRolloutCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example")
		in.ok("", "user", "add", "acme/bob")
		in.ok("", "user", "add", "acme/carol", "--email", "carol@acme.example")
		in.ok("", "user", "add", "acme/dave", "--email", "dave@acme.example")
		in.ok("", "token", "enroll", "acme/carol") // mailed: carol waits
		in.ok("", "user", "disable", "acme/dave")

		dry := in.ok("", "rollout", "acme", "--dry-run")
		for _, w := range []string{"dry run: nothing was changed or sent", "to invite: 1", "alice", "to remind: 0",
			"still outstanding: 2", "bob", "no email address", "carol", "waiting: invited"} {
			if !strings.Contains(dry, w) {
				t.Fatalf("dry run lacks %q:\n%s", w, dry)
			}
		}
		if strings.Contains(dry, "dave") {
			t.Errorf("dry run names the disabled dave:\n%s", dry)
		}
		if got, want := in.outbox(), []string{"<carol@acme.example>"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("after the dry run the outbox holds mails to %v, want only carol's invitation %v", got, want)
		}

		code, out, errs := in.run("", "rollout", "acme")
		if code != 0 || !strings.Contains(out, "invited: 1") || !regexp.MustCompile(`alice\s+alice@acme.example\s+TOTP\S+, link valid until`).MatchString(out) ||
			!strings.Contains(out, "reminded: 0") || !strings.Contains(out, "still outstanding: 2") || !strings.Contains(errs, "rollout: 1 of 1 invitations sent") {
			t.Fatalf("rollout: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
		if got, want := in.outbox(), []string{"<alice@acme.example>", "<carol@acme.example>"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("outbox holds mails to %v, want %v", got, want)
		}
		if list := in.ok("", "user", "list", "acme", "--filter", "pending"); !strings.Contains(list, "alice") || !strings.Contains(list, "carol") {
			t.Errorf("alice and carol are not both pending after the rollout:\n%s", list)
		}
		// A second run at once invites nobody again.
		if out := in.ok("", "rollout", "acme"); !strings.Contains(out, "invited: 0") || !strings.Contains(out, "still outstanding: 3") {
			t.Errorf("second rollout:\n%s", out)
		}
		if got := in.outbox(); len(got) != 2 {
			t.Errorf("a second rollout sent mail: %v", got)
		}
	})
}
