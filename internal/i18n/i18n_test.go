package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// verb matches a fmt verb with its flags, width, precision and index.
var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*(\d+|\*)?(\.(\d+|\*))?[a-zA-Z%]`)

func verbs(msg string) []string { return verb.FindAllString(msg, -1) }

func TestCatalogueComplete(t *testing.T) {
	keys := Keys()
	if len(keys) < 100 {
		t.Fatalf("only %d keys", len(keys))
	}
	for _, key := range keys {
		ref, ok := en[key]
		if !ok {
			t.Errorf("%s: missing in en", key)
			continue
		}
		for _, l := range Languages {
			msg, ok := catalogues[l.Code][key]
			switch {
			case !ok:
				t.Errorf("%s: missing in %s", key, l.Code)
			case strings.TrimSpace(msg) == "":
				t.Errorf("%s: empty in %s", key, l.Code)
			case !slices.Equal(verbs(msg), verbs(ref)):
				t.Errorf("%s: %s has verbs %q, en has %q", key, l.Code, verbs(msg), verbs(ref))
			case msg != strings.TrimSpace(msg):
				t.Errorf("%s: %s has leading or trailing space", key, l.Code)
			}
		}
	}
	if len(catalogues) != len(Languages) {
		t.Errorf("%d catalogues for %d languages", len(catalogues), len(Languages))
	}
}

func TestCatalogueWords(t *testing.T) {
	// The same term everywhere (DESIGN.md section 8): no stray variants.
	banned := map[string][]string{
		"en": {"authentication app", "OTP code", "one time code", "recovery code", "backup key"},
		// And the calques a native speaker's review took out.
		"nl": {"authenticator app", "authenticatie-app", "eenmalig wachtwoord", "backupcode", "back-up code", "herstelcode", " u ", " uw ",
			"Houd de app", "Met elk van deze", "instellink"},
		"de": {"Authenticator App", "Authentifizierungs-App", "Einmal-Code", "Einmalpasswort", "Backup-Code", "Wiederherstellungscode", " du ", " dein",
			"wurde sich", "Authenticators", "geht nicht"},
	}
	for lang, words := range banned {
		for key, msg := range catalogues[lang] {
			for _, w := range words {
				if strings.Contains(" "+msg+" ", w) {
					t.Errorf("%s %s: %q uses %q", lang, key, msg, w)
				}
			}
		}
	}
}

func TestT(t *testing.T) {
	if got := T("nl", "layout.signed_in_as", "anna"); got != "Ingelogd als anna" {
		t.Errorf("T nl = %q", got)
	}
	if got := T("fr", "common.password"); got != "Password" {
		t.Errorf("unsupported language: %q", got)
	}
	if got := T("de", "no.such.key"); got != "!(no.such.key)" {
		t.Errorf("missing key: %q", got)
	}
	if !Has("common.password") || Has("no.such.key") {
		t.Error("Has is wrong")
	}
}

func TestDate(t *testing.T) {
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	afternoon := time.Date(2026, time.November, 24, 14, 5, 0, 0, time.UTC)
	lateEvening := time.Date(2026, time.November, 24, 23, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name, lang     string
		loc            *time.Location
		when           time.Time
		date, datetime string
	}{
		{"English in UTC", "en", time.UTC, afternoon, "24 Nov 2026", "24 Nov 2026, 14:05 UTC"},
		{"Dutch in UTC", "nl", time.UTC, afternoon, "24 nov 2026", "24 nov 2026 om 14:05 UTC"},
		{"German in UTC", "de", time.UTC, afternoon, "24. Nov. 2026", "24. Nov. 2026 um 14:05 UTC"},
		{"no zone is UTC", "en", nil, afternoon, "24 Nov 2026", "24 Nov 2026, 14:05 UTC"},
		{"Amsterdam's clock is an hour ahead in winter", "nl", amsterdam, afternoon, "24 nov 2026", "24 nov 2026 om 15:05 CET"},
		{"a late evening in UTC is the next day in Amsterdam", "de", amsterdam, lateEvening, "25. Nov. 2026", "25. Nov. 2026 um 00:30 CET"},
	} {
		if got := Date(c.lang, c.loc, c.when); got != c.date {
			t.Errorf("%s: Date = %q, want %q", c.name, got, c.date)
		}
		if got := DateTime(c.lang, c.loc, c.when); got != c.datetime {
			t.Errorf("%s: DateTime = %q, want %q", c.name, got, c.datetime)
		}
		if got := Date(c.lang, c.loc, time.Time{}); got != T(c.lang, "date.never") {
			t.Errorf("%s: zero Date = %q", c.name, got)
		}
	}
	if got := Date("de", time.UTC, time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)); got != "1. März 2026" {
		t.Errorf("March in German: %q", got)
	}
}

func TestMoment(t *testing.T) {
	now := time.Date(2026, time.November, 24, 23, 50, 0, 0, time.UTC)
	for _, c := range []struct {
		name, lang string
		loc        *time.Location
		t          time.Time
		want       string
	}{
		{"later the same day is a time of day", "en", nil, now.Add(5 * time.Minute), "23:55 UTC"},
		{"tomorrow names the date", "en", nil, now.Add(20 * time.Minute), "25 Nov 2026, 00:10 UTC"},
		{"the date in the language", "de", nil, now.Add(20 * time.Minute), "25. Nov. 2026 um 00:10 UTC"},
		{"the day is judged in the organization's zone", "nl", time.FixedZone("CET", 3600), now.Add(20 * time.Minute), "01:10 CET"},
		{"a time of day today there names no date", "en", time.FixedZone("EST", -5*3600), now.Add(20 * time.Minute), "19:10 EST"},
	} {
		if got := Moment(c.lang, c.loc, c.t, now); got != c.want {
			t.Errorf("%s: Moment = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct{ explicit, header, want string }{
		{"", "nl-NL,nl;q=0.9", "nl"},
		{"", "de-CH", "de"},
		{"", "de-AT,de;q=0.8,en;q=0.5", "de"},
		{"", "fr", "en"},
		{"", "fr-FR,fr;q=0.9,nl;q=0.5", "nl"},
		{"", "en-GB,en;q=0.9", "en"},
		{"", "nl-BE", "nl"},
		{"", "*", "en"},
		{"", "", "en"},
		{"", "garbage;;;q=x,,@@", "en"},
		{"", "\x00\xff", "en"},
		{"", strings.Repeat("nl,", 2000), "en"},
		{"de", "nl-NL,nl;q=0.9", "de"},
		{"nl", "", "nl"},
		{"fr", "de", "de"},
		{"xx-garbage", "", "en"},
		{"EN", "nl", "nl"},
	} {
		if got := Match(c.explicit, c.header); got != c.want {
			t.Errorf("Match(%q, %q) = %q, want %q", c.explicit, c.header, got, c.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"nl-NL,nl;q=0.9", "de-CH", "fr", "", "*;q=0", "en-US;q=1e9", "x-klingon", "zh-Hant-TW-u-ca-chinese"} {
		f.Add("", s)
		f.Add("nl", s)
	}
	f.Fuzz(func(t *testing.T, explicit, header string) {
		got := Match(explicit, header)
		if !slices.ContainsFunc(Languages, func(l Language) bool { return l.Code == got }) {
			t.Fatalf("Match(%q, %q) = %q, not supported", explicit, header, got)
		}
	})
}
