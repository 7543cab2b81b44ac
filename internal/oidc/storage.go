package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// storage is op.Storage for one organization: every lookup is of that
// organization's rows alone, so a client, code or token of another
// organization is unknown here.
type storage struct {
	p   *Provider
	org store.Org
}

var _ op.Storage = (*storage)(nil)

func (s *storage) now() time.Time { return s.p.Clock.Now() }

// event is an audit event of the organization's provider.
func (s *storage) event(actor, action, target, result string) store.Event {
	return store.Event{OrgID: s.org.ID, At: s.now(), Actor: actor, Action: action, Target: target, Result: result, Source: "oidc"}
}

// CreateAuthRequest keeps a validated authorization request (op has
// checked the client, the redirect URI and the response type) after the
// checks op leaves to us: PKCE with S256, and only the client's scopes.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if r.ResponseType != oidc.ResponseTypeCode {
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is served"}
	}
	c, err := s.p.Store.OIDCClient(ctx, s.org.ID, r.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown client").WithParent(err)
	}
	scopes := slices.DeleteFunc(slices.Clone(r.Scopes), func(sc string) bool { return !slices.Contains(c.Scopes, sc) })
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the scope must include openid")
	}
	id, err := secret.Token(s.p.Rand, 32)
	if err != nil {
		return nil, err
	}
	req := requested{RedirectURI: r.RedirectURI, Scopes: scopes, State: r.State, Nonce: r.Nonce, ResponseMode: string(r.ResponseMode),
		CodeChallenge: r.CodeChallenge, Prompt: r.Prompt, MaxAge: r.MaxAge, ACRValues: r.ACRValues, HintSubject: userID}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	now := s.now()
	row := store.OIDCAuthRequest{ID: id, OrgID: s.org.ID, ClientID: c.ClientID, Request: string(raw), CreatedAt: now, ExpiresAt: now.Add(requestLifetime)}
	if err := s.p.Store.CreateOIDCAuthRequest(ctx, row); err != nil {
		return nil, err
	}
	return &authRequest{row: row, req: req}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	row, err := s.p.Store.OIDCAuthRequestByID(ctx, s.org.ID, id, s.now())
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("the sign-in request is unknown or has expired; start again from the application").WithParent(err)
	}
	return newAuthRequest(row)
}

// AuthRequestByCode takes a code, once: the code's request is found and
// the code used in one transaction. A code used before revokes what it
// was granted (an attacker may hold it).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	row, err := s.p.Store.ConsumeOIDCCode(ctx, s.org.ID, secret.HashToken(code), s.now(), s.event("oidc", "oidc.code_reused", "", "revoked"))
	if errors.Is(err, store.ErrNotConsumed) {
		s.p.Log.Warn("oidc: an authorization code was used again; its grant is revoked", "org", s.org.Slug)
	}
	if err != nil {
		return nil, err
	}
	return newAuthRequest(row)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.Store.SetOIDCCode(ctx, s.org.ID, id, secret.HashToken(code))
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.p.Store.DeleteOIDCAuthRequest(ctx, s.org.ID, id)
}

// newTokens makes an access token id and, with refresh, a refresh token.
func (s *storage) newTokens(refresh bool) (t store.OIDCTokens, refreshToken string, err error) {
	now := s.now()
	if t.AccessID, err = secret.Token(s.p.Rand, 24); err != nil {
		return t, "", err
	}
	t.AccessExpires = now.Add(accessLifetime)
	if refresh {
		if refreshToken, err = secret.Token(s.p.Rand, 32); err != nil {
			return t, "", err
		}
		t.RefreshHash, t.RefreshExpires = secret.HashToken(refreshToken), now.Add(refreshLifetime)
	}
	return t, refreshToken, nil
}

// grantOf is the grant a code's request makes.
func (s *storage) grantOf(a *authRequest) (store.OIDCGrant, error) {
	id, err := secret.Token(s.p.Rand, 24)
	if err != nil {
		return store.OIDCGrant{}, err
	}
	in, err := json.Marshal(a.in)
	if err != nil {
		return store.OIDCGrant{}, err
	}
	now := s.now()
	return store.OIDCGrant{ID: id, OrgID: s.org.ID, ClientID: a.row.ClientID, UserID: a.row.UserID, AuthRequestID: a.row.ID,
		Scopes: a.req.Scopes, SignIn: string(in), CreatedAt: now, ExpiresAt: now.Add(grantLifetime)}, nil
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrInvalidGrant()
	}
	g, err := s.grantOf(a)
	if err != nil {
		return "", time.Time{}, err
	}
	t, _, err := s.newTokens(false)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.p.Store.CreateOIDCGrant(ctx, g, t); err != nil {
		return "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
	}
	return t.AccessID, t.AccessExpires, nil
}

// CreateAccessAndRefreshTokens makes a code's first tokens, or rotates a
// refresh token: the old one is used once, and its second use revokes
// the family.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	t, refresh, err := s.newTokens(true)
	if err != nil {
		return "", "", time.Time{}, err
	}
	switch req := req.(type) {
	case *authRequest:
		g, err := s.grantOf(req)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if err := s.p.Store.CreateOIDCGrant(ctx, g, t); err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
		}
	case *refreshRequest:
		err := s.p.Store.RotateOIDCRefreshToken(ctx, s.org.ID, secret.HashToken(current), t, s.now(),
			s.event(req.grant.ClientID, "oidc.refresh_reused", subject(req.grant.UserID), "revoked"))
		if err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
		}
	default:
		return "", "", time.Time{}, oidc.ErrInvalidGrant()
	}
	return t.AccessID, refresh, t.AccessExpires, nil
}

// TokenRequestByRefreshToken brings back the live grant of a refresh
// token not used before, of a user still active.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	g, err := s.p.Store.OIDCGrantByRefreshToken(ctx, s.org.ID, secret.HashToken(token), s.now(), s.event("oidc", "oidc.refresh_reused", "", "revoked"))
	if errors.Is(err, store.ErrNotConsumed) {
		s.p.Log.Warn("oidc: a refresh token was used again; its grant is revoked", "org", s.org.Slug)
	}
	if err != nil {
		return nil, op.ErrInvalidRefreshToken
	}
	if err := s.userActive(ctx, g.UserID); err != nil {
		return nil, err
	}
	r := &refreshRequest{grant: g, scopes: g.Scopes}
	if err := json.Unmarshal([]byte(g.SignIn), &r.in); err != nil {
		return nil, fmt.Errorf("oidc: grant %s: %w", g.ID, err)
	}
	return r, nil
}

// userActive refuses a user who is gone or disabled.
func (s *storage) userActive(ctx context.Context, userID int64) error {
	u, err := s.p.Store.UserByID(ctx, s.org.ID, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.UserActive) {
		return oidc.ErrInvalidGrant().WithDescription("the user can no longer sign in")
	}
	return err
}

// TerminateSession ends the browser's portal session at end_session: the
// single sign-on session. With an id_token_hint it must be that user's.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	x, ok := ctx.Value(exchangeKey{}).(*exchange)
	if !ok {
		return nil
	}
	if userID != "" {
		portal, signedIn, err := s.p.Portal.SignedIn(x.r, s.org)
		if err != nil {
			return err
		}
		if !signedIn || subject(portal.UserID) != userID {
			return nil
		}
	}
	s.p.Portal.SignOut(x.w, x.r, s.org)
	return nil
}

// refreshPrefix marks a token id that is a refresh token between
// GetRefreshTokenInfo and RevokeToken.
const refreshPrefix = "refresh:"

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	g, err := s.p.Store.OIDCGrantByRefreshToken(ctx, s.org.ID, secret.HashToken(token), s.now(), s.event(clientID, "oidc.refresh_reused", "", "revoked"))
	if err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return subject(g.UserID), refreshPrefix + token, nil
}

// RevokeToken revokes a refresh token's grant, or one access token, of the
// client (RFC 7009); an unknown token is no error.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	var err error
	if token, ok := strings.CutPrefix(tokenOrID, refreshPrefix); ok {
		err = s.p.Store.RevokeOIDCRefreshToken(ctx, s.org.ID, clientID, secret.HashToken(token), s.now(), s.event(clientID, "oidc.revoke", userID, "ok"))
	} else {
		err = s.p.Store.RevokeOIDCAccessToken(ctx, s.org.ID, clientID, tokenOrID, s.now())
	}
	if err != nil {
		s.p.Log.Error("oidc: revoke", "err", err)
		return oidc.ErrServerError()
	}
	return nil
}

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.p.signingKey(ctx, s.org)
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	return s.p.publishedKeys(ctx, s.org)
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.p.Store.OIDCClient(ctx, s.org.ID, clientID)
	if err != nil {
		return nil, err
	}
	return &client{c: c, org: s.org}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret, by its
// hash, in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	c, err := s.p.Store.OIDCClient(ctx, s.org.ID, clientID)
	if err != nil {
		return oidc.ErrInvalidClient().WithParent(err)
	}
	if c.Public || len(c.SecretHash) == 0 || subtle.ConstantTimeCompare(c.SecretHash, secret.HashToken(clientSecret)) != 1 {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// userinfo fills the claims of the scopes from the user's record.
func (s *storage) userinfo(ctx context.Context, info *oidc.UserInfo, userID int64, scopes []string) error {
	u, err := s.p.Store.UserByID(ctx, s.org.ID, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.UserActive) {
		return oidc.ErrAccessDenied().WithDescription("the user can no longer sign in")
	}
	if err != nil {
		return err
	}
	info.Subject = subject(u.ID)
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername, info.Name = u.Username, u.DisplayName
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	id, err := strconv.ParseInt(userID, 10, 64)
	if err != nil {
		return oidc.ErrInvalidRequest()
	}
	return s.userinfo(ctx, info, id, scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access
// token of this organization.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, sub, origin string) error {
	g, err := s.p.Store.OIDCGrantByAccessToken(ctx, s.org.ID, tokenID, s.now())
	if err != nil || subject(g.UserID) != sub {
		return oidc.ErrAccessDenied().WithDescription("the access token is not valid")
	}
	return s.userinfo(ctx, info, g.UserID, g.Scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, sub, clientID string) error {
	g, err := s.p.Store.OIDCGrantByAccessToken(ctx, s.org.ID, tokenID, s.now())
	if err != nil || subject(g.UserID) != sub || g.ClientID != clientID {
		return oidc.ErrAccessDenied()
	}
	resp.Active, resp.Scope, resp.ClientID, resp.Subject = true, oidc.SpaceDelimitedArray(g.Scopes), g.ClientID, sub
	resp.Audience = []string{g.ClientID}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is for clients that authenticate with their own
// keys (private_key_jwt), which Twofold does not offer.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("private_key_jwt is not offered")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnauthorizedClient().WithDescription("the JWT profile grant is not offered")
}

func (s *storage) Health(ctx context.Context) error { return s.p.Store.Ping(ctx) }

// tokenCrypto seals op's opaque access tokens (the token id and subject)
// with the master key, bound to the organization: a token of one
// organization opens in no other.
type tokenCrypto struct {
	keys Sealer
	org  store.Org
}

func (c *tokenCrypto) ad() []byte {
	return fmt.Appendf(nil, "twofold oidc access_token org=%d", c.org.ID)
}

func (c *tokenCrypto) Encrypt(s string) (string, error) {
	sealed, err := c.keys.Seal([]byte(s), c.ad())
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

func (c *tokenCrypto) Decrypt(s string) (string, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	plain, err := c.keys.Open(sealed, c.ad())
	if err != nil {
		return "", err
	}
	return string(plain), nil
}
