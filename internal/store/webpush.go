package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// WebPushSubscription is where a browser's push service takes the Web Push
// messages for the web app holding a push token, with the keys that encrypt
// them for that browser (RFC 8291).
type WebPushSubscription struct {
	TokenID   int64
	Serial    string // the token's, filled in by WebPushSubscriptions
	Endpoint  string
	P256dh    []byte // the browser's P-256 public key, uncompressed
	Auth      []byte // the 16-byte authentication secret
	CreatedAt time.Time
}

// PutWebPushSubscription stores sub as its token's one subscription,
// replacing any before it, and records e, in one transaction.
func (s *Store) PutWebPushSubscription(ctx context.Context, sub WebPushSubscription, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO webpush_subscriptions (token_id, endpoint, p256dh, auth, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (token_id) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh,
			auth = excluded.auth, created_at = excluded.created_at`),
			sub.TokenID, sub.Endpoint, sub.P256dh, sub.Auth, ms(sub.CreatedAt)); err != nil {
			return fmt.Errorf("store: store web push subscription: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// DeleteWebPushSubscription removes the subscription of token tokenID —
// only while its endpoint is still endpoint, unless that is empty, so that
// a push service's "gone" for an old endpoint leaves a newer one — and
// records e, in one transaction. It returns ErrNotFound, changing nothing,
// when there is no such subscription.
func (s *Store) DeleteWebPushSubscription(ctx context.Context, tokenID int64, endpoint string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "delete web push subscription", `DELETE FROM webpush_subscriptions
			WHERE token_id = ? AND (? = '' OR endpoint = ?)`, tokenID, endpoint, endpoint); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// WebPushSubscriptions lists the subscriptions of the active push tokens
// of user username in organization orgID, by serial.
func (s *Store) WebPushSubscriptions(ctx context.Context, orgID int64, username string) ([]WebPushSubscription, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT w.token_id, t.serial, w.endpoint, w.p256dh, w.auth, w.created_at
		FROM webpush_subscriptions w JOIN tokens t ON t.id = w.token_id JOIN users u ON u.id = t.user_id
		WHERE u.org_id = ? AND u.username = ? AND t.state = 'active' ORDER BY t.serial`), orgID, username)
	if err != nil {
		return nil, fmt.Errorf("store: web push subscriptions: %w", err)
	}
	defer rows.Close()
	var out []WebPushSubscription
	for rows.Next() {
		var sub WebPushSubscription
		var created int64
		if err := rows.Scan(&sub.TokenID, &sub.Serial, &sub.Endpoint, &sub.P256dh, &sub.Auth, &created); err != nil {
			return nil, fmt.Errorf("store: web push subscriptions: %w", err)
		}
		sub.CreatedAt = fromMS(created)
		out = append(out, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: web push subscriptions: %w", err)
	}
	return out, nil
}
