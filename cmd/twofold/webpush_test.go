package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// keygen writes a private key file that serve turns Web Push on with; it
// keeps an existing one.
func TestWebPushKeygen(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	file := filepath.Join(t.TempDir(), "vapid.pem")
	out := in.ok("", "webpush", "keygen", file)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(file)
	key, err := push.ParseVAPIDKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, push.ApplicationServerKey(key)) {
		t.Errorf("keygen printed %q, without the public key", out)
	}
	if code, _, errs := in.run("", "webpush", "keygen", file); code == 0 || !strings.Contains(errs, "exists") {
		t.Errorf("keygen over an existing file: exit %d, %q", code, errs)
	}
	if again, _ := os.ReadFile(file); string(again) != string(raw) {
		t.Error("keygen changed an existing key file")
	}

	in.env["TWOFOLD_WEBPUSH_VAPID_KEY_FILE"] = file
	in.env["TWOFOLD_WEBPUSH_CONTACT"] = "mailto:mfa-ops@acme.example"
	publicURL, _, _ := serveOnFreePort(t, in)
	client := trusting(t, filepath.Join(in.env["TWOFOLD_DATA_DIR"], "tls.crt"))
	req, _ := http.NewRequest("GET", publicURL+push.PathWebPush, nil)
	status, body := fetch(t, client, req)
	var got push.WebPushResponse
	if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.ApplicationServerKey != push.ApplicationServerKey(key) {
		t.Errorf("GET %s with Web Push on: %d %s", push.PathWebPush, status, body)
	}
}

// Without the settings, Web Push is off.
func TestWebPushOffByDefault(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	publicURL, _, _ := serveOnFreePort(t, in)
	client := trusting(t, filepath.Join(in.env["TWOFOLD_DATA_DIR"], "tls.crt"))
	req, _ := http.NewRequest("GET", publicURL+push.PathWebPush, nil)
	if status, body := fetch(t, client, req); status != http.StatusNotFound {
		t.Errorf("GET %s by default: %d %s, want 404", push.PathWebPush, status, body)
	}
}

// A key file serve cannot use stops it with what to do.
func TestServeRefusesABadVAPIDKey(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	file := filepath.Join(t.TempDir(), "vapid.pem")
	os.WriteFile(file, []byte("not a key"), 0o600)
	in.env["TWOFOLD_WEBPUSH_VAPID_KEY_FILE"] = file
	in.env["TWOFOLD_WEBPUSH_CONTACT"] = "mailto:mfa-ops@acme.example"
	if code, _, errs := in.run("", "serve"); code == 0 || !strings.Contains(errs, "twofold webpush keygen") {
		t.Errorf("serve with a bad key: exit %d, %q", code, errs)
	}
}
