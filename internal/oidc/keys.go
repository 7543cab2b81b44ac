package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Key rotation: a key signs for rotateEvery; its successor is published
// in the JWKS publishAhead before it signs, so that applications caching
// the JWKS know it before they see it; a key that no longer signs stays
// published for keepOld, so that what it signed still verifies.
const (
	rotateEvery  = 30 * 24 * time.Hour
	publishAhead = 7 * 24 * time.Hour
	keepOld      = 7 * 24 * time.Hour
	// never is the retire_at of a key without a successor yet.
	never = 100 * 365 * 24 * time.Hour
)

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key *rsa.PublicKey
}

func (k publicKey) ID() string                         { return k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

// keys returns org's published keys, making the first key and each
// successor when its time has come.
func (p *Provider) keys(ctx context.Context, org store.Org) ([]store.OIDCKey, error) {
	now := p.Clock.Now()
	for range 3 {
		ks, err := p.Store.OIDCKeys(ctx, org.ID, now)
		if err != nil {
			return nil, err
		}
		var current, next *store.OIDCKey
		for i := range ks {
			if !ks[i].ActiveFrom.After(now) {
				current = &ks[i]
			} else if next == nil {
				next = &ks[i]
			}
		}
		var from time.Time
		switch {
		case current == nil && next == nil:
			from = now
		case current != nil && next == nil && !now.Before(current.ActiveFrom.Add(rotateEvery-publishAhead)):
			from = current.ActiveFrom.Add(rotateEvery)
			if min := now.Add(publishAhead); from.Before(min) {
				from = min
			}
		default:
			return ks, nil
		}
		if err := p.addKey(ctx, org, now, from); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, err
		}
		// Read again: another instance may have made the key meanwhile.
	}
	return nil, errors.New("oidc: the signing keys did not settle")
}

// addKey makes a key that signs from from.
func (p *Provider) addKey(ctx context.Context, org store.Org, now, from time.Time) error {
	// A signing key always comes from the system's randomness.
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("oidc: generate key: %w", err)
	}
	id, err := secret.Token(p.Rand, 16)
	if err != nil {
		return err
	}
	k := store.OIDCKey{ID: id, OrgID: org.ID, Algorithm: string(jose.RS256), CreatedAt: now, ActiveFrom: from, RetireAt: from.Add(never)}
	if k.PrivateKey, err = p.Keys.Seal(x509.MarshalPKCS1PrivateKey(priv), store.OIDCKeyAD(k)); err != nil {
		return fmt.Errorf("oidc: seal key: %w", err)
	}
	return p.Store.AddOIDCKey(ctx, k, keepOld, store.Event{OrgID: org.ID, At: now, Actor: "twofold", Action: "oidc.key.add", Target: id,
		Result: "ok", Detail: "signs from " + from.UTC().Format(time.RFC3339)})
}

func (p *Provider) open(k store.OIDCKey) (*rsa.PrivateKey, error) {
	if v, ok := p.opened.Load(k.ID); ok {
		return v.(*rsa.PrivateKey), nil
	}
	der, err := p.Keys.Open(k.PrivateKey, store.OIDCKeyAD(k))
	if err != nil {
		return nil, fmt.Errorf("oidc: open key %s: %w", k.ID, err)
	}
	priv, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("oidc: parse key %s: %w", k.ID, err)
	}
	p.opened.Store(k.ID, priv)
	return priv, nil
}

// signingKey is the key that signs now: the newest whose time has come.
func (p *Provider) signingKey(ctx context.Context, org store.Org) (op.SigningKey, error) {
	ks, err := p.keys(ctx, org)
	if err != nil {
		return nil, err
	}
	now := p.Clock.Now()
	for i := len(ks) - 1; i >= 0; i-- {
		if !ks[i].ActiveFrom.After(now) {
			priv, err := p.open(ks[i])
			if err != nil {
				return nil, err
			}
			return signingKey{id: ks[i].ID, key: priv}, nil
		}
	}
	return nil, errors.New("oidc: no signing key")
}

// publishedKeys are the JWKS: the keys that sign, will sign, or signed
// lately.
func (p *Provider) publishedKeys(ctx context.Context, org store.Org) ([]op.Key, error) {
	ks, err := p.keys(ctx, org)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(ks))
	for _, k := range ks {
		priv, err := p.open(k)
		if err != nil {
			return nil, err
		}
		out = append(out, publicKey{id: k.ID, key: &priv.PublicKey})
	}
	return out, nil
}
