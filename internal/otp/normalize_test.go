package otp

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		min, max int
		want     string
		ok       bool
	}{
		{"a canonical code is kept", "123456", 6, 8, "123456", true},
		{"an eight-digit code is kept", "12345678", 6, 8, "12345678", true},
		{"a space between groups is removed", "123 456", 6, 8, "123456", true},
		{"a hyphen between groups is removed", "123-456", 6, 8, "123456", true},
		{"a tab is removed", "123\t456", 6, 8, "123456", true},
		{"surrounding spaces are removed", " 123456 ", 6, 8, "123456", true},
		{"separators do not count toward the length", "1-2-3-4-5", 6, 8, "", false},
		{"a code one digit short is refused", "12345", 6, 8, "", false},
		{"nine digits are refused when the maximum is eight", "123456789", 6, 8, "", false},
		{"fullwidth digits are refused", "１２３４５６", 6, 8, "", false},
		{"Arabic-Indic digits are refused", "١٢٣٤٥٦", 6, 8, "", false},
		{"a letter is refused", "12345a", 6, 8, "", false},
		{"a no-break space is refused", "123\u00a0456", 6, 8, "", false},
		{"a newline is refused", "123456\n", 6, 8, "", false},
		{"a plus sign is refused", "+123456", 6, 8, "", false},
		{"the empty string is refused", "", 6, 8, "", false},
		{"only separators are refused", " - ", 6, 8, "", false},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.input, tt.min, tt.max)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("%s: Normalize(%q, %d, %d) = %q, %v; want %q, nil", tt.name, tt.input, tt.min, tt.max, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) || got != "" {
			t.Errorf("%s: Normalize(%q, %d, %d) = %q, %v; want \"\", ErrMalformed", tt.name, tt.input, tt.min, tt.max, got, err)
		}
	}
}

func TestNormalizeDoesNotAllocateForCanonicalInput(t *testing.T) {
	input := string([]byte("12345678")) // not a constant, so that it is a real heap string
	var got string
	if n := testing.AllocsPerRun(100, func() { got, _ = Normalize(input, 6, 8) }); n != 0 {
		t.Errorf("Normalize(%q) allocates %v times per call, want 0", input, n)
	}
	if got != input {
		t.Errorf("Normalize(%q) = %q, want the input itself", input, got)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", " 12345678 ", "1\t2\t3\t4\t5\t6", "12345", "123456789", "１２３４５６", "١٢٣٤٥٦", "12345a", "", "\xff123456"} {
		f.Add(s, 6, 8)
	}
	f.Add("1", 1, 1)
	f.Add("123456", 8, 6)
	f.Add("123456", -1, 100)
	f.Fuzz(func(t *testing.T, input string, min, max int) {
		got, err := Normalize(input, min, max)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Normalize(%q, %d, %d) error %v does not wrap ErrMalformed", input, min, max, err)
			}
			return
		}
		if len(got) < min || len(got) > max {
			t.Fatalf("Normalize(%q, %d, %d) = %q, length %d out of range", input, min, max, got, len(got))
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("Normalize(%q, %d, %d) = %q, which has the non-digit byte %q", input, min, max, got, got[i])
			}
		}
		again, err := Normalize(got, min, max)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want %q, nil as it is already canonical", got, again, err, got)
		}
	})
}
