package importer

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"
)

func FuzzParseUsers(f *testing.F) {
	for _, s := range []string{
		"username,email,display name,language,role\nbob,bob@acme.example,Bob,nl,user\n",
		"\ufeffUsername;E-mail\r\nbob;bob@acme.example\r\n",
		"username\n\"a,b\"\n\"unterminated\n",
		"username,email\nbob\n",
		"\xff\xfeu\x00",
		"username\nzo\xeb\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, bad, err := ParseUsers(bytes.NewReader(data))
		if err != nil {
			if rows != nil || bad != nil {
				t.Fatalf("a refused file returned rows: %v %v", rows, bad)
			}
			return
		}
		last := 0
		for _, r := range rows {
			if r.Line <= last && last != 0 {
				t.Fatalf("rows out of line order: %d after %d", r.Line, last)
			}
			last = r.Line
		}
	})
}

// checkSeeds fails when a parser hands back a token of a type no
// refusal stopped.
func checkSeeds(t *testing.T, toks []SeedToken) {
	t.Helper()
	for _, tk := range toks {
		if tk.Type != "hotp" && tk.Type != "totp" {
			t.Fatalf("token of type %q", tk.Type)
		}
	}
}

func FuzzParsePSKC(f *testing.F) {
	for _, name := range []string{"rfc6030-figure2.pskc", "rfc6030-figure6.pskc", "rfc6030-figure7.pskc"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	f.Fuzz(func(t *testing.T, data []byte) {
		// The password is cheap to try: a hostile iteration count is bounded.
		toks, err := ParsePSKC(data, PSKCKeys{PreShared: psk})
		if err != nil && toks != nil {
			t.Fatal("tokens returned with an error")
		}
		checkSeeds(t, toks)
	})
}

func FuzzParseOATHCSV(f *testing.F) {
	for _, s := range []string{
		"# serial,key,type\nS1,3132333435363738393031323334353637383930,hotp,6,5,alice\n",
		"serial,key,type,digits,period\nS2,31323334353637383930313233343536,totp,8,60\n",
		"S3,zz,totp\n\"S4\nx\",00,hotp\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, bad, err := ParseOATHCSV(data)
		if err != nil && (toks != nil || bad != nil) {
			t.Fatal("rows returned with an error")
		}
		checkSeeds(t, toks)
	})
}

func FuzzParseEntraCSV(f *testing.F) {
	for _, s := range []string{
		"upn,serial number,secret key,time interval,manufacturer,model\nalice@acme.example,E1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Contoso,Key\n",
		"\ufeffUPN;Serial Number;Secret Key\n;E2;gezdgnbv\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, bad, err := ParseEntraCSV(data)
		if err != nil && (toks != nil || bad != nil) {
			t.Fatal("rows returned with an error")
		}
		checkSeeds(t, toks)
	})
}
