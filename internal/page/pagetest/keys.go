// Package pagetest checks sets of pages in tests: that every catalogue
// key their templates and Go code name is in the catalogue, and, in a
// headless Chromium (browser.go), that they pass axe-core and fit a
// phone's width.
package pagetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/i18n"
)

var keyRE = regexp.MustCompile(`"([a-z_]+(?:\.[a-z_]+)+)"`)

// TemplateKeys checks that every key-like string in the templates of
// fsys ("login.title") is in the catalogue. A key ending in "_" is a
// prefix, completed at run time, which the caller checks itself.
func TemplateKeys(t *testing.T, fsys fs.FS) {
	t.Helper()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], "_") && !i18n.Has(m[1]) {
				t.Errorf("%s: %q is not in the catalogue", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// looksLikeKey matches the strings in Go code that are catalogue keys:
// errors, notices, hints and titles.
var looksLikeKey = regexp.MustCompile(`^((error|flash|hint|console)\.[a-z_.]+|[a-z_]+\.title)$`)

// CodeKeys checks that every string literal in the Go files of the
// current directory that looks like a catalogue key is in the catalogue.
func CodeKeys(t *testing.T) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && looksLikeKey.MatchString(s) && !i18n.Has(s) {
				t.Errorf("%s: %q is not in the catalogue", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
}
