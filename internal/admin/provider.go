package admin

import (
	"context"
	"errors"

	"github.com/twofold-mfa/twofold/internal/store"
)

// The service provider runs the server and manages organizations. Its
// admins are the users of one organization of its own, store.ProviderSlug,
// which no operator's slug can name: so they have a password, tokens,
// enrollment links, lockout and audit trail exactly as every user, and
// sign in through the same verification core (the console at /admin/
// asks them for the same second factor). A separate table would have
// needed a second copy of each, or a second verification path.

// CreateProviderAdmin adds an admin of the service provider. The address
// is required: enrollment links and notices go there.
func (s *Service) CreateProviderAdmin(ctx context.Context, n NewUser) (store.User, error) {
	if n.Email == "" {
		return store.User{}, invalid("a service provider admin needs an email address (--email), for enrollment links and notices")
	}
	n.Role = store.RoleAdmin
	org, err := s.Store.OrgBySlug(ctx, store.ProviderSlug)
	if errors.Is(err, store.ErrNotFound) {
		// The first admin creates the organization; its rules for
		// passwords are the defaults until then.
		org, err = store.Org{Slug: store.ProviderSlug, Name: store.ProviderName, Policy: []byte(`{}`)}, nil
	}
	if err != nil {
		return store.User{}, err
	}
	u, err := s.newUser(ctx, org, n)
	if err != nil {
		return store.User{}, err
	}
	u, err = s.Store.CreateProviderAdmin(ctx, u, s.Clock.Now(), s.event(0, "admin.create", u.Username))
	if errors.Is(err, store.ErrExists) {
		return store.User{}, invalid("service provider admin %q exists already", u.Username)
	}
	return u, err
}

// ProviderAdmins lists the service provider's admins.
func (s *Service) ProviderAdmins(ctx context.Context) ([]store.User, error) {
	return s.Store.ProviderAdmins(ctx)
}

// Orgs lists the operators' organizations with their user counts.
func (s *Service) Orgs(ctx context.Context) ([]store.OrgSummary, error) {
	return s.Store.OrgSummaries(ctx)
}

// tenant finds an operator's organization by slug, refusing the service
// provider's own, which what does (rename, disable) does not apply to.
func (s *Service) tenant(ctx context.Context, slug, what string) (store.Org, error) {
	if slug == store.ProviderSlug {
		return store.Org{}, invalid("the service provider's own organization cannot be %s", what)
	}
	return s.Org(ctx, slug)
}

// RenameOrg gives an organization a new display name, under the rules of
// CreateOrg's, except that it may not be empty.
func (s *Service) RenameOrg(ctx context.Context, slug, name string) (store.Org, error) {
	name, err := label("an organization's name", name)
	if err != nil {
		return store.Org{}, err
	}
	if name == "" {
		return store.Org{}, invalid("give the organization's new name with --name")
	}
	org, err := s.tenant(ctx, slug, "renamed")
	if err != nil {
		return store.Org{}, err
	}
	ev := s.event(org.ID, "org.rename", org.Slug)
	ev.Detail = "from " + org.Name
	err = s.Store.RenameOrg(ctx, org.ID, name, ev)
	if errors.Is(err, store.ErrNotFound) {
		return store.Org{}, invalid("organization %s is named %q already", org.Slug, name)
	}
	org.Name = name
	return org, err
}

// DisableOrg stops everyone in an organization from signing in, on every
// channel, and ends their sessions; nothing else changes, so EnableOrg
// restores it as it was.
func (s *Service) DisableOrg(ctx context.Context, slug string) error {
	return s.setOrgStatus(ctx, slug, store.OrgDisabled, "disable")
}

// EnableOrg lets a disabled organization's users sign in again.
func (s *Service) EnableOrg(ctx context.Context, slug string) error {
	return s.setOrgStatus(ctx, slug, store.OrgActive, "enable")
}

func (s *Service) setOrgStatus(ctx context.Context, slug, status, op string) error {
	org, err := s.tenant(ctx, slug, op+"d")
	if err != nil {
		return err
	}
	err = s.Store.SetOrgStatus(ctx, org.ID, status, s.event(org.ID, "org."+op, org.Slug))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("organization %s is %s already", org.Slug, status)
	}
	return err
}

// SetRole gives a user of org an organization role: store.RoleUser,
// store.RoleHelpdesk or store.RoleAdmin.
func (s *Service) SetRole(ctx context.Context, org store.Org, username, role string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	if org.Slug == store.ProviderSlug {
		return invalid("the service provider's admins have no other role")
	}
	u, err := s.User(ctx, org, username)
	if err != nil {
		return err
	}
	ev := s.event(org.ID, "user.role", org.Slug+"/"+u.Username)
	ev.Detail = u.Role + " -> " + role
	err = s.Store.SetUserRole(ctx, org.ID, u.ID, role, ev)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("user %s/%s is %s already", org.Slug, u.Username, role)
	}
	return err
}
