package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

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
