package admin_test

import (
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	tfmail "github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func (e *env) activateFor(t *testing.T, username string, tk token) {
	t.Helper()
	out, err := e.verifier().Activate(e.ctx, auth.Request{OrgID: e.org.ID, Username: username, Code: tk.gen.Code(0), Actor: "test"}, tk.en.Token.Serial)
	if err != nil || !out.Accepted {
		t.Fatalf("activate %s of %s: %+v, %v", tk.en.Token.Serial, username, out, err)
	}
}

func usernames(rows []store.UserRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Username)
	}
	return out
}

func (e *env) addUser(t *testing.T, name, email, display string) {
	t.Helper()
	if _, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: name, Email: email, DisplayName: display}); err != nil {
		t.Fatal(err)
	}
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		e.addUser(t, "Bob", "bob@acme.example", "Bob Builder")
		e.addUser(t, "carol", "", "Carol Ann")
		e.enroll(t, "bob", "totp")
		if err := e.svc.SetRole(e.ctx, e.org, "carol", store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			q    admin.UserQuery
			want []string
			next string
		}{
			{"the search is not case-sensitive", admin.UserQuery{Search: " BUILD "}, []string{"bob"}, ""},
			{"pages of one", admin.UserQuery{Limit: 1}, []string{"alice"}, "alice"},
			{"the After is a username as typed", admin.UserQuery{Limit: 1, After: "ALICE"}, []string{"bob"}, "bob"},
			{"a filter", admin.UserQuery{Filter: "pending"}, []string{"bob"}, ""},
			{"a role", admin.UserQuery{Role: store.RoleAdmin}, []string{"carol"}, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.svc.Users(e.ctx, e.org, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if got := usernames(p.Users); !reflect.DeepEqual(got, tt.want) || p.Next != tt.next {
					t.Errorf("Users(%+v) = %v next %q, want %v next %q", tt.q, got, p.Next, tt.want, tt.next)
				}
			})
		}
		for _, tt := range []struct {
			name string
			q    admin.UserQuery
			msg  string
		}{
			{"an unknown filter", admin.UserQuery{Filter: "asleep"}, "filter must be one of no-authenticator, pending, expired, locked"},
			{"an unknown role", admin.UserQuery{Role: "root"}, "role must be user, helpdesk or admin"},
			{"a page too long", admin.UserQuery{Limit: 501}, "a page holds 1 to 500 users"},
			{"a negative page", admin.UserQuery{Limit: -1}, "a page holds 1 to 500 users"},
			{"a control character", admin.UserQuery{Search: "a\nb"}, "a search may not contain line breaks"},
			{"a search too long", admin.UserQuery{Search: strings.Repeat("a", 129)}, "a search may be at most 128 characters"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.Users(e.ctx, e.org, tt.q)
				wantInvalid(t, err, tt.msg)
			})
		}
	})
}

func TestUserDetailAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		tok := e.enroll(t, "alice", "totp")
		if _, err := e.svc.GenerateBackupCodes(e.ctx, e.org, "alice"); err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.UserDetail(e.ctx, e.org, "Alice")
		if err != nil {
			t.Fatal(err)
		}
		if d.User.Username != "alice" || len(d.Tokens) != 1 || d.Tokens[0].Serial != tok.en.Token.Serial ||
			len(d.Enrollments) != 1 || d.Enrollments[0].Status != store.EnrollmentPending || d.BackupCodesLeft != 10 || d.Locked {
			t.Fatalf("UserDetail = %+v", d)
		}
		// Past the link's expiry, the enrollment shows expired.
		e.clock.Advance(73 * time.Hour)
		if d, err = e.svc.UserDetail(e.ctx, e.org, "alice"); err != nil || d.Enrollments[0].Status != store.EnrollmentExpired {
			t.Fatalf("enrollment after its expiry: %+v, %v; want expired", d.Enrollments, err)
		}
		ens, err := e.svc.Enrollments(e.ctx, e.org, "expired")
		if err != nil || len(ens) != 1 || ens[0].Username != "alice" {
			t.Fatalf("Enrollments(expired) = %+v, %v", ens, err)
		}
		_, err = e.svc.Enrollments(e.ctx, e.org, "lost")
		wantInvalid(t, err, "status must be one of pending, completed, expired, cancelled")

		_, err = e.svc.DeleteUser(e.ctx, e.org, "nobody")
		wantInvalid(t, err, `no user "nobody"`)
		before := len(e.events(t, e.org.ID))
		f, err := e.svc.DeleteUser(e.ctx, e.org, "ALICE")
		if want := (store.Footprint{Tokens: 1, Enrollments: 1, BackupCodes: 10}); err != nil || f != want {
			t.Fatalf("DeleteUser = %+v, %v; want %+v", f, err, want)
		}
		evs := e.events(t, e.org.ID)
		if len(evs) != before+1 || evs[0].Action != "user.delete" || evs[0].Target != "acme/alice" || evs[0].Detail != admin.DescribeFootprint(f) {
			t.Fatalf("audit after delete: %+v", evs[0])
		}
		_, err = e.svc.UserDetail(e.ctx, e.org, "alice")
		wantInvalid(t, err, `no user "alice"`)
	})
}

// failingInviter refuses to mail one address.
type failingInviter struct {
	admin.Inviter
	refuse string
}

func (f failingInviter) Invite(ctx context.Context, org store.Org, u store.User, typ, link string, expires time.Time) error {
	if u.Email == f.refuse {
		return errors.New("mailbox full")
	}
	return f.Inviter.Invite(ctx, org, u, typ, link, expires)
}

func entryNames(es []admin.RolloutEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Username)
	}
	return out
}

func TestRollout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b) // alice has no address
		for _, name := range []string{"bob", "carol", "dave", "erin", "frank", "gina"} {
			e.addUser(t, name, name+"@acme.example", "")
		}
		bob := e.enroll(t, "bob", "hotp")
		e.activateFor(t, "bob", bob)
		e.enroll(t, "carol", "totp") // invited now: waiting
		dave := e.enroll(t, "dave", "hotp")
		e.activateFor(t, "dave", dave)
		if err := e.svc.ChangeToken(e.ctx, e.org, "dave", dave.en.Token.Serial, "suspend"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DisableUser(e.ctx, e.org, "gina"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Hour)
		e.enroll(t, "erin", "totp")     // invited two hours after carol
		e.clock.Advance(71 * time.Hour) // carol's link: 73h old and expired; erin's: 71h

		dir := t.TempDir()
		render, err := compose.NewRenderer()
		if err != nil {
			t.Fatal(err)
		}
		sender, err := tfmail.New("", dir, "Twofold <twofold@mfa.example>")
		if err != nil {
			t.Fatal(err)
		}
		mailer := &compose.Mailer{Render: render, Sender: sender, PublicURL: publicURL}

		report := func(r admin.RolloutReport) map[string][]string {
			return map[string][]string{
				"invited": entryNames(r.Invited), "reminded": entryNames(r.Reminded), "waiting": entryNames(r.Waiting),
				"no email": entryNames(r.NoEmail), "suspended": entryNames(r.Suspended), "failed": entryNames(r.Failed),
			}
		}
		want := map[string][]string{
			"invited": {"frank"}, "reminded": {"carol"}, "waiting": {"erin"},
			"no email": {"alice"}, "suspended": {"dave"}, "failed": {},
		}
		before := len(e.events(t, e.org.ID))
		dry, err := e.svc.Rollout(e.ctx, e.org, mailer, admin.RolloutOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := report(dry); !reflect.DeepEqual(got, want) {
			t.Fatalf("dry run reports %v, want %v", got, want)
		}
		e.wantNoEvent(t, e.org.ID, before)
		if mails, _ := filepath.Glob(filepath.Join(dir, "*.eml")); len(mails) != 0 {
			t.Fatalf("a dry run sent %d mails", len(mails))
		}

		var progress []int
		r, err := e.svc.Rollout(e.ctx, e.org, mailer, admin.RolloutOptions{Progress: func(done, total int) { progress = append(progress, done, total) }})
		if err != nil {
			t.Fatal(err)
		}
		if got := report(r); !reflect.DeepEqual(got, want) {
			t.Fatalf("rollout reports %v, want %v", got, want)
		}
		if !reflect.DeepEqual(progress, []int{1, 2, 2, 2}) {
			t.Errorf("progress %v, want 1 of 2, 2 of 2", progress)
		}
		// One mail each to frank and carol, whose link opens their own enrollment.
		mails, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		var to []string
		for _, path := range mails {
			raw, _ := os.ReadFile(path)
			msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			addr := msg.Header.Get("To")
			to = append(to, addr)
			body := strings.ReplaceAll(string(raw), "=\r\n", "")
			m := regexp.MustCompile(`/enroll\?code=3D([a-z2-7]+)`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("mail to %s holds no enrollment link", addr)
			}
			v, err := e.store.EnrollmentByCodeHash(e.ctx, secret.HashToken(m[1]))
			if err != nil || v.Replaced || v.User.Email != strings.Trim(addr, "<>") || v.Enrollment.Status != store.EnrollmentPending || !v.Enrollment.ExpiresAt.After(e.clock.Now()) {
				t.Errorf("the link mailed to %s: %+v, %v; want the addressee's live enrollment", addr, v.Enrollment, err)
			}
		}
		sort.Strings(to)
		if want := []string{"<carol@acme.example>", "<frank@acme.example>"}; !reflect.DeepEqual(to, want) {
			t.Errorf("mails to %v, want %v", to, want)
		}
		if evs := e.events(t, e.org.ID); evs[0].Action != "enrollment.rollout" ||
			evs[0].Detail != "type totp: invited 1, reminded 1, waiting 1, no email 1, suspended 1, failed 0" {
			t.Errorf("last event %+v, want the rollout's summary", evs[0])
		}

		// Run again at once: nobody is due; three hours on, erin is, and her mail fails.
		again, err := e.svc.Rollout(e.ctx, e.org, mailer, admin.RolloutOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := report(again); !reflect.DeepEqual(got["waiting"], []string{"carol", "erin", "frank"}) || len(got["invited"])+len(got["reminded"]) != 0 {
			t.Errorf("a second run at once reports %v, want carol, erin and frank waiting", got)
		}
		e.clock.Advance(3 * time.Hour)
		r, err = e.svc.Rollout(e.ctx, e.org, failingInviter{mailer, "erin@acme.example"}, admin.RolloutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNames(r.Failed); !reflect.DeepEqual(got, []string{"erin"}) || !strings.Contains(r.Failed[0].Err, "mailbox full") ||
			!strings.Contains(r.Failed[0].Err, "twofold token resend acme/erin") || len(r.Reminded) != 0 {
			t.Errorf("a failed mail: reminded %v, failed %+v; want erin failed with the reason and the retry", entryNames(r.Reminded), r.Failed)
		}

		for _, tt := range []struct {
			opt admin.RolloutOptions
			msg string
		}{
			{admin.RolloutOptions{Type: "hotp"}, "a rollout assigns totp or email tokens"},
			{admin.RolloutOptions{RemindAfter: time.Second}, "remind after must be at least a minute"},
		} {
			_, err := e.svc.Rollout(e.ctx, e.org, mailer, tt.opt)
			wantInvalid(t, err, tt.msg)
		}
	})
}
