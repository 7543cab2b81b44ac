package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeKeyFile writes contents to a file of the given mode in a fresh
// directory and returns its path.
func writeKeyFile(t *testing.T, contents string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
	// Chmod, because WriteFile's mode is filtered by the umask.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("mode of %s = %04o, want %04o", path, got, want)
	}
}

func TestLoadKeyFile(t *testing.T) {
	keys := testKeys(3)
	contents := "# master keys\n\n" +
		"1 " + b64(keys[0]) + "\r\n" +
		"   # an indented comment\n" +
		"\t5\t" + b64(keys[1]) + "  \n" +
		"9 " + b64(keys[2]) // no final newline
	k, err := LoadKeyFile(writeKeyFile(t, contents, 0o600), detRand(1))
	if err != nil {
		t.Fatalf("LoadKeyFile: %v", err)
	}
	if got, want := k.NewestID(), uint32(9); got != want {
		t.Errorf("NewestID = %d, want %d", got, want)
	}
	// The keys must be the ones in the file, under the ids in the file.
	for i, id := range []uint32{1, 5, 9} {
		ki, err := newKeyring([]keyEntry{{id: id, key: keys[i]}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sealed := mustSeal(t, ki, []byte("secret"), nil)
		if got, err := k.Open(sealed, nil); err != nil || string(got) != "secret" {
			t.Errorf("value sealed under key %d: Open = %q, %v; want %q, nil", id, got, err, "secret")
		}
	}
}

func TestLoadKeyFileRefuses(t *testing.T) {
	key := b64(testKeys(1)[0])
	short := b64(make([]byte, 31))
	long := b64(make([]byte, 33))
	tests := []struct {
		name     string
		contents string
		mode     os.FileMode
		wantErr  string
	}{
		{"an empty file", "", 0o600, "holds no keys"},
		{"a file of comments and blank lines", "# nothing yet\n\n  \n", 0o600, "holds no keys"},
		{"a key that is not base64", "1 " + strings.Repeat("!", 44) + "\n", 0o600, "line 1: key is not standard base64"},
		{"a key in URL-safe base64", "1 " + strings.Repeat("_", 43) + "=\n", 0o600, "line 1: key is not standard base64"},
		{"a key without its padding", "1 " + strings.TrimRight(key, "=") + "\n", 0o600, "line 1: key is not standard base64"},
		{"a 31-byte key", "1 " + short + "\n", 0o600, "line 1: key is 31 bytes, want 32"},
		{"a 33-byte key", "# c\n1 " + long + "\n", 0o600, "line 2: key is 33 bytes, want 32"},
		{"a repeated id", "1 " + key + "\n1 " + key + "\n", 0o600, "line 2: key id 1 does not follow 1"},
		{"a decreasing id", "2 " + key + "\n\n1 " + key + "\n", 0o600, "line 3: key id 1 does not follow 2"},
		{"id 0", "0 " + key + "\n", 0o600, "line 1: key id is not an integer"},
		{"a negative id", "-1 " + key + "\n", 0o600, "line 1: key id is not an integer"},
		{"an id beyond 32 bits", "4294967296 " + key + "\n", 0o600, "line 1: key id is not an integer"},
		{"a key without an id", key + "\n", 0o600, `line 1: want "<id> <base64 key>", found 1 fields`},
		{"a trailing comment", "1 " + key + " # newest\n", 0o600, `line 1: want "<id> <base64 key>", found 4 fields`},
		{"a group-readable file", "1 " + key + "\n", 0o640, "run chmod 600"},
		{"a world-readable file", "1 " + key + "\n", 0o604, "run chmod 600"},
		{"a group-writable file", "1 " + key + "\n", 0o620, "mode 0620"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.mode != 0o600 {
				t.Skip("Windows file modes do not reflect access")
			}
			path := writeKeyFile(t, tt.contents, tt.mode)
			k, err := LoadKeyFile(path, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadKeyFile = %v, %v; want error containing %q", k, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file %s", err, path)
			}
			for _, f := range strings.Fields(tt.contents) {
				if len(f) > 8 && strings.Contains(err.Error(), f) {
					t.Errorf("error %q repeats file contents %q", err, f)
				}
			}
		})
	}
}

func TestLoadKeyFileRefusesMissingFileAndDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadKeyFile(filepath.Join(dir, "missing"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadKeyFile(missing file) error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(dir, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("LoadKeyFile(directory) error = %v, want one saying it is not a regular file", err)
	}
}

func TestCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k, err := CreateKeyFile(path, detRand(1))
	if err != nil {
		t.Fatalf("CreateKeyFile: %v", err)
	}
	if runtime.GOOS != "windows" {
		wantMode(t, path, 0o600)
	}
	if got, want := k.NewestID(), uint32(1); got != want {
		t.Errorf("NewestID = %d, want %d", got, want)
	}
	loaded, err := LoadKeyFile(path, nil)
	if err != nil {
		t.Fatalf("LoadKeyFile of a created file: %v", err)
	}
	sealed := mustSeal(t, k, []byte("secret"), []byte("ad"))
	if got, err := loaded.Open(sealed, []byte("ad")); err != nil || string(got) != "secret" {
		t.Fatalf("loaded keyring: Open = %q, %v; want the created keyring's plaintext %q", got, err, "secret")
	}
}

func TestCreateKeyFileKeysDiffer(t *testing.T) {
	dir := t.TempDir()
	a, err := os.ReadFile(createKeyFile(t, filepath.Join(dir, "a")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(createKeyFile(t, filepath.Join(dir, "b")))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatalf("two key files made from crypto/rand are identical:\n%s", a)
	}
}

func createKeyFile(t *testing.T, path string) string {
	t.Helper()
	if _, err := CreateKeyFile(path, nil); err != nil {
		t.Fatalf("CreateKeyFile: %v", err)
	}
	return path
}

func TestCreateKeyFileRefusesToOverwrite(t *testing.T) {
	path := writeKeyFile(t, "precious\n", 0o600)
	if _, err := CreateKeyFile(path, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateKeyFile over an existing file: error = %v, want one wrapping fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "precious\n" {
		t.Fatalf("existing file now holds %q, want it untouched", got)
	}
}

func TestCreateKeyFileLeavesNothingOnFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := CreateKeyFile(path, strings.NewReader("too short")); err == nil {
		t.Fatal("CreateKeyFile with a failing random source succeeded")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after a failed CreateKeyFile, Stat error = %v, want fs.ErrNotExist", err)
	}
}

func TestAddKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	k1, err := CreateKeyFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("tokens.secret:7")
	v1 := mustSeal(t, k1, []byte("old secret"), ad)

	k2, err := AddKey(path, nil)
	if err != nil {
		t.Fatalf("AddKey: %v", err)
	}
	if got, want := k2.NewestID(), uint32(2); got != want {
		t.Errorf("NewestID after AddKey = %d, want %d", got, want)
	}
	if got, err := k2.Open(v1, ad); err != nil || string(got) != "old secret" {
		t.Errorf("after AddKey, Open(value sealed under key 1) = %q, %v; want %q, nil", got, err, "old secret")
	}
	v2 := mustSeal(t, k2, []byte("new secret"), ad)
	if got := v2[4]; got != 2 {
		t.Errorf("after AddKey, Seal used key %d, want 2", got)
	}
	if k2.Current(v1) || !k2.Current(v2) {
		t.Errorf("Current(v1), Current(v2) = %v, %v; want false, true", k2.Current(v1), k2.Current(v2))
	}

	// The file on disk is what AddKey returned.
	loaded, err := LoadKeyFile(path, nil)
	if err != nil {
		t.Fatalf("LoadKeyFile after AddKey: %v", err)
	}
	if got, err := loaded.Open(v2, ad); err != nil || string(got) != "new secret" {
		t.Errorf("reloaded keyring: Open(value sealed under key 2) = %q, %v; want %q, nil", got, err, "new secret")
	}
	if runtime.GOOS != "windows" {
		wantMode(t, path, 0o600)
	}
	contents, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(contents), keyFileHeader) {
		t.Errorf("AddKey dropped the file's comments; file is now:\n%s", contents)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only master.key (no temporary files left)", names)
	}

	k3, err := AddKey(path, nil)
	if err != nil {
		t.Fatalf("second AddKey: %v", err)
	}
	if got, want := k3.NewestID(), uint32(3); got != want {
		t.Errorf("NewestID after second AddKey = %d, want %d", got, want)
	}
	if got, err := k3.Open(v1, ad); err != nil || string(got) != "old secret" {
		t.Errorf("after second AddKey, Open(value sealed under key 1) = %q, %v; want %q, nil", got, err, "old secret")
	}
}

func TestAddKeyFollowsIdsAndMissingNewline(t *testing.T) {
	keys := testKeys(2)
	path := writeKeyFile(t, "3 "+b64(keys[0])+"\n10 "+b64(keys[1]), 0o600)
	k, err := AddKey(path, nil)
	if err != nil {
		t.Fatalf("AddKey: %v", err)
	}
	if got, want := k.NewestID(), uint32(11); got != want {
		t.Errorf("NewestID = %d, want %d", got, want)
	}
	if _, err := LoadKeyFile(path, nil); err != nil {
		t.Fatalf("LoadKeyFile after AddKey to a file without a final newline: %v", err)
	}
}

func TestAddKeyReplacesTheTargetOfASymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	target := createKeyFile(t, filepath.Join(dir, "real.key"))
	link := filepath.Join(dir, "master.key")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := AddKey(link, nil); err != nil {
		t.Fatalf("AddKey through a symlink: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("after AddKey, %s is no longer a symlink (%v, %v)", link, fi, err)
	}
	k, err := LoadKeyFile(target, nil)
	if err != nil || k.NewestID() != 2 {
		t.Fatalf("LoadKeyFile(target) = newest %v, %v; want 2, nil", k, err)
	}
}

func TestAddKeyRefusesABadFileAndLeavesIt(t *testing.T) {
	path := writeKeyFile(t, "1 "+b64(testKeys(1)[0])+"\n", 0o644)
	if runtime.GOOS == "windows" {
		t.Skip("Windows file modes do not reflect access")
	}
	if _, err := AddKey(path, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("AddKey on a world-readable file: error = %v, want one saying to chmod 600", err)
	}
	full := writeKeyFile(t, "4294967295 "+b64(testKeys(1)[0])+"\n", 0o600)
	if _, err := AddKey(full, nil); err == nil || !strings.Contains(err.Error(), "largest possible") {
		t.Fatalf("AddKey after key id 4294967295: error = %v, want one saying the id is the largest possible", err)
	}
	if _, err := AddKey(filepath.Join(t.TempDir(), "missing"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("AddKey on a missing file: error = %v, want one wrapping fs.ErrNotExist", err)
	}
}
