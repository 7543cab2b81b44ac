package authapp_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var languages = []string{"en", "nl", "de"}

// catalogue reads assets/i18n/<lang>.json, which must be written as the
// server's catalogues are: keys sorted, two-space indent, UTF-8 unescaped.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("assets", "i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	if b.String() != string(raw) {
		t.Errorf("%s.json is not written with sorted keys, a two-space indent and unescaped UTF-8", lang)
	}
	return m
}

// Every catalogue has the same keys, each message the same placeholders,
// and every key the page and the scripts name is in them.
func TestCataloguesComplete(t *testing.T) {
	en := catalogue(t, "en")
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	for _, lang := range languages[1:] {
		m := catalogue(t, lang)
		for k, v := range en {
			other, ok := m[k]
			if !ok {
				t.Errorf("%s.json lacks %q", lang, k)
				continue
			}
			a, b := placeholder.FindAllString(v, -1), placeholder.FindAllString(other, -1)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s %q has placeholders %v, English %v", lang, k, b, a)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s.json has %q, which en.json lacks", lang, k)
			}
		}
	}
	// The page names keys in data-i18n; the scripts as strings of a
	// section and a name, "push.title".
	used := map[string]*regexp.Regexp{
		"index.html":  regexp.MustCompile(`data-i18n="([a-z_.]+)"`),
		"app.js":      regexp.MustCompile(`"((?:app|common|list|add|error|pin_set|pin_ask|code|push)\.[a-z_]+)"`),
		"protocol.js": regexp.MustCompile(`"(error\.[a-z_]+)"`),
	}
	for file, re := range used {
		src, err := os.ReadFile(filepath.Join("assets", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			key := m[1]
			if _, ok := en[key]; !ok {
				t.Errorf("%s names %q, which is not in the catalogue", file, key)
			}
		}
	}
}

// Dutch says "je", German "Sie", as the server's pages do.
func TestCatalogueForms(t *testing.T) {
	for _, tc := range []struct {
		lang string
		not  *regexp.Regexp
	}{
		{"nl", regexp.MustCompile(`(?i)\b(u|uw)\b`)},
		{"de", regexp.MustCompile(`\b(du|dein|deine|dich|dir)\b`)},
	} {
		for k, v := range catalogue(t, tc.lang) {
			if tc.not.MatchString(v) {
				t.Errorf("%s %q: %q", tc.lang, k, v)
			}
		}
	}
	if !strings.Contains(catalogue(t, "de")["list.empty"], "Sie") || !strings.Contains(catalogue(t, "nl")["list.empty"], "je") {
		t.Error("the empty list does not address the person as je / Sie")
	}
}
