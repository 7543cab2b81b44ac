package admin_test

import (
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestEnrollPushToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		before := len(e.events(t, e.org.ID))
		_, err := e.svc.EnrollToken(e.ctx, e.org, "alice", "push", "")
		wantInvalid(t, err, "does not allow push")
		e.wantNoEvent(t, e.org.ID, before)

		if _, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"methods": "app,push"}); err != nil {
			t.Fatal(err)
		}
		if e.org, err = e.store.OrgBySlug(e.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		tk := e.enroll(t, "alice", "push")
		en := tk.en
		if !strings.HasPrefix(en.Token.Serial, "PUSH") || en.Token.Type != "push" || en.Token.State != store.TokenAssigned || en.Token.Period != 30 {
			t.Errorf("push token %+v", en.Token)
		}
		// Its offline codes are TOTP, with a secret sealed like any other.
		if tk.key.Type != "totp" || len(tk.key.Secret) != 20 {
			t.Errorf("URI %s: %+v", en.URI, tk.key)
		}
		a, err := push.ParseActivation(en.Activation)
		code, _ := strings.CutPrefix(en.Link, publicURL+"/enroll?code=")
		if err != nil || a.URL != publicURL || a.Code != code {
			t.Errorf("activation %q = %+v, %v; want %s and the link's code %s", en.Activation, a, err, publicURL, code)
		}

		again, err := e.svc.ResendEnrollment(e.ctx, e.org, "alice", en.Token.Serial)
		if err != nil {
			t.Fatal(err)
		}
		resent, err := push.ParseActivation(again.Activation)
		code, _ = strings.CutPrefix(again.Link, publicURL+"/enroll?code=")
		if err != nil || resent.Code != code || resent.Code == a.Code {
			t.Errorf("resent activation %q = %+v, %v; want the new link's code %s", again.Activation, resent, err, code)
		}
		if totp := e.enroll(t, "alice", "totp"); totp.en.Activation != "" {
			t.Errorf("a TOTP token has an activation string %q", totp.en.Activation)
		}
	})
}
