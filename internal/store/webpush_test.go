package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestWebPushSubscriptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		tok := pushToken(t, f, "PUSH0001", "code1")
		assigned := pushToken(t, f, "PUSH0002", "code2")
		if err := f.s.ActivatePushToken(ctx, []byte("code1"), store.PushDevice{TokenID: tok.ID, PublicKey: []byte("k"), CreatedAt: t0}, t0,
			store.Event{OrgID: f.org.ID, At: t0, Action: "push.activate"}); err != nil {
			t.Fatal(err)
		}
		ev := func(action string) store.Event {
			return store.Event{OrgID: f.org.ID, At: t0, Action: action, Result: "ok"}
		}
		list := func() []store.WebPushSubscription {
			t.Helper()
			subs, err := f.s.WebPushSubscriptions(ctx, f.org.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return subs
		}
		if subs := list(); len(subs) != 0 {
			t.Fatalf("before any: %+v", subs)
		}
		first := store.WebPushSubscription{TokenID: tok.ID, Endpoint: "https://push.example/a", P256dh: []byte("key-a"), Auth: []byte("auth-a"), CreatedAt: t0}
		if err := f.s.PutWebPushSubscription(ctx, first, ev("webpush.subscribe")); err != nil {
			t.Fatal(err)
		}
		// A token not yet active is never sent to.
		if err := f.s.PutWebPushSubscription(ctx, store.WebPushSubscription{TokenID: assigned.ID, Endpoint: "https://push.example/x",
			P256dh: []byte("k"), Auth: []byte("a"), CreatedAt: t0}, ev("webpush.subscribe")); err != nil {
			t.Fatal(err)
		}
		second := first
		second.Endpoint, second.P256dh, second.Auth = "https://push.example/b", []byte("key-b"), []byte("auth-b")
		if err := f.s.PutWebPushSubscription(ctx, second, ev("webpush.subscribe")); err != nil {
			t.Fatal(err)
		}
		subs := list()
		if len(subs) != 1 || subs[0].Serial != "PUSH0001" || subs[0].Endpoint != second.Endpoint || string(subs[0].P256dh) != "key-b" ||
			string(subs[0].Auth) != "auth-b" || !subs[0].CreatedAt.Equal(t0) {
			t.Fatalf("after replacing: %+v", subs)
		}
		if other, err := f.s.WebPushSubscriptions(ctx, f.org.ID, "bob"); err != nil || len(other) != 0 {
			t.Errorf("another user's: %+v, %v", other, err)
		}

		// A "gone" for the old endpoint leaves the new one.
		if err := f.s.DeleteWebPushSubscription(ctx, tok.ID, first.Endpoint, ev("webpush.gone")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting the old endpoint: %v, want ErrNotFound", err)
		}
		if events, err := f.s.Events(ctx, f.org.ID, 1); err != nil || events[0].Action != "webpush.subscribe" {
			t.Errorf("a refused delete was audited: %+v, %v", events, err)
		}
		if err := f.s.DeleteWebPushSubscription(ctx, tok.ID, second.Endpoint, ev("webpush.gone")); err != nil {
			t.Fatal(err)
		}
		if subs := list(); len(subs) != 0 {
			t.Fatalf("after deleting: %+v", subs)
		}
		if events, err := f.s.Events(ctx, f.org.ID, 1); err != nil || events[0].Action != "webpush.gone" {
			t.Errorf("newest event %+v, %v", events, err)
		}
		if err := f.s.PutWebPushSubscription(ctx, first, ev("webpush.subscribe")); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteWebPushSubscription(ctx, tok.ID, "", ev("webpush.unsubscribe")); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteWebPushSubscription(ctx, tok.ID, "", ev("webpush.unsubscribe")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting twice: %v, want ErrNotFound", err)
		}
	})
}
