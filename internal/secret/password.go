package secret

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Time    uint32 // passes over memory, 1 to 100
	Memory  uint32 // KiB, 8×Threads to 1 GiB
	Threads uint8  // lanes, at least 1
}

// DefaultParams follows the second recommended option of RFC 9106,
// section 4 — 3 passes over 64 MiB — but with 2 lanes instead of 4. Lanes
// set how many threads one hash may use, not its memory or passes; 2 leaves
// cores free for concurrent logins. Every concurrent Hash or Verify holds
// 64 MiB, so callers should bound how many run at once.
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 2}

// Limits on what Hash makes and Verify runs. A stored hash is data, and a
// corrupt or planted one must not be able to make Verify allocate gigabytes
// or spin for minutes.
const (
	maxTime    = 100
	maxMemory  = 1 << 20 // KiB: 1 GiB
	saltSize   = 16
	hashSize   = 32
	minSalt    = 8 // RFC 9106, section 3.1
	maxSalt    = 64
	minHash    = 16
	maxHash    = 64
	maxEncoded = 256 // generously above the longest valid string
)

// check reports whether p is within the limits Verify accepts.
func (p Params) check() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d is outside 1 to %d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("threads is 0")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB is outside %d to %d KiB", p.Memory, 8*uint32(p.Threads), maxMemory)
	}
	return nil
}

// Hasher hashes passwords (and PINs) with argon2id into the PHC string
// format
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
//
// with a 16-byte salt read from Rand and a 32-byte hash, both in unpadded
// standard base64. A zero Params means DefaultParams; a nil Rand means
// crypto/rand.Reader.
//
// Every computation holds Params.Memory for its duration, so a Hasher runs
// at most Concurrency of them at once (GOMAXPROCS when 0) and the others
// wait their turn — for at most MaxWait (10 s when 0), or until their
// context ends — and then fail with ErrBusy. One Hasher serves the whole
// process, so no path can exhaust memory with parallel password checks.
// A Hasher is safe for concurrent use if Rand is; it must not be copied
// after first use.
type Hasher struct {
	Params      Params
	Rand        io.Reader
	Concurrency int
	MaxWait     time.Duration

	once  sync.Once
	slots chan struct{}
}

// ErrBusy means a hash could not start in time: too many ran at once.
var ErrBusy = errors.New("secret: too many password checks at once; try again shortly")

// params returns h.Params, or DefaultParams if h.Params is zero.
func (h *Hasher) params() Params {
	if h.Params == (Params{}) {
		return DefaultParams
	}
	return h.Params
}

// acquire waits for a free slot; the caller must call the returned release.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	h.once.Do(func() {
		n := h.Concurrency
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		h.slots = make(chan struct{}, n)
	})
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	default:
	}
	wait := h.MaxWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	case <-timer.C:
		return nil, ErrBusy
	}
}

// Hash returns the encoded argon2id hash of password with a fresh salt. It
// fails if h.Params are outside the limits Verify accepts, so that it never
// stores a hash that cannot be verified.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.params()
	if err := p.check(); err != nil {
		return "", fmt.Errorf("secret: argon2id parameters: %w", err)
	}
	salt, err := Bytes(h.Rand, saltSize)
	if err != nil {
		return "", err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, hashSize)
	release()
	b := make([]byte, 0, 100)
	b = append(b, "$argon2id$v="...)
	b = strconv.AppendInt(b, argon2.Version, 10)
	b = append(b, "$m="...)
	b = strconv.AppendUint(b, uint64(p.Memory), 10)
	b = append(b, ",t="...)
	b = strconv.AppendUint(b, uint64(p.Time), 10)
	b = append(b, ",p="...)
	b = strconv.AppendUint(b, uint64(p.Threads), 10)
	b = append(b, '$')
	b = base64.RawStdEncoding.AppendEncode(b, salt)
	b = append(b, '$')
	b = base64.RawStdEncoding.AppendEncode(b, key)
	return string(b), nil
}

// Verify reports whether password matches encoded, a string made by Hash,
// waiting its turn like Hash. The cost parameters are read from encoded,
// so hashes made with older or cheaper parameters still verify. The hashes
// are compared in constant time.
//
// A malformed encoded string, or one whose parameters exceed the limits on
// Params (memory above 1 GiB, time above 100, no threads), is an error, and
// the hash is not computed. Verify never panics, whatever encoded holds,
// and its errors never quote encoded.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, fmt.Errorf("secret: password hash: %w", err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return verify(p, salt, want, password), nil
}

// verify reports whether password hashes to want. Verify and VerifyDummy
// both spend their time here.
func verify(p Params, salt, want []byte, password string) bool {
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// The dummy salt and hash need not be random: VerifyDummy's result is never
// used, only the time it takes.
var (
	dummySalt [saltSize]byte
	dummyHash [hashSize]byte
)

// VerifyDummy spends the time Verify spends on a hash made with h.Params,
// and matches nothing; callers use it for unknown users so that timing does
// not tell whether an account exists. If h.Params are outside the limits, it
// uses DefaultParams. Hashes stored with other parameters take their own
// time, so rehash them to h.Params when their users next log in.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	// Running the same argon2id computation as Verify, against a fixed
	// salt, matches its cost without a stored dummy hash, and without the
	// first call paying to make one.
	p := h.params()
	if p.check() != nil {
		p = DefaultParams
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	_ = verify(p, dummySalt[:], dummyHash[:], password)
	return nil
}

// errHashFormat describes the only form decodeHash accepts.
var errHashFormat = errors.New("not of the form $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash>")

// decodeHash parses a PHC string made by Hash and checks its parameters.
// Its errors never quote the string.
func decodeHash(encoded string) (p Params, salt, hash []byte, err error) {
	if len(encoded) > maxEncoded {
		return p, nil, nil, fmt.Errorf("%d bytes long, longer than %d", len(encoded), maxEncoded)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, errHashFormat
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, errors.New("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("version is not %d", argon2.Version)
	}
	m, rest, ok1 := strings.Cut(parts[3], ",")
	t, thr, ok2 := strings.Cut(rest, ",")
	if !ok1 || !ok2 {
		return p, nil, nil, errHashFormat
	}
	memory, err := parseParam(m, "m=", 32)
	if err != nil {
		return p, nil, nil, err
	}
	time, err := parseParam(t, "t=", 32)
	if err != nil {
		return p, nil, nil, err
	}
	threads, err := parseParam(thr, "p=", 8)
	if err != nil {
		return p, nil, nil, err
	}
	p = Params{Time: uint32(time), Memory: uint32(memory), Threads: uint8(threads)}
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	if salt, err = decodeB64(parts[4], "salt", minSalt, maxSalt); err != nil {
		return p, nil, nil, err
	}
	if hash, err = decodeB64(parts[5], "hash", minHash, maxHash); err != nil {
		return p, nil, nil, err
	}
	return p, salt, hash, nil
}

// parseParam parses s as prefix followed by a decimal integer of at most
// bits bits.
func parseParam(s, prefix string, bits int) (uint64, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, errHashFormat
	}
	n, err := strconv.ParseUint(digits, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("parameter %s is not an integer below 2^%d", strings.TrimSuffix(prefix, "="), bits)
	}
	return n, nil
}

// rawB64 rejects non-canonical encodings, so each hash has one spelling.
var rawB64 = base64.RawStdEncoding.Strict()

// decodeB64 decodes s, which must hold lo to hi bytes.
func decodeB64(s, what string, lo, hi int) ([]byte, error) {
	b, err := rawB64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not unpadded standard base64", what)
	}
	if len(b) < lo || len(b) > hi {
		return nil, fmt.Errorf("%s is %d bytes, want %d to %d", what, len(b), lo, hi)
	}
	return b, nil
}
