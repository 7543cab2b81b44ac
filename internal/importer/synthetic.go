package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Seed is one synthetic user's token as the seed file holds it: what a
// load tool needs to compute the codes the user's app would show.
type Seed struct {
	Username  string
	Serial    string
	Secret    []byte
	Algorithm string // "SHA1"
	Digits    int
	Period    int // seconds
}

// seedHeader is the seed file's header row.
var seedHeader = []string{"username", "serial", "secret", "algorithm", "digits", "period"}

// MaxSynthetic is the most users Synthetic makes at once.
const MaxSynthetic = 10_000_000

// Synthetic creates the organization slug, which must not exist yet,
// with n users named user000001 and on, each with one active TOTP token
// (SHA1, 6 digits, 30 s) of a random 20-byte secret, for load tests. It
// writes the seed file to seed (CSV with the header row username, serial,
// secret, algorithm, digits, period; the secret in Base32) as each batch
// commits, so the file names only users that exist. The seed file holds
// the secrets in clear: it is for throw-away organizations only.
func (im *Importer) Synthetic(ctx context.Context, slug string, n int, seed io.Writer) (store.Org, error) {
	if n < 1 || n > MaxSynthetic {
		return store.Org{}, fmt.Errorf("%w: the number of synthetic users must be 1 to %d, not %d", admin.ErrInvalid, MaxSynthetic, n)
	}
	org, err := im.Admin.CreateOrg(ctx, slug, "Synthetic "+slug)
	if err != nil {
		return store.Org{}, err
	}
	w := csv.NewWriter(seed)
	if err := w.Write(seedHeader); err != nil {
		return org, fmt.Errorf("write seed file: %w", err)
	}
	width := max(6, len(strconv.Itoa(n)))
	serialBase := "TOTP-" + strings.ToUpper(slug) + "-"
	now := im.Admin.Clock.Now()
	batch := make([]admin.NewAccount, 0, im.batchSize())
	seeds := make([]Seed, 0, im.batchSize())
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("user%0*d", width, i)
		u, err := im.Admin.CheckUser(ctx, org, admin.NewUser{Username: name, DisplayName: "Synthetic user " + strconv.Itoa(i)})
		if err != nil {
			return org, err
		}
		key, err := secret.Bytes(im.Admin.Rand, 20)
		if err != nil {
			return org, err
		}
		t := &store.Token{
			OrgID: org.ID, Serial: fmt.Sprintf("%s%0*d", serialBase, width, i), Type: "totp", Name: "synthetic",
			State: store.TokenActive, Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: now, ActivatedAt: now,
		}
		seeds = append(seeds, Seed{Username: u.Username, Serial: t.Serial, Secret: append([]byte(nil), key...), Algorithm: t.Algorithm, Digits: t.Digits, Period: t.Period})
		batch = append(batch, admin.NewAccount{User: u, Token: t, Secret: key})
		if len(batch) < cap(batch) && i < n {
			continue
		}
		if err := im.Admin.AddAccounts(ctx, org, batch, "synthetic"); err != nil {
			return org, err
		}
		for _, s := range seeds {
			if err := w.Write(s.record()); err != nil {
				return org, fmt.Errorf("write seed file: %w", err)
			}
			clear(s.Secret)
		}
		if w.Flush(); w.Error() != nil {
			return org, fmt.Errorf("write seed file: %w", w.Error())
		}
		im.progress(i, n)
		batch, seeds = batch[:0], seeds[:0]
	}
	return org, nil
}

func (s Seed) record() []string {
	return []string{s.Username, s.Serial, otp.EncodeSecret(s.Secret), s.Algorithm, strconv.Itoa(s.Digits), strconv.Itoa(s.Period)}
}

// ReadSeed reads a seed file that Synthetic wrote. Columns are found by
// the header row's names, so that columns added later do not break a
// reader.
func ReadSeed(r io.Reader) ([]Seed, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("seed file: header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range seedHeader {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("seed file: the header row has no column %q", h)
		}
	}
	cr.FieldsPerRecord = len(header)
	var out []Seed
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("seed file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		s := Seed{Username: rec[col["username"]], Serial: rec[col["serial"]], Algorithm: rec[col["algorithm"]]}
		if s.Username == "" {
			return nil, fmt.Errorf("seed file line %d: no username", line)
		}
		if _, err := otp.ParseAlgorithm(s.Algorithm); err != nil {
			return nil, fmt.Errorf("seed file line %d: %w", line, err)
		}
		if s.Secret, err = otp.DecodeSecret(rec[col["secret"]]); err != nil {
			return nil, fmt.Errorf("seed file line %d: %w", line, err)
		}
		if s.Digits, err = strconv.Atoi(rec[col["digits"]]); err != nil || s.Digits < 6 || s.Digits > 8 {
			return nil, fmt.Errorf("seed file line %d: digits must be 6 to 8, not %q", line, rec[col["digits"]])
		}
		if s.Period, err = strconv.Atoi(rec[col["period"]]); err != nil || s.Period < 1 {
			return nil, fmt.Errorf("seed file line %d: period must be a whole number of seconds, not %q", line, rec[col["period"]])
		}
		out = append(out, s)
	}
}
