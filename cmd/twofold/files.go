package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/twofold-mfa/twofold/internal/config"
)

// privateFile is a file or directory Twofold keeps, and the widest mode it
// should have: the database holds password and PIN hashes, the outbox
// enrollment links, the data directory all of them.
type privateFile struct {
	path string
	mode fs.FileMode
}

// privateFiles lists what Twofold creates and keeps for cfg. The master key
// is not among them: secret.LoadKeyFile refuses one others can read.
func privateFiles(cfg config.Config) []privateFile {
	files := []privateFile{{cfg.DataDir, 0o700}}
	if cfg.Driver() == "sqlite" {
		db := cfg.DSN()
		files = append(files, privateFile{db, 0o600}, privateFile{db + "-wal", 0o600}, privateFile{db + "-shm", 0o600})
	}
	if cert, key, generated := cfg.CertFiles(); generated {
		files = append(files, privateFile{cert, 0o600}, privateFile{key, 0o600})
	}
	if cfg.WebPushKeyFile != "" {
		files = append(files, privateFile{cfg.WebPushKeyFile, 0o600})
	}
	return append(files, privateFile{cfg.OutboxDir(), 0o700})
}

// warnWideModes warns about each of Twofold's files that others may read
// or change, saying how to fix it. Twofold creates them private; a wider
// mode comes from an older version or from the operator, so it is left for
// the operator to change. Files that do not exist are skipped.
func warnWideModes(log *slog.Logger, cfg config.Config) {
	if runtime.GOOS == "windows" {
		// Modes there say nothing about who may read a file.
		return
	}
	for _, f := range privateFiles(cfg) {
		if st, err := os.Stat(f.path); err == nil && st.Mode().Perm()&^f.mode != 0 {
			warnWide(log, f.path, st.Mode().Perm(), f.mode, shellQuote(f.path))
		}
	}
	// The outbox may hold many messages: one warning covers them all.
	mails, _ := filepath.Glob(filepath.Join(cfg.OutboxDir(), "*.eml"))
	var wide fs.FileMode
	n := 0
	for _, m := range mails {
		if st, err := os.Stat(m); err == nil && st.Mode().Perm()&^0o600 != 0 {
			wide |= st.Mode().Perm()
			n++
		}
	}
	if n > 0 {
		pattern := filepath.Join(cfg.OutboxDir(), "*.eml")
		warnWide(log, pattern, wide, 0o600, shellQuote(cfg.OutboxDir())+string(filepath.Separator)+"*.eml", "files", n)
	}
}

func warnWide(log *slog.Logger, path string, found, want fs.FileMode, arg string, attrs ...any) {
	log.Warn("open to group or others; tighten its mode",
		append([]any{"path", path, "mode", fmt.Sprintf("%04o", uint32(found)), "want", fmt.Sprintf("%04o", uint32(want)),
			"fix", fmt.Sprintf("chmod %o %s", uint32(want), arg)}, attrs...)...)
}

// shellQuote quotes path for a POSIX shell when it needs it, so that the
// printed command can be pasted as it is.
func shellQuote(path string) string {
	if path != "" && strings.Trim(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
