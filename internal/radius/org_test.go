package radius

import (
	"context"
	"testing"

	"layeh.com/radius"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestDisabledOrganizationIsRejected runs the server on the real core and
// store: a right code of a disabled organization's user gets the bare
// Access-Reject every refusal gets.
func TestDisabledOrganizationIsRejected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		st := b.Open(t, clk)
		keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cheap := &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}
		svc := &admin.Service{Store: st, Keys: keys, Hasher: cheap, Clock: clk, Actor: "test"}
		org, err := svc.CreateOrg(ctx, "acme", "Acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddUser(ctx, org, admin.NewUser{Username: "alice"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddRadiusClient(ctx, org, admin.NewRadiusClient{Name: "vpn", Address: gateway.Addr().String(), Secret: testSecret}); err != nil {
			t.Fatal(err)
		}
		en, err := svc.EnrollToken(ctx, org, "alice", "hotp", "")
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
		v := auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap})
		if out, err := v.Activate(ctx, auth.Request{OrgID: org.ID, Username: "alice", Code: g.Code(0)}, en.Token.Serial); err != nil || !out.Accepted {
			t.Fatalf("activate: %+v, %v", out, err)
		}
		s := New(Config{Store: st, Keys: keys, Verifier: v, Clock: clk})

		req := request(t, 1, "alice", g.Code(1), nil, true)
		if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessAccept {
			t.Fatalf("right code: %v, want Access-Accept", p.Code)
		}
		if err := svc.DisableOrg(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		req = request(t, 2, "alice", g.Code(2), nil, true)
		if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessReject || len(p.Attributes) != 1 {
			t.Fatalf("right code in a disabled organization: %v with %d attributes, want a bare Access-Reject", p.Code, len(p.Attributes))
		}
		evs, err := st.Events(ctx, org.ID, 1)
		if err != nil || len(evs) != 1 || evs[0].Result != "org_disabled" {
			t.Fatalf("last audit event %+v, %v; want org_disabled", evs, err)
		}
		if err := svc.EnableOrg(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		req = request(t, 3, "alice", g.Code(2), nil, true)
		if p := reply(t, req, s.Handle(ctx, req, gateway)); p.Code != radius.CodeAccessAccept {
			t.Fatalf("right code after enable: %v, want Access-Accept", p.Code)
		}
	})
}
