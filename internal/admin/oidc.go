package admin

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// NewOIDCClient is an application to register with an organization's
// OpenID Connect provider.
type NewOIDCClient struct {
	Name         string
	RedirectURIs []string
	LogoutURIs   []string
	Public       bool     // no secret: a browser or mobile application (PKCE alone)
	FirstParty   bool     // the organization's own: its users are not asked to consent
	Scopes       []string // empty: DefaultOIDCScopes
}

// OIDCScopes are the scopes a client may be allowed; DefaultOIDCScopes
// those it is allowed when none are named.
var (
	OIDCScopes        = []string{"openid", "profile", "email", "offline_access"}
	DefaultOIDCScopes = []string{"openid", "profile", "email", "offline_access"}
)

// OIDCClientAdded is a registered client and its secret, shown once
// (empty for a public client).
type OIDCClientAdded struct {
	Client store.OIDCClient
	Secret string
}

// maxRedirectURI bounds a redirect URI's length, as browsers and servers
// bound a URL's.
const maxRedirectURI = 2000

// ParseRedirectURI checks a redirect or post-logout URI to register:
// absolute https (or http on this machine's loopback address, for
// development), no fragment, no user or password. It is matched exactly
// at sign-in, so it is kept as written.
func ParseRedirectURI(raw string) (string, error) {
	if raw == "" || len(raw) > maxRedirectURI {
		return "", invalid("a redirect URI must be 1 to %d characters, such as https://app.example/callback", maxRedirectURI)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r > '~' }) {
		return "", invalid("the redirect URI %q has spaces or characters outside printable ASCII: percent-encode them", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", invalid("the redirect URI %q is not an absolute URL such as https://app.example/callback", raw)
	}
	if !strings.HasPrefix(raw, u.Scheme+"://") {
		// Redirect URIs are compared as strings: the scheme is written
		// the one way applications send it.
		return "", invalid("the redirect URI %q must begin with %s:// in lower case", raw, u.Scheme)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", invalid("the redirect URI %q has a fragment (#…), which a redirect URI may not have", raw)
	}
	if u.User != nil {
		return "", invalid("the redirect URI %q has a user name or password in it; leave them out", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", invalid("the redirect URI %q uses http, which only a development address on this machine (127.0.0.1, [::1], localhost) may: use https", raw)
		}
	default:
		return "", invalid("the redirect URI %q must use https", raw)
	}
	return raw, nil
}

// AddOIDCClient registers an application with org's OpenID Connect
// provider. A confidential client gets a generated secret, returned once
// and stored only as its hash.
func (s *Service) AddOIDCClient(ctx context.Context, org store.Org, n NewOIDCClient) (OIDCClientAdded, error) {
	name, err := label("an application's name", n.Name)
	if err != nil {
		return OIDCClientAdded{}, err
	}
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return OIDCClientAdded{}, invalid("an application needs a name of 1 to 64 characters (--name), such as \"Wiki\"")
	}
	if len(n.RedirectURIs) == 0 {
		return OIDCClientAdded{}, invalid("an application needs at least one redirect URI (--redirect-uri), where it receives the sign-in")
	}
	c := store.OIDCClient{OrgID: org.ID, Name: name, Public: n.Public, FirstParty: n.FirstParty, CreatedAt: s.Clock.Now()}
	for _, list := range []struct {
		in   []string
		out  *[]string
		what string
	}{{n.RedirectURIs, &c.RedirectURIs, ""}, {n.LogoutURIs, &c.LogoutURIs, "post-logout "}} {
		for _, raw := range list.in {
			uri, err := ParseRedirectURI(strings.TrimSpace(raw))
			if err != nil {
				if list.what != "" {
					err = invalid("post-logout redirect URI: %s", strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
				}
				return OIDCClientAdded{}, err
			}
			if n.Public && strings.HasPrefix(uri, "http:") {
				return OIDCClientAdded{}, invalid("a public application's %sredirect URIs must use https: %q", list.what, uri)
			}
			if !slices.Contains(*list.out, uri) {
				*list.out = append(*list.out, uri)
			}
		}
	}
	scopes := n.Scopes
	if len(scopes) == 0 {
		scopes = DefaultOIDCScopes
	}
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if !slices.Contains(OIDCScopes, sc) {
			return OIDCClientAdded{}, invalid("unknown scope %q: the scopes are %s", sc, strings.Join(OIDCScopes, ", "))
		}
		if !slices.Contains(c.Scopes, sc) {
			c.Scopes = append(c.Scopes, sc)
		}
	}
	if !slices.Contains(c.Scopes, "openid") {
		return OIDCClientAdded{}, invalid("the scopes must include openid")
	}
	if c.ClientID, err = secret.Token(s.Rand, 16); err != nil {
		return OIDCClientAdded{}, err
	}
	out := OIDCClientAdded{}
	if !n.Public {
		if out.Secret, err = secret.Token(s.Rand, 32); err != nil {
			return OIDCClientAdded{}, err
		}
		c.SecretHash = secret.HashToken(out.Secret)
	}
	kind := "confidential"
	if c.Public {
		kind = "public"
	}
	ev := s.event(org.ID, "oidc.client.add", name+" "+c.ClientID)
	ev.Detail = kind + "; redirect " + strings.Join(c.RedirectURIs, " ") + "; scopes " + strings.Join(c.Scopes, " ")
	if c.FirstParty {
		ev.Detail += "; first-party"
	}
	out.Client, err = s.Store.CreateOIDCClient(ctx, c, ev)
	if errors.Is(err, store.ErrExists) {
		return OIDCClientAdded{}, invalid("organization %q has an application named %q already", org.Slug, name)
	}
	if err != nil {
		return OIDCClientAdded{}, err
	}
	return out, nil
}

// OIDCClients lists org's applications.
func (s *Service) OIDCClients(ctx context.Context, org store.Org) ([]store.OIDCClient, error) {
	return s.Store.OIDCClients(ctx, org.ID)
}

// RemoveOIDCClient removes org's application with that client id, and
// revokes every token it holds.
func (s *Service) RemoveOIDCClient(ctx context.Context, org store.Org, clientID string) error {
	err := s.Store.DeleteOIDCClient(ctx, org.ID, clientID, s.Clock.Now(), s.event(org.ID, "oidc.client.remove", clientID))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("organization %q has no application with client id %q (see twofold oidc client list %s)", org.Slug, clientID, org.Slug)
	}
	return err
}
