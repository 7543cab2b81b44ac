package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	// maxTermBytes keeps a term well inside what a B-tree entry may hold
	// (PostgreSQL refuses entries beyond about 2,700 bytes); a search is
	// cut the same way, so one as long still finds what it names.
	maxTermBytes = 256
	// maxNameWords bounds the rows one display name takes: a person's or
	// a team's name has far fewer words, and a longer text is not a
	// name a helpdesk types from its middle.
	maxNameWords = 32
	// termBatch is how many terms one INSERT writes, far below either
	// database's limit on placeholders, so the migration's backfill of a
	// large directory is a few hundred statements rather than a million.
	termBatch = 500
)

// fold is the form in which terms are stored and searched for: NFKC and
// lower case, as auth.CanonicalUsername makes usernames, so that a
// search is blind to case beyond ASCII (which SQLite's LIKE is not), and
// with runs of white space made one space, so that "Anna  Jansen" is
// found as typed with one.
func fold(s string) string {
	return cut(strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(s))), " "))
}

// cut shortens s to at most maxTermBytes, at the start of a character.
func cut(s string) string {
	if len(s) <= maxTermBytes {
		return s
	}
	i := maxTermBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// inWord says whether r belongs to a word: letters, digits and the marks
// that combine with them.
func inWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// searchTerms returns what a search may start with to find a user: the
// username, the email address and the display name from the start of
// each of its words on, folded and without repeats. A word starts after a
// space, and where letters and digits meet other characters, so that
// "jansen" finds "Anna Jansen", "luc" finds "Jean-Luc" and "brien"
// finds "O'Brien"; keeping the rest of the name after the word lets
// "anna jan" find "Anna Jansen" too.
func searchTerms(username, email, displayName string) []string {
	terms := []string{fold(username), fold(email)}
	name := fold(displayName)
	prev := ' '
	words := 0
	for i, r := range name {
		if r != ' ' && (prev == ' ' || inWord(prev) != inWord(r)) && words < maxNameWords {
			terms = append(terms, name[i:])
			words++
		}
		prev = r
	}
	out := terms[:0]
	seen := map[string]bool{"": true}
	for _, t := range terms {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// userText is what a user's search terms are made of.
type userText struct {
	id, orgID                    int64
	username, email, displayName string
}

// usersText reads the users that where selects, inside tx.
func (s *Store) usersText(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]userText, error) {
	rows, err := tx.QueryContext(ctx, s.d.q(`SELECT id, org_id, username, email, display_name FROM users WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read users to index: %w", err)
	}
	defer rows.Close()
	var us []userText
	for rows.Next() {
		var u userText
		if err := rows.Scan(&u.id, &u.orgID, &u.username, &u.email, &u.displayName); err != nil {
			return nil, fmt.Errorf("store: read users to index: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read users to index: %w", err)
	}
	return us, nil
}

// writeTerms inserts the search terms of users, who have none yet.
func (s *Store) writeTerms(ctx context.Context, tx *sql.Tx, users []userText) error {
	var values []string
	var args []any
	flush := func() error {
		if len(values) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO user_search_terms (org_id, term, user_id) VALUES `+
			strings.Join(values, ", ")), args...); err != nil {
			return fmt.Errorf("store: index users for search: %w", err)
		}
		values, args = values[:0], args[:0]
		return nil
	}
	for _, u := range users {
		for _, t := range searchTerms(u.username, u.email, u.displayName) {
			values = append(values, "(?, ?, ?)")
			args = append(args, u.orgID, t, u.id)
			if len(values) == termBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// indexUser rewrites a user's search terms from the user's row, inside
// the transaction that wrote it, so that a search never sees a name the
// user no longer has.
func (s *Store) indexUser(ctx context.Context, tx *sql.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM user_search_terms WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("store: index user for search: %w", err)
	}
	us, err := s.usersText(ctx, tx, `id = ?`, userID)
	if err != nil {
		return err
	}
	return s.writeTerms(ctx, tx, us)
}

// indexAllUsers rewrites every user's search terms, a thousand users at
// a time so that memory stays flat whatever the number of users.
func (s *Store) indexAllUsers(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_search_terms`); err != nil {
		return fmt.Errorf("store: index users for search: %w", err)
	}
	for last := int64(0); ; {
		us, err := s.usersText(ctx, tx, `id > ? ORDER BY id LIMIT 1000`, last)
		if err != nil || len(us) == 0 {
			return err
		}
		if err := s.writeTerms(ctx, tx, us); err != nil {
			return err
		}
		last = us[len(us)-1].id
	}
}

// RebuildSearchIndex rewrites every user's search terms, in one
// transaction, as migration 0022 first wrote them: for users written to
// the database other than through the store (a bulk load, a seed for a
// benchmark).
func (s *Store) RebuildSearchIndex(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.indexAllUsers(ctx, tx) })
}
