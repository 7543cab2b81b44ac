package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/otp"
)

// FromSeeds makes accounts of an importer seed file's rows.
func FromSeeds(seeds []importer.Seed) []Account {
	as := make([]Account, len(seeds))
	for i, s := range seeds {
		as[i] = Account{Username: s.Username, Secret: s.Secret, Algorithm: otp.Algorithm(s.Algorithm), Digits: s.Digits,
			Period: time.Duration(s.Period) * time.Second}
	}
	return as
}

// ReadAccounts reads the users to send codes for: a seed file of
// `twofold user import --synthetic` (CSV with a header row), or lines of
// "username<TAB>base32 secret", more tab-separated fields ignored, as the
// FreeRADIUS peer's users.tsv has them (SHA1, 6 digits, 30 s).
func ReadAccounts(r io.Reader) ([]Account, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(9)
	if bytes.HasPrefix(head, []byte("username,")) {
		seeds, err := importer.ReadSeed(br)
		if err != nil {
			return nil, err
		}
		if len(seeds) == 0 {
			return nil, fmt.Errorf("seed file: no users in it, only its header row")
		}
		return FromSeeds(seeds), nil
	}
	var as []Account
	sc := bufio.NewScanner(br)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) < 2 || fields[0] == "" {
			return nil, fmt.Errorf("users file line %d: want username<TAB>base32 secret, or a seed file's CSV with its header row", line)
		}
		secret, err := otp.DecodeSecret(fields[1])
		if err != nil {
			return nil, fmt.Errorf("users file line %d: %w", line, err)
		}
		as = append(as, Account{Username: fields[0], Secret: secret})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("users file: no users in it")
	}
	return as, nil
}
