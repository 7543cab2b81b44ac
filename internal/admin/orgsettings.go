package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The limits of an organization's settings, in characters.
const (
	MaxSupportContact = 200
	MaxContinueURL    = 2000
	// MaxSenderName keeps the From line readable in a mail client's list.
	MaxSenderName = 100
)

// MaxLogoBytes is the largest logo accepted: enough for a sharp logo on
// a page, small enough to serve on every page view without a thought.
const MaxLogoBytes = 64 << 10

// LogoTypes are the content types a logo may have. SVG is not among
// them: it can carry script, which would run on the organization's pages
// when the logo is opened on its own.
var LogoTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// OrgSettingsChange names the settings to change, each to a new value;
// a nil field is left as it is and an empty value clears the setting.
type OrgSettingsChange struct {
	SupportContact *string // see store.OrgSettings; at most MaxSupportContact characters
	ContinueURL    *string // https (http only for localhost), no user name or password
	SenderName     *string // at most MaxSenderName characters, without <, > or @
}

// SetOrgSettings changes the settings c names, all of them or, when one
// is refused, none. Settings given the value they have write nothing. It
// returns the organization as changed.
func (s *Service) SetOrgSettings(ctx context.Context, org store.Org, c OrgSettingsChange) (store.Org, error) {
	if c.SupportContact == nil && c.ContinueURL == nil && c.SenderName == nil {
		return store.Org{}, invalid("name at least one setting to change: the support contact, the continue URL or the sender name")
	}
	// Start from the stored settings rather than org's, which the caller
	// may have read a while ago.
	current, err := s.Store.OrgByID(ctx, org.ID)
	if err != nil {
		return store.Org{}, err
	}
	to, err := changeSettings(current.OrgSettings, c)
	if err != nil {
		return store.Org{}, err
	}
	diff := settingsChanges(current.OrgSettings, to)
	if len(diff) == 0 {
		return current, nil
	}
	e := s.event(org.ID, "org.settings", org.Slug)
	e.Detail = changeDetail(diff)
	err = s.Store.SetOrgSettings(ctx, org.ID, current.OrgSettings, to, e)
	if errors.Is(err, store.ErrChanged) {
		return store.Org{}, invalid("the settings of %s were changed by someone else meanwhile; look at them again (twofold org show %s) and repeat the change", org.Slug, org.Slug)
	}
	if err != nil {
		return store.Org{}, err
	}
	current.OrgSettings = to
	return current, nil
}

// changeSettings applies c to from, checking each value c names; the
// error names the first refused.
func changeSettings(from store.OrgSettings, c OrgSettingsChange) (store.OrgSettings, error) {
	to := from
	for _, f := range []struct {
		value *string
		field *string
		check func(string) (string, error)
	}{
		{c.SupportContact, &to.SupportContact, checkSupportContact},
		{c.ContinueURL, &to.ContinueURL, checkContinueURL},
		{c.SenderName, &to.SenderName, checkSenderName},
	} {
		if f.value == nil {
			continue
		}
		var err error
		if *f.field, err = f.check(*f.value); err != nil {
			return store.OrgSettings{}, err
		}
	}
	return to, nil
}

func checkSupportContact(v string) (string, error) {
	return labelMax("the support contact", v, MaxSupportContact)
}

// OrgProfileChange names what SetOrgProfile changes: the display name
// (under RenameOrg's rules), the settings (under SetOrgSettings') and
// the policy's time zone (under SetPolicy's); a nil field is left as it is.
type OrgProfileChange struct {
	Name *string
	OrgSettingsChange
	TimeZone *string
}

// SetOrgProfile changes what c names of an organization — its name, its
// settings and its time zone — all of them or, when any is refused, none:
// everything is checked before anything is written, and the writes are
// one transaction. Each refusal is a *policy.KeyError naming the field
// ("name", "support_contact", "continue_url", "sender_name",
// "time_zone") and wrapping ErrInvalid; the error joins them all. What
// is given the value it has writes nothing. Each part changed is audited
// as its own method audits it (org.rename, org.settings, policy.set). It
// returns the organization as changed.
func (s *Service) SetOrgProfile(ctx context.Context, org store.Org, c OrgProfileChange) (store.Org, error) {
	current, err := s.Store.OrgByID(ctx, org.ID)
	if err != nil {
		return store.Org{}, err
	}
	var u store.OrgUpdate
	var errs []error
	refuse := func(key string, err error) { errs = append(errs, &policy.KeyError{Key: key, Err: err}) }
	if c.Name != nil {
		name, err := label("an organization's name", *c.Name)
		switch {
		case err != nil:
			refuse("name", err)
		case name == "":
			refuse("name", invalid("an organization's name may not be empty"))
		case current.Slug == store.ProviderSlug && name != current.Name:
			refuse("name", invalid("the service provider's own organization cannot be renamed"))
		case name != current.Name:
			e := s.event(org.ID, "org.rename", current.Slug)
			e.Detail = "from " + current.Name
			u.Name, u.NameEvent = name, &e
		}
	}
	for _, f := range []struct {
		key   string
		value *string
		check func(string) (string, error)
	}{
		{"support_contact", c.SupportContact, checkSupportContact},
		{"continue_url", c.ContinueURL, checkContinueURL},
		{"sender_name", c.SenderName, checkSenderName},
	} {
		if f.value != nil {
			if _, err := f.check(*f.value); err != nil {
				refuse(f.key, err)
			}
		}
	}
	to, err := changeSettings(current.OrgSettings, c.OrgSettingsChange)
	if err == nil {
		if diff := settingsChanges(current.OrgSettings, to); len(diff) > 0 {
			e := s.event(org.ID, "org.settings", current.Slug)
			e.Detail = changeDetail(diff)
			u.SettingsFrom, u.SettingsTo, u.SettingsEvent = current.OrgSettings, to, &e
		}
	}
	var pol policy.Policy
	if c.TimeZone != nil {
		old, err := policy.Decode(current.Policy)
		if err != nil {
			return store.Org{}, fmt.Errorf("organization %s: %w", current.Slug, err)
		}
		// Only the time zone is checked: a stored policy holding a value
		// no longer allowed is no reason to refuse it.
		tz := strings.TrimSpace(*c.TimeZone)
		pol = old
		if err := pol.Set("time_zone", tz); err != nil {
			refuse("time_zone", fmt.Errorf("%w: %w", ErrInvalid, err))
		} else if _, lerr := time.LoadLocation(tz); lerr != nil || tz == "" || tz == "Local" {
			refuse("time_zone", invalid("the time zone must be an IANA time zone name such as Europe/Amsterdam, not %q", tz))
		} else if diff := policy.Changes(old, pol); len(diff) > 0 {
			data, err := json.Marshal(pol)
			if err != nil {
				return store.Org{}, err
			}
			e := s.event(org.ID, "policy.set", current.Slug)
			e.Detail = changeDetail(diff)
			u.Policy, u.PolicyRev, u.PolicyEvent = data, current.PolicyRev, &e
		}
	}
	if len(errs) > 0 {
		return store.Org{}, errors.Join(errs...)
	}
	if u.NameEvent == nil && u.SettingsEvent == nil && u.PolicyEvent == nil {
		return current, nil
	}
	err = s.Store.UpdateOrg(ctx, org.ID, u)
	if errors.Is(err, store.ErrChanged) || errors.Is(err, store.ErrNotFound) {
		return store.Org{}, invalid("the settings of %s were changed by someone else meanwhile; look at them again and repeat the change", current.Slug)
	}
	if err != nil {
		return store.Org{}, err
	}
	if u.NameEvent != nil {
		current.Name = u.Name
	}
	current.OrgSettings = to
	if u.PolicyEvent != nil {
		current.Policy, current.PolicyRev = u.Policy, current.PolicyRev+1
	}
	return current, nil
}

// settingsChanges lists the settings that differ, for the audit log
// (changeDetail quotes what needs it).
func settingsChanges(from, to store.OrgSettings) []policy.Change {
	var cs []policy.Change
	for _, f := range []struct{ key, from, to string }{
		{"support_contact", from.SupportContact, to.SupportContact},
		{"continue_url", from.ContinueURL, to.ContinueURL},
		{"sender_name", from.SenderName, to.SenderName},
	} {
		if f.from != f.to {
			cs = append(cs, policy.Change{Key: f.key, Old: f.from, New: f.to})
		}
	}
	return cs
}

// checkSenderName checks the display name of mails' From. It may not
// hold what makes a mail client show it as an address, so that the name
// cannot pass for a sender other than the configured address.
func checkSenderName(name string) (string, error) {
	name, err := labelMax("the sender name", name, MaxSenderName)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(name, "<>@") {
		return "", invalid("the sender name may not contain <, > or @, which would make it look like an address: %q", name)
	}
	return name, nil
}

// checkContinueURL checks where users are sent once enrolled. The pages
// link there from the organization's name, so it must be a URL a browser
// opens safely: https, or http to the operator's own machine while
// trying things out, and without a user name or password, which would
// make a link look like it goes to one host while it goes to another.
func checkContinueURL(raw string) (string, error) {
	raw, err := labelMax("the continue URL", raw, MaxContinueURL)
	if err != nil || raw == "" {
		return raw, err
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || strings.ContainsAny(raw, " \\") {
		return "", invalid("the continue URL %q is not an absolute URL such as https://intranet.example.org/welcome", raw)
	}
	if u.User != nil {
		return "", invalid("the continue URL may not hold a user name or password: %q", raw)
	}
	host := u.Hostname()
	local := strings.EqualFold(host, "localhost") || host == "127.0.0.1"
	if u.Scheme != "https" && !(u.Scheme == "http" && local) {
		return "", invalid("the continue URL must start with https:// (http:// only for localhost or 127.0.0.1), not %q", raw)
	}
	return raw, nil
}

// LogoType checks data as an organization's logo and returns its content
// type, found from the bytes themselves (http.DetectContentType), never
// from a file name or a type the uploader declares, so what is served is
// what it is.
func LogoType(data []byte) (string, error) {
	if len(data) == 0 {
		return "", invalid("the logo is empty")
	}
	if len(data) > MaxLogoBytes {
		return "", invalid("the logo is %d bytes; it may be at most %d bytes (%d KiB)", len(data), MaxLogoBytes, MaxLogoBytes>>10)
	}
	typ := http.DetectContentType(data)
	if !contains(LogoTypes, typ) {
		return "", invalid("the logo is %s; it must be an image of type %s (SVG is not accepted: it can carry script)", typ, strings.Join(LogoTypes, ", "))
	}
	return typ, nil
}

// SetOrgLogo gives an organization the logo data (see LogoType) in place
// of any it had. The same logo again writes nothing. It returns the
// organization as changed.
func (s *Service) SetOrgLogo(ctx context.Context, org store.Org, data []byte) (store.Org, error) {
	typ, err := LogoType(data)
	if err != nil {
		return store.Org{}, err
	}
	e := s.event(org.ID, "org.logo", org.Slug)
	e.Detail = fmt.Sprintf("set %s, %d bytes", typ, len(data))
	if err := s.Store.SetOrgLogo(ctx, org.ID, data, typ, e); err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Org{}, err
	}
	org.LogoHash = store.LogoHash(data)
	return org, nil
}

// RemoveOrgLogo removes an organization's logo; without one it writes
// nothing. It returns the organization as changed.
func (s *Service) RemoveOrgLogo(ctx context.Context, org store.Org) (store.Org, error) {
	e := s.event(org.ID, "org.logo", org.Slug)
	e.Detail = "removed"
	if err := s.Store.RemoveOrgLogo(ctx, org.ID, e); err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Org{}, err
	}
	org.LogoHash = ""
	return org, nil
}
