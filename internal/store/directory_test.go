package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// directory is an organization of users in every state a list tells apart.
type directory struct {
	s        *store.Store
	acme     store.Org
	other    store.Org
	users    map[string]store.User // acme's, by name
	serialNo int
}

func (d *directory) user(t *testing.T, org store.Org, name, email, display string) store.User {
	t.Helper()
	u, err := d.s.CreateUser(context.Background(), store.User{OrgID: org.ID, Username: name, Email: email, DisplayName: display,
		Role: store.RoleUser, Status: store.UserActive, CreatedAt: t0}, store.Event{OrgID: org.ID, At: t0, Action: "user.add"})
	if err != nil {
		t.Fatal(err)
	}
	if org.ID == d.acme.ID {
		d.users[name] = u
	}
	return u
}

// token gives u a token in state; with expires not zero, it has an
// enrollment pending until then.
func (d *directory) token(t *testing.T, u store.User, state string, expires time.Time) store.Token {
	t.Helper()
	d.serialNo++
	var en *store.Enrollment
	if !expires.IsZero() {
		en = &store.Enrollment{CodeHash: []byte(fmt.Sprintf("code%d", d.serialNo)), Status: store.EnrollmentPending, ExpiresAt: expires, CreatedAt: t0}
	}
	tok, err := d.s.CreateToken(context.Background(), store.Token{OrgID: u.OrgID, UserID: u.ID, Serial: fmt.Sprintf("TOTP%04d", d.serialNo),
		Type: "totp", State: state, Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0},
		func(store.Token) ([]byte, error) { return []byte("sealed"), nil }, en, store.Event{OrgID: u.OrgID, At: t0, Action: "token.enroll"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newDirectory(t *testing.T, b storetest.Backend) *directory {
	t.Helper()
	ctx := context.Background()
	d := &directory{s: b.Open(t, clock.NewFake(t0)), users: map[string]store.User{}}
	var err error
	for _, o := range []*store.Org{&d.acme, &d.other} {
		slug := "acme"
		if o == &d.other {
			slug = "other"
		}
		if *o, err = d.s.CreateOrg(ctx, store.Org{Slug: slug, Name: slug, Policy: []byte(`{}`), CreatedAt: t0}, store.Event{At: t0, Action: "org.create"}); err != nil {
			t.Fatal(err)
		}
	}
	alice := d.user(t, d.acme, "alice", "alice@acme.example", "Alice Archer")
	d.token(t, alice, store.TokenActive, time.Time{})
	d.token(t, alice, store.TokenActive, time.Time{})
	d.user(t, d.acme, "annie", "", "Annie Hall")
	d.user(t, d.acme, "bob", "Bob.Builder@Example.ORG", "Bob 100%_Builder")
	carol := d.user(t, d.acme, "carol", "carol@acme.example", "Carol Ann Duffy")
	d.token(t, carol, store.TokenAssigned, t0.Add(time.Hour))
	dave := d.user(t, d.acme, "dave", "dave@acme.example", "")
	d.token(t, dave, store.TokenAssigned, t0.Add(-time.Hour))
	erin := d.user(t, d.acme, "erin", "erin@acme.example", "Erin Brockovich")
	d.token(t, erin, store.TokenActive, time.Time{})
	for range 5 { // erin locks
		if _, _, err := d.s.ReserveAttempt(ctx, erin.ID, t0, store.Lockout{Threshold: 5, LockFor: 10 * time.Minute, HardLimit: 100}); err != nil {
			t.Fatal(err)
		}
	}
	// The other organization has users of the same names and states.
	for _, name := range []string{"alice", "bob", "carol", "zed"} {
		u := d.user(t, d.other, name, name+"@other.example", "Other "+name)
		if name == "carol" {
			d.token(t, u, store.TokenAssigned, t0.Add(time.Hour))
		}
	}
	return d
}

func names(rows []store.UserRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Username)
	}
	return out
}

func TestSearchUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		ctx := context.Background()
		for _, tt := range []struct {
			name           string
			search, filter string
			want           []string
		}{
			{"everyone, in username order, and no one of the other organization", "", "", []string{"alice", "annie", "bob", "carol", "dave", "erin"}},
			{"a username or email prefix, or a part of the display name", "a", "", []string{"alice", "annie", "carol"}},
			{"a longer username prefix", "ali", "", []string{"alice"}},
			{"an email prefix, whatever the case it was typed in", "bob.b", "", []string{"bob"}},
			{"the middle of an email is no match", "acme.example", "", []string{}},
			{"a part of the display name", "brock", "", []string{"erin"}},
			{"LIKE's wildcards are matched as themselves", "100%_", "", []string{"bob"}},
			{"a % alone matches only a %", "%", "", []string{"bob"}},
			{"no authenticator: no active token", "", store.FilterNoAuthenticator, []string{"annie", "bob", "carol", "dave"}},
			{"invitation pending", "", store.FilterPending, []string{"carol"}},
			{"invitation expired", "", store.FilterExpired, []string{"dave"}},
			{"locked", "", store.FilterLocked, []string{"erin"}},
			{"a search and a filter", "c", store.FilterNoAuthenticator, []string{"carol"}},
			{"nothing matches", "zed", "", []string{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p, err := d.s.SearchUsers(ctx, store.UserQuery{OrgID: d.acme.ID, Search: tt.search, Filter: tt.filter, Limit: 50, Now: t0})
				if err != nil {
					t.Fatal(err)
				}
				if got := names(p.Users); !reflect.DeepEqual(got, tt.want) || p.Next != "" {
					t.Errorf("got %v (next %q), want %v and no next page", got, p.Next, tt.want)
				}
			})
		}
		if _, err := d.s.SearchUsers(ctx, store.UserQuery{OrgID: d.acme.ID, Filter: "nosuch", Limit: 50, Now: t0}); err == nil {
			t.Error("an unknown filter was accepted")
		}
	})
}

func TestSearchUsersByRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		ctx := context.Background()
		for _, name := range []string{"bob", "erin"} {
			if err := d.s.SetUserRole(ctx, d.acme.ID, d.users[name].ID, store.RoleAdmin, store.Event{OrgID: d.acme.ID, At: t0, Action: "user.role"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			name, search, role string
			want               []string
		}{
			{"the admins, and none of the other organization's", "", store.RoleAdmin, []string{"bob", "erin"}},
			{"a role and a search", "eri", store.RoleAdmin, []string{"erin"}},
			{"the users left", "", store.RoleUser, []string{"alice", "annie", "carol", "dave"}},
			{"a role nobody has", "", store.RoleHelpdesk, []string{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p, err := d.s.SearchUsers(ctx, store.UserQuery{OrgID: d.acme.ID, Search: tt.search, Role: tt.role, Limit: 50, Now: t0})
				if err != nil {
					t.Fatal(err)
				}
				if got := names(p.Users); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestSearchUsersRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		p, err := d.s.SearchUsers(context.Background(), store.UserQuery{OrgID: d.acme.ID, Limit: 50, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.UserRow{}
		for _, r := range p.Users {
			got[r.Username] = r
		}
		for _, tt := range []struct {
			name                string
			authenticators      int
			enrollment          string
			expires, lockedTill time.Time
		}{
			{"alice", 2, store.EnrollmentNone, time.Time{}, time.Time{}},
			{"annie", 0, store.EnrollmentNone, time.Time{}, time.Time{}},
			{"carol", 0, store.EnrollmentPending, t0.Add(time.Hour), time.Time{}},
			{"dave", 0, store.EnrollmentExpired, t0.Add(-time.Hour), time.Time{}},
			{"erin", 1, store.EnrollmentNone, time.Time{}, t0.Add(10 * time.Minute)},
		} {
			r := got[tt.name]
			if r.Authenticators != tt.authenticators || r.Enrollment != tt.enrollment || !r.EnrollmentExpires.Equal(tt.expires) || !r.LockedUntil.Equal(tt.lockedTill) {
				t.Errorf("%s: %d authenticators, enrollment %q until %v, locked until %v; want %d, %q until %v, %v", tt.name,
					r.Authenticators, r.Enrollment, r.EnrollmentExpires, r.LockedUntil, tt.authenticators, tt.enrollment, tt.expires, tt.lockedTill)
			}
		}
		if a := got["alice"]; a.Email != "alice@acme.example" || a.DisplayName != "Alice Archer" || a.Status != store.UserActive || a.Role != store.RoleUser {
			t.Errorf("alice's row = %+v", a)
		}
		// The lock has run out ten minutes later.
		p, err = d.s.SearchUsers(context.Background(), store.UserQuery{OrgID: d.acme.ID, Filter: store.FilterLocked, Limit: 50, Now: t0.Add(10 * time.Minute)})
		if err != nil || len(p.Users) != 0 {
			t.Errorf("locked users once the lock ran out: %v, %v; want none", names(p.Users), err)
		}
	})
}

func TestSearchUsersPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		for _, tt := range []struct {
			limit  int
			filter string
			want   [][]string
		}{
			{2, "", [][]string{{"alice", "annie"}, {"bob", "carol"}, {"dave", "erin"}}},
			{4, "", [][]string{{"alice", "annie", "bob", "carol"}, {"dave", "erin"}}},
			{6, "", [][]string{{"alice", "annie", "bob", "carol", "dave", "erin"}}},
			{3, store.FilterNoAuthenticator, [][]string{{"annie", "bob", "carol"}, {"dave"}}},
			{1, store.FilterNoAuthenticator, [][]string{{"annie"}, {"bob"}, {"carol"}, {"dave"}}},
		} {
			t.Run(fmt.Sprintf("%d a page, filter %q", tt.limit, tt.filter), func(t *testing.T) {
				var got [][]string
				after := ""
				for range 10 {
					p, err := d.s.SearchUsers(context.Background(), store.UserQuery{OrgID: d.acme.ID, Filter: tt.filter, After: after, Limit: tt.limit, Now: t0})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, names(p.Users))
					if p.Next == "" {
						break
					}
					after = p.Next
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("pages %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestEnrollmentList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		ctx := context.Background()
		for _, tt := range []struct {
			status string
			want   []string
		}{
			{"", []string{"carol pending", "dave expired"}},
			{store.EnrollmentPending, []string{"carol pending"}},
			{store.EnrollmentExpired, []string{"dave expired"}},
			{store.EnrollmentCompleted, []string{}},
		} {
			rows, err := d.s.Enrollments(ctx, d.acme.ID, tt.status, t0)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range rows {
				got = append(got, r.Username+" "+r.Status)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Enrollments(%q) = %v, want %v", tt.status, got, tt.want)
			}
		}
		// A resend is the last time the link was sent.
		carol := d.users["carol"]
		toks, _ := d.s.Tokens(ctx, d.acme.ID, carol.ID)
		at := t0.Add(30 * time.Minute)
		if err := d.s.RenewEnrollment(ctx, d.acme.ID, toks[0].ID, []byte("newcode"), at.Add(72*time.Hour), store.Event{OrgID: d.acme.ID, At: at, Action: "enrollment.resend"}); err != nil {
			t.Fatal(err)
		}
		rows, err := d.s.UserEnrollments(ctx, d.acme.ID, carol.ID, t0)
		if err != nil || len(rows) != 1 || !rows[0].LastSentAt.Equal(at) || !rows[0].CreatedAt.Equal(t0) || rows[0].Serial != toks[0].Serial {
			t.Errorf("carol's enrollments after a resend: %+v, %v; want one, last sent at %v", rows, err, at)
		}
		if rows, err := d.s.UserEnrollments(ctx, d.other.ID, carol.ID, t0); err != nil || len(rows) != 0 {
			t.Errorf("carol's enrollments asked for in the other organization: %+v, %v; want none", rows, err)
		}
		un, err := d.s.UnenrolledUsers(ctx, d.acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range un {
			got = append(got, u.Username)
		}
		if want := []string{"annie", "bob", "carol", "dave"}; !reflect.DeepEqual(got, want) {
			t.Errorf("UnenrolledUsers = %v, want %v", got, want)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		d := newDirectory(t, b)
		ctx := context.Background()
		carol := d.users["carol"]
		toks, _ := d.s.Tokens(ctx, d.acme.ID, carol.ID)
		// Carol also has a resent link, an active token, a challenge, a session and backup codes.
		if err := d.s.RenewEnrollment(ctx, d.acme.ID, toks[0].ID, []byte("newcode"), t0.Add(time.Hour), store.Event{OrgID: d.acme.ID, At: t0, Action: "enrollment.resend"}); err != nil {
			t.Fatal(err)
		}
		active := d.token(t, carol, store.TokenActive, time.Time{})
		if _, err := d.s.CreateChallenge(ctx, store.Challenge{OrgID: d.acme.ID, UserID: carol.ID, TokenID: active.ID, TxIDHash: []byte("tx"),
			Kind: store.ChallengeEmail, CodeMAC: []byte("mac"), Status: store.ChallengePending, ExpiresAt: t0.Add(time.Minute), CreatedAt: t0},
			store.SendLimit{Every: time.Second, Max: 5, Window: time.Minute}, store.Event{OrgID: d.acme.ID, At: t0, Action: "challenge"}); err != nil {
			t.Fatal(err)
		}
		if err := d.s.CreateSession(ctx, store.Session{IDHash: []byte("session"), OrgID: d.acme.ID, UserID: carol.ID, Stage: "full",
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, store.Event{}); err != nil {
			t.Fatal(err)
		}
		if err := d.s.ReplaceBackupCodes(ctx, d.acme.ID, carol.ID, [][]byte{[]byte("b1"), []byte("b2")}, t0, store.Event{OrgID: d.acme.ID, At: t0, Action: "backup"}); err != nil {
			t.Fatal(err)
		}
		f, err := d.s.UserFootprint(ctx, d.acme.ID, carol.ID)
		if want := (store.Footprint{Tokens: 2, Enrollments: 1, Challenges: 1, Sessions: 1, BackupCodes: 2}); err != nil || f != want {
			t.Fatalf("footprint = %+v, %v; want %+v", f, err, want)
		}

		// Not from another organization.
		if err := d.s.DeleteUser(ctx, d.other.ID, carol.ID, store.Event{OrgID: d.other.ID, At: t0, Action: "user.delete"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete carol through the other organization: %v, want ErrNotFound", err)
		}
		before, _ := d.s.Events(ctx, d.acme.ID, 1000)
		if err := d.s.DeleteUser(ctx, d.acme.ID, carol.ID, store.Event{OrgID: d.acme.ID, At: t0, Actor: "test", Action: "user.delete", Target: "acme/carol", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.s.UserByID(ctx, d.acme.ID, carol.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("carol after delete: %v, want ErrNotFound", err)
		}
		if _, err := d.s.UserFootprint(ctx, d.acme.ID, carol.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("carol's footprint after delete: %v, want ErrNotFound", err)
		}
		if _, err := d.s.EnrollmentByCodeHash(ctx, []byte("code3")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("carol's replaced link after delete: %v, want ErrNotFound", err)
		}
		after, _ := d.s.Events(ctx, d.acme.ID, 1000)
		if len(after) != len(before)+1 || after[0].Action != "user.delete" || after[0].Target != "acme/carol" {
			t.Errorf("audit after delete: %+v, want one user.delete event", after[0])
		}
		// The other organization's carol and her invitation stay.
		p, err := d.s.SearchUsers(ctx, store.UserQuery{OrgID: d.other.ID, Search: "carol", Limit: 10, Now: t0})
		if err != nil || len(p.Users) != 1 || p.Users[0].Enrollment != store.EnrollmentPending {
			t.Errorf("other/carol after acme/carol's delete: %+v, %v", p.Users, err)
		}
		if err := d.s.DeleteUser(ctx, d.acme.ID, carol.ID, store.Event{OrgID: d.acme.ID, At: t0, Action: "user.delete"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
	})
}
