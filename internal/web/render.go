package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
)

// The templates and static files are part of the binary.
var (
	//go:embed templates
	renderTemplateFS embed.FS
	//go:embed static
	renderStaticFS embed.FS
)

// InviteMail is the data of the "invite" mail: the enrollment link.
type InviteMail struct {
	OrgName  string
	Username string
	Link     string // the enrollment link, under TWOFOLD_PUBLIC_URL
	Expires  time.Time
}

// NoticeMail is the data of the "token_added", "token_removed",
// "password_changed" and "backup_used" mails (TokenName is unused by the
// last two; Left, the backup codes left, only by "backup_used").
type NoticeMail struct {
	OrgName   string
	Username  string
	TokenName string
	When      time.Time
	PortalURL string // the portal, under TWOFOLD_PUBLIC_URL; empty leaves the link out
	Left      int
}

// ResetMail is the data of the "reset_link" mail.
type ResetMail struct {
	OrgName  string
	Username string
	Link     string // the reset link, under TWOFOLD_PUBLIC_URL
	Minutes  int
}

// VerifyCodeMail is the data of the "verify_code" mail.
type VerifyCodeMail struct {
	OrgName string
	Code    string
	Minutes int
}

// LockedMail is the data of the "account_locked" mail: the account locked
// at When, until Until, or until an operator unlocks it when Forever.
type LockedMail struct {
	OrgName     string
	Username    string
	When, Until time.Time
	Forever     bool
	PortalURL   string // the portal, under TWOFOLD_PUBLIC_URL
}

// Renderer renders pages and mails from the embedded templates. Templates
// are parsed once.
type Renderer struct {
	pages map[string]*template.Template
	mails map[string]renderMailSet
}

// renderMailSet is one mail's templates: "subject" and "text" in the text
// set; in the HTML set, the mail layout ("layout") around the mail's "body".
type renderMailSet struct {
	text *texttemplate.Template
	html *template.Template
}

// renderView is what a page template is given: the handler's Page and
// what the layout needs besides.
type renderView struct {
	Page
	Name       string // the page's name, a CSS hook on <body>
	Stylesheet string
}

// Invalid reports whether the page's error is about the field with this
// id: {{if $.Invalid "code"}} marks the field and shows the message there.
func (v renderView) Invalid(id string) bool { return v.Error != "" && v.ErrorField == id }

// renderMailView is what a mail template is given.
type renderMailView struct {
	Lang string
	Loc  *time.Location // the organization's time zone, which times are told in
	Data any
}

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, mails: map[string]renderMailSet{}}
	funcs := renderFuncs()

	base, err := template.New("layout.html").Funcs(funcs).ParseFS(renderTemplateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("render: layout: %w", err)
	}
	pages, err := fs.Glob(renderTemplateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, file := range pages {
		t, err := template.Must(base.Clone()).ParseFS(renderTemplateFS, file)
		if err != nil {
			return nil, fmt.Errorf("render: %s: %w", file, err)
		}
		r.pages[strings.TrimSuffix(path.Base(file), ".html")] = t
	}

	mailBase, err := template.New("layout.html").Funcs(funcs).ParseFS(renderTemplateFS, "templates/mail/layout.html")
	if err != nil {
		return nil, fmt.Errorf("render: mail layout: %w", err)
	}
	texts, err := fs.Glob(renderTemplateFS, "templates/mail/*.txt")
	if err != nil {
		return nil, err
	}
	for _, file := range texts {
		name := strings.TrimSuffix(path.Base(file), ".txt")
		text, err := texttemplate.New(path.Base(file)).Funcs(texttemplate.FuncMap(funcs)).ParseFS(renderTemplateFS, file)
		if err != nil {
			return nil, fmt.Errorf("render: %s: %w", file, err)
		}
		html, err := template.Must(mailBase.Clone()).ParseFS(renderTemplateFS, "templates/mail/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("render: mail %s: %w", name, err)
		}
		for _, def := range []string{"subject", "text"} {
			if text.Lookup(def) == nil {
				return nil, fmt.Errorf("render: %s defines no %q", file, def)
			}
		}
		if html.Lookup("body") == nil {
			return nil, fmt.Errorf("render: mail %s.html defines no \"body\"", name)
		}
		r.mails[name] = renderMailSet{text: text, html: html}
	}
	return r, nil
}

// Page writes page name inside the layout with status; it sets
// Content-Type text/html; charset=utf-8. Rendering goes to a buffer first,
// so a template error writes a plain 500 instead of half a page, and is
// returned.
func (r *Renderer) Page(w http.ResponseWriter, status int, name string, p Page) error {
	var buf bytes.Buffer
	err := r.renderPage(&buf, name, p)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

func (r *Renderer) renderPage(buf *bytes.Buffer, name string, p Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	p.Lang = i18n.Match(p.Lang, "")
	if p.Title == "" {
		p.Title = name + ".title"
	}
	if p.Loc == nil {
		p.Loc = time.UTC
	}
	v := renderView{Page: p, Name: name, Stylesheet: StylesheetURL()}
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		return fmt.Errorf("render: page %q: %w", name, err)
	}
	return nil
}

// Mail renders mail name ("invite" with InviteMail; "token_added",
// "token_removed" and "password_changed" with NoticeMail; "verify_code"
// with VerifyCodeMail) in lang, with times in loc (nil is UTC): subject,
// plain text and HTML bodies.
func (r *Renderer) Mail(lang string, loc *time.Location, name string, data any) (subject, text, html string, err error) {
	m, ok := r.mails[name]
	if !ok {
		return "", "", "", fmt.Errorf("render: no mail %q", name)
	}
	if loc == nil {
		loc = time.UTC
	}
	v := renderMailView{Lang: i18n.Match(lang, ""), Loc: loc, Data: data}
	var buf bytes.Buffer
	if err := m.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return "", "", "", fmt.Errorf("render: mail %q subject: %w", name, err)
	}
	// One line, whatever the organization's name holds.
	subject = strings.Join(strings.Fields(buf.String()), " ")
	buf.Reset()
	if err := m.text.ExecuteTemplate(&buf, "text", v); err != nil {
		return "", "", "", fmt.Errorf("render: mail %q text: %w", name, err)
	}
	text = renderTidyText(buf.String())
	buf.Reset()
	if err := m.html.ExecuteTemplate(&buf, "layout", v); err != nil {
		return "", "", "", fmt.Errorf("render: mail %q html: %w", name, err)
	}
	return subject, text, buf.String(), nil
}

// renderBlankLines matches runs of blank lines.
var renderBlankLines = regexp.MustCompile(`\n{3,}`)

// renderTidyText trims each line of a plain-text mail, keeps at most one
// blank line between paragraphs and ends it with a newline.
func renderTidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = renderBlankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(s) + "\n"
}

// renderStylesheetURL is the stylesheet's address with its content hash,
// so that a new binary's stylesheet is fetched despite the long cache
// lifetime.
var renderStylesheetURL = func() string {
	css, err := renderStaticFS.ReadFile("static/style.css")
	if err != nil {
		panic("web: no embedded static/style.css")
	}
	sum := sha256.Sum256(css)
	return "/static/style.css?v=" + hex.EncodeToString(sum[:])[:10]
}()

// StylesheetURL returns "/static/style.css?v=<short content hash>" for the
// layout.
func StylesheetURL() string { return renderStylesheetURL }

// StaticHandler serves the embedded static files under /static/ (it is
// given the whole path, /static/style.css) with a long cache lifetime.
func StaticHandler() http.Handler {
	sub, err := fs.Sub(renderStaticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/static/")
		if !ok || name == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
			http.NotFound(w, r) // no directory listings
			return
		}
		if _, err := fs.Stat(sub, name); err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// renderFuncs are the template functions of pages and mails.
func renderFuncs() template.FuncMap {
	return template.FuncMap{
		// pinFields gives the "pin-fields" template its data: the page,
		// for its language and error, and the form's.
		"pinFields": func(page renderView, hasPIN bool, rules PINRules) any {
			return struct {
				renderView
				HasPIN bool
				Rules  PINRules
			}{page, hasPIN, rules}
		},
		// t looks up a message: {{t $.Lang "key" args…}}.
		"t": i18n.T,
		// targs looks up a message with its arguments in a slice.
		"targs": func(lang, key string, args []any) string { return i18n.T(lang, key, args...) },
		// date and datetime format a time in a language and a time zone;
		// zero is "never": {{datetime $.Lang $.Loc .When}}.
		"date":     i18n.Date,
		"datetime": i18n.DateTime,
		// keyfor returns prefix+value when the catalogue has it, else
		// prefix+fallback: {{t $.Lang (keyfor "enroll_gone.reason." .Reason "unknown")}}.
		"keyfor": func(prefix, value, fallback string) string {
			if i18n.Has(prefix + value) {
				return prefix + value
			}
			return prefix + fallback
		},
		// tokenname is the user's name for a token, or its kind.
		"tokenname": func(lang string, t TokenView) string {
			if name := strings.TrimSpace(t.Name); name != "" {
				return name
			}
			return renderTokenType(lang, t.Type)
		},
		"tokentype": renderTokenType,
		"tokenstate": func(lang, state string) string {
			if i18n.Has("token.state." + state) {
				return i18n.T(lang, "token.state."+state)
			}
			return i18n.T(lang, "token.state.other")
		},
		// withquery adds name=value to the query of a URL.
		"withquery": func(base, name, value string) string {
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			return base + sep + url.Values{name: {value}}.Encode()
		},
		// hidden returns a form's hidden fields in name order, without
		// the fields the page writes itself.
		"hidden": func(fields map[string]string) []renderField {
			var out []renderField
			for name, value := range fields {
				if name != "code" && name != "csrf_token" {
					out = append(out, renderField{name, value})
				}
			}
			slices.SortFunc(out, func(a, b renderField) int { return strings.Compare(a.Name, b.Name) })
			return out
		},
		// platform is the enrollment page's platform: "android",
		// "iphone", "other", or "any" when none was chosen.
		"platform": renderPlatform,
		// platforms are the links of the platform choice.
		"platforms": func(v EnrollView) []renderPlatformLink {
			current := renderPlatform(v.Platform)
			var out []renderPlatformLink
			for _, code := range []string{"android", "iphone", "other"} {
				if u, ok := v.PlatformURLs[code]; ok && u != "" {
					out = append(out, renderPlatformLink{Code: code, URL: u, Current: code == current})
				}
			}
			return out
		},
	}
}

// renderField is a hidden form field.
type renderField struct{ Name, Value string }

// renderPlatformLink is one choice of phone on the enrollment page.
type renderPlatformLink struct {
	Code, URL string
	Current   bool
}

func renderPlatform(p string) string {
	switch p {
	case "android", "iphone", "other":
		return p
	}
	return "any"
}

func renderTokenType(lang, typ string) string {
	if i18n.Has("token.type." + typ) {
		return i18n.T(lang, "token.type."+typ)
	}
	return i18n.T(lang, "token.type.other")
}
