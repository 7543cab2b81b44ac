// Package authapp serves the Twofold Authenticator as an installable web
// app at /app/: HTML, CSS and JavaScript modules, its message catalogues,
// a web app manifest with icons, and a service worker that keeps the app
// shell for use offline. Everything is embedded in the binary and served
// from this origin only, under a Content-Security-Policy of its own that
// allows no inline script or style and no other origin but the Twofold
// servers the app's tokens belong to (see CSP).
//
// The app speaks the push protocol of package push, as the command-line
// app does: it activates a token with a non-extractable WebCrypto key
// (ES256), keeps the token's TOTP key in IndexedDB, and polls for sign-ins
// to approve. The server learns nothing through /app/ itself: it only
// hands out files.
package authapp

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is where the app is served.
const Prefix = "/app/"

// CSP is the app's Content-Security-Policy. It is the portal's strictness
// with what an app needs — its manifest, its service worker, data: images
// for the icons the browser derives — and one widening: connect-src lets
// the app reach other https origins, because a token activated with
// another Twofold server is served by that server's device endpoints
// (which answer any origin, see push.Handler). No script, style or frame
// of another origin can load.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' https:; " +
	"manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Marks in sw.js that New fills in: versionMark with a hash of all
// assets, so that any change to the app makes a new service worker, which
// caches the new shell and drops the old one; filesMark with the list of
// files to cache, so that it cannot miss one.
const (
	versionMark = "__TWOFOLD_APP_VERSION__"
	filesMark   = `["__TWOFOLD_APP_FILES__"]`
)

// file is one asset as it is served.
type file struct {
	body []byte
	typ  string
	etag string
}

// Handler serves the app's files below Prefix; other paths are not its.
type Handler struct {
	files map[string]file // by name below Prefix; "" is index.html
}

// New reads the embedded assets. It fails only if the binary was built
// without them.
func New() (*Handler, error) {
	h := &Handler{files: map[string]file{}}
	var names []string
	raw := map[string][]byte{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		names = append(names, name)
		raw[name] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	all := sha256.New()
	for _, n := range names {
		all.Write([]byte(n + "\n"))
		all.Write(raw[n])
	}
	version := hex.EncodeToString(all.Sum(nil))[:16]
	// The shell is every file but the worker itself, the page as "./".
	shell := []string{"./"}
	for _, n := range names {
		if n != "index.html" && n != "sw.js" {
			shell = append(shell, n)
		}
	}
	list, err := json.Marshal(shell)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b := raw[n]
		if n == "sw.js" {
			b = bytes.ReplaceAll(b, []byte(versionMark), []byte(version))
			b = bytes.ReplaceAll(b, []byte(filesMark), list)
		}
		sum := sha256.Sum256(b)
		f := file{body: b, typ: contentType(n), etag: `"` + hex.EncodeToString(sum[:])[:20] + `"`}
		if n == "index.html" {
			n = ""
		}
		h.files[n] = f
	}
	if _, ok := h.files[""]; !ok {
		return nil, fs.ErrNotExist
	}
	return h, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".webmanifest":
		return "application/manifest+json"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// ServeHTTP answers GET and HEAD for the app's files. Each is revalidated
// on every load (no-cache with an ETag): offline, the service worker's
// copy answers instead.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	f, found := h.files[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	hd.Set("Content-Type", f.typ)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
