package push

import (
	"errors"
	"strings"
	"testing"
)

func TestActivationRoundTrip(t *testing.T) {
	for _, a := range []Activation{
		{URL: "https://mfa.acme.example:8443", Code: "abcdefghijklmnopqrstuvwxyz234567"},
		{URL: "https://mfa.acme.example/twofold", Code: "x"},
		{URL: "http://localhost:8443", Code: "code"},
		{URL: "http://127.0.0.1", Code: strings.Repeat("k", 255)},
	} {
		s := a.String()
		got, err := ParseActivation(s)
		if err != nil || got != a {
			t.Errorf("ParseActivation(%q) = %+v, %v; want %+v", s, got, err, a)
		}
		// What a person may type back: lower case, spaces, no hyphens.
		typed := strings.ToLower(strings.ReplaceAll(s, "-", " "))
		if got, err := ParseActivation(typed); err != nil || got != a {
			t.Errorf("ParseActivation(%q) = %+v, %v; want %+v", typed, got, err, a)
		}
	}
}

func TestActivationFormat(t *testing.T) {
	s := Activation{URL: "https://mfa.acme.example:8443", Code: "abcd"}.String()
	if !strings.HasPrefix(s, "T1") {
		t.Errorf("%q does not start with T1", s)
	}
	for i, g := range strings.Split(s, "-") {
		if len(g) > 4 || len(g) == 0 || (len(g) < 4 && i != strings.Count(s, "-")) {
			t.Errorf("%q: group %d is %q", s, i, g)
		}
		if strings.ContainsAny(g, "ILOU") {
			t.Errorf("%q holds an ambiguous character", s)
		}
	}
}

func TestParseActivationAmbiguousCharacters(t *testing.T) {
	a := Activation{URL: "https://mfa.acme.example", Code: "abc"}
	s := a.String()
	// Every 0 typed as O and every 1 as I or L, the prefix's 1 included.
	typed := strings.NewReplacer("0", "o", "1", "L").Replace(s)
	if typed == s {
		t.Fatal("no 0 or 1 to replace")
	}
	if got, err := ParseActivation(typed); err != nil || got != a {
		t.Errorf("ParseActivation(%q) = %+v, %v", typed, got, err)
	}
	if got, err := ParseActivation("TI" + s[2:]); err != nil || got != a {
		t.Errorf("ParseActivation(TI…) = %+v, %v", got, err)
	}
}

// activation encodes a raw payload as String does, for strings String
// itself refuses to make.
func activation(payload []byte) string {
	return activationFromSymbols(toSymbols(payload))
}

func TestParseActivationRefusals(t *testing.T) {
	good := Activation{URL: "https://mfa.acme.example", Code: "abcdef"}.String()
	compact := strings.ReplaceAll(good, "-", "")
	// One symbol changed to the next one in the alphabet.
	i := strings.IndexByte(crockford, compact[5])
	mistyped := compact[:5] + string(crockford[(i+1)%32]) + compact[6:]
	// Two adjacent data symbols swapped (where they differ).
	j := 3
	for compact[j] == compact[j+1] {
		j++
	}
	swapped := compact[:j] + string(compact[j+1]) + string(compact[j]) + compact[j+2:]
	payload := func(code, url string) string {
		return activation(append(append([]byte{byte(len(code))}, code...), url...))
	}
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrActivationPrefix},
		{"other prefix", "T2" + compact[2:], ErrActivationPrefix},
		{"no prefix", compact[2:], ErrActivationPrefix},
		{"otpauth", "otpauth://totp/x?secret=AAAA", ErrActivationPrefix},
		{"mistyped", mistyped, ErrActivationCheck},
		{"swapped", swapped, ErrActivationCheck},
		{"U", compact[:6] + "U" + compact[7:], ErrActivationChar},
		{"punctuation", compact + ".", ErrActivationChar},
		{"prefix only", "T1", ErrActivationLength},
		{"one symbol", "T10", ErrActivationLength},
		{"too long", "T1" + strings.Repeat("0", maxActivationLen), ErrActivationLength},
		// Three symbols decode to one byte and one unused bit: no
		// payload has that length, and a check symbol that fits it is
		// still refused.
		{"impossible length", activationFromSymbols([]byte{1, 2, 3}), ErrActivationLength},
		{"zero code length", payload("", "https://x.example"), ErrActivationLength},
		{"code but no URL", payload("abc", ""), ErrActivationLength},
		{"code length past the end", activation([]byte{9, 'a', 'b'}), ErrActivationLength},
		{"code with a space", payload("a b", "https://x.example"), ErrActivationCode},
		{"code with a control", payload("a\x00", "https://x.example"), ErrActivationCode},
		{"http elsewhere", payload("abc", "http://mfa.acme.example"), ErrActivationURL},
		{"relative", payload("abc", "/push"), ErrActivationURL},
		{"no host", payload("abc", "https://"), ErrActivationURL},
		{"ftp", payload("abc", "ftp://mfa.acme.example"), ErrActivationURL},
		{"user info", payload("abc", "https://u:p@mfa.acme.example"), ErrActivationURL},
		{"query", payload("abc", "https://mfa.acme.example/?x=1"), ErrActivationURL},
		{"fragment", payload("abc", "https://mfa.acme.example/#x"), ErrActivationURL},
		{"localhost lookalike", payload("abc", "http://localhost.evil.example"), ErrActivationURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseActivation(tc.in)
			if !errors.Is(err, tc.want) {
				t.Errorf("ParseActivation(%q) = %+v, %v; want %v", tc.in, a, err, tc.want)
			}
		})
	}
}

// activationFromSymbols writes symbol values after the prefix with their
// check symbol.
func activationFromSymbols(v []byte) string {
	v = append(v, luhnCheck(v))
	b := []byte("T1")
	for _, c := range v {
		b = append(b, crockford[c])
	}
	return string(b)
}

func TestParseActivationLink(t *testing.T) {
	a := Activation{URL: "https://mfa.acme.example:8443", Code: "abcdef"}
	s := a.String()
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"string", s, true},
		{"string with spaces around", "  " + s + "\n", true},
		{"app scheme", "twofold-authenticator://activate?a=" + s, true},
		{"web link", a.AppLink(), true},
		{"web link, lower case string", "https://mfa.acme.example:8443/app/#a=" + strings.ToLower(s), true},
		{"web link of another host", "https://evil.example/app/#a=" + s, false},
		{"web link of another port", "https://mfa.acme.example/app/#a=" + s, false},
		{"web link, other path", "https://mfa.acme.example:8443/other/#a=" + s, false},
		{"web link in the query", "https://mfa.acme.example:8443/app/?a=" + s, false},
		{"web link without the string", "https://mfa.acme.example:8443/app/#", false},
		{"app scheme, other host", "twofold-authenticator://enroll?a=" + s, false},
		{"app scheme, two strings", "twofold-authenticator://activate?a=" + s + "&a=" + s, false},
		{"app scheme, no string", "twofold-authenticator://activate", false},
		{"other scheme", "otpauth://activate?a=" + s, false},
		{"app scheme, bad string", "twofold-authenticator://activate?a=T1XX", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseActivationLink(tc.in)
			if tc.ok && (err != nil || got != a) {
				t.Errorf("ParseActivationLink(%q) = %+v, %v; want %+v", tc.in, got, err, a)
			}
			if !tc.ok && err == nil {
				t.Errorf("ParseActivationLink(%q) = %+v, want an error", tc.in, got)
			}
		})
	}
}

func TestAppLinkTrailingSlash(t *testing.T) {
	a := Activation{URL: "https://mfa.acme.example/", Code: "abc"}
	if got, err := ParseActivationLink(a.AppLink()); err != nil || got != a {
		t.Errorf("ParseActivationLink(%q) = %+v, %v", a.AppLink(), got, err)
	}
}

func TestChoices(t *testing.T) {
	positions := map[int]int{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		for _, n := range []int{10, 42, 99} {
			c := Choices(id, n)
			if len(c) != 3 || c[0] == c[1] || c[1] == c[2] || c[0] == c[2] {
				t.Fatalf("Choices(%q, %d) = %v", id, n, c)
			}
			found := false
			for i, v := range c {
				if v < 10 || v > 99 {
					t.Errorf("Choices(%q, %d) = %v: out of range", id, n, c)
				}
				if v == n {
					found = true
					positions[i]++
				}
			}
			if !found {
				t.Errorf("Choices(%q, %d) = %v: the right number is missing", id, n, c)
			}
			if again := Choices(id, n); again[0] != c[0] || again[1] != c[1] || again[2] != c[2] {
				t.Errorf("Choices(%q, %d) changed: %v, %v", id, n, c, again)
			}
		}
	}
	if len(positions) != 3 {
		t.Errorf("the right number sat only at positions %v", positions)
	}
}
