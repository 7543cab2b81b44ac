package admin

import (
	"context"
	"errors"

	"github.com/twofold-mfa/twofold/internal/store"
)

// NewAccount is a user checked by CheckUser and, when Token is not nil, a
// token to give the user, whose secret is Secret in clear.
type NewAccount struct {
	User   store.User
	Token  *store.Token
	Secret []byte
}

// AddAccounts stores accounts of org in one transaction, all or nothing,
// with the audit events single changes record: "user.add" for each user
// and "token.import" for each token, their detail saying how (detail, such
// as "import" or "synthetic"). Each secret is sealed bound to its token's
// row as EnrollToken seals it, and cleared from memory once sealed. The
// accounts' users and tokens get their ids. A username or serial taken
// meanwhile refuses the whole batch (ErrInvalid).
func (s *Service) AddAccounts(ctx context.Context, org store.Org, accounts []NewAccount, detail string) error {
	if org.Slug == store.ProviderSlug {
		return invalid("the service provider's admins are added with: twofold admin create USER --email ADDRESS")
	}
	batch := make([]store.BulkUser, len(accounts))
	for i, a := range accounts {
		target := org.Slug + "/" + a.User.Username
		e := s.event(org.ID, "user.add", target)
		e.Detail = detail
		batch[i] = store.BulkUser{User: a.User, Token: a.Token, Events: []store.Event{e}}
		if a.Token != nil {
			te := s.event(org.ID, "token.import", target+" "+a.Token.Serial)
			te.Detail = detail + ", " + a.Token.State
			batch[i].Events = append(batch[i].Events, te)
		}
	}
	err := s.Store.AddUsers(ctx, batch, func(i int, t store.Token) ([]byte, error) {
		defer clear(accounts[i].Secret)
		return s.Keys.Seal(accounts[i].Secret, store.SecretAD(t))
	})
	if errors.Is(err, store.ErrExists) {
		return invalid("a username or token serial of the batch was taken meanwhile in %s; nothing of the batch was added", org.Slug)
	}
	if err != nil {
		return err
	}
	for i := range accounts {
		accounts[i].User = batch[i].User // the token is shared, and has its id already
	}
	return nil
}
