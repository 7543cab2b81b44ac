package console

import (
	"html/template"

	"github.com/twofold-mfa/twofold/internal/i18n"
)

// funcs are the template functions of the console's pages, besides
// page.Funcs.
func funcs() template.FuncMap {
	return template.FuncMap{
		// state names a user's, token's or enrollment's state in words,
		// from the catalogue's prefix.state.* keys.
		"state": func(lang, prefix, state string) string {
			if hasKey(prefix + state) {
				return i18n.T(lang, prefix+state)
			}
			return state
		},
	}
}

func hasKey(key string) bool { return i18n.Has(key) }
