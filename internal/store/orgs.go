package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ProviderSlug is the slug of the service provider's own organization,
// whose users are the provider's admins. No organization an operator
// creates can take it: organization slugs start with a letter or digit.
// Being an organization like any other, it gives provider admins the
// same tokens, enrollment links, lockout and verification core as every
// user, so the console at /admin/ asks them for the same second factor.
const ProviderSlug = "_provider"

// ProviderName is the display name of the service provider's organization.
const ProviderName = "Service provider"

// OrgSummary is an organization with the number of its users and of
// their active authenticators.
type OrgSummary struct {
	Org
	Users        int
	ActiveTokens int
}

// OrgSummaries lists the organizations operators made, by slug, each with
// its user and active token counts, in one query that counts every
// organization's users and tokens in one grouping each. The service provider's own organization is not among
// them, and the policies and settings are left out (Org.Policy is nil).
func (s *Store) OrgSummaries(ctx context.Context) ([]OrgSummary, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT o.id, o.slug, o.name, o.policy_rev, o.created_at, o.status, COALESCE(c.n, 0), COALESCE(t.n, 0)
		FROM orgs o
		LEFT JOIN (SELECT org_id, COUNT(*) AS n FROM users GROUP BY org_id) c ON c.org_id = o.id
		LEFT JOIN (SELECT org_id, COUNT(*) AS n FROM tokens WHERE state = ? GROUP BY org_id) t ON t.org_id = o.id
		WHERE o.slug <> ?
		ORDER BY o.slug`), TokenActive, ProviderSlug)
	if err != nil {
		return nil, fmt.Errorf("store: organizations: %w", err)
	}
	defer rows.Close()
	var out []OrgSummary
	for rows.Next() {
		var o OrgSummary
		var created int64
		if err := rows.Scan(&o.ID, &o.Slug, &o.Name, &o.PolicyRev, &created, &o.Status, &o.Users, &o.ActiveTokens); err != nil {
			return nil, fmt.Errorf("store: organizations: %w", err)
		}
		o.CreatedAt = fromMS(created)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: organizations: %w", err)
	}
	return out, nil
}

// RenameOrg gives an organization a new display name and records e. It
// returns ErrNotFound when there is no such organization or it has that
// name already.
func (s *Store) RenameOrg(ctx context.Context, orgID int64, name string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.renameOrg(ctx, tx, orgID, name); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

func (s *Store) renameOrg(ctx context.Context, tx *sql.Tx, orgID int64, name string) error {
	return s.exec(ctx, tx, "rename organization",
		`UPDATE orgs SET name = ? WHERE id = ? AND name <> ?`, name, orgID, name)
}

// SetOrgStatus sets an organization's status (OrgActive or OrgDisabled)
// and records e. Disabling also ends every session of the organization's
// users and expires their pending challenges (emailed codes, reset
// links), in the same transaction, so that nothing begun before outlives
// it. It returns ErrNotFound when there is no such organization or it has
// that status already.
func (s *Store) SetOrgStatus(ctx context.Context, orgID int64, status string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "set organization status",
			`UPDATE orgs SET status = ? WHERE id = ? AND status <> ?`, status, orgID, status); err != nil {
			return err
		}
		if status != OrgActive {
			if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE org_id = ?`), orgID); err != nil {
				return fmt.Errorf("store: end sessions: %w", err)
			}
			if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE challenges SET status = 'expired' WHERE org_id = ? AND status = 'pending'`), orgID); err != nil {
				return fmt.Errorf("store: expire challenges: %w", err)
			}
		}
		return s.addEvent(ctx, tx, e)
	})
}

// SetUserRole gives a user role and records e. It returns ErrNotFound
// when the user is not in the organization or has that role already.
func (s *Store) SetUserRole(ctx context.Context, orgID, userID int64, role string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "set role",
			`UPDATE users SET role = ? WHERE id = ? AND org_id = ? AND role <> ?`, role, userID, orgID, role); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// CreateProviderAdmin adds u as an admin of the service provider, in the
// provider's organization, which it creates on first use (at now, with
// the default policy), and records e there, all in one transaction. u's
// OrgID is set here; it returns ErrExists when the name is taken.
func (s *Store) CreateProviderAdmin(ctx context.Context, u User, now time.Time, e Event) (User, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO orgs (slug, name, policy, policy_rev, created_at, status)
			VALUES (?, ?, '{}', 1, ?, ?) ON CONFLICT (slug) DO NOTHING`), ProviderSlug, ProviderName, ms(now), OrgActive)
		if err != nil {
			return fmt.Errorf("store: create provider organization: %w", err)
		}
		created, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: create provider organization: %w", err)
		}
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT id FROM orgs WHERE slug = ?`), ProviderSlug).Scan(&u.OrgID); err != nil {
			return one("provider organization", err)
		}
		if created == 1 {
			if err := s.addEvent(ctx, tx, Event{OrgID: u.OrgID, At: e.At, Actor: e.Actor, Action: "org.create",
				Target: ProviderSlug, Result: "ok", Source: e.Source}); err != nil {
				return err
			}
		}
		u.ID, err = s.insert(ctx, tx, "create provider admin "+u.Username,
			`INSERT INTO users (org_id, username, email, display_name, password_hash, role, status, created_at, language)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.OrgID, u.Username, u.Email, u.DisplayName, u.PasswordHash, u.Role, u.Status, ms(u.CreatedAt), u.Language)
		if err != nil {
			return err
		}
		if err := s.indexUser(ctx, tx, u.ID); err != nil {
			return err
		}
		e.OrgID = u.OrgID
		return s.addEvent(ctx, tx, e)
	})
	return u, err
}

// ProviderAdmins lists the service provider's admins by username; none
// before the first was created.
func (s *Store) ProviderAdmins(ctx context.Context) ([]User, error) {
	return s.users(ctx, "provider admins", `SELECT `+userColumns+` FROM users
		WHERE org_id = (SELECT id FROM orgs WHERE slug = ?) ORDER BY username`, ProviderSlug)
}

// OrgSettings are what an organization's operators tell its users beyond
// its name; an empty one is not set. They are part of Org, read with it,
// since the pages show them on every view and mails use them.
type OrgSettings struct {
	SupportContact string // whom users ask for help, on the pages and in the mails' footer
	ContinueURL    string // where users go once enrolled
	SenderName     string // the display name mails come from; empty: "<Name> via Twofold"
}

// SetOrgSettings changes the settings of an organization that differ
// between from, as they were read, and to, and records e. Only those are
// written, each only if it still holds its value in from: a concurrent
// change of another setting is kept, while one of the same setting makes
// it change nothing and return ErrChanged, so that neither is silently
// lost. It returns ErrNotFound when from and to are the same.
func (s *Store) SetOrgSettings(ctx context.Context, orgID int64, from, to OrgSettings, e Event) error {
	if from == to {
		return fmt.Errorf("store: set organization settings: %w", ErrNotFound)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.setOrgSettings(ctx, tx, orgID, from, to); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// setOrgSettings writes the settings that differ between from and to
// (at least one), each only if it still holds its value in from.
func (s *Store) setOrgSettings(ctx context.Context, tx *sql.Tx, orgID int64, from, to OrgSettings) error {
	var set, where []string
	var args, whereArgs []any
	for _, c := range []struct{ column, from, to string }{
		{"support_contact", from.SupportContact, to.SupportContact},
		{"continue_url", from.ContinueURL, to.ContinueURL},
		{"sender_name", from.SenderName, to.SenderName},
	} {
		if c.from != c.to {
			set = append(set, c.column+" = ?")
			args = append(args, c.to)
			where = append(where, " AND "+c.column+" = ?")
			whereArgs = append(whereArgs, c.from)
		}
	}
	args = append(append(args, orgID), whereArgs...)
	err := s.exec(ctx, tx, "set organization settings",
		`UPDATE orgs SET `+strings.Join(set, ", ")+` WHERE id = ?`+strings.Join(where, ""), args...)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: set organization settings: %w", ErrChanged)
	}
	return err
}

// OrgUpdate is what UpdateOrg changes of an organization: each part
// whose event is not nil, recorded by that event.
type OrgUpdate struct {
	// Name is the new display name, which must differ from the stored one.
	Name      string
	NameEvent *Event
	// SettingsFrom and SettingsTo are the settings as read and as they
	// become, as SetOrgSettings takes them.
	SettingsFrom, SettingsTo OrgSettings
	SettingsEvent            *Event
	// Policy is the new policy, replacing the one read at PolicyRev, as
	// SetPolicy takes it.
	Policy      []byte
	PolicyRev   int64
	PolicyEvent *Event
}

// UpdateOrg makes the changes u names, as RenameOrg, SetOrgSettings and
// SetPolicy would, in one transaction: all of them or, when one cannot
// be made, none. It returns ErrNotFound when the name is the stored one
// already, ErrChanged when the settings or the policy changed since they
// were read.
func (s *Store) UpdateOrg(ctx context.Context, orgID int64, u OrgUpdate) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if u.NameEvent != nil {
			if err := s.renameOrg(ctx, tx, orgID, u.Name); err != nil {
				return err
			}
			if err := s.addEvent(ctx, tx, *u.NameEvent); err != nil {
				return err
			}
		}
		if u.SettingsEvent != nil {
			if err := s.setOrgSettings(ctx, tx, orgID, u.SettingsFrom, u.SettingsTo); err != nil {
				return err
			}
			if err := s.addEvent(ctx, tx, *u.SettingsEvent); err != nil {
				return err
			}
		}
		if u.PolicyEvent != nil {
			if err := s.setPolicy(ctx, tx, orgID, u.PolicyRev, u.Policy); err != nil {
				return err
			}
			if err := s.addEvent(ctx, tx, *u.PolicyEvent); err != nil {
				return err
			}
		}
		return nil
	})
}

// LogoHash is what Org.LogoHash holds for a logo of data: its SHA-256 in
// hex, which changes with every new logo, so a URL naming it may be cached.
func LogoHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// SetOrgLogo gives an organization the logo data, of contentType (checked
// by the caller), in place of any it had, and records e. It returns
// ErrNotFound when there is no such organization or it has that logo
// already.
func (s *Store) SetOrgLogo(ctx context.Context, orgID int64, data []byte, contentType string, e Event) error {
	hash := LogoHash(data)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "set organization logo",
			`UPDATE orgs SET logo_hash = ? WHERE id = ? AND logo_hash <> ?`, hash, orgID, hash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO org_logos (org_id, content_type, data) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data`),
			orgID, contentType, data); err != nil {
			return fmt.Errorf("store: set organization logo: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// RemoveOrgLogo removes an organization's logo and records e. It returns
// ErrNotFound when there is no such organization or it has no logo.
func (s *Store) RemoveOrgLogo(ctx context.Context, orgID int64, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "remove organization logo",
			`UPDATE orgs SET logo_hash = '' WHERE id = ? AND logo_hash <> ''`, orgID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM org_logos WHERE org_id = ?`), orgID); err != nil {
			return fmt.Errorf("store: remove organization logo: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// OrgLogo reads an organization's logo and its content type. It returns
// ErrNotFound when the organization has none.
func (s *Store) OrgLogo(ctx context.Context, orgID int64) (data []byte, contentType string, err error) {
	err = s.r.QueryRowContext(ctx, s.d.q(`SELECT data, content_type FROM org_logos WHERE org_id = ?`), orgID).Scan(&data, &contentType)
	return data, contentType, one("organization logo", err)
}
