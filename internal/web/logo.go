package web

import (
	"net/http"
	"strconv"

	"github.com/twofold-mfa/twofold/internal/page"
)

// logo serves an organization's logo (GET /o/{org}/logo?v={hash}), which
// the layout shows on its pages. It is served with the content type found
// from its bytes when it was stored (admin.LogoType), never sniffed again
// by the browser and forbidden to run or load anything, in case it is
// opened on its own. The URL naming the current logo's hash may be cached
// for good, as a new logo has a new hash; any other is sent on to it.
func (s *Server) logo(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.org.LogoHash == "" {
		s.fail(w, r, nil, http.StatusNotFound, "error.not_found", "error.not_found_next")
		return
	}
	h := w.Header()
	if r.URL.Query().Get("v") != v.org.LogoHash {
		h.Set("Cache-Control", "no-store")
		http.Redirect(w, r, page.LogoURL(v.org), http.StatusFound)
		return
	}
	data, typ, err := s.Store.OrgLogo(r.Context(), v.org.ID)
	if isNotFound(err) {
		// Removed since the organization was read.
		s.fail(w, r, nil, http.StatusNotFound, "error.not_found", "error.not_found_next")
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	h.Set("Content-Type", typ)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+v.org.LogoHash+`"`)
	if match := r.Header.Get("If-None-Match"); match == `"`+v.org.LogoHash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}
