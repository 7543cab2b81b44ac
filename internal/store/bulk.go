package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// bulkRows is how many rows one statement of a bulk write carries: at 17
// columns a token row, well below either database's limit on placeholders
// (32766 for SQLite, 65535 for PostgreSQL), and large enough that a
// hundred thousand users are a few thousand statements.
const bulkRows = 500

// BulkUser is a user to add with AddUsers, with the token to give the
// user (or nil) and the events a single change of the same kind records.
type BulkUser struct {
	User  User
	Token *Token
	// Events are written with the user; their OrgID is the user's.
	Events []Event
}

// AddUsers adds users of one organization, each with its token, and
// their events, all or nothing in one transaction, writing a few hundred
// rows a statement. seal seals the secret of users[i]'s token once the row
// has its id, which is part of the sealed value's additional data (see
// CreateToken); the plaintext never reaches the store. The users and
// tokens get their ids. A username or serial that is taken returns
// ErrExists, and nothing is written.
func (s *Store) AddUsers(ctx context.Context, users []BulkUser, seal func(i int, t Token) ([]byte, error)) error {
	if len(users) == 0 {
		return nil
	}
	orgID := users[0].User.OrgID
	for _, b := range users {
		if b.User.OrgID != orgID || (b.Token != nil && b.Token.OrgID != orgID) {
			return errors.New("store: add users: every user and token must be of one organization")
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		rows := make([][]any, len(users))
		for i, b := range users {
			u := b.User
			rows[i] = []any{u.OrgID, u.Username, u.Email, u.DisplayName, u.PasswordHash, u.Role, u.Status, ms(u.CreatedAt), u.Language}
		}
		ids := make(map[string]int64, len(users))
		err := s.insertMany(ctx, tx, "add users",
			`users (org_id, username, email, display_name, password_hash, role, status, created_at, language)`, rows,
			"id, username", func(sc scanner) error {
				var id int64
				var name string
				err := sc.Scan(&id, &name)
				ids[name] = id
				return err
			})
		if err != nil {
			return err
		}
		text := make([]userText, len(users))
		var toks []*Token
		var at []int // index into users of each of toks
		for i := range users {
			u := &users[i].User
			u.ID = ids[u.Username]
			if u.ID == 0 {
				return fmt.Errorf("store: add users: no id came back for %s", u.Username)
			}
			text[i] = userText{id: u.ID, orgID: u.OrgID, username: u.Username, email: u.Email, displayName: u.DisplayName}
			if t := users[i].Token; t != nil {
				t.UserID = u.ID
				toks, at = append(toks, t), append(at, i)
			}
		}
		if err := s.writeTerms(ctx, tx, text); err != nil {
			return err
		}
		if err := s.addTokens(ctx, tx, toks, func(j int, t Token) ([]byte, error) { return seal(at[j], t) }); err != nil {
			return err
		}
		var events []Event
		for _, b := range users {
			for _, e := range b.Events {
				e.OrgID = b.User.OrgID
				events = append(events, e)
			}
		}
		return s.addEvents(ctx, tx, events)
	})
}

// addTokens inserts tokens, sets their ids and writes their secrets as
// seal seals them (given each token's index in toks), inside tx.
func (s *Store) addTokens(ctx context.Context, tx *sql.Tx, toks []*Token, seal func(i int, t Token) ([]byte, error)) error {
	if len(toks) == 0 {
		return nil
	}
	rows := make([][]any, len(toks))
	for i, t := range toks {
		rows[i] = []any{t.OrgID, t.UserID, t.Serial, t.Type, t.Name, t.State, []byte{}, t.Algorithm, t.Digits, t.Period,
			t.LastStep, t.Drift, ms(t.CreatedAt), ms(t.ActivatedAt), boolInt(t.SelfEnrolled)}
	}
	// The id is known only after the insert, and it is part of the
	// additional data; so the secrets are sealed in between and written
	// by a second statement per batch.
	bySerial := make(map[string]int64, len(rows))
	err := s.insertMany(ctx, tx, "add tokens",
		`tokens (org_id, user_id, serial, type, name, state, secret, algorithm, digits, period, last_step, drift, created_at, activated_at, self_enrolled)`,
		rows, "id, serial", func(sc scanner) error {
			var id int64
			var serial string
			err := sc.Scan(&id, &serial)
			bySerial[serial] = id
			return err
		})
	if err != nil {
		return err
	}
	pairs := make([][]any, len(toks))
	for i, t := range toks {
		if t.ID = bySerial[t.Serial]; t.ID == 0 {
			return fmt.Errorf("store: add tokens: no id came back for %s", t.Serial)
		}
		if t.Secret, err = seal(i, *t); err != nil {
			return fmt.Errorf("store: seal token secret %s: %w", t.Serial, err)
		}
		pairs[i] = []any{t.ID, t.Secret}
	}
	return s.setSecrets(ctx, tx, pairs)
}

// setSecrets writes sealed token secrets, given as (id, sealed) pairs, a
// few hundred a statement. The casts give PostgreSQL the types of the
// values, which it cannot infer inside VALUES.
func (s *Store) setSecrets(ctx context.Context, tx *sql.Tx, pairs [][]any) error {
	for len(pairs) > 0 {
		batch := pairs[:min(len(pairs), bulkRows)]
		pairs = pairs[len(batch):]
		values := strings.Repeat(", (CAST(? AS BIGINT), CAST(? AS "+s.d.bytes+"))", len(batch))[2:]
		args := make([]any, 0, 2*len(batch))
		for _, p := range batch {
			args = append(args, p...)
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE tokens SET secret = v.column2 FROM (VALUES `+values+`) AS v
			WHERE tokens.id = v.column1`), args...)
		if err != nil {
			return fmt.Errorf("store: store token secrets: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: store token secrets: %w", err)
		} else if n != int64(len(batch)) {
			return fmt.Errorf("store: store token secrets: %d of %d rows written", n, len(batch))
		}
	}
	return nil
}

// addEvents writes audit events, a few hundred a statement.
func (s *Store) addEvents(ctx context.Context, tx *sql.Tx, events []Event) error {
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = e.args()
	}
	return s.insertMany(ctx, tx, "audit", `audit_events (org_id, at, actor, action, target, result, detail, source)`, rows, "", nil)
}

type scanner interface{ Scan(...any) error }

// insertMany inserts rows into into (a table and its columns), bulkRows
// a statement, inside tx. With returning, each inserted row's returning
// columns go to scan. A unique violation is ErrExists.
func (s *Store) insertMany(ctx context.Context, tx *sql.Tx, what, into string, rows [][]any, returning string, scan func(scanner) error) error {
	for len(rows) > 0 {
		batch := rows[:min(len(rows), bulkRows)]
		rows = rows[len(batch):]
		row := "(" + strings.Repeat(", ?", len(batch[0]))[2:] + ")"
		query := `INSERT INTO ` + into + ` VALUES ` + strings.Repeat(", "+row, len(batch))[2:]
		args := make([]any, 0, len(batch)*len(batch[0]))
		for _, r := range batch {
			args = append(args, r...)
		}
		if err := s.insertBatch(ctx, tx, what, s.d.q(query), args, returning, scan); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertBatch(ctx context.Context, tx *sql.Tx, what, query string, args []any, returning string, scan func(scanner) error) error {
	fail := func(err error) error {
		if isUnique(err) {
			return fmt.Errorf("store: %s: %w", what, ErrExists)
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if returning == "" {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fail(err)
		}
		return nil
	}
	rs, err := tx.QueryContext(ctx, query+" RETURNING "+returning, args...)
	if err != nil {
		return fail(err)
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return fail(err)
		}
	}
	if err := rs.Err(); err != nil {
		return fail(err)
	}
	return nil
}

// TakenUsernames returns which of the canonical usernames the
// organization has already, a few hundred a query, so that an import
// checks a hundred thousand rows without a query each.
func (s *Store) TakenUsernames(ctx context.Context, orgID int64, names []string) (map[string]bool, error) {
	taken := map[string]bool{}
	for len(names) > 0 {
		batch := names[:min(len(names), bulkRows)]
		names = names[len(batch):]
		args := []any{orgID}
		for _, n := range batch {
			args = append(args, n)
		}
		rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT username FROM users WHERE org_id = ? AND username IN (`+
			strings.Repeat(", ?", len(batch))[2:]+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: taken usernames: %w", err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: taken usernames: %w", err)
			}
			taken[n] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: taken usernames: %w", err)
		}
	}
	return taken, nil
}
