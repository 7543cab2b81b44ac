// Package i18n holds Twofold's message catalogue in English, Dutch and
// German and picks a person's language.
//
// Keys are lower-case, dotted and named for where the words appear:
//
//	layout.*                   the frame around every page (switcher, footer)
//	common.*                   labels and buttons used on several pages
//	<page>.title               a page's title, for Page.Title ("login.title")
//	<page>.*                   the words of one page ("enroll.step_scan")
//	error.<x>                  an error: above a form (Page.Error, "error.code_wrong")
//	                           or on the error page (ErrorView.Message)
//	error.<x>_next             what to do about error.<x> (ErrorView.Next)
//	hint.<x>                   why an enrollment code was probably refused (EnrollView.Hint)
//	flash.<x>                  a one-time notice after an action (Page.Flash)
//	token.type.<t>, token.state.<s>  an authenticator's kind and state
//	date.*                     month names and date formats
//	mail.<mail>.*, mail.*      the words of one mail, and those all mails share
//
// Messages are fmt formats; every language takes the same arguments in the
// same order. They live in locales/<code>.json, one file per language that
// translation tools read and write (see catalogue.go); English is the
// reference. DESIGN.md section 8 fixes the words used everywhere:
// "authenticator app", "one-time code", "backup codes" (nl:
// authenticator-app, eenmalige code, back-upcodes; de: Authenticator-App,
// Einmalcode, Back-up-Codes).
package i18n

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Language is a supported language: its code and its own name.
type Language struct{ Code, Name string }

// Languages are the supported languages, in the switcher's order.
var Languages = []Language{{"en", "English"}, {"nl", "Nederlands"}, {"de", "Deutsch"}}

// matcher matches Accept-Language preferences to Languages; the first
// entry (English) is the fallback.
var matcher = language.NewMatcher(func() []language.Tag {
	tags := make([]language.Tag, len(Languages))
	for i, l := range Languages {
		tags[i] = language.MustParse(l.Code)
	}
	return tags
}())

// maxAcceptLanguage bounds the header we are willing to parse; longer is
// not a real browser's and falls back to English.
const maxAcceptLanguage = 1024

// Match picks the language: explicit (a ?lang= value or cookie) when
// supported, else the best match for an Accept-Language header, else "en".
// Never panics on garbage headers.
func Match(explicit, acceptLanguage string) string {
	if _, ok := catalogues[explicit]; ok {
		return explicit
	}
	if acceptLanguage == "" || len(acceptLanguage) > maxAcceptLanguage {
		return Languages[0].Code
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Languages[0].Code
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No || i < 0 || i >= len(Languages) {
		return Languages[0].Code
	}
	return Languages[i].Code
}

// T returns the message key in lang, formatted with args (fmt verbs). An
// unsupported lang falls back to English. A key missing from the
// catalogue returns the key itself wrapped in "!(…)" so it shows up in
// screenshots and tests.
func T(lang, key string, args ...any) string {
	c, ok := catalogues[lang]
	if !ok {
		c = en
	}
	msg, ok := c[key]
	if !ok {
		return "!(" + key + ")"
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether key is in the catalogue.
func Has(key string) bool {
	_, ok := en[key]
	return ok
}

// Keys lists every key (for tests), sorted.
func Keys() []string {
	seen := map[string]bool{}
	for _, c := range catalogues {
		for k := range c {
			seen[k] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Date formats t as a date in lang as the calendar in loc shows it ("24
// Nov 2026", "24 nov 2026", "24. Nov. 2026"); the zero time is the
// catalogue's "never". A nil loc is UTC.
func Date(lang string, loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return T(lang, "date.never")
	}
	t = t.In(zone(loc))
	months := strings.Fields(T(lang, "date.months"))
	month := t.Month().String()
	if len(months) == 12 {
		month = months[t.Month()-1]
	}
	return T(lang, "date.format", t.Day(), month, t.Year())
}

// DateTime formats t as a date and time of day in lang, as the clocks in
// loc show it, with the zone's abbreviation ("24 Nov 2026, 14:05 UTC",
// "25 nov 2026 om 00:30 CET"); the zero time is the catalogue's "never". A
// nil loc is UTC.
func DateTime(lang string, loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return T(lang, "date.never")
	}
	t = t.In(zone(loc))
	return T(lang, "date.datetime", Date(lang, loc, t), t.Format("15:04 MST"))
}

func zone(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// Moment formats t, a time soon after now, for a message read at now, as
// the clocks in loc show it: only the time of day when t falls on now's
// date ("09:15 UTC"), else the date and the time ("25 Nov 2026, 09:15
// UTC"). A nil loc is UTC.
func Moment(lang string, loc *time.Location, t, now time.Time) string {
	t, now = t.In(zone(loc)), now.In(zone(loc))
	y, m, d := t.Date()
	ny, nm, nd := now.Date()
	if y == ny && m == nm && d == nd {
		return t.Format("15:04 MST")
	}
	return DateTime(lang, loc, t)
}
