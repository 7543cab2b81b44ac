package page

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/secret"
)

// Site is one set of pages served together: how they are rendered, where
// their forms are, and the randomness of their CSRF tokens.
type Site struct {
	Render *Renderer
	Forms  Forms
	Rand   io.Reader
	Log    *slog.Logger
}

// Forms names, for each form post (by its route pattern, "POST
// /o/{org}/tokens/remove") whose page is not at the post's own path, the
// page its form is on. A post answered with a page (a refusal) links to
// that page — in another language — never to the post's address, where no
// page is.
type Forms map[string]Form

// Form is the page a form is on: its path, whose {name} wildcards are the
// post's own path values, and the query parameters it takes from the
// form's fields.
type Form struct {
	Path  string
	Query map[string]string // query parameter → the form field with its value
}

// URL is the address of the page a request is answered with: the
// request's own, or for a form post the page its form is on (f, else the
// post's own path). Choices in the post's own query stay. ok is false for
// a post no route took, such as one refused for its CSRF token.
func (f Forms) URL(r *http.Request) (u url.URL, ok bool) {
	if r.Method != http.MethodPost {
		return url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}, true
	}
	pattern, ok := strings.CutPrefix(r.Pattern, "POST ")
	if !ok {
		return url.URL{}, false
	}
	path := pattern
	q := r.URL.Query()
	if to, ok := f[r.Pattern]; ok {
		path = to.Path
		for param, field := range to.Query {
			if v := r.PostFormValue(field); v != "" {
				q.Set(param, v)
			}
		}
	}
	return url.URL{Path: expand(path, r, identity), RawPath: expand(path, r, url.PathEscape), RawQuery: q.Encode()}, true
}

// expand puts the request's path values, escaped by escape, in the
// {name} wildcards of path.
func expand(path string, r *http.Request, escape func(string) string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(path, '{')
		end := strings.IndexByte(path[max(open, 0):], '}')
		if open < 0 || end < 0 {
			b.WriteString(path)
			return b.String()
		}
		name := strings.TrimSuffix(path[open+1:open+end], "...")
		b.WriteString(path[:open])
		b.WriteString(escape(r.PathValue(name)))
		path = path[open+end+1:]
	}
}

func identity(s string) string { return s }

// Page fills what every page has: the language, the CSRF token, and the
// language switcher, which links to the page itself (Forms.URL) and is
// left out where there is no page to link to.
func (s *Site) Page(w http.ResponseWriter, r *http.Request, title string, data any) Page {
	lang := Lang(w, r)
	p := Page{Lang: lang, Title: title, CSRF: s.csrfToken(w, r), Data: data}
	if self, ok := s.Forms.URL(r); ok {
		for _, l := range i18n.Languages {
			u := WithQuery(self, "lang", l.Code)
			p.Languages = append(p.Languages, LangLink{Code: l.Code, Name: l.Name, URL: u.String(), Current: l.Code == lang})
		}
	}
	return p
}

// Show renders a page; a failure to is logged, the person sees a plain 500.
func (s *Site) Show(w http.ResponseWriter, status int, name string, p Page) {
	if err := s.Render.Page(w, status, name, p); err != nil {
		s.Log.Error("render page", "page", name, "err", err)
	}
}

// WithQuery returns u with the query parameter name set to value.
func WithQuery(u url.URL, name, value string) url.URL {
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u
}

// Guard adds the security headers every page gets, refuses cross-site form
// posts, and checks the CSRF token of every POST, whose body may be at
// most maxBody bytes. deny answers a refused post.
func Guard(next, deny http.Handler, maxBody int64) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(deny)
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Strict-Transport-Security", "max-age=31536000")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Pages carry secrets, codes or CSRF tokens: never keep them.
			h.Set("Cache-Control", "no-store")
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if err := parseForm(r, maxBody); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					r = r.WithContext(context.WithValue(r.Context(), tooLargeKey{}, true))
				}
				deny.ServeHTTP(w, r)
				return
			}
			if !csrfOK(r) {
				deny.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	}))
}

// parseForm reads a post's form, an upload's (multipart/form-data) too,
// so that its csrf_token can be checked; r.PostFormValue then has every
// field and r.FormFile the upload, held in memory (the body is at most
// maxBody bytes).
func parseForm(r *http.Request, maxBody int64) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxBody)
	}
	return r.ParseForm()
}

type tooLargeKey struct{}

// TooLarge reports whether Guard refused r, a post, for a body larger
// than it allows, so that the refusal can say so rather than blame the
// CSRF token it could not read.
func TooLarge(r *http.Request) bool {
	v, _ := r.Context().Value(tooLargeKey{}).(bool)
	return v
}

const csrfCookie = "__Host-twofold-csrf"

// csrfToken returns the browser's CSRF token, setting the cookie that
// holds it on first use. Forms echo it in csrf_token; a cross-site page
// cannot read the cookie, so cannot forge the field.
func (s *Site) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok, err := secret.Token(s.Rand, 20)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	// Later reads in this request see it too.
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: tok})
	return tok
}

func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf_token"))) == 1
}

// Lang picks the page language: ?lang=, then the language cookie, then
// Accept-Language. A ?lang= choice is remembered in a cookie.
func Lang(w http.ResponseWriter, r *http.Request) string {
	explicit := r.URL.Query().Get("lang")
	if explicit != "" {
		if l := i18n.Match(explicit, ""); l == explicit {
			http.SetCookie(w, &http.Cookie{Name: "twofold-lang", Value: l, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
			return l
		}
	}
	if c, err := r.Cookie("twofold-lang"); err == nil {
		explicit = c.Value
	}
	return i18n.Match(explicit, r.Header.Get("Accept-Language"))
}

// Redirect answers a form post with a redirect to a page (303 See Other,
// so that reloading does not post again).
func Redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// Source is the address a request came from, for the audit log.
func Source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
