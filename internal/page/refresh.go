package page

import (
	"net/http"
	"strings"
)

// Pages that reload themselves (Page.Refresh: a push waiting for its
// answer, an import under way) offer to stop: WCAG 2.2.1 allows a time
// limit only when the person can turn it off, as someone slow to read or
// using a screen reader needs. The same page with ?refresh=off has no
// reload and keeps a link to look again.

// refreshOff reports whether r asks for its page without the reload.
func refreshOff(r *http.Request) bool { return r.URL.Query().Get("refresh") == "off" }

// RefreshEvery is how often the page r asks for reloads itself: every
// seconds, or never once the person has stopped it.
func RefreshEvery(r *http.Request, seconds int) int {
	if refreshOff(r) {
		return 0
	}
	return seconds
}

// StopRefresh is the address of the page at u without its reload.
func StopRefresh(u string) string {
	if strings.Contains(u, "?") {
		return u + "&refresh=off"
	}
	return u + "?refresh=off"
}

// KeepRefresh is u, an address that leads back to the page r asked for,
// without the reload when r was without it.
func KeepRefresh(r *http.Request, u string) string {
	if refreshOff(r) {
		return StopRefresh(u)
	}
	return u
}
