// Package admin carries out operators' changes — organizations, users,
// tokens, API keys, master key rotation. Each change is checked, then
// written together with its audit event in one transaction, so a failure
// leaves nothing half-done. The CLI and the admin console both use it.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Service performs operators' changes on behalf of Actor.
type Service struct {
	Store     *store.Store
	Keys      *secret.Keyring
	Hasher    *secret.Hasher // the process's one bounded hasher
	Clock     clock.Clock
	Rand      io.Reader
	PublicURL string // base of enrollment links
	Actor     string // who is acting, for the audit log ("cli", an admin's name)
}

// ErrInvalid wraps every refusal of bad input, so callers can tell the
// operator's mistake from a failure of the system.
var ErrInvalid = errors.New("invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func (s *Service) event(orgID int64, action, target string) store.Event {
	return store.Event{OrgID: orgID, At: s.Clock.Now(), Actor: s.Actor, Action: action, Target: target, Result: "ok"}
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CreateOrg adds an organization with the service provider's default policy.
func (s *Service) CreateOrg(ctx context.Context, slug, name string) (store.Org, error) {
	if !slugPattern.MatchString(slug) {
		return store.Org{}, invalid("organization slug %q must be lower-case letters, digits and hyphens, starting with a letter or digit, at most 63 characters", slug)
	}
	name, err := label("an organization's name", name)
	if err != nil {
		return store.Org{}, err
	}
	if name == "" {
		name = slug
	}
	// A copy: a later change of the default leaves the organization's
	// policy as it was made.
	pol, err := s.Store.Setting(ctx, store.SettingDefaultPolicy)
	if err != nil {
		return store.Org{}, err
	}
	org, err := s.Store.CreateOrg(ctx, store.Org{Slug: slug, Name: name, Policy: []byte(pol), CreatedAt: s.Clock.Now()},
		s.event(0, "org.create", slug))
	if errors.Is(err, store.ErrExists) {
		return store.Org{}, invalid("organization %q exists already", slug)
	}
	return org, err
}

// Org finds an organization by slug.
func (s *Service) Org(ctx context.Context, slug string) (store.Org, error) {
	org, err := s.Store.OrgBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return store.Org{}, invalid("no organization %q (create it with: twofold org create %s)", slug, slug)
	}
	return org, err
}

// User finds a user by name as typed.
func (s *Service) User(ctx context.Context, org store.Org, username string) (store.User, error) {
	u, err := s.Store.UserByName(ctx, org.ID, auth.CanonicalUsername(username))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, invalid("no user %q in organization %q", username, org.Slug)
	}
	return u, err
}

// NewUser describes a user to add.
type NewUser struct {
	Username, Email, DisplayName string
	Password                     string // empty: the user has no password yet
	Role                         string // store.RoleUser (default), store.RoleHelpdesk or store.RoleAdmin
	Language                     string // "en", "nl" or "de" for mail; empty: learnt from the pages the user visits
}

// AddUser adds a user to org.
func (s *Service) AddUser(ctx context.Context, org store.Org, n NewUser) (store.User, error) {
	u, err := s.CheckUser(ctx, org, n)
	if err != nil {
		return store.User{}, err
	}
	u, err = s.Store.CreateUser(ctx, u, s.event(org.ID, "user.add", org.Slug+"/"+u.Username))
	if errors.Is(err, store.ErrExists) {
		return store.User{}, invalid("user %q exists already in organization %q", u.Username, org.Slug)
	}
	return u, err
}

// CheckUser checks n by the rules of AddUser and returns the user AddUser
// would store in org, without storing it: for imports, which check every
// row before they write any.
func (s *Service) CheckUser(ctx context.Context, org store.Org, n NewUser) (store.User, error) {
	if org.Slug == store.ProviderSlug {
		return store.User{}, invalid("the service provider's admins are added with: twofold admin create USER --email ADDRESS")
	}
	return s.newUser(ctx, org, n)
}

// newUser checks n and makes the user to store in org.
func (s *Service) newUser(ctx context.Context, org store.Org, n NewUser) (store.User, error) {
	u, err := ProfileOf(n)
	if err != nil {
		return store.User{}, err
	}
	if n.Password != "" {
		if u.PasswordHash, err = s.hashPassword(ctx, org, u.Username, n.Password, ""); err != nil {
			return store.User{}, err
		}
	}
	u.OrgID, u.CreatedAt = org.ID, s.Clock.Now()
	return u, nil
}

// ProfileOf checks n's username, display name, email address, language
// and role under AddUser's rules, and returns them as a user to store:
// the username canonical, the role user when none is given. The
// password is not looked at. The directory sync checks each entry with it.
func ProfileOf(n NewUser) (store.User, error) {
	// Check the input as given: lower-casing turns invalid UTF-8 into
	// U+FFFD, which would make different names one account.
	if !utf8.ValidString(n.Username) {
		return store.User{}, invalid("username must be 1 to 128 characters of text")
	}
	username := auth.CanonicalUsername(n.Username)
	if err := checkUsername(username); err != nil {
		return store.User{}, err
	}
	displayName, err := label("a display name", n.DisplayName)
	if err != nil {
		return store.User{}, err
	}
	if err := checkEmail(n.Email); err != nil {
		return store.User{}, err
	}
	if err := checkLanguage(n.Language); err != nil {
		return store.User{}, err
	}
	if n.Role == "" {
		n.Role = store.RoleUser
	}
	if err := checkRole(n.Role); err != nil {
		return store.User{}, err
	}
	return store.User{
		Username: username, Email: n.Email, DisplayName: displayName,
		Role: n.Role, Status: store.UserActive, Language: n.Language,
	}, nil
}

// checkEmail refuses an address mail cannot go to; empty is no address.
func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" {
		return invalid("email %q is not an address like alice@example.org", email)
	}
	return nil
}

// checkLanguage refuses a language the mail is not written in; empty
// leaves it to be learnt from the pages the user visits.
func checkLanguage(lang string) error {
	if lang != "" && i18n.Match(lang, "") != lang {
		return invalid("language must be one of en, nl, de, not %q", lang)
	}
	return nil
}

// UserEdit names the profile fields of a user to change; a nil field
// stays as it is. They are checked as AddUser checks them.
type UserEdit struct {
	Email       *string // empty: the user has no address any more
	DisplayName *string
	Language    *string // "en", "nl" or "de"; empty: learnt from the pages the user visits
}

// EditUser changes the fields e names of a user's profile and returns
// the user as changed. Either every change is made or, when one is
// refused, none. Fields given their current value change nothing; when
// none changes, nothing is written. The audit event's detail names each
// field that changed, with its old value.
func (s *Service) EditUser(ctx context.Context, org store.Org, username string, e UserEdit) (store.User, error) {
	if e.Email == nil && e.DisplayName == nil && e.Language == nil {
		return store.User{}, invalid("name at least one field to change: the email address, the display name or the language")
	}
	var ch store.UserChanges
	if e.DisplayName != nil {
		name, err := label("a display name", *e.DisplayName)
		if err != nil {
			return store.User{}, err
		}
		ch.DisplayName = &name
	}
	if e.Email != nil {
		if err := checkEmail(*e.Email); err != nil {
			return store.User{}, err
		}
		ch.Email = e.Email
	}
	if e.Language != nil {
		if err := checkLanguage(*e.Language); err != nil {
			return store.User{}, err
		}
		ch.Language = e.Language
	}
	u, err := s.User(ctx, org, username)
	if err != nil {
		return store.User{}, err
	}
	var diff []policy.Change
	for _, f := range []struct {
		key     string
		to      **string
		current *string
	}{{"email", &ch.Email, &u.Email}, {"display_name", &ch.DisplayName, &u.DisplayName}, {"language", &ch.Language, &u.Language}} {
		if *f.to == nil || **f.to == *f.current {
			*f.to = nil // unchanged: not written, not audited
			continue
		}
		diff = append(diff, policy.Change{Key: f.key, Old: *f.current, New: **f.to})
		*f.current = **f.to
	}
	if len(diff) == 0 {
		return u, nil
	}
	if ch.Email != nil && *ch.Email == "" {
		if err := s.needsEmail(ctx, org, u); err != nil {
			return store.User{}, err
		}
	}
	ev := s.event(org.ID, "user.edit", org.Slug+"/"+u.Username)
	ev.Detail = changeDetail(diff)
	if err := s.Store.UpdateUser(ctx, org.ID, u.ID, ch, ev); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// needsEmail refuses to take the address from a user whose sign-in
// depends on it: a service provider's admin, whose links and notices go
// there, or a user with an email token not revoked, whose codes do.
func (s *Service) needsEmail(ctx context.Context, org store.Org, u store.User) error {
	if org.Slug == store.ProviderSlug {
		return invalid("a service provider admin needs an email address, for enrollment links and notices")
	}
	ts, err := s.Store.Tokens(ctx, org.ID, u.ID)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Type == "email" && t.State != store.TokenRevoked {
			return invalid("user %s/%s has email token %s, whose codes go to the address; revoke it first (twofold token revoke %s/%s %s)",
				org.Slug, u.Username, t.Serial, org.Slug, u.Username, t.Serial)
		}
	}
	return nil
}

// label trims a name an operator gives to an organization, a user, a
// token, an API key or a RADIUS client, and refuses one holding a line
// break or another control character. Such names are printed in the CLI's
// tables, put in mail subjects and otpauth URIs and written to the audit
// log, where a line break could forge a line or a header. what names the
// field in the error.
func label(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) {
		return "", invalid("%s must be text (UTF-8)", what)
	}
	if strings.ContainsFunc(name, isControl) {
		return "", invalid("%s may not contain line breaks, tabs or other control characters: %q", what, name)
	}
	return name, nil
}

// labelMax is label for a text of at most max characters.
func labelMax(what, name string, max int) (string, error) {
	name, err := label(what, name)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(name) > max {
		return "", invalid("%s may be at most %d characters", what, max)
	}
	return name, nil
}

// isControl reports the control characters, and the two separators that
// break a line as a newline does.
func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

func checkUsername(u string) error {
	if !auth.ValidUsername(u) {
		return invalid("username %q must be 1 to 128 characters of text without spaces, control characters or '/'", u)
	}
	return nil
}

// SetPassword replaces a user's password; the new one must pass the
// password rules and differ from the current one (see PasswordError).
func (s *Service) SetPassword(ctx context.Context, org store.Org, username, password string) error {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, org, u.Username, password, u.PasswordHash)
	if err != nil {
		return err
	}
	return s.Store.SetPassword(ctx, org.ID, u.ID, hash, s.event(org.ID, "user.passwd", org.Slug+"/"+u.Username))
}

// ResetPassword replaces the password of the user a password reset link
// belongs to, under the same rules as SetPassword, and uses the link up
// (link is the hash of its secret). It returns store.ErrNotConsumed when
// the link was used, expired or voided meanwhile.
func (s *Service) ResetPassword(ctx context.Context, org store.Org, u store.User, password string, link []byte) error {
	hash, err := s.hashPassword(ctx, org, u.Username, password, u.PasswordHash)
	if err != nil {
		return err
	}
	return s.Store.ResetPassword(ctx, org.ID, u.ID, link, hash, s.Clock.Now(), s.event(org.ID, "user.passwd", org.Slug+"/"+u.Username))
}

// DisableUser stops a user from signing in anywhere and ends their
// sessions; their tokens and password are kept for EnableUser.
func (s *Service) DisableUser(ctx context.Context, org store.Org, username string) error {
	return s.setStatus(ctx, org, username, store.UserDisabled, "disable")
}

// EnableUser lets a disabled user sign in again.
func (s *Service) EnableUser(ctx context.Context, org store.Org, username string) error {
	return s.setStatus(ctx, org, username, store.UserActive, "enable")
}

func (s *Service) setStatus(ctx context.Context, org store.Org, username, status, op string) error {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return err
	}
	err = s.Store.SetUserStatus(ctx, org.ID, u.ID, status, s.event(org.ID, "user."+op, org.Slug+"/"+u.Username))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("user %s/%s is %s already", org.Slug, u.Username, status)
	}
	return err
}

// ResetMFA takes every second factor from a user who lost them: all tokens
// revoked, pending enrollment links cancelled, backup codes deleted,
// sessions ended. The password and the server PIN stay. It reports how
// many tokens were revoked.
func (s *Service) ResetMFA(ctx context.Context, org store.Org, username string) (int64, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return 0, err
	}
	return s.Store.ResetMFA(ctx, org.ID, u.ID, s.event(org.ID, "user.reset-mfa", org.Slug+"/"+u.Username))
}

// Unlock lifts a user's lockout and clears the failure count.
func (s *Service) Unlock(ctx context.Context, org store.Org, username string) error {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return err
	}
	return s.Store.Unlock(ctx, org.ID, u.ID, s.event(org.ID, "user.unlock", org.Slug+"/"+u.Username))
}

// Enrolled is a newly assigned token.
type Enrolled struct {
	Token store.Token
	// Link is the single-use enrollment link for the user; Expires is when it stops working.
	Link    string
	Expires time.Time
	// URI is the otpauth:// URI, for operators' scripts that provision
	// the token themselves. It holds the secret: show it once, store it nowhere.
	URI string
	// Activation is a push token's activation string (see push.Activation),
	// carrying the link's code: it works once, until Expires.
	Activation string
}

// EnrollToken assigns a new token of type typ ("totp", "hotp", "email"
// or "push") to a user. The token stays assigned until its first code is
// verified. An email token needs the user's email address; its
// enrollment link opens a page that mails the first code and takes it. A
// push token needs a policy that allows push; it is activated by the
// Twofold Authenticator with the activation string (Enrolled.Activation),
// and has a TOTP secret too, for codes while the device is offline.
func (s *Service) EnrollToken(ctx context.Context, org store.Org, username, typ, name string) (Enrolled, error) {
	return s.enroll(ctx, org, username, typ, name, false)
}

// EnrollSelf assigns a token ("totp" or "email") that the user adds at the
// portal, where the page shows its QR code (or mails its first code) at
// once: it has no enrollment link. It replaces the user's earlier
// self-enrolled tokens still waiting for their first code. The caller must
// have made sure the user may add an authenticator (see StandingOf): this
// mints one for whoever asks.
func (s *Service) EnrollSelf(ctx context.Context, org store.Org, username, typ, name string) (Enrolled, error) {
	if typ != "totp" && typ != "email" {
		return Enrolled{}, invalid("a user adds a totp or email token, not %q", typ)
	}
	return s.enroll(ctx, org, username, typ, name, true)
}

func (s *Service) enroll(ctx context.Context, org store.Org, username, typ, name string, self bool) (Enrolled, error) {
	if typ != "totp" && typ != "hotp" && typ != "email" && typ != "push" {
		return Enrolled{}, invalid("token type must be totp, hotp, email or push, not %q", typ)
	}
	name, err := label("a token's name", name)
	if err != nil {
		return Enrolled{}, err
	}
	u, err := s.User(ctx, org, username)
	if err != nil {
		return Enrolled{}, err
	}
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return Enrolled{}, fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	key, err := secret.Bytes(s.Rand, 20)
	if err != nil {
		return Enrolled{}, err
	}
	defer clear(key)
	serial, err := secret.Token(s.Rand, 5)
	if err != nil {
		return Enrolled{}, err
	}
	code, err := secret.Token(s.Rand, 16)
	if err != nil {
		return Enrolled{}, err
	}
	now := s.Clock.Now()
	t := store.Token{
		OrgID: org.ID, UserID: u.ID, Serial: strings.ToUpper(typ + serial), Type: typ, Name: name,
		State: store.TokenAssigned, Algorithm: pol.OTPAlgorithm, Digits: pol.OTPDigits, CreatedAt: now, SelfEnrolled: self,
		// The first HOTP code is counter 0; TOTP steps are far above 0.
		LastStep: -1,
	}
	en := &store.Enrollment{
		CodeHash: secret.HashToken(code), Status: store.EnrollmentPending,
		ExpiresAt: now.Add(pol.EnrollmentLifetime.D()), CreatedAt: now,
	}
	if self {
		en = nil
	}
	switch typ {
	case "push":
		if !pol.Allows(policy.MethodPush) {
			return Enrolled{}, invalid("the policy of %s does not allow push (add it to the policy's methods first)", org.Slug)
		}
		t.Period, t.LastStep = int(pol.OTPPeriod.D()/time.Second), 0
	case "totp":
		t.Period, t.LastStep = int(pol.OTPPeriod.D()/time.Second), 0
	case "email":
		if u.Email == "" {
			return Enrolled{}, invalid("user %s has no email address for an email token (add one first)", u.Username)
		}
		// Codes are made per challenge; the sealed key is never used.
		t.Digits, t.LastStep = pol.EmailCodeDigits, 0
	}
	t, err = s.Store.CreateToken(ctx, t,
		func(t store.Token) ([]byte, error) { return s.Keys.Seal(key, store.SecretAD(t)) },
		en, s.event(org.ID, "token.enroll", org.Slug+"/"+u.Username+" "+strings.ToUpper(typ+serial)))
	if err != nil {
		return Enrolled{}, err
	}
	out := Enrolled{Token: t}
	if en != nil {
		out = s.enrolled(t, code, en.ExpiresAt)
	}
	if typ != "email" {
		out.URI = otp.Key{
			Type: otpType(typ), Issuer: org.Name, Account: u.Username, Secret: key,
			Algorithm: otp.Algorithm(t.Algorithm), Digits: t.Digits, Period: time.Duration(t.Period) * time.Second,
		}.URI()
	}
	return out, nil
}

// enrolled is token t with its enrollment link of code, valid until
// expires, and for a push token the activation string of the same code.
func (s *Service) enrolled(t store.Token, code string, expires time.Time) Enrolled {
	out := Enrolled{Token: t, Link: s.PublicURL + "/enroll?code=" + code, Expires: expires}
	if t.Type == "push" {
		out.Activation = push.Activation{URL: s.PublicURL, Code: code}.String()
	}
	return out
}

// otpType is the otpauth type of a token's codes: a push token's offline
// codes are TOTP.
func otpType(typ string) string {
	if typ == "push" {
		return "totp"
	}
	return typ
}

// ResendEnrollment gives an assigned token a new enrollment link, valid
// for the policy's lifetime; the older link stops working.
func (s *Service) ResendEnrollment(ctx context.Context, org store.Org, username, serial string) (Enrolled, error) {
	u, t, err := s.token(ctx, org, username, serial)
	if err != nil {
		return Enrolled{}, err
	}
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return Enrolled{}, fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	code, err := secret.Token(s.Rand, 16)
	if err != nil {
		return Enrolled{}, err
	}
	expires := s.Clock.Now().Add(pol.EnrollmentLifetime.D())
	err = s.Store.RenewEnrollment(ctx, org.ID, t.ID, secret.HashToken(code), expires,
		s.event(org.ID, "enrollment.resend", org.Slug+"/"+u.Username+" "+t.Serial))
	if errors.Is(err, store.ErrNotFound) {
		return Enrolled{}, invalid("token %s is %s; only an assigned token has an enrollment link", t.Serial, t.State)
	}
	if err != nil {
		return Enrolled{}, err
	}
	return s.enrolled(t, code, expires), nil
}

// ExtendEnrollment keeps a pending enrollment link working until expires.
func (s *Service) ExtendEnrollment(ctx context.Context, org store.Org, username, serial string, expires time.Time) error {
	u, t, err := s.token(ctx, org, username, serial)
	if err != nil {
		return err
	}
	if !expires.After(s.Clock.Now()) {
		return invalid("the new expiry must lie in the future")
	}
	err = s.Store.ExtendEnrollment(ctx, org.ID, t.ID, expires,
		s.event(org.ID, "enrollment.extend", org.Slug+"/"+u.Username+" "+t.Serial))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token %s has no pending enrollment link (send a new one with: twofold token resend)", t.Serial)
	}
	return err
}

// CancelEnrollment stops a pending enrollment link from working; the
// token stays assigned, so a new link can be sent later.
func (s *Service) CancelEnrollment(ctx context.Context, org store.Org, username, serial string) error {
	u, t, err := s.token(ctx, org, username, serial)
	if err != nil {
		return err
	}
	err = s.Store.CancelEnrollment(ctx, org.ID, t.ID,
		s.event(org.ID, "enrollment.cancel", org.Slug+"/"+u.Username+" "+t.Serial))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token %s has no pending enrollment link", t.Serial)
	}
	return err
}

// Tokens lists a user's tokens.
func (s *Service) Tokens(ctx context.Context, org store.Org, username string) (store.User, []store.Token, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return store.User{}, nil, err
	}
	ts, err := s.Store.Tokens(ctx, org.ID, u.ID)
	return u, ts, err
}

// token finds a token by serial and checks it belongs to the user named.
func (s *Service) token(ctx context.Context, org store.Org, username, serial string) (store.User, store.Token, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return store.User{}, store.Token{}, err
	}
	t, err := s.Store.TokenBySerial(ctx, org.ID, strings.ToUpper(strings.TrimSpace(serial)))
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.UserID != u.ID) {
		return store.User{}, store.Token{}, invalid("user %s has no token %q (see: twofold token list %s/%s)", u.Username, serial, org.Slug, u.Username)
	}
	return u, t, err
}

// Token state changes: which states each may start from, and where it ends.
var transitions = map[string]struct {
	from []string
	to   string
}{
	"suspend": {[]string{store.TokenActive, store.TokenLocked}, store.TokenSuspended},
	"resume":  {[]string{store.TokenSuspended, store.TokenLocked}, store.TokenActive},
	"revoke":  {[]string{store.TokenAssigned, store.TokenActive, store.TokenSuspended, store.TokenLocked}, store.TokenRevoked},
}

// DeleteToken deletes one of a user's tokens for good, with its
// enrollment. Only a revoked token, or one still waiting for its first
// code, may go: one in use is revoked first, so that deleting never
// silently takes away a way in.
func (s *Service) DeleteToken(ctx context.Context, org store.Org, username, serial string) error {
	u, t, err := s.token(ctx, org, username, serial)
	if err != nil {
		return err
	}
	err = s.Store.DeleteToken(ctx, org.ID, t.ID, s.event(org.ID, "token.delete", org.Slug+"/"+u.Username+" "+t.Serial))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token %s is %s; revoke it first (twofold token revoke %s/%s %s), then delete it", t.Serial, t.State, org.Slug, u.Username, t.Serial)
	}
	return err
}

// MaxTokenName is the longest name a token may have, in characters.
const MaxTokenName = 64

// TokenName trims a name for a token and checks it, returning ErrInvalid
// for one too long or holding control characters.
func TokenName(name string) (string, error) {
	return labelMax("a token's name", name, MaxTokenName)
}

// RenameToken gives one of a user's tokens the name they know it by.
func (s *Service) RenameToken(ctx context.Context, org store.Org, username, serial, name string) error {
	name, err := TokenName(name)
	if err != nil {
		return err
	}
	u, t, err := s.token(ctx, org, username, serial)
	if err != nil {
		return err
	}
	err = s.Store.RenameToken(ctx, org.ID, u.ID, t.Serial, name, s.event(org.ID, "token.rename", org.Slug+"/"+u.Username+" "+t.Serial))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token %s is %s; it cannot be renamed", t.Serial, t.State)
	}
	return err
}

// ChangeToken suspends, resumes or revokes a token (op names which).
func (s *Service) ChangeToken(ctx context.Context, org store.Org, username, serial, op string) error {
	tr, ok := transitions[op]
	if !ok {
		return invalid("unknown token change %q", op)
	}
	u, t, err := s.token(ctx, org, username, serial)
	if err != nil {
		return err
	}
	err = s.Store.SetTokenState(ctx, org.ID, t.ID, tr.from, tr.to,
		s.event(org.ID, "token."+op, org.Slug+"/"+u.Username+" "+t.Serial))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token %s is %s; it cannot %s from there", t.Serial, t.State, op)
	}
	return err
}

// Serial returns the serial of the user's token named serial, checking
// that it exists and belongs to the user; with serial empty, the serial of
// the user's only token in state.
func (s *Service) Serial(ctx context.Context, org store.Org, username, serial, state string) (string, error) {
	if serial != "" {
		_, t, err := s.token(ctx, org, username, serial)
		return t.Serial, err
	}
	_, ts, err := s.Tokens(ctx, org, username)
	if err != nil {
		return "", err
	}
	var found []string
	for _, t := range ts {
		if t.State == state {
			found = append(found, t.Serial)
		}
	}
	if len(found) != 1 {
		return "", invalid("user %s has %d %s tokens; name the serial", username, len(found), state)
	}
	return found[0], nil
}

// CreateAPIKey makes a key for applications of org. The key is returned
// once; only its hash is kept.
func (s *Service) CreateAPIKey(ctx context.Context, org store.Org, name string) (string, store.APIKey, error) {
	name, err := label("an API key's name", name)
	if err != nil {
		return "", store.APIKey{}, err
	}
	if name == "" || len(name) > 100 {
		return "", store.APIKey{}, invalid("an API key needs a name of 1 to 100 characters (--name), saying which application uses it")
	}
	raw, err := secret.Token(s.Rand, 32)
	if err != nil {
		return "", store.APIKey{}, err
	}
	key := "tfk_" + raw
	k, err := s.Store.CreateAPIKey(ctx, store.APIKey{
		OrgID: org.ID, Name: name, Prefix: key[:12], Hash: secret.HashToken(key), CreatedAt: s.Clock.Now(),
	}, s.event(org.ID, "apikey.create", name))
	return key, k, err
}

// APIKeys lists an organization's API keys, revoked ones included,
// oldest first; no key or hash is in them, only the prefix that tells
// them apart.
func (s *Service) APIKeys(ctx context.Context, org store.Org) ([]store.APIKey, error) {
	return s.Store.APIKeys(ctx, org.ID)
}

// RevokeAPIKey revokes the key of org named name: the REST API refuses it
// from then on. Should several keys in use share the name, all are revoked.
func (s *Service) RevokeAPIKey(ctx context.Context, org store.Org, name string) error {
	name, err := label("an API key's name", name)
	if err != nil {
		return err
	}
	err = s.Store.RevokeAPIKey(ctx, org.ID, name, s.event(org.ID, "apikey.revoke", name))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalid("organization %s has no API key named %q (see: twofold apikey list %s)", org.Slug, name, org.Slug)
	case errors.Is(err, store.ErrRevoked):
		return invalid("API key %q of %s is revoked already", name, org.Slug)
	}
	return err
}

// Dashboard returns the figures of an organization's dashboard, sign-ins
// and failures counted over the last 24 hours.
func (s *Service) Dashboard(ctx context.Context, org store.Org) (store.OrgStats, error) {
	return s.Store.OrgStats(ctx, org.ID, s.Clock.Now().Add(-24*time.Hour))
}

// Reseal re-encrypts every token secret not sealed under the keyring's
// newest key, in one transaction, and reports how many it changed.
func (s *Service) Reseal(ctx context.Context) (int, error) {
	return s.Store.Reseal(ctx, func(t store.Token) ([]byte, bool, error) {
		return s.reseal(t.Secret, store.SecretAD(t))
	}, s.event(0, "keys.rotate", fmt.Sprintf("key %d", s.Keys.NewestID())))
}

// reseal seals a sealed value again under the newest key, reporting
// false when it is sealed under that key already.
func (s *Service) reseal(sealed, ad []byte) ([]byte, bool, error) {
	if s.Keys.Current(sealed) {
		return nil, false, nil
	}
	out, err := s.Keys.Reseal(sealed, ad, ad)
	return out, err == nil, err
}
