//go:build unix

package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/config"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// TestServeCreatesPrivateFiles starts serve on a data directory that does
// not exist yet, or exists open to others, under common umasks, and checks
// the mode of everything Twofold made in it while it runs.
func TestServeCreatesPrivateFiles(t *testing.T) {
	tests := []struct {
		name     string
		umask    int
		existing os.FileMode // mode of a data directory that exists already; 0 for none
		wantDir  os.FileMode
	}{
		{"a new data directory under umask 0000 is private", 0, 0, 0o700},
		{"a new data directory under umask 0022 is private", 0o022, 0, 0o700},
		{"the files in a data directory open to others are private, and the directory is warned about", 0o022, 0o755, 0o755},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.Umask(t, tt.umask)
			in := newInstallation(t, storetest.SQLite(t))
			dir := filepath.Join(t.TempDir(), "twofold-data")
			if tt.existing != 0 {
				if err := os.Mkdir(dir, tt.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			in.env["TWOFOLD_DATA_DIR"] = dir
			delete(in.env, "TWOFOLD_DATABASE_URL")
			_, _, stderr := serveOnFreePort(t, in)

			// A mail in the outbox: the invitation of an enrolled token.
			in.ok("", "org", "create", "acme")
			in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example")
			in.ok("", "token", "enroll", "acme/alice")
			mails, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
			if len(mails) != 1 {
				t.Fatalf("%d mails in the outbox, want the invitation", len(mails))
			}

			want := map[string]os.FileMode{
				dir: tt.wantDir, filepath.Join(dir, "outbox"): 0o700, mails[0]: 0o600,
			}
			for _, name := range []string{"twofold.db", "twofold.db-wal", "twofold.db-shm", "master.key", "tls.crt", "tls.key"} {
				want[filepath.Join(dir, name)] = 0o600
			}
			for path, mode := range want {
				st, err := os.Stat(path)
				if err != nil {
					t.Errorf("%s: %v", path, err)
					continue
				}
				if got := st.Mode().Perm(); got != mode {
					t.Errorf("%s has mode %04o, want %04o", path, got, mode)
				}
			}

			warned := strings.Contains(stderr.String(), "fix=\"chmod 700 "+dir+"\"")
			if wantWarning := tt.existing != 0; warned != wantWarning || strings.Count(stderr.String(), "open to group or others") != map[bool]int{true: 1}[wantWarning] {
				t.Errorf("serve logged:\n%s\nwant a warning with chmod 700 %s: %v, and no other", stderr, dir, wantWarning)
			}
		})
	}
}

func TestWarnWideModes(t *testing.T) {
	tests := []struct {
		name  string
		modes map[string]os.FileMode // in the data directory ("." is the directory itself)
		want  []string               // one fix= per warning, with %s for the data directory
	}{
		{
			name: "private files give no warning",
			modes: map[string]os.FileMode{".": 0o700, "twofold.db": 0o600, "twofold.db-wal": 0o600, "tls.key": 0o600,
				"tls.crt": 0o600, "outbox": 0o700, "outbox/1.eml": 0o600},
		},
		{
			name:  "narrower modes than wanted give no warning",
			modes: map[string]os.FileMode{".": 0o500, "twofold.db": 0o400, "outbox": 0o500, "outbox/1.eml": 0o400},
		},
		{
			name:  "a data directory others may list is warned about",
			modes: map[string]os.FileMode{".": 0o755, "twofold.db": 0o600},
			want:  []string{`fix="chmod 700 %s"`},
		},
		{
			name:  "a database and its WAL and shared-memory files open to others are each warned about",
			modes: map[string]os.FileMode{".": 0o700, "twofold.db": 0o644, "twofold.db-wal": 0o644, "twofold.db-shm": 0o664},
			want:  []string{`fix="chmod 600 %s/twofold.db"`, `fix="chmod 600 %s/twofold.db-wal"`, `fix="chmod 600 %s/twofold.db-shm"`},
		},
		{
			name:  "a TLS key readable by the group and a certificate readable by all are warned about",
			modes: map[string]os.FileMode{".": 0o700, "tls.key": 0o640, "tls.crt": 0o644},
			want:  []string{`fix="chmod 600 %s/tls.crt"`, `fix="chmod 600 %s/tls.key"`},
		},
		{
			name:  "mails open to others in the outbox get one warning between them",
			modes: map[string]os.FileMode{".": 0o700, "outbox": 0o755, "outbox/1.eml": 0o644, "outbox/2.eml": 0o640, "outbox/3.eml": 0o600},
			want:  []string{`fix="chmod 700 %s/outbox"`, `fix="chmod 600 %s/outbox/*.eml" files=2`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "twofold-data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"outbox", "outbox/1.eml", "outbox/2.eml", "outbox/3.eml", "twofold.db", "twofold.db-wal", "twofold.db-shm", "tls.key", "tls.crt"} {
				if _, ok := tt.modes[name]; !ok {
					continue
				}
				var err error
				if name == "outbox" {
					err = os.Mkdir(filepath.Join(dir, name), 0o700)
				} else {
					err = os.WriteFile(filepath.Join(dir, name), nil, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{"outbox/1.eml", "outbox/2.eml", "outbox/3.eml", "twofold.db", "twofold.db-wal", "twofold.db-shm", "tls.key", "tls.crt", "outbox", "."} {
				if mode, ok := tt.modes[name]; ok {
					if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700); os.Chmod(filepath.Join(dir, "outbox"), 0o700) })

			var logged bytes.Buffer
			warnWideModes(slog.New(slog.NewTextHandler(&logged, nil)), config.Config{DataDir: dir})
			lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
			if logged.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("logged %d warnings, want %d:\n%s", len(lines), len(tt.want), logged.String())
			}
			for i, w := range tt.want {
				w = fmt.Sprintf(w, dir)
				if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "mode=0") {
					t.Errorf("warning %d = %s\nwant a WARN with the mode found and %s", i+1, lines[i], w)
				}
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/var/lib/twofold/twofold.db", "/var/lib/twofold/twofold.db"},
		{"/srv/my data/twofold.db", "'/srv/my data/twofold.db'"},
		{"/srv/it's/twofold.db", `'/srv/it'\''s/twofold.db'`},
		{"/srv/$HOME/x", "'/srv/$HOME/x'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.path); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
}
