package importer

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SeedToken is a token read from a seed file. Secret is in clear: the
// importer seals it at once and clears it.
type SeedToken struct {
	Line      int // the CSV line, or for PSKC the number of the KeyPackage (from 1)
	Serial    string
	Type      string // "hotp" or "totp"
	Secret    []byte
	Algorithm string // "SHA1", "SHA256" or "SHA512"
	Digits    int
	Period    int    // TOTP: seconds
	Counter   uint64 // HOTP: the counter of the next code
	// Username is the user the file gives the token to (an OATH CSV's
	// username column, an Entra file's UPN); empty: none.
	Username     string
	Manufacturer string
	Model        string
}

// PSKCKeys are what opens an encrypted PSKC file: the pre-shared key
// (RFC 6030 section 6.1) or the password its key is derived from with
// PBKDF2 (section 6.2). A file of plain values needs neither.
type PSKCKeys struct {
	PreShared []byte
	Password  []byte
}

// The algorithm identifiers of RFC 6030 and the XML Encryption and
// Signature specifications it uses.
const (
	pskcHOTP   = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
	pskcTOTP   = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
	pskcPBKDF2 = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
)

var pskcCiphers = map[string]int{ // CBC mode, by key length
	"http://www.w3.org/2001/04/xmlenc#aes128-cbc": 16,
	"http://www.w3.org/2001/04/xmlenc#aes192-cbc": 24,
	"http://www.w3.org/2001/04/xmlenc#aes256-cbc": 32,
}

var pskcMACs = map[string]func() hash.Hash{
	"http://www.w3.org/2000/09/xmldsig#hmac-sha1":        sha1.New,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha256": sha256.New,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha512": sha512.New,
}

var pskcPRFs = map[string]func() hash.Hash{
	"": sha1.New, // PBKDF2's default PRF is HMAC-SHA1
	"http://www.w3.org/2000/09/xmldsig#hmac-sha1":        sha1.New,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha256": sha256.New,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha512": sha512.New,
}

// The document, as far as an import reads it. encoding/xml matches these
// local names in any namespace, as PSKC files use both a default
// namespace and a pskc: prefix.
type pskcContainer struct {
	XMLName       xml.Name `xml:"KeyContainer"`
	Version       string   `xml:"Version,attr"`
	EncryptionKey *struct {
		KeyName    string `xml:"KeyName"`
		DerivedKey *struct {
			Method struct {
				Algorithm string `xml:"Algorithm,attr"`
				Params    struct {
					Salt       string `xml:"Salt>Specified"`
					Iterations int    `xml:"IterationCount"`
					KeyLength  int    `xml:"KeyLength"`
					PRF        struct {
						Algorithm string `xml:"Algorithm,attr"`
					} `xml:"PRF"`
				} `xml:"PBKDF2-params"`
			} `xml:"KeyDerivationMethod"`
		} `xml:"DerivedKey"`
	} `xml:"EncryptionKey"`
	MACMethod *struct {
		Algorithm string         `xml:"Algorithm,attr"`
		MACKey    *pskcEncrypted `xml:"MACKey"`
	} `xml:"MACMethod"`
	Packages []pskcPackage `xml:"KeyPackage"`
}

type pskcEncrypted struct {
	Method struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"EncryptionMethod"`
	CipherValue string `xml:"CipherData>CipherValue"`
}

type pskcValue struct {
	Plain     *string        `xml:"PlainValue"`
	Encrypted *pskcEncrypted `xml:"EncryptedValue"`
	MAC       string         `xml:"ValueMAC"`
}

type pskcPackage struct {
	Device struct {
		Manufacturer string `xml:"Manufacturer"`
		SerialNo     string `xml:"SerialNo"`
		Model        string `xml:"Model"`
	} `xml:"DeviceInfo"`
	Keys []struct {
		ID        string `xml:"Id,attr"`
		Algorithm string `xml:"Algorithm,attr"`
		Params    struct {
			Suite    string `xml:"Suite"`
			Response struct {
				Length   string `xml:"Length,attr"`
				Encoding string `xml:"Encoding,attr"`
			} `xml:"ResponseFormat"`
		} `xml:"AlgorithmParameters"`
		Data struct {
			Secret       *pskcValue `xml:"Secret"`
			Counter      *pskcValue `xml:"Counter"`
			Time         *pskcValue `xml:"Time"`
			TimeInterval *pskcValue `xml:"TimeInterval"`
		} `xml:"Data"`
	} `xml:"Key"`
}

// pskcCrypto opens a file's encrypted values: the encryption key and the
// MAC key, once known.
type pskcCrypto struct {
	key    []byte
	mac    func() hash.Hash
	macKey []byte
}

// ParsePSKC reads a PSKC document (RFC 6030) of HOTP and TOTP keys:
// plain values, or values encrypted with AES-CBC under a pre-shared key
// or a key derived from a password with PBKDF2. Every encrypted value
// must carry a MAC, which is checked before the value is decrypted; a
// MAC that does not match refuses the whole file, as does anything else
// wrong with it, so that a file is imported whole or not at all. Each
// token is numbered by its KeyPackage.
func ParsePSKC(data []byte, keys PSKCKeys) ([]SeedToken, error) {
	// A seed file has no business declaring a DTD or entities; refusing
	// them keeps what the decoder reads plain.
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return nil, fileError("the PSKC document declares a DOCTYPE or entities, which seed files never need")
	}
	var doc pskcContainer
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fileError("not a PSKC document (RFC 6030): %v", err)
	}
	if doc.Version != "1.0" {
		return nil, fileError("PSKC version %q is not supported (only 1.0, RFC 6030)", doc.Version)
	}
	c, err := pskcOpen(doc, keys)
	if err != nil {
		return nil, err
	}
	defer clear(c.key)
	defer clear(c.macKey)
	var out []SeedToken
	for i, p := range doc.Packages {
		n := i + 1
		if len(p.Keys) != 1 {
			return nil, fileError("KeyPackage %d holds %d keys; one was expected", n, len(p.Keys))
		}
		k := p.Keys[0]
		t := SeedToken{Line: n, Serial: strings.TrimSpace(p.Device.SerialNo), Manufacturer: strings.TrimSpace(p.Device.Manufacturer),
			Model: strings.TrimSpace(p.Device.Model), Algorithm: "SHA1", Digits: 6, Period: 30}
		if t.Serial == "" {
			t.Serial = strings.TrimSpace(k.ID)
		}
		switch k.Algorithm {
		case pskcHOTP:
			t.Type = "hotp"
		case pskcTOTP:
			t.Type = "totp"
		default:
			return nil, fileError("KeyPackage %d: algorithm %q is not HOTP or TOTP", n, k.Algorithm)
		}
		if suite := strings.ToUpper(strings.TrimSpace(k.Params.Suite)); suite != "" {
			t.Algorithm = strings.TrimPrefix(strings.ReplaceAll(suite, "-", ""), "HMAC")
		}
		if f := k.Params.Response; f.Length != "" {
			if t.Digits, err = strconv.Atoi(f.Length); err != nil {
				return nil, fileError("KeyPackage %d: response length %q is not a number", n, f.Length)
			}
			if f.Encoding != "" && f.Encoding != "DECIMAL" {
				return nil, fileError("KeyPackage %d: response encoding %s is not supported (only DECIMAL)", n, f.Encoding)
			}
		}
		if k.Data.Secret == nil {
			return nil, fileError("KeyPackage %d has no secret", n)
		}
		if t.Secret, err = c.value(*k.Data.Secret, n, "secret"); err != nil {
			return nil, err
		}
		if t.Counter, err = c.number(k.Data.Counter, n, "counter", 0); err != nil {
			return nil, err
		}
		if t.Type == "totp" {
			start, err := c.number(k.Data.Time, n, "time", 0)
			if err != nil {
				return nil, err
			}
			if start != 0 {
				return nil, fileError("KeyPackage %d counts time from %d, not the Unix epoch; such tokens are not supported", n, start)
			}
			period, err := c.number(k.Data.TimeInterval, n, "time interval", 30)
			if err != nil {
				return nil, err
			}
			t.Period = int(min(period, 1<<20))
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fileError("the PSKC document holds no KeyPackage")
	}
	return out, nil
}

// pskcOpen works out the keys of a document's encrypted values from its
// EncryptionKey and MACMethod and what the operator gave.
func pskcOpen(doc pskcContainer, keys PSKCKeys) (pskcCrypto, error) {
	var c pskcCrypto
	if doc.EncryptionKey == nil {
		if doc.MACMethod != nil {
			return c, fileError("the PSKC document has a MACMethod but no EncryptionKey")
		}
		return c, nil
	}
	if dk := doc.EncryptionKey.DerivedKey; dk != nil {
		if dk.Method.Algorithm != pskcPBKDF2 {
			return c, fileError("key derivation %q is not supported (only PBKDF2)", dk.Method.Algorithm)
		}
		if len(keys.Password) == 0 {
			return c, fileError("the PSKC document's key is derived from a password: give it (--password-stdin)")
		}
		p := dk.Method.Params
		salt, err := base64.StdEncoding.DecodeString(strings.TrimSpace(p.Salt))
		if err != nil || len(salt) == 0 {
			return c, fileError("the PBKDF2 salt is not Base64")
		}
		prf, ok := pskcPRFs[p.PRF.Algorithm]
		if !ok {
			return c, fileError("PBKDF2 PRF %q is not supported", p.PRF.Algorithm)
		}
		// A bound on the work a hostile file can ask for.
		if p.Iterations < 1 || p.Iterations > 10_000_000 || (p.KeyLength != 16 && p.KeyLength != 24 && p.KeyLength != 32) {
			return c, fileError("PBKDF2 iteration count %d or key length %d is out of range", p.Iterations, p.KeyLength)
		}
		if c.key, err = pbkdf2.Key(prf, string(keys.Password), salt, p.Iterations, p.KeyLength); err != nil {
			return c, fileError("PBKDF2: %v", err)
		}
	} else {
		if len(keys.PreShared) == 0 {
			name := strings.TrimSpace(doc.EncryptionKey.KeyName)
			return c, fileError("the PSKC document is encrypted with a pre-shared key (named %q): give it (--psk-file, in hex)", name)
		}
		c.key = bytes.Clone(keys.PreShared)
	}
	if doc.MACMethod == nil || doc.MACMethod.MACKey == nil {
		return c, fileError("the PSKC document is encrypted but has no MACMethod with a MACKey: its values cannot be checked")
	}
	var ok bool
	if c.mac, ok = pskcMACs[doc.MACMethod.Algorithm]; !ok {
		return c, fileError("MAC algorithm %q is not supported", doc.MACMethod.Algorithm)
	}
	var err error
	if c.macKey, err = c.decrypt(*doc.MACMethod.MACKey); err != nil {
		return c, fileError("the MAC key does not decrypt: %v (wrong pre-shared key or password?)", err)
	}
	return c, nil
}

// decrypt opens an AES-CBC value, the IV before the cipher text, with
// PKCS#7 padding.
func (c pskcCrypto) decrypt(e pskcEncrypted) ([]byte, error) {
	size, ok := pskcCiphers[e.Method.Algorithm]
	if !ok {
		return nil, fmt.Errorf("encryption %q is not supported (AES-CBC only)", e.Method.Algorithm)
	}
	if len(c.key) != size {
		return nil, fmt.Errorf("the key is %d bytes, the encryption needs %d", len(c.key), size)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(e.CipherValue), ""))
	if err != nil {
		return nil, fmt.Errorf("the cipher value is not Base64")
	}
	if len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("the cipher value is %d bytes, not an IV and whole blocks", len(raw))
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(raw)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, raw[:aes.BlockSize]).CryptBlocks(plain, raw[aes.BlockSize:])
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		clear(plain)
		return nil, fmt.Errorf("the padding is wrong")
	}
	return plain[:len(plain)-pad], nil
}

// value returns a plain or encrypted value's bytes; an encrypted one's
// MAC is checked first.
func (c pskcCrypto) value(v pskcValue, n int, what string) ([]byte, error) {
	switch {
	case v.Plain != nil && v.Encrypted == nil:
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(*v.Plain), ""))
		if err != nil || len(b) == 0 {
			return nil, fileError("KeyPackage %d: the %s is not Base64", n, what)
		}
		return b, nil
	case v.Encrypted != nil && v.Plain == nil:
		if c.key == nil {
			return nil, fileError("KeyPackage %d: the %s is encrypted, but the document has no EncryptionKey", n, what)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v.Encrypted.CipherValue), ""))
		if err != nil {
			return nil, fileError("KeyPackage %d: the encrypted %s is not Base64", n, what)
		}
		mac, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v.MAC))
		if err != nil || len(mac) == 0 {
			return nil, fileError("KeyPackage %d: the encrypted %s has no ValueMAC: nothing was imported", n, what)
		}
		m := hmac.New(c.mac, c.macKey)
		m.Write(raw)
		if !hmac.Equal(m.Sum(nil), mac) {
			return nil, fileError("KeyPackage %d: the MAC of the %s does not match: the file was altered or the key is wrong; nothing was imported", n, what)
		}
		b, err := c.decrypt(*v.Encrypted)
		if err != nil {
			return nil, fileError("KeyPackage %d: the %s: %v", n, what, err)
		}
		return b, nil
	default:
		return nil, fileError("KeyPackage %d: the %s needs one PlainValue or EncryptedValue", n, what)
	}
}

// number returns an integer value: a plain one in decimal, an encrypted
// one as big-endian bytes (RFC 6030 section 4.2.2); def when absent.
func (c pskcCrypto) number(v *pskcValue, n int, what string, def uint64) (uint64, error) {
	if v == nil {
		return def, nil
	}
	if v.Plain != nil && v.Encrypted == nil {
		x, err := strconv.ParseUint(strings.TrimSpace(*v.Plain), 10, 63)
		if err != nil {
			return 0, fileError("KeyPackage %d: the %s %q is not a whole number", n, what, strings.TrimSpace(*v.Plain))
		}
		return x, nil
	}
	b, err := c.value(*v, n, what)
	if err != nil {
		return 0, err
	}
	if len(b) > 8 || len(b) == 0 {
		return 0, fileError("KeyPackage %d: the encrypted %s is %d bytes, not a number of at most 8", n, what, len(b))
	}
	var buf [8]byte
	copy(buf[8-len(b):], b)
	return binary.BigEndian.Uint64(buf[:]) & (1<<63 - 1), nil
}
