package importer

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/twofold-mfa/twofold/internal/otp"
)

// ParseOATHCSV reads the OATH CSV seed format: one token a row, the
// fields serial, key (hex), type (hotp or totp; empty: hotp), digits
// (empty: 6), then for HOTP the counter of the next code (empty: 0) and
// for TOTP the period in seconds (empty: 30), and optionally the username
// of the user to give it to. Lines starting with # are comments; a first
// row whose first field is "serial" is a header and passed over. Rows
// that do not parse come back as row errors.
func ParseOATHCSV(data []byte) ([]SeedToken, []RowError, error) {
	recs, err := readRecords(data, '#')
	if err != nil {
		return nil, nil, err
	}
	if len(recs) > 0 && squash(recs[0].fields[0]) == "serial" {
		recs = recs[1:]
	}
	if len(recs) == 0 {
		return nil, nil, fileError("the file holds no tokens (rows of serial, hex key, hotp or totp, digits, counter or period, and optionally username)")
	}
	var out []SeedToken
	var bad []RowError
	for _, r := range recs {
		t, err := oathRow(r)
		if err != nil {
			bad = append(bad, RowError{Line: r.line, Serial: field(r.fields, 0), Err: err.Error()})
			continue
		}
		out = append(out, t)
	}
	return out, bad, nil
}

func field(fs []string, i int) string {
	if i < len(fs) {
		return strings.TrimSpace(fs[i])
	}
	return ""
}

func oathRow(r record) (SeedToken, error) {
	f := r.fields
	if len(f) < 2 || len(f) > 6 {
		return SeedToken{}, fmt.Errorf("%d fields; a row is serial, hex key, type, digits, counter or period, and optionally username", len(f))
	}
	t := SeedToken{Line: r.line, Serial: field(f, 0), Type: strings.ToLower(field(f, 2)), Algorithm: "SHA1", Digits: 6, Username: field(f, 5)}
	var err error
	if t.Secret, err = hex.DecodeString(strings.ReplaceAll(field(f, 1), " ", "")); err != nil {
		return SeedToken{}, fmt.Errorf("the key is not hexadecimal")
	}
	if t.Type == "" {
		t.Type = "hotp"
	}
	if d := field(f, 3); d != "" {
		if t.Digits, err = strconv.Atoi(d); err != nil {
			return SeedToken{}, fmt.Errorf("digits %q is not a number", d)
		}
	}
	last := field(f, 4)
	switch t.Type {
	case "hotp":
		if last != "" {
			if t.Counter, err = strconv.ParseUint(last, 10, 63); err != nil {
				return SeedToken{}, fmt.Errorf("counter %q is not a whole number", last)
			}
		}
	case "totp":
		t.Period = 30
		if last != "" {
			if t.Period, err = strconv.Atoi(last); err != nil {
				return SeedToken{}, fmt.Errorf("period %q is not a number of seconds", last)
			}
		}
	default:
		return SeedToken{}, fmt.Errorf("type %q is not hotp or totp", t.Type)
	}
	return t, nil
}

// entraColumns are the columns of Microsoft Entra ID's CSV for OATH
// hardware tokens.
var entraColumns = map[string][]string{
	"upn":           {"upn"},
	"serial number": {"serial number"},
	"secret key":    {"secret key"},
	"time interval": {"time interval"},
	"manufacturer":  {"manufacturer"},
	"model":         {"model"},
}

// ParseEntraCSV reads the CSV that Microsoft Entra ID takes for OATH
// hardware tokens: a header row, then upn, serial number, secret key
// (Base32), time interval (seconds), manufacturer, model. The tokens are
// TOTP, SHA1, 6 digits, as Entra's are; the UPN names the user to give a
// token to (see ImportTokens), empty for none.
func ParseEntraCSV(data []byte) ([]SeedToken, []RowError, error) {
	t, err := readTable(data)
	if err != nil {
		return nil, nil, err
	}
	col, err := t.columns(entraColumns, []string{"serial number", "secret key"})
	if err != nil {
		return nil, nil, err
	}
	get := func(f []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(f[i])
		}
		return ""
	}
	var out []SeedToken
	var bad []RowError
	for _, r := range t.rows {
		if r.err != nil {
			bad = append(bad, RowError{Line: r.line, Err: r.err.Error()})
			continue
		}
		s := SeedToken{Line: r.line, Serial: get(r.fields, "serial number"), Type: "totp", Algorithm: "SHA1", Digits: 6, Period: 30,
			Username: get(r.fields, "upn"), Manufacturer: get(r.fields, "manufacturer"), Model: get(r.fields, "model")}
		if s.Secret, err = otp.DecodeSecret(get(r.fields, "secret key")); err != nil {
			bad = append(bad, RowError{Line: r.line, Serial: s.Serial, Err: "the secret key is not Base32"})
			continue
		}
		if p := get(r.fields, "time interval"); p != "" {
			if s.Period, err = strconv.Atoi(p); err != nil {
				bad = append(bad, RowError{Line: r.line, Serial: s.Serial, Err: fmt.Sprintf("time interval %q is not a number of seconds", p)})
				continue
			}
		}
		out = append(out, s)
	}
	return out, bad, nil
}

// checkSeed applies what every token of a seed file must be, whatever
// its format: a serial to know it by, a secret of at least 128 bits (RFC
// 4226's minimum), codes of 6 to 8 digits under SHA1, SHA256 or SHA512,
// and a TOTP period an authenticator keeps.
func checkSeed(t *SeedToken) error {
	if t.Serial == "" {
		return fmt.Errorf("no serial")
	}
	if len(t.Serial) > 64 || strings.ContainsFunc(t.Serial, func(r rune) bool { return r <= ' ' || r == '/' || r > '~' }) {
		return fmt.Errorf("serial %q must be 1 to 64 printable ASCII characters without spaces or '/'", t.Serial)
	}
	if len(t.Secret) < 16 || len(t.Secret) > 128 {
		return fmt.Errorf("the secret is %d bytes; it must be 16 to 128 (at least 128 bits)", len(t.Secret))
	}
	alg, err := otp.ParseAlgorithm(t.Algorithm)
	if err != nil {
		return fmt.Errorf("algorithm %q is not SHA1, SHA256 or SHA512", t.Algorithm)
	}
	t.Algorithm = string(alg)
	if t.Digits < 6 || t.Digits > 8 {
		return fmt.Errorf("%d digits; codes must have 6 to 8", t.Digits)
	}
	if t.Type == "totp" && (t.Period < 10 || t.Period > 300) {
		return fmt.Errorf("a period of %d seconds; it must be 10 to 300", t.Period)
	}
	if t.Type == "hotp" && t.Counter > 1<<62 {
		return fmt.Errorf("counter %d is too large", t.Counter)
	}
	return nil
}
