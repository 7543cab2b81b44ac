package page

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// SessionStore keeps sessions: by the hash of their id, so that the
// table holds nothing a browser could present.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session, e store.Event) error
	SessionByHash(ctx context.Context, idHash []byte, now time.Time, idle time.Duration) (store.Session, error)
	TouchSession(ctx context.Context, idHash []byte, now time.Time) error
	DeleteSession(ctx context.Context, idHash []byte, e store.Event) error
}

// touchEvery limits the writes that keep a session alive.
const touchEvery = time.Minute

// Sessions are the sessions of one set of pages, each held by a cookie
// named Cookie, ending after Idle without a request and at the session's
// ExpiresAt.
type Sessions struct {
	Store  SessionStore
	Clock  clock.Clock
	Rand   io.Reader
	Log    *slog.Logger
	Cookie string
	Idle   time.Duration
}

// Find returns the request's session, keeping it alive; ok is false when
// the request has none that is live.
func (s *Sessions) Find(r *http.Request) (ses store.Session, ok bool, err error) {
	c, err := r.Cookie(s.Cookie)
	if err != nil {
		return store.Session{}, false, nil
	}
	now := s.Clock.Now()
	ses, err = s.Store.SessionByHash(r.Context(), secret.HashToken(c.Value), now, s.Idle)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, false, nil
	}
	if err != nil {
		return store.Session{}, false, err
	}
	if now.Sub(ses.LastSeenAt) > touchEvery {
		if err := s.Store.TouchSession(r.Context(), ses.IDHash, now); err != nil {
			return store.Session{}, false, err
		}
	}
	return ses, true, nil
}

// Start replaces the request's session, if any, with ses under a new id —
// a fresh one at every step, so that an id seen before sign-in is worth
// nothing after it — recording e when it has an action. It fills ses's
// IDHash, CreatedAt and LastSeenAt, and returns it.
func (s *Sessions) Start(w http.ResponseWriter, r *http.Request, ses store.Session, e store.Event) (store.Session, error) {
	s.End(w, r, store.Event{})
	id, err := secret.Token(s.Rand, 32)
	if err != nil {
		return store.Session{}, err
	}
	now := s.Clock.Now()
	ses.IDHash, ses.CreatedAt, ses.LastSeenAt = secret.HashToken(id), now, now
	if err := s.Store.CreateSession(r.Context(), ses, e); err != nil {
		return store.Session{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: s.Cookie, Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return ses, nil
}

// End deletes the request's session and its cookie, recording e when it
// has an action.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request, e store.Event) {
	if c, err := r.Cookie(s.Cookie); err == nil {
		if err := s.Store.DeleteSession(r.Context(), secret.HashToken(c.Value), e); err != nil {
			s.Log.Warn("delete session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.Cookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
