package admin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// RADIUS shared secrets: shorter than MinRadiusSecret is refused; shorter
// than GoodRadiusSecret is allowed (some gateways cannot hold more) but
// warned about. A generated secret has GeneratedRadiusSecret characters.
const (
	MinRadiusSecret       = 8
	GoodRadiusSecret      = 16
	GeneratedRadiusSecret = 32
	maxRadiusSecret       = 128
)

// NewRadiusClient describes a RADIUS client (gateway) to register.
type NewRadiusClient struct {
	Name string
	// Address is one address ("192.0.2.10") or a range ("192.0.2.0/24").
	Address string
	// Secret is the shared secret; empty: one is generated.
	Secret string
	// AllowMissingMessageAuthenticator accepts requests that carry no
	// Message-Authenticator, for old gateways. Off by default.
	AllowMissingMessageAuthenticator bool
}

// RadiusClientAdded is a registered client with its secret in clear (the
// only time it is seen) and a warning for the operator, if any.
type RadiusClientAdded struct {
	Client    store.RadiusClient
	Secret    string
	Generated bool
	Warning   string
}

// AddRadiusClient registers a RADIUS client for org.
func (s *Service) AddRadiusClient(ctx context.Context, org store.Org, n NewRadiusClient) (RadiusClientAdded, error) {
	name, err := label("a RADIUS client's name", n.Name)
	if err != nil {
		return RadiusClientAdded{}, err
	}
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return RadiusClientAdded{}, invalid("a RADIUS client needs a name of 1 to 64 characters (--name), such as \"vpn\"")
	}
	prefix, err := ParseClientAddress(n.Address)
	if err != nil {
		return RadiusClientAdded{}, err
	}
	out := RadiusClientAdded{Secret: n.Secret}
	if out.Secret == "" {
		// 20 bytes: 32 base32 characters, 160 bits.
		if out.Secret, err = secret.Token(s.Rand, 20); err != nil {
			return RadiusClientAdded{}, err
		}
		out.Generated = true
	}
	switch l := len(out.Secret); {
	case l < MinRadiusSecret:
		return RadiusClientAdded{}, invalid("the shared secret must be at least %d characters (%d or more recommended); leave it out to have one generated", MinRadiusSecret, GoodRadiusSecret)
	case l > maxRadiusSecret:
		return RadiusClientAdded{}, invalid("the shared secret must be at most %d characters", maxRadiusSecret)
	case strings.ContainsFunc(out.Secret, func(r rune) bool { return r <= ' ' || r > '~' }):
		return RadiusClientAdded{}, invalid("the shared secret must be printable ASCII without spaces, so that every gateway's configuration can hold it")
	case l < GoodRadiusSecret:
		out.Warning = fmt.Sprintf("the shared secret has only %d characters; use %d or more (leave it out to have one generated)", l, GoodRadiusSecret)
	}
	c := store.RadiusClient{OrgID: org.ID, Name: name, CIDR: prefix.String(),
		RequireMessageAuthenticator: !n.AllowMissingMessageAuthenticator, CreatedAt: s.Clock.Now()}
	ev := s.event(org.ID, "radius.client.add", name+" "+prefix.String())
	if n.AllowMissingMessageAuthenticator {
		ev.Detail = "Message-Authenticator not required"
	}
	plain := []byte(out.Secret)
	out.Client, err = s.Store.CreateRadiusClient(ctx, c, func(c store.RadiusClient) ([]byte, error) {
		return s.Keys.Seal(plain, store.RadiusSecretAD(c))
	}, ev)
	if errors.Is(err, store.ErrExists) {
		return RadiusClientAdded{}, invalid("organization %q has a RADIUS client named %q already, or %s is registered already (an address belongs to one client)", org.Slug, name, prefix)
	}
	if err != nil {
		return RadiusClientAdded{}, err
	}
	return out, nil
}

// RadiusClients lists org's RADIUS clients.
func (s *Service) RadiusClients(ctx context.Context, org store.Org) ([]store.RadiusClient, error) {
	return s.Store.RadiusClients(ctx, org.ID)
}

// RemoveRadiusClient removes org's client of that name.
func (s *Service) RemoveRadiusClient(ctx context.Context, org store.Org, name string) error {
	err := s.Store.DeleteRadiusClient(ctx, org.ID, name, s.event(org.ID, "radius.client.remove", name))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("organization %q has no RADIUS client named %q", org.Slug, name)
	}
	return err
}

// ResealRadiusSecrets re-encrypts every RADIUS shared secret not sealed
// under the keyring's newest key and reports how many it changed.
func (s *Service) ResealRadiusSecrets(ctx context.Context) (int, error) {
	return s.Store.ResealRadiusSecrets(ctx, func(c store.RadiusClient) ([]byte, bool, error) {
		return s.reseal(c.Secret, store.RadiusSecretAD(c))
	}, s.event(0, "keys.rotate", fmt.Sprintf("key %d", s.Keys.NewestID())))
}

// ResealOIDCKeys re-encrypts every OpenID Connect signing key not sealed
// under the keyring's newest key and reports how many it changed.
func (s *Service) ResealOIDCKeys(ctx context.Context) (int, error) {
	return s.Store.ResealOIDCKeys(ctx, func(k store.OIDCKey) ([]byte, bool, error) {
		return s.reseal(k.PrivateKey, store.OIDCKeyAD(k))
	}, s.event(0, "keys.rotate", fmt.Sprintf("key %d", s.Keys.NewestID())))
}

// ParseClientAddress reads a RADIUS client's address: one IPv4 or IPv6
// address, or a range in CIDR notation, returned as a masked prefix.
func ParseClientAddress(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, invalid("a RADIUS client needs its source address (--cidr), such as 192.0.2.10 or 192.0.2.0/24")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, invalid("%q is not an IP address or a range such as 192.0.2.0/24", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, invalid("%q is not an IP address or a range such as 192.0.2.0/24", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, invalid("%q is not an IP address or a range such as 192.0.2.0/24", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
