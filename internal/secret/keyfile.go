package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// maxKeyFileSize bounds what LoadKeyFile reads; a real key file holds a few
// hundred keys at most.
const maxKeyFileSize = 1 << 20

// keyFileHeader opens every key file CreateKeyFile writes.
const keyFileHeader = `# Twofold master keys, oldest first: <id> <base64 of 32 random bytes>.
# Every instance needs the same file. Keep it mode 600 and out of backups of
# the database. Never remove a key while values sealed under it remain.
`

// LoadKeyFile reads the key file at path and returns its keyring, which
// reads nonces from rand (crypto/rand.Reader if nil).
//
// The file is text, one key per line, oldest first:
//
//	<id> <standard base64 of 32 bytes>
//
// Ids are positive integers that strictly increase down the file; they need
// not be consecutive. Blank lines and lines whose first non-blank character
// is '#' are ignored. Any other line is an error naming its line number;
// errors never repeat what the line holds.
//
// LoadKeyFile refuses a file that group or others may access
// (mode&0o077 != 0), with an error that says to chmod 600 it. (On Windows,
// where the mode does not reflect access control, this check is skipped.)
func LoadKeyFile(path string, rand io.Reader) (*Keyring, error) {
	entries, _, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	return newKeyring(entries, rand)
}

// CreateKeyFile creates a key file at path holding one fresh key read from
// rand (crypto/rand.Reader if nil), with mode 0600, and returns its keyring.
// It fails, leaving it alone, if a file already exists at path.
func CreateKeyFile(path string, rand io.Reader) (*Keyring, error) {
	rand = orDefault(rand)
	key, err := Bytes(rand, keySize)
	if err != nil {
		return nil, err
	}
	entries := []keyEntry{{id: 1, key: key}}
	k, err := newKeyring(entries, rand)
	if err != nil {
		return nil, err
	}
	data := appendKeyLine([]byte(keyFileHeader), entries[0])

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secret: creating key file: %w", err)
	}
	// The umask may have taken bits from 0o600; the file must still be
	// readable by its owner and no one else.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secret: writing key file %s: %w", path, err)
	}
	return k, nil
}

// AddKey appends a fresh key, read from rand (crypto/rand.Reader if nil),
// to the key file at path with id one above the newest, and returns the new
// keyring; values sealed under the older keys still open.
//
// The file is replaced atomically: the new contents are written to a
// temporary file of mode 0600 in the same directory, synced, and renamed
// over the old file, so a crash leaves either the old file or the new one.
// If path is a symbolic link, the file it points to is replaced. The new
// file belongs to the calling user. AddKey does not lock the file: callers
// must not run it concurrently on the same file, or one key may be lost.
//
// Other processes holding the old keyring cannot open values sealed under
// the new key until they load the file again.
func AddKey(path string, rand io.Reader) (*Keyring, error) {
	rand = orDefault(rand)
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	entries, data, err := readKeyFile(target)
	if err != nil {
		return nil, err
	}
	newest := entries[len(entries)-1].id
	if newest == math.MaxUint32 {
		return nil, fmt.Errorf("secret: key file %s: key id %d is the largest possible", path, newest)
	}
	key, err := Bytes(rand, keySize)
	if err != nil {
		return nil, err
	}
	added := keyEntry{id: newest + 1, key: key}
	entries = append(entries, added)
	k, err := newKeyring(entries, rand)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	if err := ReplaceFile(target, appendKeyLine(data, added)); err != nil {
		return nil, fmt.Errorf("secret: writing key file %s: %w", path, err)
	}
	return k, nil
}

// readKeyFile checks the mode of the key file at path and returns its keys
// and its raw contents.
func readKeyFile(path string) ([]keyEntry, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("secret: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of
	// the file read.
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, nil, fmt.Errorf("secret: key file %s has mode %04o, open to group or others; run chmod 600 %s", path, uint32(perm), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("secret: reading key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return nil, nil, fmt.Errorf("secret: key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	entries, err := parseKeyFile(data)
	if err != nil {
		return nil, nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	return entries, data, nil
}

// keyEncoding rejects non-canonical base64, so each key has one spelling.
var keyEncoding = base64.StdEncoding.Strict()

// parseKeyFile parses key file contents. Its errors name the line but never
// quote it: a malformed line may still hold a key.
func parseKeyFile(data []byte) ([]keyEntry, error) {
	var entries []keyEntry
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		fields := bytes.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf(`line %d: want "<id> <base64 key>", found %d fields`, n, len(fields))
		}
		id, err := strconv.ParseUint(string(fields[0]), 10, 32)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("line %d: key id is not an integer from 1 to %d", n, uint32(math.MaxUint32))
		}
		if len(entries) > 0 {
			if prev := entries[len(entries)-1].id; uint32(id) <= prev {
				return nil, fmt.Errorf("line %d: key id %d does not follow %d; ids must increase, oldest key first", n, id, prev)
			}
		}
		key := make([]byte, keyEncoding.DecodedLen(len(fields[1])))
		m, err := keyEncoding.Decode(key, fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: key is not standard base64: %w", n, err)
		}
		if m != keySize {
			return nil, fmt.Errorf("line %d: key is %d bytes, want %d", n, m, keySize)
		}
		entries = append(entries, keyEntry{id: uint32(id), key: key[:m]})
	}
	if len(entries) == 0 {
		return nil, errors.New("holds no keys")
	}
	return entries, nil
}

// appendKeyLine appends e to key file contents b.
func appendKeyLine(b []byte, e keyEntry) []byte {
	b = strconv.AppendUint(b, uint64(e.id), 10)
	b = append(b, ' ')
	b = keyEncoding.AppendEncode(b, e.key)
	return append(b, '\n')
}

// ReplaceFile atomically replaces the file at path with one of mode 0600
// holding data: it writes a temporary file beside it, syncs it and renames
// it over path, so a reader sees the old file or the new one, never a part.
// The key file and the authenticator's token store are written this way.
func ReplaceFile(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a file created or renamed in dir durable: the entry lives
// in the directory, not in the file.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
