package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadCatalogues(t *testing.T) {
	good := `{"common.sign_in": "Sign in"}`
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string // in the error; empty for none
	}{
		{"every language's file loads", fstest.MapFS{
			"locales/en.json": {Data: []byte(good)}, "locales/nl.json": {Data: []byte(good)}, "locales/de.json": {Data: []byte(good)},
		}, ""},
		{"a missing language is an error", fstest.MapFS{
			"locales/en.json": {Data: []byte(good)}, "locales/nl.json": {Data: []byte(good)},
		}, "de.json"},
		{"a file that is no JSON object of strings names itself", fstest.MapFS{
			"locales/en.json": {Data: []byte(good)}, "locales/nl.json": {Data: []byte(`{"a": 1}`)}, "locales/de.json": {Data: []byte(good)},
		}, "locales/nl.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := load(tt.files)
			if tt.want == "" {
				if err != nil || cs["nl"]["common.sign_in"] != "Sign in" {
					t.Fatalf("load = %v, %v", cs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// The embedded files are what the package serves.
func TestEmbeddedCataloguesLoad(t *testing.T) {
	cs, err := load(locales)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		if len(cs[l.Code]) < 100 {
			t.Errorf("%s: only %d messages embedded", l.Code, len(cs[l.Code]))
		}
	}
}
