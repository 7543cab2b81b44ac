package importer_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// rfcSecret is the secret of the RFC 4226 and RFC 6030 examples.
const rfcSecret = "12345678901234567890"

func (e *env) accepts(t *testing.T, org store.Org, user, code string) bool {
	t.Helper()
	out, err := e.verifier().Verify(e.ctx, auth.Request{OrgID: org.ID, Username: user, Code: code, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return out.Accepted
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestImportTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e, org := withOrg(t, b)
		for _, n := range []string{"bob", "carol"} {
			if _, err := e.svc.AddUser(e.ctx, org, admin.NewUser{Username: n}); err != nil {
				t.Fatal(err)
			}
		}
		psk, _ := hex.DecodeString("12345678901234567890123456789012")

		// RFC 6030 figure 6 under its pre-shared key, guessed as PSKC: the
		// token goes to the inventory, and is given to bob from there.
		rep, err := e.im.ImportTokens(e.ctx, org, bytes.NewReader(readFile(t, "rfc6030-figure6.pskc")), importer.TokenOptions{Keys: importer.PSKCKeys{PreShared: psk}})
		if err != nil || rep.Format != "pskc" || rep.Added != 1 || len(rep.Stock) != 1 || rep.Stock[0] != "987654321" {
			t.Fatalf("import figure 6: %+v, %v", rep, err)
		}
		inv, err := e.svc.Inventory(e.ctx, org, "", 0)
		if err != nil || len(inv) != 1 || inv[0].Type != "hotp" || inv[0].Digits != 8 || inv[0].Manufacturer != "Manufacturer" || inv[0].Secret != nil {
			t.Fatalf("inventory = %+v, %v", inv, err)
		}
		if _, err := e.svc.AssignToken(e.ctx, org, "bob", "987654321"); err != nil {
			t.Fatal(err)
		}
		// RFC 4226 appendix D: counter 0 of the secret, 8 digits.
		if !e.accepts(t, org, "bob", "84755224") {
			t.Error("bob's hardware token's first code is refused")
		}
		if inv, _ := e.svc.Inventory(e.ctx, org, "", 0); len(inv) != 0 {
			t.Errorf("inventory after the assignment = %+v", inv)
		}
		if _, err := e.svc.AssignToken(e.ctx, org, "carol", "987654321"); !errors.Is(err, admin.ErrInvalid) {
			t.Errorf("assigning it again: %v", err)
		}

		// OATH CSV with a user named and a counter that carries over.
		oath := "# serial, key, type, digits, counter or period, user\n" +
			"OATH-1," + hex.EncodeToString([]byte(rfcSecret)) + ",hotp,6,5,carol\n" +
			"OATH-2," + hex.EncodeToString([]byte(rfcSecret)) + ",totp,6,30\n"
		rep, err = e.im.ImportTokens(e.ctx, org, strings.NewReader(oath), importer.TokenOptions{})
		if err != nil || rep.Format != "oath-csv" || rep.Added != 2 || len(rep.Assigned) != 1 || rep.Assigned[0] != (importer.Assignment{"OATH-1", "carol"}) {
			t.Fatalf("import OATH CSV: %+v, %v", rep, err)
		}
		if e.accepts(t, org, "carol", "338314") { // counter 4: used before the import
			t.Error("a code below the imported counter is accepted")
		}
		if !e.accepts(t, org, "carol", "254676") { // counter 5
			t.Error("the code of the imported counter is refused")
		}

		// Entra CSV: the UPN's part before the @ finds alice; --assign
		// gives the other token to bob.
		key := otp.EncodeSecret([]byte(rfcSecret + "abcd"))
		entra := "upn,serial number,secret key,time interval,manufacturer,model\n" +
			"alice@acme.example,ENTRA-1," + key + ",30,Contoso,Hardware Key\n" +
			",ENTRA-2," + key + ",60,Contoso,Hardware Key\n"
		rep, err = e.im.ImportTokens(e.ctx, org, strings.NewReader(entra), importer.TokenOptions{Assign: map[string]string{"ENTRA-2": "bob"}})
		if err != nil || rep.Format != "entra-csv" || len(rep.Assigned) != 2 {
			t.Fatalf("import Entra CSV: %+v, %v", rep, err)
		}
		g, _ := otp.NewGenerator([]byte(rfcSecret+"abcd"), otp.SHA1, 6)
		if !e.accepts(t, org, "alice", g.Code(uint64(otp.Step(e.clock.Now(), 30*time.Second)))) {
			t.Error("alice's Entra token's code is refused")
		}
		toks, _ := e.store.Tokens(e.ctx, org.ID, mustUser(t, e, org, "alice").ID)
		if len(toks) != 1 || toks[0].Name != "Contoso Hardware Key" || toks[0].State != store.TokenActive {
			t.Errorf("alice's tokens = %+v", toks)
		}

		// Nothing holds a secret in clear: not the audit log, nor (SQLite)
		// the database file.
		evs, _ := e.store.Events(e.ctx, org.ID, 100)
		for _, ev := range evs {
			if strings.Contains(ev.Detail+ev.Target, rfcSecret) {
				t.Errorf("event %+v holds the secret", ev)
			}
		}
		if b.Driver == "sqlite" {
			e.store.Close()
			for _, suffix := range []string{"", "-wal"} {
				raw, _ := os.ReadFile(b.DSN + suffix)
				for _, s := range [][]byte{[]byte(rfcSecret), []byte(hex.EncodeToString([]byte(rfcSecret))), []byte(key)} {
					if bytes.Contains(raw, s) {
						t.Errorf("the database file%s holds a secret in clear", suffix)
					}
				}
			}
		}
	})
}

func mustUser(t *testing.T, e *env, org store.Org, name string) store.User {
	t.Helper()
	u, err := e.svc.User(e.ctx, org, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestImportTokensRefusesTheWholeFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e, org := withOrg(t, b)
		psk, _ := hex.DecodeString("12345678901234567890123456789012")
		good := hex.EncodeToString([]byte(rfcSecret))
		if _, err := e.im.ImportTokens(e.ctx, org, strings.NewReader("TAKEN,"+good+",totp\n"), importer.TokenOptions{}); err != nil {
			t.Fatal(err)
		}
		fig6 := string(readFile(t, "rfc6030-figure6.pskc"))
		for _, c := range []struct {
			name, file string
			opt        importer.TokenOptions
			err        error
			says       []string
		}{
			{"a bad MAC", strings.Replace(fig6, "Su+N", "Tu+N", 1), importer.TokenOptions{Keys: importer.PSKCKeys{PreShared: psk}}, importer.ErrFile, []string{"MAC"}},
			{"bad rows", "OK-1," + good + ",totp\n" +
				"BAD-1,xyz,totp\n" +
				"BAD-2," + good + ",sms\n" +
				"BAD-3," + good + "\n" + // hotp by default: fine
				"BAD-3," + good + ",totp\n" +
				"BAD-4,abcd,totp\n" +
				"BAD-5," + good + ",totp,9\n" +
				"BAD-6," + good + ",totp,6,5\n" +
				"TAKEN," + good + ",totp\n" +
				"BAD 7," + good + ",totp\n" +
				"BAD-8," + good + ",hotp,6,0,nobody\n",
				importer.TokenOptions{Assign: map[string]string{"NOT-IN-FILE": "alice"}}, importer.ErrRows, []string{
					"line 2 (BAD-1): the key is not hexadecimal",
					`line 3 (BAD-2): type "sms" is not hotp or totp`,
					"line 5 (BAD-3): serial BAD-3 is in the file already (line 4)",
					"line 6 (BAD-4): the secret is 2 bytes",
					"line 7 (BAD-5): 9 digits",
					"line 8 (BAD-6): a period of 5 seconds",
					"line 9 (TAKEN): a token with serial TAKEN exists already",
					`line 10 (BAD 7): serial "BAD 7" must be`,
					`line 11 (BAD-8): no user "nobody"`,
					"--assign (NOT-IN-FILE): no token of that serial is in the file",
				}},
			{"an Entra file without its secret column", "upn,serial number\nalice,E-1\n", importer.TokenOptions{}, importer.ErrFile, []string{`no column "secret key"`}},
			{"an Entra file with a bad secret", "upn,serial number,secret key\nalice,E-1,notbase32!\n", importer.TokenOptions{}, importer.ErrRows, []string{"line 2 (E-1): the secret key is not Base32"}},
			{"an empty OATH file", "# nothing\n", importer.TokenOptions{}, importer.ErrFile, []string{"no tokens"}},
			{"Latin-1", "ZO\xcbE," + good + ",totp\n", importer.TokenOptions{}, importer.ErrFile, []string{"not UTF-8"}},
			{"an unknown format", "x", importer.TokenOptions{Format: "yubikey"}, admin.ErrInvalid, []string{"not one of pskc, oath-csv, entra-csv"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				rep, err := e.im.ImportTokens(e.ctx, org, strings.NewReader(c.file), c.opt)
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				all := err.Error() + "\n" + lines(rep.Errors)
				for _, s := range c.says {
					if !strings.Contains(all, s) {
						t.Errorf("refusal:\n%s\nwant it to say %q", all, s)
					}
				}
				if inv, _ := e.svc.Inventory(e.ctx, org, "", 0); len(inv) != 1 {
					t.Errorf("a refused file changed the inventory: %+v", inv)
				}
			})
		}
	})
}

func TestRotatedKeysStillOpenTheInventory(t *testing.T) {
	e, org := withOrg(t, storetest.SQLite(t))
	if _, err := e.im.ImportTokens(e.ctx, org, strings.NewReader("R-1,"+hex.EncodeToString([]byte(rfcSecret))+",hotp,6,0\n"), importer.TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Keys = keys
	if n, err := e.svc.ResealInventory(e.ctx); err != nil || n != 1 {
		t.Fatalf("ResealInventory = %d, %v", n, err)
	}
	inv, _ := e.store.InventoryToken(e.ctx, org.ID, "R-1")
	if !keys.Current(inv.Secret) {
		t.Error("the inventory secret is not sealed under the new key")
	}
	if _, err := e.svc.AssignToken(e.ctx, org, "alice", "R-1"); err != nil {
		t.Fatal(err)
	}
	if !e.accepts(t, org, "alice", "755224") {
		t.Error("the re-sealed token's first code is refused")
	}
}
