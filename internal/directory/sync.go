package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Kinds of change a sync makes.
const (
	Create  = "create"
	Update  = "update"
	Disable = "disable"
	Enable  = "enable"
)

// Change is one change a sync makes, or would make in a dry run.
type Change struct {
	Kind     string // Create, Update, Disable or Enable
	Username string
	Detail   string // what changes, for people and the audit log
}

// Report says what a sync did, or would do in a dry run.
type Report struct {
	DryRun                                         bool
	Found                                          int // entries the search returned
	Created, Updated, Disabled, Enabled, Unchanged int
	Skipped                                        []string // entries not taken, each with why
	Changes                                        []Change
}

// Summary is the report in one line.
func (r Report) Summary() string {
	if r.DryRun {
		return fmt.Sprintf("dry run, nothing changed; %d found: would create %d, update %d, disable %d, enable %d; %d unchanged, %d skipped",
			r.Found, r.Created, r.Updated, r.Disabled, r.Enabled, r.Unchanged, len(r.Skipped))
	}
	return fmt.Sprintf("%d found: %d created, %d updated, %d disabled, %d enabled, %d unchanged, %d skipped",
		r.Found, r.Created, r.Updated, r.Disabled, r.Enabled, r.Unchanged, len(r.Skipped))
}

// leaseFor is how long a sync holds its lease: longer than any sync
// takes, short enough that a sync whose process died is taken up again.
const leaseFor = 15 * time.Minute

// ErrBusy means another sync of the organization is running.
var ErrBusy = errors.New("directory: a sync of this organization is running")

// userAccountControl's bit for a disabled Active Directory account.
const accountDisabled = 0x2

// entry is a user as the directory has it.
type entry struct {
	dn                                     string
	username, email, displayName, language string
	role                                   string
	disabled                               bool // disabled in the directory
}

// Sync brings org's users in line with its directory: entries new to it
// become users, changed attributes are updated, and users the sync
// manages that left the directory, or are disabled there, are disabled —
// never deleted; those it disabled are enabled again when they return.
// A user an operator disabled stays disabled. The changes are one
// transaction with an audit event each and a summary event. A dry run
// reads the directory and reports what would change, changing nothing.
func (s *Service) Sync(ctx context.Context, org store.Org, dryRun bool) (Report, error) {
	if org.Slug == store.ProviderSlug {
		return Report{}, invalid("the service provider's organization has no directory")
	}
	set, password, err := s.load(ctx, org.ID)
	if errors.Is(err, store.ErrNotFound) {
		return Report{}, invalid("organization %s has no directory; connect one first (twofold directory set %s url=… base_dn=…)", org.Slug, org.Slug)
	}
	if err != nil {
		return Report{}, err
	}
	if err := set.Ready(); err != nil {
		return Report{}, invalid("%v; set it with twofold directory set %s", err, org.Slug)
	}
	if dryRun {
		return s.sync(ctx, org, set, password, true)
	}
	now := s.Clock.Now()
	ok, err := s.Store.ClaimDirectorySync(ctx, org.ID, now, now.Add(leaseFor))
	if err != nil {
		return Report{}, err
	}
	if !ok {
		return Report{}, fmt.Errorf("%w; try again once it has ended", ErrBusy)
	}
	return s.syncHeld(ctx, org, set, password)
}

// syncHeld syncs org while holding its lease, and gives the lease back
// with the outcome.
func (s *Service) syncHeld(ctx context.Context, org store.Org, set Settings, password string) (Report, error) {
	r, err := s.sync(ctx, org, set, password, false)
	result := r.Summary()
	if err != nil {
		result = "failed: " + err.Error()
		// A failed sync changed nothing; the audit log says it was tried.
		e := s.event(org, "directory.sync", org.Slug)
		e.Result, e.Detail = "error", result
		if aerr := s.Store.Audit(context.WithoutCancel(ctx), e); aerr != nil {
			s.log().Error("directory: a failed sync not audited", "org", org.Slug, "err", aerr)
		}
	}
	// The lease goes back even when ctx has ended, or the next sync
	// waits for it to run out.
	if ferr := s.Store.FinishDirectorySync(context.WithoutCancel(ctx), org.ID, s.Clock.Now(), result); ferr != nil && err == nil {
		err = ferr
	}
	return r, err
}

func (s *Service) sync(ctx context.Context, org store.Org, set Settings, password string, dryRun bool) (Report, error) {
	entries, skipped, found, err := s.search(ctx, set, password)
	if err != nil {
		return Report{}, err
	}
	if found == 0 {
		// An empty result is far likelier a wrong base DN or filter than
		// a directory that lost everyone: disabling every user for it
		// would lock the organization out.
		return Report{}, fmt.Errorf("the directory search found no entries under %s matching %s; nothing changed (check base_dn and filter)", set.BaseDN, set.Filter)
	}
	accounts, err := s.Store.Accounts(ctx, org.ID)
	if err != nil {
		return Report{}, err
	}
	_, mapRoles := set.rolesMapped()
	r := Report{DryRun: dryRun, Found: found, Skipped: skipped}
	// The admin rule that a user whose sign-in depends on the address
	// keeps it holds for the sync too.
	var lookupErr error
	needsEmail := func(a store.Account) bool {
		ts, err := s.Store.Tokens(ctx, org.ID, a.ID)
		if err != nil {
			lookupErr = err
			return true
		}
		for _, t := range ts {
			if t.Type == "email" && t.State != store.TokenRevoked {
				return true
			}
		}
		return false
	}
	changes := plan(entries, accounts, set, mapRoles, needsEmail, &r)
	if lookupErr != nil {
		return Report{}, lookupErr
	}
	if dryRun || len(changes) == 0 {
		if !dryRun {
			return r, s.Store.Audit(ctx, s.summaryEvent(org, r))
		}
		return r, nil
	}
	now := s.Clock.Now()
	for i := range changes {
		c := &changes[i]
		c.CreatedAt = now
		c.Event.OrgID, c.Event.At, c.Event.Actor, c.Event.Result = org.ID, now, s.Actor, "ok"
		c.Event.Target = org.Slug + "/" + c.Username
	}
	if err := s.Store.ApplyAccountChanges(ctx, org.ID, changes, s.summaryEvent(org, r)); err != nil {
		if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrChanged) {
			return Report{}, fmt.Errorf("a user was added, deleted or disabled meanwhile; nothing changed, sync again: %w", err)
		}
		return Report{}, err
	}
	return r, nil
}

func (s *Service) summaryEvent(org store.Org, r Report) store.Event {
	e := s.event(org, "directory.sync", org.Slug)
	e.Detail = r.Summary()
	return e
}

// rolesMapped returns the group → role mapping and whether there is one:
// without one, roles are left as operators set them.
func (s Settings) rolesMapped() ([]RoleGroup, bool) {
	gs, err := ParseRoles(s.Roles)
	return gs, err == nil && len(gs) > 0
}

// plan compares the directory's entries with the organization's users
// and returns the changes to make, counting them in r. needsEmail says
// whether a user's address may not be taken away.
func plan(entries []entry, accounts []store.Account, set Settings, mapRoles bool, needsEmail func(store.Account) bool, r *Report) []store.AccountChange {
	byName := make(map[string]store.Account, len(accounts))
	for _, a := range accounts {
		byName[a.Username] = a
	}
	seen := make(map[string]bool, len(entries))
	var cs []store.AccountChange
	add := func(kind string, a store.Account, was, detail string, emailChanged bool) {
		action := "directory.user." + kind
		cs = append(cs, store.AccountChange{Account: a, WasStatus: was, EmailChanged: emailChanged, Event: store.Event{Action: action, Detail: detail}})
		r.Changes = append(r.Changes, Change{Kind: kind, Username: a.Username, Detail: detail})
		switch kind {
		case Create:
			r.Created++
		case Update:
			r.Updated++
		case Disable:
			r.Disabled++
		case Enable:
			r.Enabled++
		}
	}
	for _, e := range entries {
		seen[e.username] = true
		cur, exists := byName[e.username]
		if !exists {
			if e.disabled {
				// Not brought in while the directory keeps it disabled.
				r.Skipped = append(r.Skipped, e.username+": disabled in the directory")
				continue
			}
			a := store.Account{Username: e.username, Email: e.email, DisplayName: e.displayName, Language: e.language,
				Role: store.RoleUser, Status: store.UserActive, FromDirectory: true}
			if mapRoles {
				a.Role = e.role
			}
			add(Create, a, "", fmt.Sprintf("from %s", e.dn), false)
			continue
		}
		to := cur
		to.FromDirectory = true
		var diff []string
		field := func(key string, mapped bool, from string, dst *string, value string) {
			if mapped && from != value {
				diff = append(diff, fmt.Sprintf("%s: %q -> %q", key, from, value))
				*dst = value
			}
		}
		keepEmail := e.email == "" && cur.Email != "" && set.EmailAttr != "" && needsEmail(cur)
		if keepEmail {
			r.Skipped = append(r.Skipped, fmt.Sprintf("%s: email address kept though the directory has none: the user's email authenticator needs it (revoke it first)", e.username))
		}
		field("email", set.EmailAttr != "" && !keepEmail, cur.Email, &to.Email, e.email)
		field("display_name", set.DisplayAttr != "", cur.DisplayName, &to.DisplayName, e.displayName)
		field("language", set.LanguageAttr != "", cur.Language, &to.Language, e.language)
		field("role", mapRoles, cur.Role, &to.Role, e.role)
		if !cur.FromDirectory {
			diff = append(diff, "now managed by the directory")
		}
		kind, why := Update, ""
		switch {
		case e.disabled && cur.Status == store.UserActive:
			kind, why = Disable, "disabled in the directory"
			to.Status, to.DirectoryDisabled = store.UserDisabled, true
		case !e.disabled && cur.Status != store.UserActive && cur.DirectoryDisabled:
			kind, why = Enable, "back in the directory"
			to.Status, to.DirectoryDisabled = store.UserActive, false
		}
		if kind == Update && len(diff) == 0 {
			r.Unchanged++
			continue
		}
		if why != "" {
			diff = append([]string{why}, diff...)
		}
		add(kind, to, cur.Status, strings.Join(diff, "; "), to.Email != cur.Email)
	}
	for _, a := range accounts {
		if !a.FromDirectory || seen[a.Username] {
			continue
		}
		if a.Status != store.UserActive {
			r.Unchanged++
			continue
		}
		a.Status, a.DirectoryDisabled = store.UserDisabled, true
		add(Disable, a, store.UserActive, "gone from the directory", false)
	}
	return cs
}

// search reads the users from the directory: a paged search under the
// base DN, each entry checked as a new user would be (admin.ProfileOf);
// those refused are skipped, each with why. found counts the entries the
// search returned.
func (s *Service) search(ctx context.Context, set Settings, password string) (entries []entry, skipped []string, found int, err error) {
	ctx, cancel := deadline(ctx, set, 20)
	defer cancel()
	conn, err := connect(ctx, set)
	if err != nil {
		return nil, nil, 0, err
	}
	defer conn.Close()
	if err := bindService(conn, set, password); err != nil {
		return nil, nil, 0, err
	}
	groups, mapRoles := set.rolesMapped()
	members, err := groupMembers(conn, groups)
	if err != nil {
		return nil, nil, 0, err
	}
	attrs := []string{set.UsernameAttr, "userAccountControl"}
	for _, a := range []string{set.EmailAttr, set.DisplayAttr, set.LanguageAttr} {
		if a != "" {
			attrs = append(attrs, a)
		}
	}
	req := ldap.NewSearchRequest(set.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, set.Filter, attrs, nil)
	res, err := conn.SearchWithPaging(req, uint32(set.PageSize))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("search %s for %s: %w", set.BaseDN, set.Filter, err)
	}
	names := map[string]string{}
	for _, le := range res.Entries {
		e, err := entryOf(le, set)
		if err != nil {
			skipped = append(skipped, le.DN+": "+strings.TrimPrefix(err.Error(), admin.ErrInvalid.Error()+": "))
			continue
		}
		if other, dup := names[e.username]; dup {
			skipped = append(skipped, fmt.Sprintf("%s: username %s is %s's already", le.DN, e.username, other))
			continue
		}
		names[e.username] = le.DN
		if mapRoles {
			e.role = store.RoleUser
			key := dnKey(le.DN)
			for _, g := range groups {
				if members[dnKey(g.DN.String())][key] && rank(g.Role) > rank(e.role) {
					e.role = g.Role
				}
			}
		}
		entries = append(entries, e)
	}
	return entries, skipped, len(res.Entries), nil
}

// entryOf reads a user from an entry under the settings' mapping.
func entryOf(le *ldap.Entry, set Settings) (entry, error) {
	get := func(attr string) string {
		if attr == "" {
			return ""
		}
		return strings.TrimSpace(le.GetEqualFoldAttributeValue(attr))
	}
	raw := get(set.UsernameAttr)
	if raw == "" {
		return entry{}, fmt.Errorf("no %s", set.UsernameAttr)
	}
	lang := strings.ToLower(get(set.LanguageAttr))
	if len(lang) > 2 {
		// "nl-NL", "de_DE": the language, not the region.
		lang = lang[:2]
	}
	switch lang {
	case "en", "nl", "de":
	default:
		lang = ""
	}
	u, err := admin.ProfileOf(admin.NewUser{Username: raw, Email: get(set.EmailAttr), DisplayName: get(set.DisplayAttr), Language: lang})
	if err != nil {
		return entry{}, err
	}
	uac, _ := strconv.ParseInt(get("userAccountControl"), 10, 64)
	return entry{dn: le.DN, username: u.Username, email: u.Email, displayName: u.DisplayName, language: u.Language,
		disabled: uac&accountDisabled != 0}, nil
}

// groupMembers reads the members of each group, as sets of dnKey.
func groupMembers(conn *ldap.Conn, groups []RoleGroup) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for _, g := range groups {
		dn := g.DN.String()
		req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)",
			[]string{"member", "uniqueMember"}, nil)
		res, err := conn.Search(req)
		if err != nil {
			return nil, fmt.Errorf("read the members of group %s: %w (check the roles setting)", dn, err)
		}
		set := map[string]bool{}
		for _, e := range res.Entries {
			for _, m := range append(e.GetEqualFoldAttributeValues("member"), e.GetEqualFoldAttributeValues("uniqueMember")...) {
				set[dnKey(m)] = true
			}
		}
		out[dnKey(dn)] = set
	}
	return out, nil
}

// dnKey is a DN in a form two spellings of it share: parsed, without
// regard to case.
func dnKey(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}
