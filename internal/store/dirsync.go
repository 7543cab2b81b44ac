package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Directory is an organization's connection to its LDAP directory (see
// migration 0025). Settings is JSON that package directory reads; the
// store keeps it as it is given.
type Directory struct {
	OrgID        int64
	Settings     []byte
	BindPassword []byte // sealed; see DirectoryPasswordAD; empty: none
	Rev          int64  // counts changes, so that none is silently lost
	LeaseUntil   time.Time
	LastSyncAt   time.Time
	LastResult   string
}

// DirectoryPasswordAD is the additional data that binds a sealed bind
// password to its organization's directory row.
func DirectoryPasswordAD(orgID int64) []byte {
	return fmt.Appendf(nil, "twofold directories.bind_password org=%d", orgID)
}

const directoryColumns = `org_id, settings, bind_password, rev, lease_until, last_sync_at, last_result`

func scanDirectory(row scanner) (Directory, error) {
	var d Directory
	var settings string
	var lease, last int64
	err := row.Scan(&d.OrgID, &settings, &d.BindPassword, &d.Rev, &lease, &last, &d.LastResult)
	d.Settings, d.LeaseUntil, d.LastSyncAt = []byte(settings), fromMS(lease), fromMS(last)
	return d, err
}

// Directory reads an organization's directory connection; ErrNotFound
// when it has none.
func (s *Store) Directory(ctx context.Context, orgID int64) (Directory, error) {
	d, err := scanDirectory(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+directoryColumns+` FROM directories WHERE org_id = ?`), orgID))
	return d, one("directory", err)
}

// Directories lists every organization's directory connection, for the
// scheduled sync.
func (s *Store) Directories(ctx context.Context) ([]Directory, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+directoryColumns+` FROM directories ORDER BY org_id`)
	if err != nil {
		return nil, fmt.Errorf("store: directories: %w", err)
	}
	defer rows.Close()
	var ds []Directory
	for rows.Next() {
		d, err := scanDirectory(rows)
		if err != nil {
			return nil, fmt.Errorf("store: directories: %w", err)
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// PutDirectory stores d's settings and bind password as the
// organization's directory connection, read at revision rev (0: it had
// none), and records e. When it was changed (or made) meanwhile, it
// changes nothing and returns ErrChanged.
func (s *Store) PutDirectory(ctx context.Context, d Directory, rev int64, e Event) error {
	if d.BindPassword == nil {
		d.BindPassword = []byte{}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rev == 0 {
			_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO directories (org_id, settings, bind_password, rev) VALUES (?, ?, ?, 1)`),
				d.OrgID, string(d.Settings), d.BindPassword)
			if isUnique(err) {
				return fmt.Errorf("store: put directory: %w", ErrChanged)
			}
			if err != nil {
				return fmt.Errorf("store: put directory: %w", err)
			}
		} else {
			err = s.exec(ctx, tx, "put directory", `UPDATE directories SET settings = ?, bind_password = ?, rev = rev + 1 WHERE org_id = ? AND rev = ?`,
				string(d.Settings), d.BindPassword, d.OrgID, rev)
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("store: put directory: %w", ErrChanged)
			}
			if err != nil {
				return err
			}
		}
		return s.addEvent(ctx, tx, e)
	})
}

// ClaimDirectorySync takes the lease on an organization's sync until
// until, when nobody holds it at now, and reports whether it did.
func (s *Store) ClaimDirectorySync(ctx context.Context, orgID int64, now, until time.Time) (bool, error) {
	return s.claim(ctx, `UPDATE directories SET lease_until = ? WHERE org_id = ? AND lease_until <= ?`, ms(until), orgID, ms(now))
}

// ClaimScheduledSync is ClaimDirectorySync for a scheduled sync: only
// when the last sync ended at last, as the caller read it, so that of
// several instances that all found the sync due, one runs it.
func (s *Store) ClaimScheduledSync(ctx context.Context, orgID int64, last, now, until time.Time) (bool, error) {
	return s.claim(ctx, `UPDATE directories SET lease_until = ? WHERE org_id = ? AND lease_until <= ? AND last_sync_at = ?`,
		ms(until), orgID, ms(now), ms(last))
}

func (s *Store) claim(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.d.q(query), args...)
	if err != nil {
		return false, fmt.Errorf("store: claim directory sync: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim directory sync: %w", err)
	}
	return n == 1, nil
}

// FinishDirectorySync gives the lease back and notes that a sync ended
// at at with result, a one-line summary.
func (s *Store) FinishDirectorySync(ctx context.Context, orgID int64, at time.Time, result string) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`UPDATE directories SET lease_until = 0, last_sync_at = ?, last_result = ? WHERE org_id = ?`),
		ms(at), result, orgID); err != nil {
		return fmt.Errorf("store: finish directory sync: %w", err)
	}
	return nil
}

// ResealDirectoryPasswords offers every sealed bind password to reseal,
// in one transaction, and stores what it returns when changed is true. It
// reports how many changed; an error rolls everything back.
func (s *Store) ResealDirectoryPasswords(ctx context.Context, reseal func(Directory) (sealed []byte, changed bool, err error), e Event) (int, error) {
	return resealRows(s, ctx, "directory passwords", e,
		func(*sql.Tx) ([]Directory, error) { return s.Directories(ctx) },
		func(d Directory) ([]byte, bool, error) {
			if len(d.BindPassword) == 0 {
				return nil, false, nil
			}
			return reseal(d)
		},
		func(tx *sql.Tx, d Directory, sealed []byte) error {
			return s.exec(ctx, tx, "reseal directory password",
				`UPDATE directories SET bind_password = ? WHERE org_id = ? AND bind_password = ?`, sealed, d.OrgID, d.BindPassword)
		},
		func(d Directory) string { return fmt.Sprintf("directory of organization %d", d.OrgID) })
}

// Account is a user as the directory sync compares it with an entry.
type Account struct {
	ID                                     int64
	Username, Email, DisplayName, Language string
	Role, Status                           string
	FromDirectory                          bool // a sync has found the user in the directory
	DirectoryDisabled                      bool // the sync disabled the user, not an operator
}

// Accounts lists an organization's users for the directory sync.
func (s *Store) Accounts(ctx context.Context, orgID int64) ([]Account, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT id, username, email, display_name, language, role, status, from_directory, directory_disabled
		FROM users WHERE org_id = ? ORDER BY id`), orgID)
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	defer rows.Close()
	var as []Account
	for rows.Next() {
		var a Account
		var from, disabled int
		if err := rows.Scan(&a.ID, &a.Username, &a.Email, &a.DisplayName, &a.Language, &a.Role, &a.Status, &from, &disabled); err != nil {
			return nil, fmt.Errorf("store: accounts: %w", err)
		}
		a.FromDirectory, a.DirectoryDisabled = from != 0, disabled != 0
		as = append(as, a)
	}
	return as, rows.Err()
}

// AccountChange is one change a directory sync makes to a user: Create
// a new one (ID 0), or update one to what Account says. Status says
// whether the user is active; a user the change disables is signed out.
type AccountChange struct {
	Account
	// EmailChanged expires the user's pending challenges, which went to
	// the old address.
	EmailChanged bool
	// WasStatus is the user's status as the sync read it: a user whose
	// status changed since (an operator disabled them) fails the whole
	// sync with ErrChanged rather than being put back.
	WasStatus string
	CreatedAt time.Time
	Event     Event
}

// ApplyAccountChanges makes every change of a directory sync of org and
// records each change's event and then summary, all in one transaction:
// the sync happens whole or not at all. A user created under a name taken
// meanwhile fails the whole with ErrExists, one deleted or whose status
// changed meanwhile with ErrChanged.
func (s *Store) ApplyAccountChanges(ctx context.Context, orgID int64, cs []AccountChange, summary Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			a := c.Account
			if a.ID == 0 {
				id, err := s.insert(ctx, tx, "create user "+a.Username,
					`INSERT INTO users (org_id, username, email, display_name, password_hash, role, status, created_at, language, from_directory, directory_disabled)
					 VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 1, ?)`,
					orgID, a.Username, a.Email, a.DisplayName, a.Role, a.Status, ms(c.CreatedAt), a.Language, boolInt(a.DirectoryDisabled))
				if err != nil {
					return err
				}
				a.ID = id
			} else {
				err := s.exec(ctx, tx, "sync user "+a.Username,
					`UPDATE users SET email = ?, display_name = ?, language = ?, role = ?, status = ?, from_directory = ?, directory_disabled = ?
					 WHERE id = ? AND org_id = ? AND status = ?`,
					a.Email, a.DisplayName, a.Language, a.Role, a.Status, boolInt(a.FromDirectory), boolInt(a.DirectoryDisabled), a.ID, orgID, c.WasStatus)
				if errors.Is(err, ErrNotFound) {
					return fmt.Errorf("store: sync user %s: %w", a.Username, ErrChanged)
				}
				if err != nil {
					return err
				}
				if c.WasStatus == UserActive && a.Status != UserActive {
					if err := s.signOut(ctx, tx, a.ID); err != nil {
						return err
					}
				} else if c.EmailChanged {
					if err := s.expireChallenges(ctx, tx, a.ID); err != nil {
						return err
					}
				}
			}
			if err := s.indexUser(ctx, tx, a.ID); err != nil {
				return err
			}
			if err := s.addEvent(ctx, tx, c.Event); err != nil {
				return err
			}
		}
		return s.addEvent(ctx, tx, summary)
	})
}
