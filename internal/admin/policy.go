package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
// problem, each a *policy.KeyError when it is about one setting. It
// returns the resulting policy. Changes that leave every value as it was
// write nothing.
func (s *Service) SetPolicy(ctx context.Context, org store.Org, changes map[string]string) (policy.Policy, error) {
	// Start from the stored policy rather than org.Policy, which the
	// caller may have read a while ago.
	old, rev, err := s.storedPolicy(ctx, org)
	if err != nil {
		return policy.Policy{}, err
	}
	p, diff, err := changePolicy(old, changes)
	if err != nil || len(diff) == 0 {
		return p, err
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

// changePolicy applies changes, as SetPolicy takes them, to old and
// returns the result with what differs from old. Either all changes are
// made or, when any is refused, none: the error (ErrInvalid) names every
// problem.
func changePolicy(old policy.Policy, changes map[string]string) (policy.Policy, []policy.Change, error) {
	if len(changes) == 0 {
		return policy.Policy{}, nil, invalid("name at least one setting to change, as key=value")
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
		return policy.Policy{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return p, policy.Changes(old, p), nil
}

// PolicyHistory returns the changes of an organization's policy from the
// audit log, newest first, at most limit (0: all): who made each, when,
// and in its detail each setting changed with its new and old value.
// Changes older than the policy's audit retention are gone with the log.
func (s *Service) PolicyHistory(ctx context.Context, org store.Org, limit int) ([]store.Event, error) {
	return s.AuditEvents(ctx, org, AuditQuery{Action: "policy.set", Limit: limit})
}

// DefaultPolicyHistory returns the changes of the default policy, like
// PolicyHistory. They are the installation's events, of no organization.
func (s *Service) DefaultPolicyHistory(ctx context.Context, limit int) ([]store.Event, error) {
	return s.AuditEvents(ctx, store.Org{}, AuditQuery{Action: "policy.default.set", Limit: limit})
}

// DefaultPolicy returns the service provider's default policy, which new
// organizations start with, as stored: like Policy, not validated.
func (s *Service) DefaultPolicy(ctx context.Context) (policy.Policy, error) {
	p, _, err := s.storedDefaultPolicy(ctx)
	return p, err
}

// storedDefaultPolicy reads the default policy with the text it is
// stored as, which a change must start from (see store.SetSetting).
func (s *Service) storedDefaultPolicy(ctx context.Context) (policy.Policy, string, error) {
	raw, err := s.Store.Setting(ctx, store.SettingDefaultPolicy)
	if err != nil {
		return policy.Policy{}, "", err
	}
	p, err := policy.Decode([]byte(raw))
	if err != nil {
		return policy.Policy{}, "", fmt.Errorf("default policy: %w", err)
	}
	return p, raw, nil
}

// SetDefaultPolicy changes settings of the service provider's default
// policy under the rules of SetPolicy. Organizations created afterwards
// start with it; existing ones keep their own. It is audited by the
// service provider (organization 0), as organizations' creation is.
func (s *Service) SetDefaultPolicy(ctx context.Context, changes map[string]string) (policy.Policy, error) {
	old, raw, err := s.storedDefaultPolicy(ctx)
	if err != nil {
		return policy.Policy{}, err
	}
	p, diff, err := changePolicy(old, changes)
	if err != nil || len(diff) == 0 {
		return p, err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return policy.Policy{}, err
	}
	e := s.event(0, "policy.default.set", "default policy")
	e.Detail = changeDetail(diff)
	err = s.Store.SetSetting(ctx, store.SettingDefaultPolicy, raw, string(data), e)
	if errors.Is(err, store.ErrChanged) {
		return policy.Policy{}, invalid("the default policy was changed by someone else meanwhile; look at it again (twofold policy default show) and repeat the change")
	}
	if err != nil {
		return policy.Policy{}, err
	}
	return p, nil
}

// changeDetail writes changes for the audit log, old values included;
// a policy or a profile holds no secrets.
func changeDetail(cs []policy.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s=%s (was %s)", c.Key, detailValue(c.New), detailValue(c.Old))
	}
	return strings.Join(parts, ", ")
}

// detailValue quotes a value that would otherwise read as nothing or run
// into the next change ("Vries, Anna" holds the separator), and leaves
// the common ones (3, 10m, app,email) as they are.
func detailValue(v string) string {
	if v == "" || strings.ContainsAny(v, ` ()"=`) {
		return strconv.Quote(v)
	}
	return v
}
