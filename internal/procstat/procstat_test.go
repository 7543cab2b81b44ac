package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"a plain command name", "1234 (twofold) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 10", 3 * time.Second, true},
		{"a command name with spaces and parentheses", "1234 (a b) c)) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0", 100 * time.Millisecond, true},
		{"too few fields", "1234 (twofold) S 1 2 3", 0, false},
		{"no command name", "1234 twofold S", 0, false},
		{"a time that is not a number", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 3", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.stat))
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseStat = %v, %v; want %v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestCPUOfThisProcessGrows(t *testing.T) {
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	selfBefore := Self()
	// Spin until this process has used 50 ms of CPU: on a busy machine
	// that takes longer than 50 ms.
	for deadline := time.Now().Add(10 * time.Second); Self()-selfBefore < 50*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("Self grew by %v in 10 s of spinning", Self()-selfBefore)
		}
	}
	after, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("CPU went from %v to %v after 50 ms of CPU time", before, after)
	}
	if _, err := CPU(-1); err == nil {
		t.Fatal("CPU of pid -1: no error")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (twofold) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseStat(b); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}
