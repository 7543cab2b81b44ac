package console

import (
	"html/template"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
)

// funcs are the template functions of the console's pages, besides
// page.Funcs.
func funcs() template.FuncMap {
	return template.FuncMap{
		// figure gives the dashboard's "figure" template one figure: its
		// name (catalogue key console.dashboard.<name>), value, and the
		// page listing it.
		"figure": func(p page.View, name string, value int) any {
			links, _ := p.Data.(DashboardView)
			return struct {
				Lang, Name, URL string
				Value           int
			}{p.Lang, name, links.Links[name], value}
		},
		// state names a user's, token's or enrollment's state in words,
		// from the catalogue's prefix.state.* keys.
		"state": func(lang, prefix, state string) string {
			if i18n.Has(prefix + state) {
				return i18n.T(lang, prefix+state)
			}
			return state
		},
	}
}
