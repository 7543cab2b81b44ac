package auth

import "testing"

func TestParseInput(t *testing.T) {
	tests := []struct {
		name, raw string
		withPIN   bool
		digits    int
		pin, otp  string // empty otp: not a one-time code of that length
		backup    string // empty: not a backup code
		plausible bool
	}{
		{"six digits are a code", "123456", false, 6, "", "123456", "", true},
		{"spaces and hyphens are removed", " 123-456 ", false, 6, "", "123456", "", true},
		{"eight digits are not a six-digit code without a PIN", "12345678", false, 6, "", "", "", true},
		{"a PIN comes before the code", "4711123456", true, 6, "4711", "123456", "", true},
		{"a PIN may hold letters", "ab12123456", true, 6, "ab12", "123456", "", true},
		{"a backup code is 16 base32 characters with a letter", "abcd-efgh-2345-67ab", false, 6, "", "", "abcdefgh234567ab", true},
		{"a backup code is read in any case", "ABCD EFGH 2345 67AB", false, 6, "", "", "abcdefgh234567ab", true},
		{"a backup code after a PIN", "4711abcdefgh234567ab", true, 6, "", "", "abcdefgh234567ab", true},
		{"sixteen digits are no backup code", "2345234523452345", false, 6, "", "", "", false},
		{"a 1 is not base32", "abcdefgh2345671b", false, 6, "", "", "", false},
		{"five digits are too short", "12345", false, 6, "", "", "", false},
		{"letters in a one-time code are refused", "12a456", false, 6, "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ok := parseInput(tt.raw)
			if !ok {
				if tt.plausible {
					t.Fatalf("parseInput(%q) refused it", tt.raw)
				}
				return
			}
			pin, code, ok := in.otp(tt.withPIN, tt.digits)
			if ok != (tt.otp != "") || code != tt.otp || (ok && pin != tt.pin) {
				t.Errorf("otp() = %q, %q, %v; want %q, %q", pin, code, ok, tt.pin, tt.otp)
			}
			_, b, ok := in.backup(tt.withPIN)
			if ok != (tt.backup != "") || (ok && b != tt.backup) {
				t.Errorf("backup() = %q, %v; want %q", b, ok, tt.backup)
			}
			if got := in.plausible(tt.withPIN); got != tt.plausible {
				t.Errorf("plausible() = %v, want %v", got, tt.plausible)
			}
		})
	}
	for _, raw := range []string{"１２３４５６", "123456\x00", "123456!", "12345678901234567890123456789012345"} {
		if _, ok := parseInput(raw); ok {
			t.Errorf("parseInput(%q) accepted it", raw)
		}
	}
}

func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"123456", "4711-123 456", "abcd-efgh-2345-67ab", "１２３４５６", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		in, ok := parseInput(raw)
		if !ok {
			return
		}
		again, ok := parseInput(string(in))
		if !ok || again != in {
			t.Fatalf("parseInput is not idempotent: %q → %q → %q", raw, in, again)
		}
		for _, withPIN := range []bool{false, true} {
			if _, code, ok := in.otp(withPIN, 6); ok && len(code) != 6 {
				t.Fatalf("otp code %q", code)
			}
			if _, code, ok := in.backup(withPIN); ok && len(code) != BackupCodeLength {
				t.Fatalf("backup code %q", code)
			}
		}
	})
}

func TestTempCodeInput(t *testing.T) {
	tests := []struct {
		name, raw string
		withPIN   bool
		pin, temp string // empty temp: not a temporary code
	}{
		{"twelve characters of the alphabet with a letter are a temporary code", "K7QM-4XPR-9TWC", false, "", "K7QM4XPR9TWC"},
		{"a temporary code is read in any case and with spaces", "k7qm 4xpr 9twc", false, "", "K7QM4XPR9TWC"},
		{"a temporary code after a PIN", "4711K7QM4XPR9TWC", true, "4711", "K7QM4XPR9TWC"},
		{"without a PIN policy, nothing may come before it", "4711K7QM4XPR9TWC", false, "", ""},
		{"twelve digits are no temporary code", "234523452345", false, "", ""},
		{"an O is not in the alphabet", "K7QM4XPR9TWO", false, "", ""},
		{"a 1 is not in the alphabet", "K7QM4XPR9TW1", false, "", ""},
		{"eleven characters are too short", "K7QM4XPR9TW", false, "", ""},
		{"a backup code is no temporary code", "abcd-efgh-2345-67ab", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ok := parseInput(tt.raw)
			if !ok {
				t.Fatalf("parseInput(%q) refused it", tt.raw)
			}
			pin, code, ok := in.temp(tt.withPIN)
			if ok != (tt.temp != "") || code != tt.temp && ok || (ok && pin != tt.pin) {
				t.Errorf("temp() = %q, %q, %v; want %q, %q", pin, code, ok, tt.pin, tt.temp)
			}
			if tt.temp != "" && !in.plausible(tt.withPIN) {
				t.Errorf("plausible() = false for a temporary code")
			}
		})
	}
}
