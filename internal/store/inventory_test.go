package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestInventory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		s := f.s
		stock := func(serial string) store.InventoryToken {
			return store.InventoryToken{OrgID: f.org.ID, Serial: serial, Type: "hotp", Secret: store.InventorySecretAD(f.org.ID, serial),
				Algorithm: "SHA1", Digits: 6, LastStep: 4, Manufacturer: "Acme", Model: "K1", CreatedAt: t0}
		}
		given := &store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: "HW-GIVEN", Type: "totp", State: store.TokenActive,
			Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0, ActivatedAt: t0}
		seal := func(_ int, tk store.Token) ([]byte, error) { return store.SecretAD(tk), nil }
		ev := store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "token.import", Result: "ok"}
		if err := s.ImportTokens(ctx, []store.InventoryToken{stock("HW-2"), stock("HW-1")}, []*store.Token{given}, seal, []store.Event{ev, ev, ev}); err != nil {
			t.Fatal(err)
		}
		if toks, _ := s.Tokens(ctx, f.org.ID, f.user.ID); len(toks) != 2 || !bytes.Equal(toks[1].Secret, store.SecretAD(toks[1])) {
			t.Errorf("alice's tokens = %+v; want the given one sealed for its row", toks)
		}
		inv, err := s.Inventory(ctx, f.org.ID, "", 10)
		if err != nil || len(inv) != 2 || inv[0].Serial != "HW-1" || inv[0].LastStep != 4 || inv[0].Model != "K1" {
			t.Fatalf("inventory = %+v, %v", inv, err)
		}
		if page, _ := s.Inventory(ctx, f.org.ID, "HW-1", 10); len(page) != 1 || page[0].Serial != "HW-2" {
			t.Errorf("the page after HW-1 = %+v", page)
		}
		taken, err := s.TakenSerials(ctx, []string{"HW-1", "HW-GIVEN", "TOTP0001", "FREE"})
		if err != nil || len(taken) != 3 || taken["FREE"] {
			t.Errorf("TakenSerials = %v, %v", taken, err)
		}

		// A serial taken in either table refuses the whole batch.
		for _, dup := range []string{"HW-1", "TOTP0001"} {
			err := s.ImportTokens(ctx, []store.InventoryToken{stock("HW-NEW"), stock(dup)}, nil, seal, nil)
			if !errors.Is(err, store.ErrExists) {
				t.Errorf("serial %s again: %v, want ErrExists", dup, err)
			}
		}
		if _, err := s.InventoryToken(ctx, f.org.ID, "HW-NEW"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused batch left HW-NEW: %v", err)
		}

		tk, err := s.AssignInventory(ctx, f.org.ID, "HW-1", store.Token{UserID: f.user.ID, Name: "Acme K1", State: store.TokenActive, CreatedAt: t0, ActivatedAt: t0},
			func(inv store.InventoryToken, tk store.Token) ([]byte, error) {
				if !bytes.Equal(inv.Secret, store.InventorySecretAD(f.org.ID, "HW-1")) {
					return nil, fmt.Errorf("inventory secret %q", inv.Secret)
				}
				return store.SecretAD(tk), nil
			}, ev)
		if err != nil || tk.ID == 0 || tk.LastStep != 4 || tk.Type != "hotp" {
			t.Fatalf("AssignInventory = %+v, %v", tk, err)
		}
		if got, _ := s.TokenBySerial(ctx, f.org.ID, "HW-1"); !bytes.Equal(got.Secret, store.SecretAD(got)) || got.UserID != f.user.ID {
			t.Errorf("assigned token = %+v", got)
		}
		if _, err := s.AssignInventory(ctx, f.org.ID, "HW-1", store.Token{UserID: f.user.ID}, nil, ev); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("assigning it twice: %v", err)
		}
		// A failed re-seal leaves the token where it was.
		if _, err := s.AssignInventory(ctx, f.org.ID, "HW-2", store.Token{UserID: f.user.ID, State: store.TokenActive},
			func(store.InventoryToken, store.Token) ([]byte, error) { return nil, errors.New("no key") }, ev); err == nil {
			t.Error("a failed re-seal: no error")
		}
		if _, err := s.InventoryToken(ctx, f.org.ID, "HW-2"); err != nil {
			t.Errorf("after a failed assignment HW-2 is gone: %v", err)
		}

		n, err := s.ResealInventory(ctx, func(inv store.InventoryToken) ([]byte, bool, error) { return []byte("new"), true, nil }, ev)
		if got, _ := s.InventoryToken(ctx, f.org.ID, "HW-2"); err != nil || n != 1 || string(got.Secret) != "new" {
			t.Errorf("ResealInventory = %d, %v; secret %q", n, err, got.Secret)
		}
	})
}

func TestClaimInventory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		s := f.s
		inv := store.InventoryToken{OrgID: f.org.ID, Serial: "HW-C", Type: "hotp", Secret: store.InventorySecretAD(f.org.ID, "HW-C"),
			Algorithm: "SHA1", Digits: 6, LastStep: 4, CreatedAt: t0}
		if err := s.ImportTokens(ctx, []store.InventoryToken{inv}, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ReserveAttempt(ctx, f.user.ID, t0, guessLockout); err != nil {
			t.Fatal(err)
		}
		reseal := func(inv store.InventoryToken, tk store.Token) ([]byte, error) { return store.SecretAD(tk), nil }
		at := t0.Add(time.Minute)
		claim := func(step int64) (store.Token, error) {
			tk := store.Token{UserID: f.user.ID, Name: "Key", State: store.TokenActive, CreatedAt: at, ActivatedAt: at}
			c := store.Consumption{UserID: f.user.ID, Step: step, At: at,
				Event: store.Event{OrgID: f.org.ID, At: at, Actor: "portal", Action: "token.claim", Target: "alice HW-C", Result: "accept"}}
			return s.ClaimInventory(ctx, f.org.ID, "HW-C", tk, reseal, c)
		}

		// A step at or before the token's last one claims nothing.
		if _, err := claim(4); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("a claim at the last step: %v, want ErrNotConsumed", err)
		}
		if _, err := s.InventoryToken(ctx, f.org.ID, "HW-C"); err != nil {
			t.Fatalf("a refused claim took the token: %v", err)
		}
		if u, _ := s.UserByID(ctx, f.org.ID, f.user.ID); u.Failures != 1 {
			t.Errorf("a refused claim reset the failures: %d, want 1", u.Failures)
		}

		tk, err := claim(6)
		if err != nil || tk.ID == 0 {
			t.Fatalf("ClaimInventory = %+v, %v", tk, err)
		}
		got, err := s.TokenBySerial(ctx, f.org.ID, "HW-C")
		if err != nil || got.UserID != f.user.ID || got.State != store.TokenActive || got.LastStep != 6 || !got.LastUsedAt.Equal(at) ||
			!bytes.Equal(got.Secret, store.SecretAD(got)) || got.Name != "Key" {
			t.Errorf("claimed token = %+v, %v; want alice's, active, at step 6, used, sealed for its row", got, err)
		}
		if u, _ := s.UserByID(ctx, f.org.ID, f.user.ID); u.Failures != 0 {
			t.Errorf("after the claim the user has %d failures, want 0", u.Failures)
		}
		if _, err := s.InventoryToken(ctx, f.org.ID, "HW-C"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the claimed token is still in the inventory: %v", err)
		}
		if evs, _ := s.Events(ctx, f.org.ID, 1); len(evs) != 1 || evs[0].Action != "token.claim" {
			t.Errorf("last event = %+v, want the claim", evs)
		}
		if _, err := claim(7); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("claiming it again: %v, want ErrNotFound", err)
		}
	})
}
