package web

import (
	"embed"
	"html/template"
	"io/fs"
	"strings"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
)

// The portal's templates are part of the binary; the layout they go in
// is package page's.
//
//go:embed templates
var renderTemplateFS embed.FS

// NewRenderer parses the portal's pages.
func NewRenderer() (*page.Renderer, error) {
	sub, err := fs.Sub(renderTemplateFS, "templates")
	if err != nil {
		return nil, err
	}
	return page.NewRenderer(sub, renderFuncs())
}

// renderFuncs are the template functions of the portal's pages, besides
// page.Funcs.
func renderFuncs() template.FuncMap {
	return template.FuncMap{
		// pinFields gives the "pin-fields" template its data: the page,
		// for its language and error, and the form's.
		"pinFields": func(p page.View, hasPIN bool, rules PINRules) any {
			return struct {
				page.View
				HasPIN bool
				Rules  PINRules
			}{p, hasPIN, rules}
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
