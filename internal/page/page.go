// Package page is the machinery every set of Twofold's pages shares — the
// user portal's (package web) and the operator console's (package
// console): the layout and its parts, rendering, the language choice, the
// CSRF token, the security headers, sessions held in the database, and
// the friendly error page. Pages are server-rendered HTML that works
// without JavaScript, in English, Dutch and German, under a strict
// Content-Security-Policy.
package page

import (
	"net/url"
	"time"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The view models the layout reads. Handlers fill them; templates only
// loop and test, and take every word from the catalogue.

// Page is what every page has: the layout reads it, and each page's own
// data sits in Data.
type Page struct {
	Lang      string     // "en", "nl" or "de": the page's language
	Languages []LangLink // the switcher: every language with a link to this page in it
	Title     string     // catalogue key of the page title
	Org       *OrgView   // nil on pages that belong to no organization
	User      string     // the signed-in username, empty when nobody is
	CSRF      string     // value for every form's hidden csrf_token field
	Flash     string     // catalogue key of a one-time notice ("password changed"), or empty
	FlashArgs []any      // the notice's arguments (%d backup codes left)
	// Error is the catalogue key of what went wrong with a form post, or
	// empty; ErrorArgs are its arguments (the PIN lengths). The page shows
	// it in a summary at the top of the main content, which takes the
	// focus, and "Error: " leads the title.
	Error     string
	ErrorArgs []any
	// ErrorField is the id of the field the error is about: the summary
	// links to it, and the field shows the message beside it and is marked
	// invalid. Empty for an error about no one field (wait before a resend).
	ErrorField string
	// ErrorForm, on a page with several forms (the dashboard), is the
	// catalogue key of the failed form's heading, which the summary names.
	ErrorForm string
	// Hint is the catalogue key of what usually went wrong with a refused
	// code (the phone's clock), shown with Error; HintArgs its arguments.
	Hint     string
	HintArgs []any
	Loc      *time.Location // the organization's time zone, which times are told in; nil is UTC
	// Nav is the console's navigation: its sections, the current one
	// marked. Empty on the portal's pages.
	Nav []NavLink
	// SignOut is the action of the sign-out form the layout shows with
	// the navigation.
	SignOut string
	// Refresh, when above zero, has the browser load the page again after
	// that many seconds: a page waiting for something done elsewhere (a
	// device activated, a push answered) follows it without JavaScript.
	Refresh int
	// RefreshURL, when set, is where the refresh goes instead, after
	// Refresh seconds (0: at once): a new navigation, which a form post's
	// Content-Security-Policy form-action does not hold to this site
	// (the OpenID Connect provider's way back to an application).
	RefreshURL string
	Data       any // the page's own view model
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	Code    string // "en"
	Name    string // the language's own name: "English", "Nederlands", "Deutsch"
	URL     string // this page with ?lang=Code
	Current bool
}

// NavLink is one section of a navigation.
type NavLink struct {
	Label   string // catalogue key
	URL     string
	Current bool
}

// OrgView is the organization a page belongs to, for its heading and links.
type OrgView struct {
	Slug string
	Name string
	// LogoURL is the address of the organization's logo, which names its
	// hash (so it may be cached), or empty without one.
	LogoURL string
	// SupportContact is whom its users ask for help, or empty.
	SupportContact string
}

// LogoURL is the address of an organization's logo, served by the
// portal, naming the logo's hash; empty when it has none.
func LogoURL(org store.Org) string {
	if org.LogoHash == "" {
		return ""
	}
	return "/o/" + url.PathEscape(org.Slug) + "/logo?v=" + url.QueryEscape(org.LogoHash)
}

// ErrorView is a friendly error page (page "error"): Status is the HTTP
// status, Message a catalogue key, Next a catalogue key saying what to do.
type ErrorView struct {
	Status  int
	Message string
	Next    string
	BackURL string // where a link leads back to, or empty
}

// In puts the page in org: its name and logo head the page, its support
// contact is in the footer, and times are told in its time zone.
func (p *Page) In(org store.Org) {
	p.Org = &OrgView{Slug: org.Slug, Name: org.Name, LogoURL: LogoURL(org), SupportContact: org.SupportContact}
	p.Loc = Location(org)
}

// Location is the organization's time zone (its policy's time_zone),
// which its pages and mails tell times in; UTC when the policy cannot be
// read.
func Location(org store.Org) *time.Location {
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return time.UTC
	}
	return pol.Location()
}
