package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Policy returns an organization's policy as stored, read afresh. It is
// not validated, so that a policy holding a value no longer allowed can
// still be shown and corrected.
func (s *Service) Policy(ctx context.Context, org store.Org) (policy.Policy, error) {
	p, _, err := s.storedPolicy(ctx, org)
	return p, err
}

// storedPolicy reads the policy afresh with its revision.
func (s *Service) storedPolicy(ctx context.Context, org store.Org) (policy.Policy, int64, error) {
	current, err := s.Store.OrgByID(ctx, org.ID)
	if err != nil {
		return policy.Policy{}, 0, err
	}
	p, err := policy.Decode(current.Policy)
	if err != nil {
		return policy.Policy{}, 0, fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	return p, current.PolicyRev, nil
}

// SetPolicy changes settings of an organization's policy, named by their
// keys (see policy.Policy.Settings), to values written as text. Either all
// changes are made or, when any is refused, none; the refusal names every
// problem, each a *policy.KeyError when it is about one setting. It returns the resulting policy. Changes that leave every value
// as it was write nothing.
func (s *Service) SetPolicy(ctx context.Context, org store.Org, changes map[string]string) (policy.Policy, error) {
	if len(changes) == 0 {
		return policy.Policy{}, invalid("name at least one setting to change, as key=value")
	}
	// Start from the stored policy rather than org.Policy, which the
	// caller may have read a while ago.
	old, rev, err := s.storedPolicy(ctx, org)
	if err != nil {
		return policy.Policy{}, err
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := old
	var errs []error
	for _, k := range keys {
		if err := p.Set(k, changes[k]); err != nil {
			errs = append(errs, err)
		}
	}
	// Validate even after a refused value: the operator learns of every
	// problem at once. A refused value leaves its setting as it was.
	errs = append(errs, p.Validate())
	if err := errors.Join(errs...); err != nil {
		// Wrapped, not written out, so that the console finds each
		// refusal's setting (policy.KeyError) to show it on its field.
		return policy.Policy{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	diff := policy.Changes(old, p)
	if len(diff) == 0 {
		return p, nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return policy.Policy{}, err
	}
	e := s.event(org.ID, "policy.set", org.Slug)
	e.Detail = changeDetail(diff)
	err = s.Store.SetPolicy(ctx, org.ID, rev, data, e)
	if errors.Is(err, store.ErrChanged) {
		return policy.Policy{}, invalid("the policy of %s was changed by someone else meanwhile; look at it again (twofold policy show %s) and repeat the change", org.Slug, org.Slug)
	}
	if err != nil {
		return policy.Policy{}, err
	}
	return p, nil
}

// changeDetail writes changes for the audit log, old values included;
// a policy holds no secrets.
func changeDetail(cs []policy.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s=%s (was %s)", c.Key, c.New, c.Old)
	}
	return strings.Join(parts, ", ")
}
