package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrOpen is returned, possibly wrapped with context, when a sealed value
// cannot be opened: it was sealed under a key the keyring lacks or with other
// additional data, it was altered or truncated, or it is not a sealed value.
// The cases are deliberately not told apart by type; the context is for
// operators (an instance missing a key from its key file, say).
var ErrOpen = errors.New("secret: cannot open sealed value")

// Sealed value layout: version | key id | nonce | ciphertext and tag.
const (
	keySize     = 32 // AES-256
	sealVersion = 1
	headerSize  = 1 + 4
	nonceSize   = 12
	tagSize     = 16
	overhead    = headerSize + nonceSize + tagSize
)

// Keyring holds the master keys. Seal always uses the newest key; Open picks
// the key named in the sealed value's header, so values sealed under older
// keys still open after rotation.
//
// A sealed value is 1 version byte (1), the 4-byte big-endian key id, a
// 12-byte random nonce and the AES-256-GCM ciphertext with its 16-byte tag.
// The header is not authenticated as additional data: a changed key id
// selects another key and so fails authentication, and only one version
// exists.
//
// Random nonces limit each key to about 2³² Seal calls before the risk of a
// repeated nonce becomes material; rotate long before that.
//
// A Keyring is immutable and safe for concurrent use if its random source
// is (crypto/rand.Reader is). The zero Keyring holds no keys: Seal fails and
// Open reports ErrOpen.
type Keyring struct {
	rand   io.Reader
	newest uint32
	sealer cipher.AEAD            // aeads[newest]
	aeads  map[uint32]cipher.AEAD // built once per key: key expansion is not free
	macKey []byte                 // derived from the newest key, see MAC
}

// keyEntry is one master key and its id.
type keyEntry struct {
	id  uint32
	key []byte
}

// NewKeyring builds a keyring from raw 32-byte keys, oldest first; the keys
// get ids 1 to len(keys) in that order, and Seal uses the last. The keyring
// does not retain the slices. Nonces are read from rand (crypto/rand.Reader
// if nil).
func NewKeyring(keys [][]byte, rand io.Reader) (*Keyring, error) {
	entries := make([]keyEntry, len(keys))
	for i, key := range keys {
		entries[i] = keyEntry{id: uint32(i + 1), key: key}
	}
	return newKeyring(entries, rand)
}

// newKeyring builds a keyring from entries with strictly increasing ids.
func newKeyring(entries []keyEntry, rand io.Reader) (*Keyring, error) {
	if len(entries) == 0 {
		return nil, errors.New("secret: keyring needs at least one key")
	}
	k := &Keyring{rand: orDefault(rand), aeads: make(map[uint32]cipher.AEAD, len(entries))}
	for _, e := range entries {
		if len(e.key) != keySize {
			return nil, fmt.Errorf("secret: key %d is %d bytes, want %d", e.id, len(e.key), keySize)
		}
		block, err := aes.NewCipher(e.key)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", e.id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", e.id, err)
		}
		k.aeads[e.id] = aead
		k.newest = e.id
		k.sealer = aead
	}
	// A key of its own for MACs: one key must not serve two algorithms.
	mk, err := hkdf.Key(sha256.New, entries[len(entries)-1].key, nil, "twofold code mac", 32)
	if err != nil {
		return nil, fmt.Errorf("secret: derive mac key: %w", err)
	}
	k.macKey = mk
	return k, nil
}

// MAC returns a keyed hash of data (HMAC-SHA256 under a key derived from
// the newest master key). It is how short codes — an emailed six-digit
// code — are stored only as hashes: a plain hash of one of a million
// codes is reversed by trying them all, a MAC is not without the master
// key. A MAC made before a key rotation no longer matches after it, which
// short-lived codes can afford.
func (k *Keyring) MAC(data []byte) []byte {
	m := hmac.New(sha256.New, k.macKey)
	m.Write(data)
	return m.Sum(nil)
}

// NewestID returns the id of the key Seal uses.
func (k *Keyring) NewestID() uint32 { return k.newest }

// Seal encrypts and authenticates plaintext under the newest key, binding it
// to additionalData. additionalData should name the value's place — table,
// column and row id — so that a sealed value copied to another row fails to
// open. It is not stored; Open must be given the same bytes.
func (k *Keyring) Seal(plaintext, additionalData []byte) ([]byte, error) {
	if k.sealer == nil {
		return nil, errors.New("secret: seal with an empty keyring")
	}
	out := make([]byte, headerSize+nonceSize, overhead+len(plaintext))
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:headerSize], k.newest)
	nonce := out[headerSize:]
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return nil, fmt.Errorf("secret: reading nonce: %w", err)
	}
	return k.sealer.Seal(out, nonce, plaintext, additionalData), nil
}

// Open authenticates and decrypts a value made by Seal with the same
// additionalData, under whichever key of the keyring its header names. Any
// failure is an error wrapping ErrOpen. Open never panics, whatever sealed
// holds. The plaintext never shares memory with sealed.
func (k *Keyring) Open(sealed, additionalData []byte) ([]byte, error) {
	if len(sealed) < overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte minimum", ErrOpen, len(sealed), overhead)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrOpen, sealed[0])
	}
	id := binary.BigEndian.Uint32(sealed[1:headerSize])
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: sealed under key %d, which the keyring does not hold", ErrOpen, id)
	}
	plaintext, err := aead.Open(nil, sealed[headerSize:headerSize+nonceSize], sealed[headerSize+nonceSize:], additionalData)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication under key %d failed (other additional data, or altered)", ErrOpen, id)
	}
	return plaintext, nil
}

// Reseal opens sealed, bound to from, and seals its plaintext under the
// newest key bound to to: for a value that moves to another place, or
// stays (from and to the same) after the keys were rotated. The plaintext
// is cleared before Reseal returns.
func (k *Keyring) Reseal(sealed, from, to []byte) ([]byte, error) {
	plain, err := k.Open(sealed, from)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return k.Seal(plain, to)
}

// Current reports whether sealed is a well-formed value sealed under the
// newest key, so that re-encryption after rotation can skip it. It reads
// only the header and does not authenticate: a value it reports current may
// still fail to open.
func (k *Keyring) Current(sealed []byte) bool {
	return k.newest != 0 &&
		len(sealed) >= overhead &&
		sealed[0] == sealVersion &&
		binary.BigEndian.Uint32(sealed[1:headerSize]) == k.newest
}
