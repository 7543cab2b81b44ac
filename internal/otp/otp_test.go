package otp

import (
	"testing"
	"time"
)

// The seeds of RFC 6238 Appendix B: the ASCII digits "1234567890" repeated
// to the output size of each hash. RFC 4226 Appendix D uses the SHA-1 one.
var (
	seedSHA1   = []byte("12345678901234567890")
	seedSHA256 = []byte("12345678901234567890123456789012")
	seedSHA512 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

func newGenerator(t testing.TB, secret []byte, alg Algorithm, digits int) *Generator {
	t.Helper()
	g, err := NewGenerator(secret, alg, digits)
	if err != nil {
		t.Fatalf("NewGenerator(%q, %s, %d): %v", secret, alg, digits, err)
	}
	return g
}

func TestHOTPMatchesRFC4226AppendixD(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	g := newGenerator(t, seedSHA1, SHA1, 6)
	for counter, code := range want {
		if got := g.Code(uint64(counter)); got != code {
			t.Errorf("Code(%d) = %s, want %s", counter, got, code)
		}
	}
}

func TestTOTPMatchesRFC6238AppendixB(t *testing.T) {
	algs := []Algorithm{SHA1, SHA256, SHA512}
	gens := []*Generator{
		newGenerator(t, seedSHA1, SHA1, 8),
		newGenerator(t, seedSHA256, SHA256, 8),
		newGenerator(t, seedSHA512, SHA512, 8),
	}
	tests := []struct {
		unix  int64
		step  int64
		codes [3]string // in the order of algs
	}{
		{59, 0x1, [3]string{"94287082", "46119246", "90693936"}},
		{1111111109, 0x23523EC, [3]string{"07081804", "68084774", "25091201"}},
		{1111111111, 0x23523ED, [3]string{"14050471", "67062674", "99943326"}},
		{1234567890, 0x273EF07, [3]string{"89005924", "91819424", "93441116"}},
		{2000000000, 0x3F940AA, [3]string{"69279037", "90698825", "38618901"}},
		{20000000000, 0x27BC86AA, [3]string{"65353130", "77737706", "47863826"}},
	}
	for _, tt := range tests {
		step := Step(time.Unix(tt.unix, 0), 30*time.Second)
		if step != tt.step {
			t.Errorf("Step(%d, 30s) = %#x, want %#x", tt.unix, step, tt.step)
		}
		for i, g := range gens {
			if got := g.Code(uint64(tt.step)); got != tt.codes[i] {
				t.Errorf("%s code at %d = %s, want %s", algs[i], tt.unix, got, tt.codes[i])
			}
		}
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		name   string
		t      time.Time
		period time.Duration
		want   int64
	}{
		{"the epoch is step zero", time.Unix(0, 0), 30 * time.Second, 0},
		{"the last second of a step stays in it", time.Unix(29, 999_999_999), 30 * time.Second, 0},
		{"a step begins on its boundary", time.Unix(30, 0), 30 * time.Second, 1},
		{"a longer period counts fewer steps", time.Unix(1111111109, 0), 60 * time.Second, 18518518},
		{"the time zone does not matter", time.Unix(59, 0).In(time.FixedZone("UTC+14", 14*3600)), 30 * time.Second, 1},
		{"times before the epoch round down", time.Unix(-1, 0), 30 * time.Second, -1},
	}
	for _, tt := range tests {
		if got := Step(tt.t, tt.period); got != tt.want {
			t.Errorf("%s: Step(%v, %v) = %d, want %d", tt.name, tt.t, tt.period, got, tt.want)
		}
	}
}

func TestStepPanicsOnPeriodThatIsNotWholeSeconds(t *testing.T) {
	for _, period := range []time.Duration{0, -30 * time.Second, 500 * time.Millisecond, 1500 * time.Millisecond} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Step(now, %v) did not panic", period)
				}
			}()
			Step(time.Unix(0, 0), period)
		}()
	}
}

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		in   string
		want Algorithm
		ok   bool
	}{
		{"SHA1", SHA1, true},
		{"sha1", SHA1, true},
		{"SHA-1", SHA1, true},
		{"sha256", SHA256, true},
		{"SHA-256", SHA256, true},
		{"Sha512", SHA512, true},
		{"sha-512", SHA512, true},
		{"", "", false},
		{"MD5", "", false},
		{"SHA224", "", false},
		{"SHA 256", "", false},
		{"ſha1", "", false}, // long s, which strings.ToUpper maps to 'S'
	}
	for _, tt := range tests {
		got, err := ParseAlgorithm(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && !got.Valid() {
			t.Errorf("ParseAlgorithm(%q) = %q, which is not Valid", tt.in, got)
		}
	}
	if Algorithm("sha1").Valid() {
		t.Error(`Algorithm("sha1").Valid() = true, want false: only the canonical spellings are valid`)
	}
}

func TestNewGeneratorRefusesBadParameters(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		alg    Algorithm
		digits int
	}{
		{"an empty secret is refused", nil, SHA1, 6},
		{"an unknown algorithm is refused", seedSHA1, "MD5", 6},
		{"a lower-case algorithm is refused", seedSHA1, "sha1", 6},
		{"five digits are refused", seedSHA1, SHA1, 5},
		{"nine digits are refused", seedSHA1, SHA1, 9},
	}
	for _, tt := range tests {
		if g, err := NewGenerator(tt.secret, tt.alg, tt.digits); err == nil {
			t.Errorf("%s: NewGenerator(%q, %q, %d) = %v, want an error", tt.name, tt.secret, tt.alg, tt.digits, g)
		}
	}
}

func TestCodeKeepsLeadingZeros(t *testing.T) {
	// RFC 6238 gives 07081804 for SHA1 at 1111111109.
	g := newGenerator(t, seedSHA1, SHA1, 8)
	if got, want := g.Code(0x23523EC), "07081804"; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if got, want := g.Value(0x23523EC), uint32(7081804); got != want {
		t.Errorf("Value = %d, want %d", got, want)
	}
}

func TestGeneratorCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), seedSHA1...)
	g := newGenerator(t, secret, SHA1, 6)
	clear(secret)
	if got, want := g.Code(0), "755224"; got != want {
		t.Errorf("after the caller cleared the secret, Code(0) = %s, want %s", got, want)
	}
}

func TestMatch(t *testing.T) {
	g := newGenerator(t, seedSHA1, SHA1, 6)
	// RFC 4226 Appendix D: counter 5 is 254676, counter 9 is 520489.
	tests := []struct {
		name     string
		code     string
		from, to uint64
		want     uint64
		ok       bool
	}{
		{"a code at the start of the window is found", "254676", 5, 7, 5, true},
		{"a code in the middle of the window is found", "254676", 4, 6, 5, true},
		{"a code at the end of the window is found", "254676", 3, 5, 5, true},
		{"a window of one counter is enough", "254676", 5, 5, 5, true},
		{"a code before the window is refused", "254676", 6, 9, 0, false},
		{"a code after the window is refused", "520489", 5, 8, 0, false},
		{"an empty window matches nothing", "254676", 6, 5, 0, false},
		{"a wrong code is refused", "254677", 0, 9, 0, false},
		{"a code one digit short is refused", "54676", 0, 9, 0, false},
		{"a code one digit long is refused", "2546760", 0, 9, 0, false},
		{"an empty code is refused", "", 0, 9, 0, false},
		{"a code with a space is refused", "254 676", 0, 9, 0, false},
		{"a code with a letter is refused", "25467a", 0, 9, 0, false},
		{"a code with a fullwidth digit is refused", "25467６", 0, 9, 0, false},
	}
	for _, tt := range tests {
		got, ok := g.Match(tt.code, tt.from, tt.to)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Match(%q, %d, %d) = %d, %v; want %d, %v", tt.name, tt.code, tt.from, tt.to, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMatchReportsTheFirstCounter(t *testing.T) {
	// With only 10^6 codes, some appear twice among the first few
	// thousand counters; find such a pair and ask for both.
	g := newGenerator(t, seedSHA1, SHA1, 6)
	seen := make(map[string]uint64)
	for c := uint64(0); ; c++ {
		code := g.Code(c)
		first, dup := seen[code]
		if !dup {
			seen[code] = c
			continue
		}
		if got, ok := g.Match(code, first, c); !ok || got != first {
			t.Errorf("Match(%q, %d, %d) = %d, %v; want %d, true", code, first, c, got, ok, first)
		}
		if got, ok := g.Match(code, first+1, c); !ok || got != c {
			t.Errorf("Match(%q, %d, %d) = %d, %v; want %d, true", code, first+1, c, got, ok, c)
		}
		return
	}
}

func TestMatchStopsAtTheLargestCounter(t *testing.T) {
	const last = ^uint64(0)
	g := newGenerator(t, seedSHA1, SHA1, 6)
	if got, ok := g.Match(g.Code(last), last-2, last); !ok || got != last {
		t.Errorf("Match(code of %d, %d, %d) = %d, %v; want %d, true", last, last-2, last, got, ok, last)
	}
	// Take the code of a small counter that is not in the window: a
	// search that wrapped around past the largest counter would find it.
	window := map[string]bool{g.Code(last - 2): true, g.Code(last - 1): true, g.Code(last): true}
	var small uint64
	for window[g.Code(small)] {
		small++
	}
	if got, ok := g.Match(g.Code(small), last-2, last); ok {
		t.Errorf("Match(code of %d, %d, %d) = %d, true; want false", small, last-2, last, got)
	}
}

func TestGeneratorDoesNotAllocate(t *testing.T) {
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		g := newGenerator(t, seedSHA512, alg, 8)
		code := g.Code(1001)
		if n := testing.AllocsPerRun(100, func() { g.Value(1000) }); n != 0 {
			t.Errorf("%s: Value allocates %v times per call, want 0", alg, n)
		}
		if n := testing.AllocsPerRun(100, func() { g.Match(code, 999, 1001) }); n != 0 {
			t.Errorf("%s: Match allocates %v times per call, want 0", alg, n)
		}
		if n := testing.AllocsPerRun(100, func() { g.Match("0000000", 999, 1001) }); n != 0 {
			t.Errorf("%s: Match of a wrong-length code allocates %v times per call, want 0", alg, n)
		}
	}
}

func BenchmarkCode(b *testing.B) {
	g := newGenerator(b, seedSHA1, SHA1, 6)
	b.ReportAllocs()
	var counter uint64
	for b.Loop() {
		g.Code(counter)
		counter++
	}
}

func BenchmarkMatchWindow3(b *testing.B) {
	g := newGenerator(b, seedSHA1, SHA1, 6)
	// The worst case: the code is at the end of the window, so all three
	// candidates are computed.
	step := uint64(Step(time.Unix(1234567890, 0), 30*time.Second))
	code := g.Code(step + 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := g.Match(code, step-1, step+1); !ok {
			b.Fatal("Match did not find the code")
		}
	}
}
