package secret

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// cheap keeps tests fast; production uses DefaultParams.
var cheap = Params{Time: 1, Memory: 64, Threads: 1}

func mustHash(t testing.TB, h *Hasher, password string) string {
	t.Helper()
	encoded, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return encoded
}

func TestHashVerify(t *testing.T) {
	h := &Hasher{Params: cheap, Rand: detRand(1)}
	encoded := mustHash(t, h, "correct horse battery staple")
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"the right password verifies", "correct horse battery staple", true},
		{"a wrong password does not", "correct horse battery stapler", false},
		{"a differently cased password does not", "Correct horse battery staple", false},
		{"an empty password does not", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyNow(encoded, tt.password)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Verify(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	encoded := mustHash(t, &Hasher{Params: Params{Time: 2, Memory: 128, Threads: 3}}, "pin 1234")
	want := regexp.MustCompile(`^\$argon2id\$v=19\$m=128,t=2,p=3\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !want.MatchString(encoded) {
		t.Fatalf("Hash = %q, want a match for %s", encoded, want)
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	h := &Hasher{Params: cheap}
	a, b := mustHash(t, h, "same"), mustHash(t, h, "same")
	if a == b {
		t.Fatalf("two hashes of one password are both %q, want different salts", a)
	}
}

func TestHashIsDeterministicGivenItsRandomSource(t *testing.T) {
	a := mustHash(t, &Hasher{Params: cheap, Rand: detRand(4)}, "pw")
	b := mustHash(t, &Hasher{Params: cheap, Rand: detRand(4)}, "pw")
	if a != b {
		t.Fatalf("same random source hashed differently: %q and %q", a, b)
	}
}

func TestHashesFromOtherParamsStillVerify(t *testing.T) {
	for _, p := range []Params{
		{Time: 1, Memory: 8, Threads: 1},
		{Time: 2, Memory: 64, Threads: 4},
		{Time: 4, Memory: 256, Threads: 2},
	} {
		encoded := mustHash(t, &Hasher{Params: p}, "pw")
		if ok, err := verifyNow(encoded, "pw"); !ok || err != nil {
			t.Errorf("Verify(hash made with %+v) = %v, %v; want true, nil", p, ok, err)
		}
	}
}

func TestVerifyReferenceHash(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash in -short mode")
	}
	// The argon2 reference implementation's test vector: password
	// "password", salt "somesalt" (8 bytes, the smallest Verify accepts).
	const encoded = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := verifyNow(encoded, "password"); !ok || err != nil {
		t.Fatalf("Verify(reference hash, right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := verifyNow(encoded, "Password"); ok || err != nil {
		t.Fatalf("Verify(reference hash, wrong password) = %v, %v; want false, nil", ok, err)
	}
}

func TestHashDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash in -short mode")
	}
	encoded := mustHash(t, &Hasher{}, "pw")
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("Hash with zero Params = %q, want DefaultParams m=65536,t=3,p=2", encoded)
	}
	if ok, err := verifyNow(encoded, "pw"); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
	}
}

func TestHashRefusesParamsVerifyWouldRefuse(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"zero time", Params{Time: 0, Memory: 64, Threads: 1}},
		{"time above 100", Params{Time: 101, Memory: 64, Threads: 1}},
		{"zero threads", Params{Time: 1, Memory: 64, Threads: 0}},
		{"memory below 8 KiB per thread", Params{Time: 1, Memory: 31, Threads: 4}},
		{"memory above 1 GiB", Params{Time: 1, Memory: 1<<20 + 1, Threads: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := (&Hasher{Params: tt.p}).Hash(context.Background(), "pw"); err == nil {
				t.Fatalf("Hash = %q, nil; want an error", got)
			}
		})
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	const (
		salt = "c29tZXNhbHQ"
		hash = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	)
	tests := []struct {
		name    string
		encoded string
		wantErr string
	}{
		{"an empty string", "", "not of the form"},
		{"a plaintext password", "hunter2", "not of the form"},
		{"a bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "not of the form"},
		{"argon2i", "$argon2i$v=19$m=64,t=2,p=1$" + salt + "$" + hash, "algorithm is not argon2id"},
		{"version 16", "$argon2id$v=16$m=64,t=2,p=1$" + salt + "$" + hash, "version is not 19"},
		{"no version", "$argon2id$m=64,t=2,p=1$" + salt + "$" + hash, "not of the form"},
		{"parameters out of order", "$argon2id$v=19$t=2,m=64,p=1$" + salt + "$" + hash, "not of the form"},
		{"a missing parameter", "$argon2id$v=19$m=64,t=2$" + salt + "$" + hash, "not of the form"},
		{"an extra parameter", "$argon2id$v=19$m=64,t=2,p=1,k=0$" + salt + "$" + hash, "parameter p is not an integer"},
		{"a non-numeric parameter", "$argon2id$v=19$m=sixty,t=2,p=1$" + salt + "$" + hash, "parameter m is not an integer"},
		{"a negative parameter", "$argon2id$v=19$m=64,t=-2,p=1$" + salt + "$" + hash, "parameter t is not an integer"},
		{"threads beyond 255", "$argon2id$v=19$m=4096,t=2,p=256$" + salt + "$" + hash, "parameter p is not an integer"},
		{"memory beyond 32 bits", "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + hash, "parameter m is not an integer"},
		{"memory above 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + salt + "$" + hash, "memory 1048577 KiB is outside"},
		{"memory below 8 KiB per thread", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + hash, "memory 15 KiB is outside"},
		{"time above 100", "$argon2id$v=19$m=64,t=101,p=1$" + salt + "$" + hash, "time 101 is outside"},
		{"time 0", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + hash, "time 0 is outside"},
		{"threads 0", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash, "threads is 0"},
		{"a padded salt", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "==$" + hash, "salt is not unpadded standard base64"},
		{"a URL-safe hash", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$_" + hash[1:], "hash is not unpadded standard base64"},
		{"a 4-byte salt", "$argon2id$v=19$m=64,t=2,p=1$c2FsdA$" + hash, "salt is 4 bytes"},
		{"an empty hash", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$", "hash is 0 bytes"},
		{"a 65-byte hash", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + strings.Repeat("A", 87), "hash is 65 bytes"},
		{"a trailing field", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + hash + "$", "not of the form"},
		{"a huge string", "$argon2id$v=19$m=64,t=2,p=1$" + strings.Repeat("A", 1<<16) + "$" + hash, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := verifyNow(tt.encoded, "password")
			if ok || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Verify = %v, %v; want false and an error containing %q", ok, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), hash[:10]) {
				t.Errorf("error %q quotes the encoded hash", err)
			}
		})
	}
}

func TestVerifyDummyReturns(t *testing.T) {
	// VerifyDummy has no result to check; this guards against a panic, and
	// against invalid Params making it skip its work silently.
	(&Hasher{Params: cheap}).VerifyDummy(context.Background(), "pw")
	(&Hasher{Params: Params{Time: 1, Memory: 64}}).VerifyDummy(context.Background(), "pw")
}

func FuzzVerify(f *testing.F) {
	f.Add(mustHash(f, &Hasher{Params: cheap, Rand: detRand(1)}, "pw"), "pw")
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=,t=,p=$$", "")
	f.Add("$$$$$", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		p, _, _, err := decodeHash(encoded)
		if err == nil && uint64(p.Memory)*uint64(p.Time) > 1<<12 {
			// Valid but costly parameters: the parsing is what is under
			// test, and running a 1 GiB hash per input would stall the
			// fuzzer.
			return
		}
		ok, verr := verifyNow(encoded, password)
		if (err == nil) != (verr == nil) {
			t.Fatalf("decodeHash error %v but Verify error %v", err, verr)
		}
		if verr != nil && ok {
			t.Fatalf("Verify = true, %v; want false alongside an error", verr)
		}
	})
}

func BenchmarkHashDefault(b *testing.B) {
	h := &Hasher{Params: DefaultParams}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// verifyNow verifies with a Hasher of its own, for tests of the format.
func verifyNow(encoded, password string) (bool, error) {
	return (&Hasher{}).Verify(context.Background(), encoded, password)
}

func TestHasherBoundsConcurrentHashes(t *testing.T) {
	h := &Hasher{Params: cheap, Concurrency: 2, MaxWait: time.Hour}
	// Take both slots, as two long hashes would.
	releases := make([]func(), 2)
	for i := range releases {
		var err error
		if releases[i], err = h.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a third waits and gives up when its context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := h.Verify(ctx, mustHash(t, &Hasher{Params: cheap}, "pw"), "pw")
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Verify with both slots taken returned %v at once, want it to wait", err)
		case <-time.After(50 * time.Millisecond):
		}
		cancel()
		if err := <-done; !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify after its context ended = %v, want ErrBusy and context.Canceled", err)
		}
	})
	t.Run("a third gives up after MaxWait", func(t *testing.T) {
		short := &Hasher{Params: cheap, Concurrency: 1, MaxWait: time.Millisecond}
		release, err := short.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if _, err := short.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
			t.Fatalf("Hash with the only slot taken = %v, want ErrBusy", err)
		}
		if err := short.VerifyDummy(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
			t.Fatalf("VerifyDummy with the only slot taken = %v, want ErrBusy", err)
		}
	})
	t.Run("a slot given back serves the next", func(t *testing.T) {
		releases[0]()
		if _, err := h.Hash(context.Background(), "pw"); err != nil {
			t.Fatalf("Hash with a slot free = %v", err)
		}
	})
	releases[1]()
}

func TestHasherNeverRunsMoreThanConcurrency(t *testing.T) {
	h := &Hasher{Params: cheap, Concurrency: 3, MaxWait: time.Minute}
	var mu sync.Mutex
	running, most := 0, 0
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			release, err := h.acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
			release()
		})
	}
	wg.Wait()
	if most > 3 {
		t.Fatalf("%d hashes ran at once, want at most 3", most)
	}
}
