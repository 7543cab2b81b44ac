package admin_test

import (
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestCreateProviderAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		root, err := e.svc.CreateProviderAdmin(e.ctx, admin.NewUser{Username: " Root ", Email: "root@provider.example", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := e.store.OrgBySlug(e.ctx, store.ProviderSlug)
		if err != nil {
			t.Fatal(err)
		}
		if root.Username != "root" || root.OrgID != provider.ID || root.Role != store.RoleAdmin || root.Status != store.UserActive {
			t.Errorf("CreateProviderAdmin = %+v; want root, admin, active, in organization %d", root, provider.ID)
		}
		if evs := e.events(t, provider.ID); len(evs) != 2 || evs[0].Action != "admin.create" || evs[0].Target != "root" || evs[0].Actor != "test" {
			t.Errorf("provider events = %+v; want admin.create root after org.create", evs)
		}

		for _, tt := range []struct {
			name string
			n    admin.NewUser
			msg  string
		}{
			{"an admin without an address is refused", admin.NewUser{Username: "bob"}, "needs an email address"},
			{"a second admin of the same name is refused", admin.NewUser{Username: "ROOT", Email: "r@provider.example"}, `admin "root" exists already`},
			{"a name no account can have is refused", admin.NewUser{Username: "a/b", Email: "a@provider.example"}, "without spaces"},
			{"a bad address is refused", admin.NewUser{Username: "bob", Email: "not an address"}, "is not an address"},
			{"a common password is refused", admin.NewUser{Username: "bob", Email: "bob@provider.example", Password: "password123"}, "password"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, provider.ID))
				_, err := e.svc.CreateProviderAdmin(e.ctx, tt.n)
				wantInvalid(t, err, tt.msg)
				e.wantNoEvent(t, provider.ID, before)
			})
		}

		t.Run("users of the provider's organization are added only as admins", func(t *testing.T) {
			_, err := e.svc.AddUser(e.ctx, provider, admin.NewUser{Username: "eve"})
			wantInvalid(t, err, "twofold admin create")
			wantInvalid(t, e.svc.SetRole(e.ctx, provider, "root", store.RoleUser), "no other role")
		})

		t.Run("a provider admin enrolls an authenticator and signs in through the core", func(t *testing.T) {
			en, err := e.svc.EnrollToken(e.ctx, provider, "root", "hotp", "")
			if err != nil {
				t.Fatal(err)
			}
			k, err := otp.ParseURI(en.URI)
			if err != nil {
				t.Fatal(err)
			}
			g, err := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
			if err != nil {
				t.Fatal(err)
			}
			v := e.verifier()
			r := auth.Request{OrgID: provider.ID, Username: "root", Code: g.Code(0), Actor: "test"}
			if out, err := v.Activate(e.ctx, r, en.Token.Serial); err != nil || !out.Accepted {
				t.Fatalf("activate: %+v, %v", out, err)
			}
			r.Code, r.Password, r.CheckPassword = g.Code(1), "correct horse battery", true
			if out, err := v.Verify(e.ctx, r); err != nil || !out.Accepted {
				t.Fatalf("sign-in with password and code: %+v, %v", out, err)
			}
			r.Code, r.Password = g.Code(2), "wrong"
			if out, _ := v.Verify(e.ctx, r); out.Accepted {
				t.Fatalf("a wrong password was accepted")
			}
		})

		if _, err := e.svc.CreateProviderAdmin(e.ctx, admin.NewUser{Username: "ann", Email: "ann@provider.example"}); err != nil {
			t.Fatal(err)
		}
		admins, err := e.svc.ProviderAdmins(e.ctx)
		if err != nil || len(admins) != 2 || admins[0].Username != "ann" || admins[1].Username != "root" {
			t.Fatalf("ProviderAdmins = %+v, %v; want ann and root", admins, err)
		}
		orgs, err := e.svc.Orgs(e.ctx)
		if err != nil || len(orgs) != 1 || orgs[0].Slug != "acme" || orgs[0].Users != 1 {
			t.Fatalf("Orgs = %+v, %v; want acme with 1 user, not the provider's", orgs, err)
		}
	})
}

func TestRenameOrg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		before := len(e.events(t, e.org.ID))
		org, err := e.svc.RenameOrg(e.ctx, "acme", "  Acme Corporation ")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Org(e.ctx, "acme"); org.Name != "Acme Corporation" || got.Name != "Acme Corporation" {
			t.Errorf("renamed to %q, stored %q; want Acme Corporation", org.Name, got.Name)
		}
		e.wantEvent(t, e.org.ID, before, "org.rename", "acme")
		if evs := e.events(t, e.org.ID); evs[0].Detail != "from Acme Corp" {
			t.Errorf("rename detail %q, want the old name", evs[0].Detail)
		}
		if _, err := e.svc.CreateProviderAdmin(e.ctx, admin.NewUser{Username: "root", Email: "root@provider.example"}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, slug, newName, msg string
		}{
			{"an empty name is refused", "acme", "  ", "--name"},
			{"a name with a line break is refused", "acme", "Evil\r\nCorp", "line breaks"},
			{"the name it has is refused", "acme", "Acme Corporation", "already"},
			{"an unknown organization is refused", "nosuch", "New", `no organization "nosuch"`},
			{"the provider's organization is refused", store.ProviderSlug, "New", "service provider's own organization cannot be renamed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				_, err := e.svc.RenameOrg(e.ctx, tt.slug, tt.newName)
				wantInvalid(t, err, tt.msg)
				e.wantNoEvent(t, e.org.ID, before)
			})
		}
	})
}

func TestDisableAndEnableOrg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		tk := e.enroll(t, "alice", "hotp")
		e.activate(t, tk)
		v := e.verifier()
		check := func(t *testing.T, code string) auth.Outcome {
			t.Helper()
			out, err := v.Verify(e.ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Code: code, Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}

		before := len(e.events(t, e.org.ID))
		if err := e.svc.DisableOrg(e.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		e.wantEvent(t, e.org.ID, before, "org.disable", "acme")
		if out := check(t, tk.gen.Code(1)); out != (auth.Outcome{Reason: auth.ErrOrgDisabled}) {
			t.Fatalf("right code in a disabled organization: %+v, want only the reason %v", out, auth.ErrOrgDisabled)
		}
		if orgs, _ := e.svc.Orgs(e.ctx); len(orgs) != 1 || orgs[0].Status != store.OrgDisabled {
			t.Errorf("Orgs = %+v; want acme disabled", orgs)
		}

		for _, tt := range []struct {
			name string
			do   func() error
			msg  string
		}{
			{"disabling twice is refused", func() error { return e.svc.DisableOrg(e.ctx, "acme") }, "acme is disabled already"},
			{"an unknown organization is refused", func() error { return e.svc.DisableOrg(e.ctx, "nosuch") }, `no organization "nosuch"`},
			{"the provider's organization is refused", func() error { return e.svc.DisableOrg(e.ctx, store.ProviderSlug) }, "cannot be disabled"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				wantInvalid(t, tt.do(), tt.msg)
				e.wantNoEvent(t, e.org.ID, before)
			})
		}

		before = len(e.events(t, e.org.ID))
		if err := e.svc.EnableOrg(e.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		e.wantEvent(t, e.org.ID, before, "org.enable", "acme")
		if out := check(t, tk.gen.Code(1)); !out.Accepted {
			t.Fatalf("right code after enable: %+v, want accepted", out)
		}
		wantInvalid(t, e.svc.EnableOrg(e.ctx, "acme"), "acme is active already")
	})
}

func TestSetRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		for _, role := range []string{store.RoleHelpdesk, store.RoleAdmin, store.RoleUser} {
			before := len(e.events(t, e.org.ID))
			if err := e.svc.SetRole(e.ctx, e.org, "ALICE", role); err != nil {
				t.Fatalf("SetRole(%s): %v", role, err)
			}
			if u, _ := e.svc.User(e.ctx, e.org, "alice"); u.Role != role {
				t.Errorf("role after SetRole(%s) = %q", role, u.Role)
			}
			e.wantEvent(t, e.org.ID, before, "user.role", "acme/alice")
		}
		if evs := e.events(t, e.org.ID); evs[0].Detail != "admin -> user" {
			t.Errorf("role change detail %q, want admin -> user", evs[0].Detail)
		}
		for _, tt := range []struct {
			name, user, role, msg string
		}{
			{"the role the user has is refused", "alice", store.RoleUser, "is user already"},
			{"an unknown role is refused", "alice", "root", "role must be user, helpdesk or admin"},
			{"a role in upper case is refused", "alice", "Helpdesk", "role must be user, helpdesk or admin"},
			{"an unknown user is refused", "bob", store.RoleAdmin, `no user "bob"`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := len(e.events(t, e.org.ID))
				wantInvalid(t, e.svc.SetRole(e.ctx, e.org, tt.user, tt.role), tt.msg)
				e.wantNoEvent(t, e.org.ID, before)
			})
		}
		if _, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "hd", Role: store.RoleHelpdesk}); err != nil {
			t.Fatalf("AddUser with role helpdesk: %v", err)
		}
		if u, _ := e.svc.User(e.ctx, e.org, "hd"); u.Role != store.RoleHelpdesk {
			t.Errorf("hd's role = %q, want helpdesk", u.Role)
		}
	})
}
