package importer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// The RFC 6030 examples: figure 2 (plain values), figure 6 (a pre-shared
// key), figure 7 (a key derived from the password "qwerty" with PBKDF2).
// Each holds the HOTP secret "12345678901234567890".
func TestParsePSKCReadsTheRFCExamples(t *testing.T) {
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	for _, c := range []struct {
		file   string
		keys   PSKCKeys
		serial string
		maker  string
	}{
		{"rfc6030-figure2.pskc", PSKCKeys{}, "987654321", "Manufacturer"},
		{"rfc6030-figure6.pskc", PSKCKeys{PreShared: psk}, "987654321", "Manufacturer"},
		{"rfc6030-figure7.pskc", PSKCKeys{Password: []byte("qwerty")}, "987654321", "TokenVendorAcme"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			toks, err := ParsePSKC(data, c.keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) != 1 {
				t.Fatalf("%d tokens, want 1", len(toks))
			}
			tk := toks[0]
			if string(tk.Secret) != "12345678901234567890" || tk.Type != "hotp" || tk.Digits != 8 || tk.Counter != 0 ||
				tk.Serial != c.serial || tk.Manufacturer != c.maker || tk.Algorithm != "SHA1" {
				t.Errorf("token = %+v (secret %q)", tk, tk.Secret)
			}
		})
	}
}

func TestParsePSKCRefusesWhatItCannotTrust(t *testing.T) {
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	read := func(name string) string {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	fig2, fig6, fig7 := read("rfc6030-figure2.pskc"), read("rfc6030-figure6.pskc"), read("rfc6030-figure7.pskc")
	otherPSK := bytes.Clone(psk)
	otherPSK[0] ^= 1
	for _, c := range []struct {
		name string
		doc  string
		keys PSKCKeys
		says string
	}{
		{"a bad value MAC", strings.Replace(fig6, "Su+NvtQfmvfJzF6bmQiJqoLRExc=", "Tu+NvtQfmvfJzF6bmQiJqoLRExc=", 1), PSKCKeys{PreShared: psk}, "MAC of the secret does not match"},
		{"an altered cipher text", strings.Replace(fig6, "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv", "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGw", 1), PSKCKeys{PreShared: psk}, "does not match"},
		{"no value MAC", strings.Replace(fig6, "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>", "", 1), PSKCKeys{PreShared: psk}, "no ValueMAC"},
		{"the wrong pre-shared key", fig6, PSKCKeys{PreShared: otherPSK}, "wrong pre-shared key"},
		{"a pre-shared key too short", fig6, PSKCKeys{PreShared: psk[:8]}, "the key is 8 bytes"},
		{"no pre-shared key", fig6, PSKCKeys{}, "--psk-file"},
		{"the wrong password", fig7, PSKCKeys{Password: []byte("qwertz")}, "MAC"},
		{"no password", fig7, PSKCKeys{}, "--password-stdin"},
		{"no MACMethod", strings.ReplaceAll(fig6, "MACMethod", "NoMACMethod"), PSKCKeys{PreShared: psk}, "no MACMethod"},
		{"an unknown cipher", strings.ReplaceAll(fig6, "aes128-cbc", "tripledes-cbc"), PSKCKeys{PreShared: psk}, "not supported"},
		{"an absurd PBKDF2 iteration count", strings.Replace(fig7, "<IterationCount>1000", "<IterationCount>100000000", 1), PSKCKeys{Password: []byte("qwerty")}, "out of range"},
		{"another algorithm", strings.Replace(fig2, "pskc:hotp", "pskc:ocra", 1), PSKCKeys{}, "not HOTP or TOTP"},
		{"a secret not in Base64", strings.Replace(fig2, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "not base64!", 1), PSKCKeys{}, "not Base64"},
		{"a counter not a number", strings.Replace(fig2, "<PlainValue>0</PlainValue>", "<PlainValue>-1</PlainValue>", 1), PSKCKeys{}, "not a whole number"},
		{"no secret", strings.Replace(strings.Replace(fig2, "<Secret>", "<Nothing>", 1), "</Secret>", "</Nothing>", 1), PSKCKeys{}, "no secret"},
		{"another version", strings.Replace(fig2, `Version="1.0"`, `Version="2.0"`, 1), PSKCKeys{}, "version"},
		{"a DTD", strings.Replace(fig2, "<KeyContainer", "<!DOCTYPE x [<!ENTITY a \"b\">]><KeyContainer", 1), PSKCKeys{}, "DOCTYPE"},
		{"no KeyPackage", `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"></KeyContainer>`, PSKCKeys{}, "no KeyPackage"},
		{"not XML", "serial,key\n", PSKCKeys{}, "not a PSKC document"},
		{"cut short", fig2[:len(fig2)/2], PSKCKeys{}, "not a PSKC document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			toks, err := ParsePSKC([]byte(c.doc), c.keys)
			if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v; want ErrFile saying %q", err, c.says)
			}
			if toks != nil {
				t.Errorf("a refused file returned tokens %+v", toks)
			}
		})
	}
}
