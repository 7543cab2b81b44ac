package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-mfa/twofold/internal/store"
)

// ChecksPasswords reports whether the organization has its passwords
// checked in its directory (password_auth on).
func (s *Service) ChecksPasswords(ctx context.Context, orgID int64) (bool, error) {
	d, err := s.Store.Directory(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	set, err := decode(d.Settings)
	if err != nil {
		return false, err
	}
	return set.PasswordAuth, nil
}

// CheckPassword checks username's password by binding as the user: the
// service account finds the user's entry (the username escaped into the
// filter), then a second bind as that entry's DN with password decides.
// handled is false for an organization whose passwords Twofold checks
// itself (no directory, or password_auth off). An empty password is
// refused before any bind, since a bind with one is an unauthenticated
// bind, which directories answer with success. An error means the
// password could not be checked (the directory is down, slow or
// misconfigured): the caller must refuse.
func (s *Service) CheckPassword(ctx context.Context, orgID int64, username, password string) (handled, ok bool, err error) {
	set, service, err := s.load(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return true, false, err
	}
	if !set.PasswordAuth {
		return false, false, nil
	}
	if password == "" {
		return true, false, nil
	}
	ctx, cancel := deadline(ctx, set, 4)
	defer cancel()
	conn, err := connect(ctx, set)
	if err != nil {
		return true, false, fmt.Errorf("directory: %w", err)
	}
	defer conn.Close()
	if err := bindService(conn, set, service); err != nil {
		return true, false, fmt.Errorf("directory: %w", err)
	}
	filter := fmt.Sprintf("(&%s(%s=%s))", set.Filter, set.UsernameAttr, ldap.EscapeFilter(username))
	req := ldap.NewSearchRequest(set.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false, filter, []string{"1.1"}, nil)
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		s.log().Warn("directory: a username matches several entries; the password is refused", "org_id", orgID, "filter", filter)
		return true, false, nil
	}
	if err != nil {
		return true, false, fmt.Errorf("directory: find the user: %w", err)
	}
	if len(res.Entries) != 1 {
		if len(res.Entries) > 1 {
			s.log().Warn("directory: a username matches several entries; the password is refused", "org_id", orgID, "filter", filter)
		}
		return true, false, nil
	}
	err = conn.Bind(res.Entries[0].DN, password)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return true, false, nil
	}
	if err != nil {
		return true, false, fmt.Errorf("directory: bind as the user: %w", err)
	}
	return true, true, nil
}
