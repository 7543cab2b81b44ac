package importer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/importer"
	tfmail "github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// withOrg is an env with organization acme and its user alice.
func withOrg(t *testing.T, b storetest.Backend) (*env, store.Org) {
	t.Helper()
	e := newEnv(t, b)
	org, err := e.svc.CreateOrg(e.ctx, "acme", "Acme Corp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddUser(e.ctx, org, admin.NewUser{Username: "alice", Email: "alice@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return e, org
}

func (e *env) usernames(t *testing.T, org store.Org) []string {
	t.Helper()
	p, err := e.svc.Users(e.ctx, org, admin.UserQuery{Limit: admin.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range p.Users {
		out = append(out, u.Username)
	}
	return out
}

func lines(errs []importer.RowError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

func TestImportUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e, org := withOrg(t, b)
		good := "\ufeffUsername;E-mail;Display Name;Language;Role\r\n" +
			"Bob;bob@acme.example;Bob Bakker;nl;\r\n" +
			"carol;;\"Carol \"\"CJ\"\" Jansen\";de;helpdesk\r\n" +
			"ＤＡＶＥ;dave@acme.example;Dave;;admin\r\n"
		bad := "username,email,role\n" +
			"erin,erin@acme.example,user\n" +
			"alice,alice2@acme.example,user\n" + // exists
			"frank,not an address,user\n" +
			"Erin,erin2@acme.example,user\n" + // twice, as erin
			"gina,gina@acme.example,boss\n" +
			"ha/rry,,user\n" +
			"ivy,ivy@acme.example\n" + // a field short
			"jan,jan@acme.example,user\n"

		// A dry run checks and changes nothing.
		rep, err := e.im.ImportUsers(e.ctx, org, strings.NewReader(good), importer.UserOptions{DryRun: true})
		if err != nil || rep.Rows != 3 || len(rep.Users) != 3 || rep.Added != 0 {
			t.Fatalf("dry run: %+v, %v", rep, err)
		}
		if got := e.usernames(t, org); len(got) != 1 {
			t.Fatalf("after a dry run the users are %v", got)
		}

		// Rows with errors: each is named by its line, and nothing is written.
		rep, err = e.im.ImportUsers(e.ctx, org, strings.NewReader(bad), importer.UserOptions{})
		if !errors.Is(err, importer.ErrRows) {
			t.Fatalf("bad rows: err = %v, want ErrRows", err)
		}
		want := []string{
			"line 3 (alice): user alice exists already in acme",
			`line 4 (frank): email "not an address" is not an address`,
			"line 5 (Erin): username erin is on line 2 already",
			"line 6 (gina): role",
			`line 7 (ha/rry): username "ha/rry" must be`,
			"line 8: 2 fields where the header row has 3",
		}
		got := lines(rep.Errors)
		if len(rep.Errors) != len(want) {
			t.Errorf("errors:\n%s\nwant %d", got, len(want))
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("errors:\n%s\nwant one saying %q", got, w)
			}
		}
		if got := e.usernames(t, org); len(got) != 1 {
			t.Fatalf("after a refused import the users are %v", got)
		}

		// --skip-bad writes the good rows and reports the others.
		rep, err = e.im.ImportUsers(e.ctx, org, strings.NewReader(bad), importer.UserOptions{SkipBad: true})
		if err != nil || rep.Added != 2 || len(rep.Errors) != 6 {
			t.Fatalf("skip bad: %+v, %v; want erin and jan added", rep, err)
		}

		rep, err = e.im.ImportUsers(e.ctx, org, strings.NewReader(good), importer.UserOptions{})
		if err != nil || rep.Added != 3 {
			t.Fatalf("import: %+v, %v", rep, err)
		}
		if got := strings.Join(e.usernames(t, org), " "); got != "alice bob carol dave erin jan" {
			t.Errorf("users = %s", got)
		}
		carol, err := e.svc.User(e.ctx, org, "carol")
		if err != nil || carol.DisplayName != `Carol "CJ" Jansen` || carol.Language != "de" || carol.Role != store.RoleHelpdesk || carol.PasswordHash != "" {
			t.Errorf("carol = %+v, %v", carol, err)
		}
		evs, _ := e.store.Events(e.ctx, org.ID, 100)
		count := map[string]int{}
		for _, ev := range evs {
			count[ev.Action]++
		}
		// alice was added one by one; each import sums itself up.
		if count["user.add"] != 6 || count["user.import"] != 2 {
			t.Errorf("events by action = %v; want a user.add per user and a user.import per import", count)
		}

		// The export has the same columns plus the enrollment state, and
		// imports again into another organization as it is.
		var out bytes.Buffer
		if err := e.im.ExportUsers(e.ctx, org, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "username,email,display name,language,role,status,authenticators,enrollment,enrollment expires\n"+
			"alice,alice@acme.example,,,user,active,0,,\n") || !strings.Contains(out.String(), "\ncarol,,\"Carol \"\"CJ\"\" Jansen\",de,helpdesk,active,0,,\n") {
			t.Errorf("export:\n%s", out.String())
		}
		other, err := e.svc.CreateOrg(e.ctx, "other", "")
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := e.im.ImportUsers(e.ctx, other, &out, importer.UserOptions{}); err != nil || rep.Added != 6 {
			t.Errorf("import of the export: %+v, %v", rep, err)
		}
	})
}

func TestImportUsersRefusesAFileAsAWhole(t *testing.T) {
	e, org := withOrg(t, storetest.SQLite(t))
	for _, c := range []struct {
		name, file, says string
	}{
		{"an empty file", "", "empty"},
		{"no username column", "email,role\nbob@acme.example,user\n", `no column "username"`},
		{"an unknown column", "username,phone\nbob,123\n", `column "phone" that is not known`},
		{"a column twice", "username,user\nbob,bob\n", "twice"},
		{"Windows-1252", "username,display name\nbob,Bob\nzoe,Zo\xeb\n", "line 3 is not UTF-8"},
		{"UTF-16", "\xff\xfeu\x00s\x00", "UTF-16"},
		{"a NUL byte", "username\nbo\x00b\n", "NUL"},
		{"a stray quote", "username,display name\nbob,Bob \"the\" Builder\n", "nothing was imported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.im.ImportUsers(e.ctx, org, strings.NewReader(c.file), importer.UserOptions{SkipBad: true})
			if !errors.Is(err, importer.ErrFile) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v; want ErrFile saying %q", err, c.says)
			}
		})
	}
	if got := e.usernames(t, org); len(got) != 1 {
		t.Errorf("users = %v; want alice alone", got)
	}
}

func TestImportUsersInvitesThem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e, org := withOrg(t, b)
		dir := t.TempDir()
		render, err := compose.NewRenderer()
		if err != nil {
			t.Fatal(err)
		}
		sender, err := tfmail.New("", dir, "Twofold <twofold@mfa.example>")
		if err != nil {
			t.Fatal(err)
		}
		mailer := &compose.Mailer{Render: render, Sender: sender, PublicURL: "https://mfa.example"}
		// alice, there before and without an authenticator, is no part of it.
		file := "username,email\nbob,bob@acme.example\ncarol,\n"
		rep, err := e.im.ImportUsers(e.ctx, org, strings.NewReader(file), importer.UserOptions{Invite: mailer})
		if err != nil || rep.Rollout == nil {
			t.Fatalf("import: %+v, %v", rep, err)
		}
		if len(rep.Rollout.Invited) != 1 || rep.Rollout.Invited[0].Username != "bob" || len(rep.Rollout.NoEmail) != 1 {
			t.Errorf("rollout = %+v; want bob invited and carol without an address", rep.Rollout)
		}
		mails, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(mails) != 1 {
			t.Fatalf("%d mails, want 1", len(mails))
		}
		raw, _ := os.ReadFile(mails[0])
		if !bytes.Contains(raw, []byte("To: <bob@acme.example>")) || !bytes.Contains(raw, []byte("https://mfa.example/enroll?code=")) {
			t.Errorf("mail:\n%s", raw)
		}
	})
}
