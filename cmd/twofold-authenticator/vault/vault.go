// Package vault holds the Twofold Authenticator's tokens in one file: their
// names and settings in the clear, their secrets (the OTP secret and the
// push device's Ed25519 key) sealed with AES-256-GCM under a key derived
// from the token's PIN with argon2id, or, for a token without a PIN, in the
// clear, protected only by the file's mode 0600.
//
// A wrong PIN is counted in the file before the PIN is tried, so that
// interrupting the program cannot buy more guesses; at the token's limit the
// token is wiped. Someone who copies the file can still guess offline, at
// the cost of one argon2id derivation per guess: the count protects against
// guessing through the program, not against a stolen file.
//
// Every change is one read-modify-write of the whole file under an exclusive
// lock, written atomically (a temporary file renamed over the old one), so
// two commands running at once (watch and code) lose no update.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
)

// formatVersion is the version of the file's layout this package writes
// and the only one it reads.
const formatVersion = 1

// DefaultPINLimit is how many wrong PINs in a row wipe a token unless its
// server said otherwise.
const DefaultPINLimit = 5

// KDF are the argon2id parameters that turn a PIN into a sealing key. Each
// sealed token records its own, so a later version can raise them without
// losing tokens sealed before.
type KDF struct {
	Time    uint32 `json:"time"`
	Memory  uint32 `json:"memory_kib"`
	Threads uint8  `json:"threads"`
	Salt    []byte `json:"salt"`
}

// DefaultKDF is the first argon2id configuration of the OWASP Password
// Storage Cheat Sheet: 46 MiB, one pass, one thread. A PIN is short, so the
// cost per guess is what slows an attacker holding a copy of the file.
var DefaultKDF = KDF{Time: 1, Memory: 46 * 1024, Threads: 1}

// saltSize is the length of each token's random salt.
const saltSize = 16

// Bounds on the parameters Open accepts from the file, so that a damaged or
// hostile file cannot make it allocate without limit.
const (
	maxKDFTime   = 100
	maxKDFMemory = 1 << 20 // KiB: 1 GiB
	maxFileSize  = 4 << 20
)

// Secrets are what a token keeps sealed.
type Secrets struct {
	// OTP is the HOTP/TOTP secret.
	OTP []byte `json:"otp"`
	// DeviceKey is the seed of the push device's Ed25519 private key
	// (ed25519.NewKeyFromSeed), empty for a token without push.
	DeviceKey []byte `json:"device_key,omitempty"`
}

// Push is what a push token needs to reach its server.
type Push struct {
	// Server is the base URL of the Twofold server, https://…
	Server string `json:"server"`
	// Serial is the token's serial, which names the device's key in
	// signed requests.
	Serial string `json:"serial"`
}

// Token is one token as the file holds it. Only Secrets are protected by
// the PIN; everything else, including the HOTP counter, is readable without it.
type Token struct {
	// ID is random and never changes; it is the additional data of the
	// sealed secrets, so sealed secrets moved to another token fail to open.
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Type         string        `json:"type"` // "totp" or "hotp"
	Issuer       string        `json:"issuer,omitempty"`
	Account      string        `json:"account,omitempty"`
	Organization string        `json:"organization,omitempty"`
	Algorithm    otp.Algorithm `json:"algorithm"`
	Digits       int           `json:"digits"`
	Period       int           `json:"period,omitempty"`  // seconds, totp only
	Counter      uint64        `json:"counter,omitempty"` // next counter, hotp only
	Push         *Push         `json:"push,omitempty"`
	Added        time.Time     `json:"added"`

	// PINLimit is how many wrong PINs in a row wipe the token.
	PINLimit int `json:"pin_limit"`
	// PINFailures counts wrong PINs since the last right one.
	PINFailures int `json:"pin_failures"`

	// KDF is set when the token has a PIN; Sealed then holds its Secrets,
	// a GCM nonce followed by the ciphertext. Without a PIN, Plain holds them.
	KDF    *KDF     `json:"kdf,omitempty"`
	Sealed []byte   `json:"sealed,omitempty"`
	Plain  *Secrets `json:"secrets,omitempty"`
}

// HasPIN reports whether t's secrets are sealed under a PIN.
func (t Token) HasPIN() bool { return t.KDF != nil }

// file is the layout of the store on disk.
type file struct {
	Version int     `json:"version"`
	Tokens  []Token `json:"tokens"`
}

// The errors callers tell apart.
var (
	ErrNotFound = errors.New("no such token")
	ErrExists   = errors.New("a token of that name already exists")
	ErrNeedPIN  = errors.New("the token has a PIN")
)

// WrongPINError reports a wrong PIN: Left more may be tried before the
// token is wiped; Left == 0 means it has just been wiped.
type WrongPINError struct {
	Name string
	Left int
}

func (e *WrongPINError) Error() string {
	if e.Left == 0 {
		return fmt.Sprintf("wrong PIN for %s: that was the last try, the token has been wiped from this device", e.Name)
	}
	return fmt.Sprintf("wrong PIN for %s: %d more wrong PIN(s) wipe the token", e.Name, e.Left)
}

// CorruptError reports a store file this package cannot read.
type CorruptError struct {
	Path   string
	Reason error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("the token store %s is damaged (%v): restore it from a backup, or move it away to start with an empty one", e.Path, e.Reason)
}

func (e *CorruptError) Unwrap() error { return e.Reason }

// Vault is the store file at Path.
type Vault struct {
	Path string
	// Rand supplies ids, salts and nonces; nil means crypto/rand.Reader.
	Rand io.Reader
	// KDF are the parameters new PINs are sealed with; the zero value
	// means DefaultKDF. Tests lower them.
	KDF KDF
	// Now tells the time new tokens are added at; nil means time.Now.
	Now func() time.Time
}

func (v *Vault) rand() io.Reader {
	if v.Rand == nil {
		return rand.Reader
	}
	return v.Rand
}

func (v *Vault) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// Tokens returns the tokens in the file, in the order they were added. A
// missing file holds no tokens.
func (v *Vault) Tokens() ([]Token, error) {
	f, err := v.read()
	if err != nil {
		return nil, err
	}
	return f.Tokens, nil
}

// Get returns the token named name.
func (v *Vault) Get(name string) (Token, error) {
	f, err := v.read()
	if err != nil {
		return Token{}, err
	}
	i := f.find(name)
	if i < 0 {
		return Token{}, fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	return f.Tokens[i], nil
}

// Add stores t with s, sealed under pin if pin is not empty. It sets t's
// ID, Added time, PIN fields and secrets; a zero PINLimit becomes
// DefaultPINLimit. It fails with ErrExists if the name is taken.
func (v *Vault) Add(t Token, s Secrets, pin string) (Token, error) {
	id, err := secret.Token(v.rand(), 16)
	if err != nil {
		return Token{}, err
	}
	t.ID, t.Added, t.PINFailures = id, v.now().UTC(), 0
	if t.PINLimit <= 0 {
		t.PINLimit = DefaultPINLimit
	}
	t.KDF, t.Sealed, t.Plain = nil, nil, nil
	if pin == "" {
		t.Plain = &s
	} else if err := v.seal(&t, s, pin); err != nil {
		return Token{}, err
	}
	err = v.update(func(f *file) error {
		if f.find(t.Name) >= 0 {
			return fmt.Errorf("%q: %w", t.Name, ErrExists)
		}
		f.Tokens = append(f.Tokens, t)
		return nil
	})
	return t, err
}

// Rename renames the token old to name.
func (v *Vault) Rename(old, name string) error {
	return v.update(func(f *file) error {
		i := f.find(old)
		if i < 0 {
			return fmt.Errorf("%q: %w", old, ErrNotFound)
		}
		if j := f.find(name); j >= 0 && j != i {
			return fmt.Errorf("%q: %w", name, ErrExists)
		}
		f.Tokens[i].Name = name
		return nil
	})
}

// Remove deletes the token named name.
func (v *Vault) Remove(name string) error {
	return v.update(func(f *file) error {
		i := f.find(name)
		if i < 0 {
			return fmt.Errorf("%q: %w", name, ErrNotFound)
		}
		f.remove(i)
		return nil
	})
}

// Open returns the token named name and its secrets. A token with a PIN
// needs the right pin (ErrNeedPIN if pin is empty): each try is counted in
// the file before it is checked, a right PIN clears the count, and the
// try that reaches the token's limit wipes it. A wrong PIN gives a
// *WrongPINError.
func (v *Vault) Open(name, pin string) (Token, Secrets, error) {
	t, err := v.Get(name)
	if err != nil {
		return Token{}, Secrets{}, err
	}
	if !t.HasPIN() {
		if t.Plain == nil {
			return Token{}, Secrets{}, &CorruptError{Path: v.Path, Reason: fmt.Errorf("token %q has no secrets", name)}
		}
		return t, *t.Plain, nil
	}
	if pin == "" {
		return Token{}, Secrets{}, fmt.Errorf("%s: %w", name, ErrNeedPIN)
	}
	// Reserve the try first; the token read above may be stale, so the
	// reservation works on the id, which a rename does not change.
	err = v.update(func(f *file) error {
		i := f.findID(t.ID)
		if i < 0 {
			return fmt.Errorf("%q: %w", name, ErrNotFound)
		}
		f.Tokens[i].PINFailures++
		t = f.Tokens[i]
		return nil
	})
	if err != nil {
		return Token{}, Secrets{}, err
	}
	s, openErr := open(t, pin)
	err = v.update(func(f *file) error {
		i := f.findID(t.ID)
		if i < 0 {
			return fmt.Errorf("%q: %w", name, ErrNotFound)
		}
		switch {
		case openErr == nil:
			f.Tokens[i].PINFailures = 0
			t = f.Tokens[i]
		case f.Tokens[i].PINFailures >= f.Tokens[i].PINLimit:
			f.remove(i)
		}
		return nil
	})
	if err != nil {
		return Token{}, Secrets{}, err
	}
	if errors.Is(openErr, errWrongKey) {
		return Token{}, Secrets{}, &WrongPINError{Name: t.Name, Left: max(t.PINLimit-t.PINFailures, 0)}
	}
	if openErr != nil {
		return Token{}, Secrets{}, openErr
	}
	return t, s, nil
}

// NextCounter returns the HOTP counter the token named name should use now
// and stores the one after it, so that no code is shown twice.
func (v *Vault) NextCounter(name string) (uint64, error) {
	var c uint64
	err := v.update(func(f *file) error {
		i := f.find(name)
		if i < 0 {
			return fmt.Errorf("%q: %w", name, ErrNotFound)
		}
		if f.Tokens[i].Type != "hotp" {
			return fmt.Errorf("%s is a %s token, which has no counter", name, f.Tokens[i].Type)
		}
		c = f.Tokens[i].Counter
		f.Tokens[i].Counter++
		return nil
	})
	return c, err
}

// errWrongKey is what opening sealed secrets with a wrong PIN gives.
var errWrongKey = errors.New("wrong key")

func (v *Vault) seal(t *Token, s Secrets, pin string) error {
	kdf := v.KDF
	if kdf.Time == 0 {
		kdf = DefaultKDF
	}
	salt, err := secret.Bytes(v.rand(), saltSize)
	if err != nil {
		return err
	}
	kdf.Salt = salt
	aead, err := newAEAD(kdf, pin)
	if err != nil {
		return err
	}
	nonce, err := secret.Bytes(v.rand(), aead.NonceSize())
	if err != nil {
		return err
	}
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	t.KDF = &kdf
	t.Sealed = aead.Seal(nonce, nonce, plain, additionalData(t.ID))
	return nil
}

func open(t Token, pin string) (Secrets, error) {
	k := *t.KDF
	if k.Time < 1 || k.Time > maxKDFTime || k.Threads < 1 || k.Memory < 8*uint32(k.Threads) || k.Memory > maxKDFMemory || len(k.Salt) == 0 {
		return Secrets{}, fmt.Errorf("token %s: argon2id parameters out of range in the store", t.Name)
	}
	aead, err := newAEAD(k, pin)
	if err != nil {
		return Secrets{}, err
	}
	if len(t.Sealed) < aead.NonceSize() {
		return Secrets{}, fmt.Errorf("token %s: sealed secrets too short", t.Name)
	}
	nonce, sealed := t.Sealed[:aead.NonceSize()], t.Sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, additionalData(t.ID))
	if err != nil {
		// GCM cannot tell a wrong key from damaged ciphertext; a wrong
		// PIN is by far the likelier.
		return Secrets{}, errWrongKey
	}
	var s Secrets
	if err := json.Unmarshal(plain, &s); err != nil {
		return Secrets{}, fmt.Errorf("token %s: sealed secrets: %w", t.Name, err)
	}
	return s, nil
}

func newAEAD(k KDF, pin string) (cipher.AEAD, error) {
	key := argon2.IDKey([]byte(pin), k.Salt, k.Time, k.Memory, k.Threads, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func additionalData(id string) []byte {
	return []byte("twofold-authenticator token " + id)
}

func (f *file) find(name string) int {
	for i, t := range f.Tokens {
		if t.Name == name {
			return i
		}
	}
	return -1
}

func (f *file) findID(id string) int {
	for i, t := range f.Tokens {
		if t.ID == id {
			return i
		}
	}
	return -1
}

func (f *file) remove(i int) {
	f.Tokens = append(f.Tokens[:i], f.Tokens[i+1:]...)
}

// read reads the file without locking it: the file is only ever replaced
// whole, so a reader sees one version or the next.
func (v *Vault) read() (*file, error) {
	data, err := os.ReadFile(v.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return &file{Version: formatVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the token store: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, &CorruptError{Path: v.Path, Reason: fmt.Errorf("larger than %d bytes", maxFileSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, &CorruptError{Path: v.Path, Reason: err}
	}
	if f.Version != formatVersion {
		return nil, &CorruptError{Path: v.Path, Reason: fmt.Errorf("format version %d, this program reads %d (a newer version of twofold-authenticator may have written it)", f.Version, formatVersion)}
	}
	return &f, nil
}

// update applies change to the file under the store's lock and writes the
// result, unless change fails.
func (v *Vault) update(change func(*file) error) error {
	dir := filepath.Dir(v.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the token store's directory: %w", err)
	}
	unlock, err := lock(v.Path + ".lock")
	if err != nil {
		return fmt.Errorf("lock the token store: %w", err)
	}
	defer unlock()
	f, err := v.read()
	if err != nil {
		return err
	}
	if err := change(f); err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := secret.ReplaceFile(v.Path, append(data, '\n')); err != nil {
		return fmt.Errorf("write the token store: %w", err)
	}
	return nil
}
