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
	"slices"
	"strings"
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

// Renderer renders pages from the embedded templates. Templates are
// parsed once. (Mails are rendered by package compose.)
type Renderer struct {
	pages map[string]*template.Template
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

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}}
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

// renderFuncs are the template functions of pages.
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
