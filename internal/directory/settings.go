package directory

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-mfa/twofold/internal/store"
)

// Settings are an organization's directory settings. The bind password
// is not among them: it is sealed apart (store.Directory.BindPassword).
type Settings struct {
	URL            string `json:"url"`
	AllowPlaintext bool   `json:"allow_plaintext"`
	CAFile         string `json:"ca_file"`
	BindDN         string `json:"bind_dn"`
	BaseDN         string `json:"base_dn"`
	Filter         string `json:"filter"`
	UsernameAttr   string `json:"username_attr"`
	EmailAttr      string `json:"email_attr"`
	DisplayAttr    string `json:"display_name_attr"`
	LanguageAttr   string `json:"language_attr"`
	// Roles is the group → role mapping as an operator writes it (see
	// ParseRoles).
	Roles        string        `json:"roles"`
	PageSize     int           `json:"page_size"`
	SyncInterval time.Duration `json:"sync_interval"`
	Timeout      time.Duration `json:"timeout"`
	PasswordAuth bool          `json:"password_auth"`
}

// Limits of the settings.
const (
	MaxPageSize     = 5000
	MinSyncInterval = 5 * time.Minute
	MaxTimeout      = time.Minute
	maxText         = 2000
)

// Defaults are the settings of an organization that has set none: an
// OpenLDAP directory's usual attribute names (see the README for Active
// Directory's).
func Defaults() Settings {
	return Settings{
		Filter: "(objectClass=person)", UsernameAttr: "uid", EmailAttr: "mail", DisplayAttr: "displayName",
		PageSize: 500, Timeout: 10 * time.Second,
	}
}

// Setting is one setting as text, for operators.
type Setting struct {
	Key, Value, Help string
	Kind             string // "bool", "number", "duration" or "text"
}

// setting describes one key of Settings.
type setting struct {
	key, kind, help string
	get             func(*Settings) string
	set             func(*Settings, string) error
}

func text(f func(*Settings) *string, check func(string) error) (func(*Settings) string, func(*Settings, string) error) {
	return func(s *Settings) string { return *f(s) }, func(s *Settings, v string) error {
		if err := check(v); err != nil {
			return err
		}
		*f(s) = v
		return nil
	}
}

func boolean(f func(*Settings) *bool) (func(*Settings) string, func(*Settings, string) error) {
	return func(s *Settings) string { return strconv.FormatBool(*f(s)) }, func(s *Settings, v string) error {
		switch strings.ToLower(v) {
		case "true", "yes", "on", "1":
			*f(s) = true
		case "false", "no", "off", "0":
			*f(s) = false
		default:
			return fmt.Errorf("must be true or false, not %q", v)
		}
		return nil
	}
}

func duration(f func(*Settings) *time.Duration, check func(time.Duration) error) (func(*Settings) string, func(*Settings, string) error) {
	return func(s *Settings) string {
			d := *f(s)
			if d == 0 {
				return "0"
			}
			// 1h0m0s → 1h, 10m0s → 10m, as people write them.
			out := d.String()
			if strings.HasSuffix(out, "m0s") {
				out = strings.TrimSuffix(out, "0s")
			}
			if strings.HasSuffix(out, "h0m") {
				out = strings.TrimSuffix(out, "0m")
			}
			return out
		}, func(s *Settings, v string) error {
			d, err := time.ParseDuration(v)
			if v == "0" {
				d, err = 0, nil
			}
			if err != nil {
				return fmt.Errorf("must be a duration such as 30s, 15m or 1h, not %q", v)
			}
			if err := check(d); err != nil {
				return err
			}
			*f(s) = d
			return nil
		}
}

var settings = func() []setting {
	mk := func(key, kind, help string, get func(*Settings) string, set func(*Settings, string) error) setting {
		return setting{key: key, kind: kind, help: help, get: get, set: set}
	}
	var ss []setting
	add := func(s setting) { ss = append(ss, s) }
	g, s := text(func(s *Settings) *string { return &s.URL }, checkURL)
	add(mk("url", "text", "ldaps://host[:port], or ldap://host[:port], which then uses StartTLS", g, s))
	g, s = boolean(func(s *Settings) *bool { return &s.AllowPlaintext })
	add(mk("allow_plaintext", "bool", "let an ldap:// URL go without TLS, passwords and all in the clear (only for a directory on this machine)", g, s))
	g, s = text(func(s *Settings) *string { return &s.CAFile }, checkCAFile)
	add(mk("ca_file", "text", "PEM file of the CA certificates the directory's certificate is checked against; empty: the system's", g, s))
	g, s = text(func(s *Settings) *string { return &s.BindDN }, checkDN("the bind DN", false))
	add(mk("bind_dn", "text", "the DN of the service account the sync searches with (empty: anonymous)", g, s))
	g, s = text(func(s *Settings) *string { return &s.BaseDN }, checkDN("the base DN", false))
	add(mk("base_dn", "text", "where users are searched for, such as ou=people,dc=example,dc=org", g, s))
	g, s = text(func(s *Settings) *string { return &s.Filter }, checkFilter)
	add(mk("filter", "text", "the LDAP filter the users match", g, s))
	g, s = text(func(s *Settings) *string { return &s.UsernameAttr }, checkAttr("username_attr", true))
	add(mk("username_attr", "text", "the attribute that holds the username (uid; sAMAccountName in Active Directory)", g, s))
	g, s = text(func(s *Settings) *string { return &s.EmailAttr }, checkAttr("email_attr", false))
	add(mk("email_attr", "text", "the attribute that holds the email address (empty: not synced)", g, s))
	g, s = text(func(s *Settings) *string { return &s.DisplayAttr }, checkAttr("display_name_attr", false))
	add(mk("display_name_attr", "text", "the attribute that holds the display name (empty: not synced)", g, s))
	g, s = text(func(s *Settings) *string { return &s.LanguageAttr }, checkAttr("language_attr", false))
	add(mk("language_attr", "text", "the attribute that holds the language, en, nl or de (empty: not synced)", g, s))
	g, s = text(func(s *Settings) *string { return &s.Roles }, func(v string) error { _, err := ParseRoles(v); return err })
	add(mk("roles", "text", "ROLE:GROUP-DN; ...: members of the group get the role, helpdesk or admin; everyone else user (empty: roles not synced)", g, s))
	add(mk("page_size", "number", fmt.Sprintf("entries per page of the search, 1 to %d", MaxPageSize),
		func(s *Settings) string { return strconv.Itoa(s.PageSize) },
		func(s *Settings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxPageSize {
				return fmt.Errorf("must be a whole number from 1 to %d, not %q", MaxPageSize, v)
			}
			s.PageSize = n
			return nil
		}))
	g, s = duration(func(s *Settings) *time.Duration { return &s.SyncInterval }, func(d time.Duration) error {
		if d != 0 && d < MinSyncInterval {
			return fmt.Errorf("must be 0 (sync only when asked) or at least %s", MinSyncInterval)
		}
		return nil
	})
	add(mk("sync_interval", "duration", "how often serve syncs, such as 1h; 0: only when asked (twofold directory sync)", g, s))
	g, s = duration(func(s *Settings) *time.Duration { return &s.Timeout }, func(d time.Duration) error {
		if d < time.Second || d > MaxTimeout {
			return fmt.Errorf("must be from 1s to %s", MaxTimeout)
		}
		return nil
	})
	add(mk("timeout", "duration", "how long to wait for the directory before giving up", g, s))
	g, s = boolean(func(s *Settings) *bool { return &s.PasswordAuth })
	add(mk("password_auth", "bool", "check users' passwords with the directory (a bind as the user) instead of Twofold's own", g, s))
	return ss
}()

// Keys lists the settings' names in the order Settings shows them.
func Keys() []string {
	ks := make([]string, len(settings))
	for i, s := range settings {
		ks[i] = s.key
	}
	return ks
}

// List returns every setting as text, in a fixed order.
func (s Settings) List() []Setting {
	out := make([]Setting, len(settings))
	for i, f := range settings {
		out[i] = Setting{Key: f.key, Value: f.get(&s), Help: f.help, Kind: f.kind}
	}
	return out
}

// KeyError is a refused value of one setting.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Set changes the setting key to value, after checking the value.
func (s *Settings) Set(key, value string) error {
	for _, f := range settings {
		if f.key == key {
			value = strings.TrimSpace(value)
			if len(value) > maxText || strings.ContainsFunc(value, unicode.IsControl) {
				return &KeyError{Key: key, Err: fmt.Errorf("must be at most %d characters without line breaks or other control characters", maxText)}
			}
			if err := f.set(s, value); err != nil {
				return &KeyError{Key: key, Err: err}
			}
			return nil
		}
	}
	return fmt.Errorf("unknown directory setting %q; the settings are %s", key, strings.Join(Keys(), ", "))
}

// Ready says what is missing before the directory can be used.
func (s Settings) Ready() error {
	var missing []string
	if s.URL == "" {
		missing = append(missing, "url")
	}
	if s.BaseDN == "" {
		missing = append(missing, "base_dn")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the directory has no %s yet", strings.Join(missing, " and no "))
	}
	return nil
}

// decode reads stored settings over the defaults.
func decode(data []byte) (Settings, error) {
	s := Defaults()
	if len(data) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Settings{}, fmt.Errorf("directory settings: %w", err)
	}
	return s, nil
}

// Changes lists the settings whose values differ, for the audit log.
func Changes(from, to Settings) []string {
	var cs []string
	a, b := from.List(), to.List()
	for i := range a {
		if a[i].Value != b[i].Value {
			cs = append(cs, fmt.Sprintf("%s: %q -> %q", a[i].Key, a[i].Value, b[i].Value))
		}
	}
	return cs
}

func checkURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must be ldaps://HOST[:PORT] or ldap://HOST[:PORT] (which uses StartTLS), not %q", v)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("the port of %q is not a port number", v)
		}
	}
	return nil
}

func checkCAFile(v string) error {
	if v == "" {
		return nil
	}
	_, err := caPool(v)
	return err
}

// caPool reads the CA certificates of file.
func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

func checkDN(what string, required bool) func(string) error {
	return func(v string) error {
		if v == "" {
			if required {
				return fmt.Errorf("%s may not be empty", what)
			}
			return nil
		}
		if _, err := ldap.ParseDN(v); err != nil {
			return fmt.Errorf("%s %q is not a DN such as ou=people,dc=example,dc=org", what, v)
		}
		return nil
	}
}

func checkFilter(v string) error {
	if v == "" {
		return errors.New("may not be empty; (objectClass=person) matches every person")
	}
	if _, err := ldap.CompileFilter(v); err != nil {
		return fmt.Errorf("%q is not an LDAP filter such as (objectClass=person): %v", v, err)
	}
	return nil
}

// attrPattern is an attribute description: a name or an OID.
var attrPattern = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]{0,63}|[0-9]+(\.[0-9]+)+)$`)

func checkAttr(key string, required bool) func(string) error {
	return func(v string) error {
		if v == "" {
			if required {
				return errors.New("may not be empty")
			}
			return nil
		}
		if !attrPattern.MatchString(v) {
			return fmt.Errorf("%q is not an attribute name such as uid or sAMAccountName", v)
		}
		return nil
	}
}

// RoleGroup gives the members of a group an organization role.
type RoleGroup struct {
	Role string
	DN   *ldap.DN
}

// ParseRoles reads a group → role mapping: entries separated by
// semicolons, each ROLE:GROUP-DN, where ROLE is helpdesk or admin and a
// semicolon within the DN is escaped (\;) as RFC 4514 writes it. A member
// of several groups gets the strongest role; everyone else is a user.
func ParseRoles(v string) ([]RoleGroup, error) {
	var gs []RoleGroup
	for _, part := range splitUnescaped(v, ';') {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role, dn, ok := strings.Cut(part, ":")
		role = strings.ToLower(strings.TrimSpace(role))
		if !ok || (role != store.RoleHelpdesk && role != store.RoleAdmin) {
			return nil, fmt.Errorf("%q should be ROLE:GROUP-DN with ROLE helpdesk or admin, as in admin:cn=twofold-admins,ou=groups,dc=example,dc=org", part)
		}
		parsed, err := ldap.ParseDN(strings.TrimSpace(dn))
		if err != nil || len(parsed.RDNs) == 0 {
			return nil, fmt.Errorf("%q is not a group's DN such as cn=twofold-admins,ou=groups,dc=example,dc=org", strings.TrimSpace(dn))
		}
		gs = append(gs, RoleGroup{Role: role, DN: parsed})
	}
	return gs, nil
}

// splitUnescaped splits s at every sep not escaped by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// rank orders the roles by what they allow.
func rank(role string) int {
	switch role {
	case store.RoleAdmin:
		return 2
	case store.RoleHelpdesk:
		return 1
	}
	return 0
}
