package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
)

// userColumns are the columns of a users CSV file, each with the names a
// header row may give it (the first is the one export writes).
var userColumns = map[string][]string{
	"username":     {"username", "user", "login", "user name", "userprincipalname", "upn"},
	"email":        {"email", "e-mail", "mail", "email address"},
	"display name": {"display name", "name", "full name", "displayname"},
	"language":     {"language", "lang"},
	"role":         {"role"},
}

// exportOnly are the columns export adds, which an import of an export
// passes over.
var exportOnly = []string{"status", "authenticators", "enrollment", "enrollment expires"}

// exportHeader is the header row export writes.
var exportHeader = []string{"username", "email", "display name", "language", "role", "status", "authenticators", "enrollment", "enrollment expires"}

// UserRow is one row of a users CSV file, as read.
type UserRow struct {
	Line int
	admin.NewUser
}

// ParseUsers reads a users CSV file: a header row names the columns
// (username, and any of email, display name, language, role, in any
// order), then one user a row. A refusal of the whole file wraps ErrFile;
// rows with the wrong number of fields come back as row errors, in line
// order with the rows.
func ParseUsers(r io.Reader) ([]UserRow, []RowError, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, err
	}
	t, err := readTable(data)
	if err != nil {
		return nil, nil, err
	}
	col, err := t.columns(userColumns, []string{"username"}, exportOnly...)
	if err != nil {
		return nil, nil, err
	}
	get := func(fields []string, name string) string {
		if i, ok := col[name]; ok {
			return uncell(strings.TrimSpace(fields[i]))
		}
		return ""
	}
	var rows []UserRow
	var bad []RowError
	for _, rec := range t.rows {
		if rec.err != nil {
			bad = append(bad, RowError{Line: rec.line, Err: rec.err.Error()})
			continue
		}
		f := rec.fields
		rows = append(rows, UserRow{Line: rec.line, NewUser: admin.NewUser{
			Username: get(f, "username"), Email: get(f, "email"), DisplayName: get(f, "display name"),
			Language: get(f, "language"), Role: get(f, "role"),
		}})
	}
	return rows, bad, nil
}

// RowError is a row an import refused.
type RowError struct {
	Line     int
	Unit     string // what Line counts: "line" when empty, or "KeyPackage" (PSKC)
	Username string // as the row gives it; empty when unknown
	Serial   string // of a token's row
	Err      string
}

func (e RowError) Error() string {
	unit, who := e.Unit, e.Username
	if unit == "" {
		unit = "line"
	}
	if who == "" {
		who = e.Serial
	}
	where := unit
	if e.Line > 0 {
		where = fmt.Sprintf("%s %d", unit, e.Line)
	}
	if who == "" {
		return where + ": " + e.Err
	}
	return fmt.Sprintf("%s (%s): %s", where, who, e.Err)
}

// ErrRows means rows were refused and, without SkipBad, nothing was
// imported.
var ErrRows = errors.New("rows refused")

// UserOptions says how to import users.
type UserOptions struct {
	DryRun  bool // check every row and report; write nothing
	SkipBad bool // import the good rows when some are refused; else all or nothing
	// Invite, when not nil, invites each imported user who has an email
	// address, as twofold rollout does: a TOTP token and its enrollment
	// link by mail.
	Invite admin.Inviter
}

// UserReport says what an import of users found and did.
type UserReport struct {
	Rows   int          // data rows in the file
	Users  []store.User // the rows that pass every check, as they are (or would be) stored
	Added  int          // users written
	Errors []RowError   // the rows refused, in line order
	// Rollout is what the invitation did, with UserOptions.Invite.
	Rollout *admin.RolloutReport
}

// ImportUsers imports the users CSV file r into org. Every row is checked
// first, by the rules of admin.AddUser, for duplicates within the file
// and against the organization's users; then, unless it is a dry run or a
// row was refused without SkipBad, the users that pass are written in
// batches, each one transaction with a user.add event per user, and one
// user.import event sums the import up. An error wrapping ErrFile refuses
// the file as a whole; ErrRows says rows were refused and nothing written.
func (im *Importer) ImportUsers(ctx context.Context, org store.Org, r io.Reader, opt UserOptions) (UserReport, error) {
	rows, bad, err := ParseUsers(r)
	if err != nil {
		return UserReport{}, err
	}
	rep := UserReport{Rows: len(rows) + len(bad), Errors: bad}
	type checked struct {
		line int
		u    store.User
	}
	var ok []checked
	seen := map[string]int{}
	for _, row := range rows {
		u, err := im.Admin.CheckUser(ctx, org, row.NewUser)
		if err != nil {
			if !errors.Is(err, admin.ErrInvalid) {
				return rep, err
			}
			rep.Errors = append(rep.Errors, RowError{Line: row.Line, Username: row.Username, Err: reason(err)})
			continue
		}
		if first, dup := seen[u.Username]; dup {
			rep.Errors = append(rep.Errors, RowError{Line: row.Line, Username: row.Username,
				Err: fmt.Sprintf("username %s is on line %d already", u.Username, first)})
			continue
		}
		seen[u.Username] = row.Line
		ok = append(ok, checked{row.Line, u})
	}
	names := make([]string, len(ok))
	for i, c := range ok {
		names[i] = c.u.Username
	}
	taken, err := im.Admin.Store.TakenUsernames(ctx, org.ID, names)
	if err != nil {
		return rep, err
	}
	for _, c := range ok {
		if taken[c.u.Username] {
			rep.Errors = append(rep.Errors, RowError{Line: c.line, Username: c.u.Username,
				Err: fmt.Sprintf("user %s exists already in %s", c.u.Username, org.Slug)})
			continue
		}
		rep.Users = append(rep.Users, c.u)
	}
	sortErrors(rep.Errors)
	if len(rep.Errors) > 0 && !opt.SkipBad {
		return rep, fmt.Errorf("%w: %d of %d rows refused, so nothing was imported; correct them, or import the others with --skip-bad", ErrRows, len(rep.Errors), rep.Rows)
	}
	if opt.DryRun {
		return rep, nil
	}
	for start := 0; start < len(rep.Users); start += im.batchSize() {
		part := rep.Users[start:min(len(rep.Users), start+im.batchSize())]
		batch := make([]admin.NewAccount, len(part))
		for i, u := range part {
			batch[i] = admin.NewAccount{User: u}
		}
		if err := im.Admin.AddAccounts(ctx, org, batch, "import"); err != nil {
			im.summary(ctx, org, rep)
			return rep, fmt.Errorf("%w (%d users were imported before; run the import again with --skip-bad to add the rest)", err, rep.Added)
		}
		for i := range batch {
			part[i] = batch[i].User
		}
		rep.Added += len(part)
		im.progress(rep.Added, len(rep.Users))
	}
	if err := im.summary(ctx, org, rep); err != nil {
		return rep, err
	}
	if opt.Invite != nil && rep.Added > 0 {
		added := make([]string, len(rep.Users))
		for i, u := range rep.Users {
			added[i] = u.Username
		}
		ro, err := im.Admin.Rollout(ctx, org, opt.Invite, admin.RolloutOptions{Users: added})
		rep.Rollout = &ro
		if err != nil {
			return rep, fmt.Errorf("the users were imported, but inviting them failed: %w (invite them with: twofold rollout %s)", err, org.Slug)
		}
	}
	return rep, nil
}

// summary records one event for the import as a whole, beside the
// user.add of each user.
func (im *Importer) summary(ctx context.Context, org store.Org, rep UserReport) error {
	return im.Admin.Store.Audit(ctx, store.Event{
		OrgID: org.ID, At: im.Admin.Clock.Now(), Actor: im.Admin.Actor, Action: "user.import", Target: org.Slug, Result: "ok",
		Detail: fmt.Sprintf("rows %d, added %d, refused %d", rep.Rows, rep.Added, len(rep.Errors)),
	})
}

// reason is an admin refusal without the "invalid: " it starts with.
func reason(err error) string {
	s := err.Error()
	if p := admin.ErrInvalid.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// ExportUsers writes the organization's users as CSV: the columns an
// import reads (username, email, display name, language, role) and their
// state (status, active authenticators, invitation and its expiry), a
// page of the user directory at a time.
func (im *Importer) ExportUsers(ctx context.Context, org store.Org, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(exportHeader); err != nil {
		return err
	}
	q := admin.UserQuery{Limit: admin.MaxPageSize}
	for {
		p, err := im.Admin.Users(ctx, org, q)
		if err != nil {
			return err
		}
		for _, u := range p.Users {
			expires := ""
			if !u.EnrollmentExpires.IsZero() {
				expires = u.EnrollmentExpires.UTC().Format("2006-01-02T15:04:05Z")
			}
			if err := cw.Write([]string{cell(u.Username), cell(u.Email), cell(u.DisplayName), u.Language, u.Role, u.Status,
				strconv.Itoa(u.Authenticators), u.Enrollment, expires}); err != nil {
				return err
			}
		}
		if cw.Flush(); cw.Error() != nil {
			return cw.Error()
		}
		if p.Next == "" {
			// A copy of the whole directory leaves the audit log's sight
			// with it: that it was made is worth a line.
			return im.Admin.Store.Audit(ctx, store.Event{
				OrgID: org.ID, At: im.Admin.Clock.Now(), Actor: im.Admin.Actor, Action: "user.export", Target: org.Slug, Result: "ok",
			})
		}
		q.After = p.Next
	}
}

// cell keeps a text a spreadsheet would take for a formula (starting
// with =, +, -, @) from being one, by a leading apostrophe, which
// spreadsheets hide; uncell, on import, takes it off again.
func cell(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

const formulaStart = "=+-@\t\r"

func uncell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStart, rune(s[1])) {
		return s[1:]
	}
	return s
}

// sortErrors orders row errors by line.
func sortErrors(es []RowError) {
	slices.SortStableFunc(es, func(a, b RowError) int { return a.Line - b.Line })
}
