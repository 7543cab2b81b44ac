// Package directory connects an organization to its LDAP directory or
// Active Directory: it keeps the connection's settings (the bind password
// sealed with the master key), syncs the directory's users into the
// organization — creating, updating, disabling and enabling them again,
// never deleting —, on demand and on a schedule, and checks passwords by
// binding as the user, for the organizations that ask for it.
//
// Every connection is TLS (ldaps://, or ldap:// with StartTLS) unless the
// settings explicitly allow plain ldap://. A sync is one transaction with
// an audit event per change and one for the whole; one instance at a
// time syncs an organization, by a lease row in the database.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Service manages organizations' directories on behalf of Actor.
type Service struct {
	Store *store.Store
	Keys  *secret.Keyring
	Clock clock.Clock
	Log   *slog.Logger
	Actor string // who is acting, for the audit log ("cli", an admin's name)
}

// Config is an organization's directory as stored: its settings, whether
// a bind password is set (never the password), and its last sync.
type Config struct {
	Settings
	Configured  bool // the organization has directory settings
	HasPassword bool
	Rev         int64
	LastSyncAt  time.Time
	LastResult  string
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", admin.ErrInvalid, fmt.Sprintf(format, args...))
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Service) event(org store.Org, action, target string) store.Event {
	return store.Event{OrgID: org.ID, At: s.Clock.Now(), Actor: s.Actor, Action: action, Target: target, Result: "ok"}
}

// Config reads org's directory settings; an organization without any
// has the defaults, not Configured.
func (s *Service) Config(ctx context.Context, org store.Org) (Config, error) {
	d, err := s.Store.Directory(ctx, org.ID)
	if errors.Is(err, store.ErrNotFound) {
		return Config{Settings: Defaults()}, nil
	}
	if err != nil {
		return Config{}, err
	}
	return configOf(d)
}

func configOf(d store.Directory) (Config, error) {
	set, err := decode(d.Settings)
	if err != nil {
		return Config{}, err
	}
	return Config{Settings: set, Configured: true, HasPassword: len(d.BindPassword) > 0, Rev: d.Rev,
		LastSyncAt: d.LastSyncAt, LastResult: d.LastResult}, nil
}

// Set changes the settings changes names (key → value) and, when password
// is not nil, the bind password (empty: none), all of them or, when one is
// refused, none; the error joins every refusal, each a *KeyError wrapping
// admin.ErrInvalid. The change is audited without the password. It
// returns the directory as changed.
func (s *Service) Set(ctx context.Context, org store.Org, changes map[string]string, password *string) (Config, error) {
	if org.Slug == store.ProviderSlug {
		return Config{}, invalid("the service provider's organization has no directory")
	}
	if len(changes) == 0 && password == nil {
		return Config{}, invalid("name at least one setting to change (%s) or the bind password", strings.Join(Keys(), ", "))
	}
	d, err := s.Store.Directory(ctx, org.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Config{}, err
	}
	cur := Config{Settings: Defaults()}
	if err == nil {
		if cur, err = configOf(d); err != nil {
			return Config{}, err
		}
	}
	to := cur.Settings
	var errs []error
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range changes {
			if !yield(k) {
				return
			}
		}
	}) {
		if err := to.Set(k, changes[k]); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", admin.ErrInvalid, err))
		}
	}
	if err := to.Ready(); err != nil && to.PasswordAuth {
		// Every password would be refused: the check could not be made.
		errs = append(errs, fmt.Errorf("%w: %w", admin.ErrInvalid, &KeyError{Key: "password_auth",
			Err: fmt.Errorf("needs the directory's url and base_dn first (%v)", err)}))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	detail := Changes(cur.Settings, to)
	sealed := d.BindPassword
	if password != nil {
		switch {
		case *password == "" && cur.HasPassword:
			sealed, detail = nil, append(detail, "bind password removed")
		case *password != "":
			if len(*password) > admin.MaxPasswordBytes {
				return Config{}, invalid("the bind password may be at most %d bytes", admin.MaxPasswordBytes)
			}
			if sealed, err = s.Keys.Seal([]byte(*password), store.DirectoryPasswordAD(org.ID)); err != nil {
				return Config{}, err
			}
			detail = append(detail, "bind password set")
		}
	}
	if len(detail) == 0 && cur.Configured {
		return cur, nil
	}
	data, err := json.Marshal(to)
	if err != nil {
		return Config{}, err
	}
	e := s.event(org, "directory.set", org.Slug)
	e.Detail = strings.Join(detail, "; ")
	err = s.Store.PutDirectory(ctx, store.Directory{OrgID: org.ID, Settings: data, BindPassword: sealed}, cur.Rev, e)
	if errors.Is(err, store.ErrChanged) {
		return Config{}, invalid("the directory settings of %s were changed by someone else meanwhile; look at them again (twofold directory show %s) and repeat the change", org.Slug, org.Slug)
	}
	if err != nil {
		return Config{}, err
	}
	cur.Settings, cur.Configured, cur.HasPassword, cur.Rev = to, true, len(sealed) > 0, cur.Rev+1
	return cur, nil
}

// load reads an organization's settings and opens its bind password,
// for a connection.
func (s *Service) load(ctx context.Context, orgID int64) (Settings, string, error) {
	d, err := s.Store.Directory(ctx, orgID)
	if err != nil {
		return Settings{}, "", err
	}
	set, err := decode(d.Settings)
	if err != nil {
		return Settings{}, "", err
	}
	var password string
	if len(d.BindPassword) > 0 {
		plain, err := s.Keys.Open(d.BindPassword, store.DirectoryPasswordAD(orgID))
		if err != nil {
			return Settings{}, "", fmt.Errorf("the directory's bind password cannot be opened (is the master key file the one it was sealed with?): %w", err)
		}
		password = string(plain)
		clear(plain)
	}
	return set, password, nil
}

// Reseal re-encrypts every bind password not sealed under the keyring's
// newest key, in one transaction, and reports how many it changed.
func (s *Service) Reseal(ctx context.Context) (int, error) {
	return s.Store.ResealDirectoryPasswords(ctx, func(d store.Directory) ([]byte, bool, error) {
		if s.Keys.Current(d.BindPassword) {
			return nil, false, nil
		}
		ad := store.DirectoryPasswordAD(d.OrgID)
		plain, err := s.Keys.Open(d.BindPassword, ad)
		if err != nil {
			return nil, false, err
		}
		defer clear(plain)
		out, err := s.Keys.Seal(plain, ad)
		return out, true, err
	}, store.Event{At: s.Clock.Now(), Actor: s.Actor, Action: "keys.rotate", Target: fmt.Sprintf("key %d", s.Keys.NewestID()), Result: "ok"})
}
