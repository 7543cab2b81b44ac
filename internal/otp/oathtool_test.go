package otp

import (
	"encoding/hex"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/testenv"
)

// TestCodesAgreeWithOathtool compares codes for random secrets, counters
// and times with those of oathtool from OATH Toolkit, an independent
// implementation.
func TestCodesAgreeWithOathtool(t *testing.T) {
	oathtool := testenv.Command(t, "oathtool", "oathtool")

	// Each oathtool run prints the codes of window further counters after
	// the first, so that few processes cover many codes.
	const window = 9
	type check struct {
		gen   *Generator
		first uint64 // the counter of the first code oathtool prints
		args  []string
	}
	var checks []check
	rng := rand.New(rand.NewPCG(4226, 6238))
	algs := []Algorithm{SHA1, SHA256, SHA512}
	for i := range 54 {
		alg, digits := algs[i%3], 6+i/3%3
		// Up to 160 bytes, so that some secrets are longer than the
		// hash block and HMAC hashes them first.
		secret := make([]byte, 1+rng.IntN(160))
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		key := hex.EncodeToString(secret)
		d := strconv.Itoa(digits)
		w := strconv.Itoa(window)

		// oathtool's HOTP mode has only SHA-1; TOTP covers the others.
		counter := rng.Uint64N(^uint64(0) - window)
		checks = append(checks, check{
			gen:   newGenerator(t, secret, SHA1, digits),
			first: counter,
			args:  []string{"--hotp", "-d", d, "-w", w, "-c", strconv.FormatUint(counter, 10), key},
		})

		unix := rng.Int64N(1 << 35) // until the year 3058
		period := []time.Duration{30 * time.Second, 60 * time.Second}[rng.IntN(2)]
		checks = append(checks, check{
			gen:   newGenerator(t, secret, alg, digits),
			first: uint64(Step(time.Unix(unix, 0), period)),
			args: []string{"--totp=" + string(alg), "-d", d, "-w", w,
				"-s", strconv.Itoa(int(period/time.Second)) + "s", "-N", "@" + strconv.FormatInt(unix, 10), key},
		})
	}

	// The runs are independent processes; start them together rather
	// than one after another.
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			out, err := exec.Command(oathtool, c.args...).Output()
			if err != nil {
				t.Errorf("oathtool %s: %v", strings.Join(c.args, " "), err)
				return
			}
			want := strings.Fields(string(out))
			if len(want) != window+1 {
				t.Errorf("oathtool %s printed %q, want %d codes", strings.Join(c.args, " "), out, window+1)
				return
			}
			for i, code := range want {
				if got := c.gen.Code(c.first + uint64(i)); got != code {
					t.Errorf("Code(%d) = %s, want %s from oathtool %s", c.first+uint64(i), got, code, strings.Join(c.args, " "))
				}
			}
		})
	}
	wg.Wait()
}
