package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
)

// The catalogues are JSON files, one per language, mapping each key to
// its message: the flat key-value format that translation tools (Weblate,
// Crowdin, Poedit's JSON support, go-i18n) read and write. They are
// embedded, so the binary needs no files beside it.
//
//go:embed locales/*.json
var locales embed.FS

// catalogues holds each language's messages by code; en is the reference.
var (
	catalogues = mustLoad(locales)
	en         = catalogues["en"]
)

// load reads locales/<code>.json for every supported language.
func load(fsys fs.FS) (map[string]map[string]string, error) {
	cs := make(map[string]map[string]string, len(Languages))
	for _, l := range Languages {
		b, err := fs.ReadFile(fsys, "locales/"+l.Code+".json")
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		var c map[string]string
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("i18n: locales/%s.json: %w", l.Code, err)
		}
		cs[l.Code] = c
	}
	return cs, nil
}

// mustLoad loads the embedded catalogues: they are part of the program,
// so a broken one is a bug that every test finds at once.
func mustLoad(fsys fs.FS) map[string]map[string]string {
	cs, err := load(fsys)
	if err != nil {
		panic(err)
	}
	return cs
}
