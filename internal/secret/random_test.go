package secret

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDigitsDistribution(t *testing.T) {
	const n = 100_000
	s, err := Digits(nil, n)
	if err != nil {
		t.Fatalf("Digits: %v", err)
	}
	if len(s) != n {
		t.Fatalf("len(Digits(nil, %d)) = %d, want %d", n, len(s), n)
	}
	var counts [10]int
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			t.Fatalf("Digits returned %q at %d, want only 0-9", c, i)
		}
		counts[c-'0']++
	}
	// Each digit is expected n/10 = 10000 times with a standard deviation
	// of 95; a 6% band is over six deviations wide, while modulo bias on
	// bytes would put 0 to 5 about 2% high.
	for d, got := range counts {
		if got < n/10*94/100 || got > n/10*106/100 {
			t.Errorf("digit %d appeared %d times in %d, want about %d", d, got, n, n/10)
		}
	}
}

func TestDigitsLengths(t *testing.T) {
	for _, n := range []int{1, 6, 8, 10, 64} {
		s, err := Digits(nil, n)
		if err != nil || len(s) != n {
			t.Errorf("Digits(nil, %d) = %q, %v; want %d digits", n, s, err, n)
		}
	}
}

func TestDigitsIsDeterministicGivenItsRandomSource(t *testing.T) {
	a, err := Digits(detRand(9), 32)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Digits(detRand(9), 32)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("same random source gave %q and %q", a, b)
	}
	if c, _ := Digits(detRand(10), 32); c == a {
		t.Fatalf("different random sources both gave %q", a)
	}
}

func TestDigitsFromKnownBytes(t *testing.T) {
	tests := []struct {
		name  string
		bytes []byte
		n     int
		want  string
	}{
		{"each byte gives its value modulo 10", []byte{0, 9, 10, 123, 249}, 5, "09039"},
		{"bytes of 250 and above are skipped, not reduced", []byte{250, 7, 255, 251, 3}, 2, "73"},
		{"skipped bytes are replaced by reading more", []byte{1, 255, 2, 254, 253, 3}, 3, "123"},
		{"no more bytes are read than needed", []byte{4, 5, 6, 7}, 2, "45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Digits(bytes.NewReader(tt.bytes), tt.n)
			if err != nil {
				t.Fatalf("Digits: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Digits(%v, %d) = %q, want %q", tt.bytes, tt.n, got, tt.want)
			}
		})
	}
}

func TestRandomFunctionsReportShortReads(t *testing.T) {
	short := func() io.Reader { return strings.NewReader("abc") }
	tests := []struct {
		name string
		call func() error
	}{
		{"Bytes", func() error { _, err := Bytes(short(), 16); return err }},
		{"Token", func() error { _, err := Token(short(), 16); return err }},
		{"Digits", func() error { _, err := Digits(short(), 6); return err }},
		{"Digits whose source runs out while skipping", func() error {
			_, err := Digits(bytes.NewReader([]byte{1, 255}), 2)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				t.Fatalf("error = %v, want one wrapping io.ErrUnexpectedEOF or io.EOF", err)
			}
		})
	}
}

func TestRandomFunctionsRefuseBadLengths(t *testing.T) {
	if _, err := Bytes(nil, -1); err == nil {
		t.Error("Bytes(nil, -1) succeeded, want an error")
	}
	if b, err := Bytes(nil, 0); err != nil || len(b) != 0 {
		t.Errorf("Bytes(nil, 0) = %x, %v; want empty, nil", b, err)
	}
	if s, err := Token(nil, 0); err == nil {
		t.Errorf("Token(nil, 0) = %q, nil; want an error", s)
	}
	if s, err := Digits(nil, 0); err == nil {
		t.Errorf("Digits(nil, 0) = %q, nil; want an error", s)
	}
}

func TestToken(t *testing.T) {
	tests := []struct {
		bytes, wantLen int
	}{
		{1, 2}, {5, 8}, {10, 16}, {16, 26}, {20, 32}, {32, 52},
	}
	for _, tt := range tests {
		s, err := Token(nil, tt.bytes)
		if err != nil {
			t.Fatalf("Token(nil, %d): %v", tt.bytes, err)
		}
		if len(s) != tt.wantLen {
			t.Errorf("len(Token(nil, %d)) = %d (%q), want %d", tt.bytes, len(s), s, tt.wantLen)
		}
		if strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Errorf("Token(nil, %d) = %q, want only a-z and 2-7", tt.bytes, s)
		}
	}
}

func TestTokenEncoding(t *testing.T) {
	got, err := Token(strings.NewReader("foobar"), 6)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 4648 test vector BASE32("foobar") = "MZXW6YTBOI======".
	if want := "mzxw6ytboi"; got != want {
		t.Fatalf("Token(\"foobar\") = %q, want %q", got, want)
	}
}

func TestHashToken(t *testing.T) {
	// FIPS 180-2 test vector.
	want, _ := hex.DecodeString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	if got := HashToken("abc"); !bytes.Equal(got, want) {
		t.Fatalf("HashToken(\"abc\") = %x, want %x", got, want)
	}
	if a, b := HashToken("code-a"), HashToken("code-b"); bytes.Equal(a, b) {
		t.Fatalf("HashToken of two codes are both %x", a)
	}
}
