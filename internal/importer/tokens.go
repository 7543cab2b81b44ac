package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The seed file formats ImportTokens reads.
const (
	FormatPSKC  = "pskc"
	FormatOATH  = "oath-csv"
	FormatEntra = "entra-csv"
)

// Formats lists the seed file formats by name.
var Formats = []string{FormatPSKC, FormatOATH, FormatEntra}

// GuessFormat names the format of a seed file from its content: XML is
// PSKC, a CSV whose header names Entra's columns is Entra's, and any
// other CSV is OATH CSV.
func GuessFormat(data []byte) string {
	head := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n")
	if bytes.HasPrefix(head, []byte("<")) {
		return FormatPSKC
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	if s := squash(string(first)); strings.Contains(s, "upn") && (strings.Contains(s, "secretkey") || strings.Contains(s, "serialnumber")) {
		return FormatEntra
	}
	return FormatOATH
}

// TokenOptions says how to import a seed file.
type TokenOptions struct {
	Format string   // one of Formats; empty: guessed (GuessFormat)
	Keys   PSKCKeys // what opens an encrypted PSKC file
	// Assign gives tokens by serial to users by username, over any user
	// the file names.
	Assign map[string]string
	DryRun bool // check and report; write nothing
}

// Assignment is a token given to a user by an import.
type Assignment struct {
	Serial, Username string
}

// TokenReport says what an import of tokens found and did.
type TokenReport struct {
	Format   string
	Tokens   int          // tokens in the file
	Stock    []string     // serials that go (or would go) to the inventory
	Assigned []Assignment // tokens given (or to be given) to users
	Added    int          // tokens written
	Errors   []RowError
}

// ImportTokens imports the seed file r into org: each token goes to the
// inventory, or, when the file or opt.Assign names a user of org, to that
// user, active at once. Every secret is sealed the moment the file is
// read and its plaintext cleared; none is ever written in clear. The
// file is checked whole first — its MAC (PSKC), every row, serials twice
// in it or taken already, users that do not exist — and any refusal
// imports nothing (ErrFile for the file, ErrRows for rows). The tokens
// are then written in batches, each one transaction, a token.import
// event for each.
func (im *Importer) ImportTokens(ctx context.Context, org store.Org, r io.Reader, opt TokenOptions) (TokenReport, error) {
	data, err := readAll(r)
	if err != nil {
		return TokenReport{}, err
	}
	rep := TokenReport{Format: opt.Format}
	if rep.Format == "" {
		rep.Format = GuessFormat(data)
	}
	var toks []SeedToken
	unit := ""
	switch rep.Format {
	case FormatPSKC:
		toks, err = ParsePSKC(data, opt.Keys)
		unit = "KeyPackage"
	case FormatOATH:
		toks, rep.Errors, err = ParseOATHCSV(data)
	case FormatEntra:
		toks, rep.Errors, err = ParseEntraCSV(data)
	default:
		return rep, fmt.Errorf("%w: format %q is not one of %s", admin.ErrInvalid, opt.Format, strings.Join(Formats, ", "))
	}
	clear(data) // a plain PSKC file holds the secrets in clear
	defer func() {
		for _, t := range toks {
			clear(t.Secret)
		}
	}()
	if err != nil {
		return rep, err
	}
	rep.Tokens = len(toks) + len(rep.Errors)

	sealed := make([]admin.ImportedToken, 0, len(toks))
	seen := map[string]int{}
	refuse := func(t SeedToken, format string, args ...any) {
		rep.Errors = append(rep.Errors, RowError{Line: t.Line, Unit: unit, Serial: t.Serial, Err: fmt.Sprintf(format, args...)})
	}
	for i := range toks {
		t := &toks[i]
		if err := checkSeed(t); err != nil {
			refuse(*t, "%v", err)
			continue
		}
		if first, dup := seen[t.Serial]; dup {
			refuse(*t, "serial %s is in the file already (%s %d)", t.Serial, orLine(unit), first)
			continue
		}
		seen[t.Serial] = t.Line
		inv := store.InventoryToken{
			OrgID: org.ID, Serial: t.Serial, Type: t.Type, Algorithm: t.Algorithm, Digits: t.Digits, Period: t.Period,
			Manufacturer: t.Manufacturer, Model: t.Model, CreatedAt: im.Admin.Clock.Now(),
		}
		if t.Type == "hotp" {
			inv.LastStep = int64(t.Counter) - 1 // the last counter used: the next code is Counter's
		}
		if inv.Secret, err = im.Admin.Keys.Seal(t.Secret, store.InventorySecretAD(org.ID, t.Serial)); err != nil {
			return rep, fmt.Errorf("seal token %s: %w", t.Serial, err)
		}
		clear(t.Secret)
		it := admin.ImportedToken{Token: inv}
		username := t.Username
		if a, ok := opt.Assign[t.Serial]; ok {
			username = a
		}
		if username != "" {
			u, err := im.assignee(ctx, org, username, rep.Format == FormatEntra)
			if err != nil {
				refuse(*t, "%s", reason(err))
				continue
			}
			it.User = &u
		}
		sealed = append(sealed, it)
	}
	for serial := range opt.Assign {
		if _, ok := seen[serial]; !ok {
			rep.Errors = append(rep.Errors, RowError{Serial: serial, Unit: "--assign", Err: "no token of that serial is in the file"})
		}
	}
	serials := make([]string, len(sealed))
	for i, it := range sealed {
		serials[i] = it.Token.Serial
	}
	taken, err := im.Admin.Store.TakenSerials(ctx, serials)
	if err != nil {
		return rep, err
	}
	ok := sealed[:0]
	for _, it := range sealed {
		if taken[it.Token.Serial] {
			rep.Errors = append(rep.Errors, RowError{Line: seen[it.Token.Serial], Unit: unit, Serial: it.Token.Serial,
				Err: fmt.Sprintf("a token with serial %s exists already", it.Token.Serial)})
			continue
		}
		ok = append(ok, it)
		if it.User != nil {
			rep.Assigned = append(rep.Assigned, Assignment{it.Token.Serial, it.User.Username})
		} else {
			rep.Stock = append(rep.Stock, it.Token.Serial)
		}
	}
	sortErrors(rep.Errors)
	if len(rep.Errors) > 0 {
		return rep, fmt.Errorf("%w: %d of %d tokens refused, so nothing was imported; correct the file (or --assign) and import it again", ErrRows, len(rep.Errors), rep.Tokens)
	}
	if opt.DryRun {
		return rep, nil
	}
	for start := 0; start < len(ok); start += im.batchSize() {
		batch := ok[start:min(len(ok), start+im.batchSize())]
		if err := im.Admin.ImportTokens(ctx, org, batch); err != nil {
			return rep, fmt.Errorf("%w (%d tokens were imported before; the rest can be imported from a file without them)", err, rep.Added)
		}
		rep.Added += len(batch)
		im.progress(rep.Added, len(ok))
	}
	return rep, nil
}

func orLine(unit string) string {
	if unit == "" {
		return "line"
	}
	return unit
}

// assignee finds the user a seed file or --assign names. An Entra file
// names users by UPN (alice@acme.example): a user of that name, or else
// of the UPN's part before the @, is the one.
func (im *Importer) assignee(ctx context.Context, org store.Org, name string, upn bool) (store.User, error) {
	u, err := im.Admin.User(ctx, org, name)
	if upn && errors.Is(err, admin.ErrInvalid) {
		if local, _, ok := strings.Cut(name, "@"); ok && auth.ValidUsername(auth.CanonicalUsername(local)) {
			u, err = im.Admin.User(ctx, org, local)
		}
	}
	return u, err
}
