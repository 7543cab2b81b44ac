package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twofold-mfa/twofold/internal/store"
)

// ImportedToken is a token read from a seed file, its secret sealed for
// the inventory already (see store.InventorySecretAD), and the user to
// give it to, or nil to keep it in the inventory.
type ImportedToken struct {
	Token store.InventoryToken
	User  *store.User
}

// ImportTokens stores one batch of imported tokens of org in one
// transaction, all or nothing: those without a user go to the inventory,
// the others to their users, active at once (the secret re-sealed for the
// token's row). Each is audited as token.import. A serial taken meanwhile
// refuses the batch (ErrInvalid).
func (s *Service) ImportTokens(ctx context.Context, org store.Org, toks []ImportedToken) error {
	now := s.Clock.Now()
	var stock []store.InventoryToken
	var assigned []*store.Token
	var from []store.InventoryToken // the sealed inventory form of each of assigned
	var events []store.Event
	for _, it := range toks {
		inv := it.Token
		if it.User == nil {
			stock = append(stock, inv)
			e := s.event(org.ID, "token.import", inv.Serial)
			e.Detail = "inventory, " + inv.Type
			events = append(events, e)
			continue
		}
		assigned = append(assigned, &store.Token{
			OrgID: org.ID, UserID: it.User.ID, Serial: inv.Serial, Type: inv.Type, Name: HardwareName(inv),
			State: store.TokenActive, Algorithm: inv.Algorithm, Digits: inv.Digits, Period: inv.Period,
			LastStep: inv.LastStep, CreatedAt: now, ActivatedAt: now,
		})
		from = append(from, inv)
		e := s.event(org.ID, "token.import", org.Slug+"/"+it.User.Username+" "+inv.Serial)
		e.Detail = "assigned, active, " + inv.Type
		events = append(events, e)
	}
	err := s.Store.ImportTokens(ctx, stock, assigned, func(i int, t store.Token) ([]byte, error) {
		return s.resealFor(from[i], t)
	}, events)
	if errors.Is(err, store.ErrExists) {
		return invalid("a serial of the batch was taken meanwhile; nothing of the batch was imported (%v)", err)
	}
	return err
}

// resealFor opens an inventory token's secret and seals it for token t's
// row, clearing the plaintext at once.
func (s *Service) resealFor(inv store.InventoryToken, t store.Token) ([]byte, error) {
	return s.Keys.Reseal(inv.Secret, store.InventorySecretAD(inv.OrgID, inv.Serial), store.SecretAD(t))
}

// HardwareName is what a user sees a hardware token called: its maker
// and model, as the seed file names them.
func HardwareName(inv store.InventoryToken) string {
	name := strings.TrimSpace(inv.Manufacturer + " " + inv.Model)
	if name == "" {
		return "hardware token"
	}
	name, err := TokenName(name)
	if err != nil {
		return "hardware token"
	}
	return name
}

// Inventory lists a page of org's unassigned tokens, by serial after
// after (at most limit; 0 means MaxPageSize). Secrets stay sealed.
func (s *Service) Inventory(ctx context.Context, org store.Org, after string, limit int) ([]store.InventoryToken, error) {
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	ts, err := s.Store.Inventory(ctx, org.ID, after, limit)
	for i := range ts {
		ts[i].Secret = nil
	}
	return ts, err
}

// AssignToken gives one of org's unassigned tokens to a user, active at
// once: the user signs in with its next code.
func (s *Service) AssignToken(ctx context.Context, org store.Org, username, serial string) (store.Token, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return store.Token{}, err
	}
	serial = strings.TrimSpace(serial)
	inv, err := s.Store.InventoryToken(ctx, org.ID, serial)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, invalid("organization %s has no unassigned token %q (see: twofold token inventory %s)", org.Slug, serial, org.Slug)
	}
	if err != nil {
		return store.Token{}, err
	}
	now := s.Clock.Now()
	t := store.Token{UserID: u.ID, Name: HardwareName(inv), State: store.TokenActive, CreatedAt: now, ActivatedAt: now}
	t, err = s.Store.AssignInventory(ctx, org.ID, serial, t, s.resealFor, s.event(org.ID, "token.assign", org.Slug+"/"+u.Username+" "+serial))
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, invalid("token %s was assigned meanwhile", serial)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("assign token %s: %w", serial, err)
	}
	return t, nil
}

// ResealInventory re-encrypts every inventory secret not sealed under
// the keyring's newest key, in one transaction, and reports how many it
// changed.
func (s *Service) ResealInventory(ctx context.Context) (int, error) {
	return s.Store.ResealInventory(ctx, func(t store.InventoryToken) ([]byte, bool, error) {
		return s.reseal(t.Secret, store.InventorySecretAD(t.OrgID, t.Serial))
	}, s.event(0, "keys.rotate", fmt.Sprintf("key %d", s.Keys.NewestID())))
}
