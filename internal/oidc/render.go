package oidc

import (
	"embed"
	"io/fs"

	"github.com/twofold-mfa/twofold/internal/page"
)

// The provider's own pages (the consent page) are part of the binary; the
// layout they go in is package page's.
//
//go:embed templates
var templateFS embed.FS

// NewRenderer parses the provider's pages.
func NewRenderer() (*page.Renderer, error) {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	return page.NewRenderer(sub, nil)
}
