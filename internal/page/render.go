package page

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
)

// The layout, the shared parts and pages, and the static files are part
// of the binary.
var (
	//go:embed templates
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// Renderer renders one set of pages inside the shared layout. Templates
// are parsed once. (Mails are rendered by package compose.)
type Renderer struct {
	pages map[string]*template.Template
}

// View is what a page template is given: the handler's Page and what the
// layout needs besides.
type View struct {
	Page
	Name       string // the page's name, a CSS hook on <body>
	Stylesheet string
}

// Invalid reports whether the page's error is about the field with this
// id: {{if $.Invalid "code"}} marks the field and shows the message there.
func (v View) Invalid(id string) bool { return v.Error != "" && v.ErrorField == id }

// NewRenderer parses the layout, the shared parts and pages (the error
// page), and the set of pages in files: files/pages/*.html, with the
// pieces they share in files/parts.html when there is one. funcs adds to
// the template functions every page has (Funcs).
func NewRenderer(files fs.FS, funcs template.FuncMap) (*Renderer, error) {
	all := Funcs()
	maps.Copy(all, funcs)
	base, err := template.New("layout.html").Funcs(all).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("render: layout: %w", err)
	}
	if _, err := fs.Stat(files, "parts.html"); err == nil {
		if base, err = base.ParseFS(files, "parts.html"); err != nil {
			return nil, fmt.Errorf("render: parts: %w", err)
		}
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, set := range []struct {
		fsys fs.FS
		dir  string
	}{{templateFS, "templates/pages"}, {files, "pages"}} {
		names, err := fs.Glob(set.fsys, set.dir+"/*.html")
		if err != nil {
			return nil, err
		}
		for _, file := range names {
			t, err := template.Must(base.Clone()).ParseFS(set.fsys, file)
			if err != nil {
				return nil, fmt.Errorf("render: %s: %w", file, err)
			}
			r.pages[strings.TrimSuffix(path.Base(file), ".html")] = t
		}
	}
	return r, nil
}

// Has reports whether the renderer has page name.
func (r *Renderer) Has(name string) bool { _, ok := r.pages[name]; return ok }

// Page writes page name inside the layout with status; it sets
// Content-Type text/html; charset=utf-8. Rendering goes to a buffer first,
// so a template error writes a plain 500 instead of half a page, and is
// returned.
func (r *Renderer) Page(w http.ResponseWriter, status int, name string, p Page) error {
	var buf bytes.Buffer
	err := r.render(&buf, name, p)
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

func (r *Renderer) render(buf *bytes.Buffer, name string, p Page) error {
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
	v := View{Page: p, Name: name, Stylesheet: StylesheetURL()}
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		return fmt.Errorf("render: page %q: %w", name, err)
	}
	return nil
}

// stylesheetURL is the stylesheet's address with its content hash, so
// that a new binary's stylesheet is fetched despite the long cache
// lifetime.
var stylesheetURL = func() string {
	css, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		panic("page: no embedded static/style.css")
	}
	sum := sha256.Sum256(css)
	return "/static/style.css?v=" + hex.EncodeToString(sum[:])[:10]
}()

// StylesheetURL returns "/static/style.css?v=<short content hash>" for the
// layout.
func StylesheetURL() string { return stylesheetURL }

// StaticFile returns one of the embedded static files ("style.css").
func StaticFile(name string) ([]byte, error) { return staticFS.ReadFile("static/" + name) }

// StaticHandler serves the embedded static files under /static/ (it is
// given the whole path, /static/style.css) with a long cache lifetime.
func StaticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
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

// Funcs are the template functions every page has.
func Funcs() template.FuncMap {
	return template.FuncMap{
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
		"hidden": func(fields map[string]string) []Field {
			var out []Field
			for name, value := range fields {
				if name != "code" && name != "csrf_token" {
					out = append(out, Field{name, value})
				}
			}
			slices.SortFunc(out, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
			return out
		},
	}
}

// Field is a hidden form field.
type Field struct{ Name, Value string }
