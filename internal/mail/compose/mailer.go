package compose

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/store"
)

// InviteMail is the data of the "invite" mail: the enrollment link.
type InviteMail struct {
	OrgName  string
	Name     string // what the mail calls the user: the display name, else the username
	Username string
	Link     string // the enrollment link, under TWOFOLD_PUBLIC_URL
	Expires  time.Time
	// Email: the token is an email token, whose page mails the first
	// code; otherwise the page adds an authenticator app.
	Email bool
	// HasPassword: the page asks for the user's password first.
	HasPassword bool
	// Activation and AppLink carry a push token's link code to the Twofold
	// Authenticator (see push.Activation); empty for other tokens.
	Activation, AppLink string
}

// NoticeMail is the data of the "token_added", "token_removed",
// "password_changed" and "backup_used" mails (TokenName is unused by the
// last two; Left, the backup codes left, only by "backup_used").
type NoticeMail struct {
	OrgName   string
	Name      string // what the mail calls the user
	Username  string
	TokenName string
	When      time.Time
	PortalURL string // the portal, under TWOFOLD_PUBLIC_URL; empty leaves the link out
	Left      int
}

// ResetMail is the data of the "reset_link" mail.
type ResetMail struct {
	OrgName  string
	Name     string // what the mail calls the user
	Username string
	Link     string // the reset link, under TWOFOLD_PUBLIC_URL
	Minutes  int
}

// LockedMail is the data of the "account_locked" mail: the account locked
// at When, until Until, or until an operator unlocks it when Forever.
type LockedMail struct {
	OrgName     string
	Name        string // what the mail calls the user
	Username    string
	When, Until time.Time
	Forever     bool
	PortalURL   string // the portal, under TWOFOLD_PUBLIC_URL
}

// FraudMail is the data of the "push_fraud" mail: the user reported as
// not theirs the push request Application sent at When for a sign-in
// from Source.
type FraudMail struct {
	OrgName     string
	Name        string // what the mail calls the user
	Username    string
	Application string
	Source      string
	When        time.Time
	PortalURL   string // the portal, under TWOFOLD_PUBLIC_URL
}

// VerifyCodeMail is the data of the "verify_code" mail.
type VerifyCodeMail struct {
	OrgName string
	Name    string // what the mail calls the user
	Code    string
	Minutes int
}

// TempCodeMail is the data of the "temp_code" mail: the helpdesk issued a
// temporary code at When, valid until Until for Uses sign-ins; Suspended
// says it suspended the user's authenticator. It never holds the code.
type TempCodeMail struct {
	OrgName     string
	Name        string // what the mail calls the user
	Username    string
	When, Until time.Time
	Uses        int
	Suspended   bool
	PortalURL   string // the portal, under TWOFOLD_PUBLIC_URL
}

// Mailer writes Twofold's mails in the user's language and sends them.
type Mailer struct {
	Render    *Renderer
	Sender    mail.Sender
	PublicURL string
}

// send renders mail name for u of org, with times in the organization's
// time zone and its support contact in the footer, and sends it from the
// configured address, with the organization named as the sender (its
// sender name, when its operators set one), so that the mail says whose
// it is before it is opened.
func (m *Mailer) send(ctx context.Context, org store.Org, u store.User, name string, data any) error {
	if u.Email == "" {
		return fmt.Errorf("mail %s: user %s has no email address", name, u.Username)
	}
	lang := i18n.Match(u.Language, "")
	subject, text, html, err := m.Render.Render(lang, Frame{Loc: orgLocation(org), Support: org.SupportContact}, name, data)
	if err != nil {
		return err
	}
	from := org.SenderName
	if from == "" {
		from = i18n.T(lang, "mail.from", org.Name)
	}
	msg := mail.Message{To: u.Email, FromName: from, Subject: subject, Text: text, HTML: html, Language: lang}
	if err := m.Sender.Send(ctx, msg); err != nil {
		return fmt.Errorf("mail %s to %s: %w", name, u.Username, err)
	}
	return nil
}

// greetingName is what a mail calls u: the display name the operator
// gave, or the username when there is none.
func greetingName(u store.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// Invite sends the enrollment link of a newly assigned token of type typ.
// A push token's mail also carries the activation string of the link's
// code, made from the link so that both name the same server.
func (m *Mailer) Invite(ctx context.Context, org store.Org, u store.User, typ, link string, expires time.Time) error {
	data := InviteMail{
		OrgName: org.Name, Name: greetingName(u), Username: u.Username, Link: link, Expires: expires,
		Email: typ == "email", HasPassword: u.PasswordHash != "",
	}
	if typ == "push" {
		base, query, ok := strings.Cut(link, "/enroll?")
		q, err := url.ParseQuery(query)
		if !ok || err != nil || q.Get("code") == "" {
			return fmt.Errorf("mail invite to %s: %q is not an enrollment link", u.Username, link)
		}
		a := push.Activation{URL: base, Code: q.Get("code")}
		data.Activation, data.AppLink = a.String(), a.AppLink()
	}
	return m.send(ctx, org, u, "invite", data)
}

// Notice tells a user about a change to their account: name is
// "token_added", "token_removed" or "password_changed".
func (m *Mailer) Notice(ctx context.Context, name string, org store.Org, u store.User, tokenName string, when time.Time) error {
	return m.send(ctx, org, u, name, NoticeMail{
		OrgName: org.Name, Name: greetingName(u), Username: u.Username, TokenName: tokenName, When: when,
		PortalURL: m.portal(org),
	})
}

// BackupUsed tells a user a backup code was used to sign in, and how
// many are left.
func (m *Mailer) BackupUsed(ctx context.Context, org store.Org, u store.User, left int, when time.Time) error {
	return m.send(ctx, org, u, "backup_used", NoticeMail{
		OrgName: org.Name, Name: greetingName(u), Username: u.Username, When: when, Left: left,
		PortalURL: m.portal(org),
	})
}

// ResetLink sends a password reset link, valid for valid.
func (m *Mailer) ResetLink(ctx context.Context, org store.Org, u store.User, token string, valid time.Duration) error {
	link := m.PublicURL + "/o/" + org.Slug + "/login/reset?token=" + url.QueryEscape(token)
	return m.send(ctx, org, u, "reset_link", ResetMail{OrgName: org.Name, Name: greetingName(u), Username: u.Username, Link: link, Minutes: int(valid / time.Minute)})
}

// AccountLocked tells a user their account locked at when, until until —
// store.LockedForever when only an operator can unlock it.
func (m *Mailer) AccountLocked(ctx context.Context, org store.Org, u store.User, when, until time.Time) error {
	return m.send(ctx, org, u, "account_locked", LockedMail{
		OrgName: org.Name, Name: greetingName(u), Username: u.Username, When: when, Until: until,
		Forever: until.Equal(store.LockedForever), PortalURL: m.portal(org),
	})
}

// PushFraud tells a user they reported the push request application sent
// at when, for a sign-in from source, as not theirs: someone knows their
// password.
func (m *Mailer) PushFraud(ctx context.Context, org store.Org, u store.User, application, source string, when time.Time) error {
	return m.send(ctx, org, u, "push_fraud", FraudMail{
		OrgName: org.Name, Name: greetingName(u), Username: u.Username, Application: application, Source: source,
		When: when, PortalURL: m.portal(org),
	})
}

// VerifyCode sends the code that confirms it is the user adding an authenticator.
func (m *Mailer) VerifyCode(ctx context.Context, org store.Org, u store.User, code string, valid time.Duration) error {
	return m.send(ctx, org, u, "verify_code", VerifyCodeMail{OrgName: org.Name, Name: greetingName(u), Code: code, Minutes: int(valid / time.Minute)})
}

// TempCodeIssued tells a user that the helpdesk issued them a temporary
// code at when, valid until until for uses sign-ins, and whether it
// suspended their authenticator — never the code itself, which the
// helpdesk gives them.
func (m *Mailer) TempCodeIssued(ctx context.Context, org store.Org, u store.User, when, until time.Time, uses int, suspended bool) error {
	return m.send(ctx, org, u, "temp_code", TempCodeMail{
		OrgName: org.Name, Name: greetingName(u), Username: u.Username, When: when, Until: until, Uses: uses,
		Suspended: suspended, PortalURL: m.portal(org),
	})
}

func (m *Mailer) portal(org store.Org) string { return m.PublicURL + "/o/" + org.Slug + "/" }

// CodeSender mails what the verification core must tell users: emailed
// one-time codes and the use of a backup code. It satisfies auth.Sender.
type CodeSender struct {
	Store interface {
		OrgByID(ctx context.Context, id int64) (store.Org, error)
		UserByID(ctx context.Context, orgID, id int64) (store.User, error)
	}
	Mailer *Mailer
}

// SendCode mails code to the user.
func (c CodeSender) SendCode(ctx context.Context, orgID, userID int64, code string, valid time.Duration) error {
	org, u, err := c.recipient(ctx, orgID, userID)
	if err != nil {
		return err
	}
	return c.Mailer.VerifyCode(ctx, org, u, code, valid)
}

// BackupCodeUsed mails the user that a backup code was used, when the
// user has an address.
func (c CodeSender) BackupCodeUsed(ctx context.Context, orgID, userID int64, left int, at time.Time) error {
	org, u, err := c.recipient(ctx, orgID, userID)
	if err != nil || u.Email == "" {
		return err
	}
	return c.Mailer.BackupUsed(ctx, org, u, left, at)
}

// AccountLocked mails the user that their account has locked, when the
// user has an address.
func (c CodeSender) AccountLocked(ctx context.Context, orgID, userID int64, at, until time.Time) error {
	org, u, err := c.recipient(ctx, orgID, userID)
	if err != nil || u.Email == "" {
		return err
	}
	return c.Mailer.AccountLocked(ctx, org, u, at, until)
}

// PushFraud mails the user that they reported a push as not theirs, when
// the user has an address.
func (c CodeSender) PushFraud(ctx context.Context, orgID, userID int64, application, source string, at time.Time) error {
	org, u, err := c.recipient(ctx, orgID, userID)
	if err != nil || u.Email == "" {
		return err
	}
	return c.Mailer.PushFraud(ctx, org, u, application, source, at)
}

func (c CodeSender) recipient(ctx context.Context, orgID, userID int64) (store.Org, store.User, error) {
	org, err := c.Store.OrgByID(ctx, orgID)
	if err != nil {
		return store.Org{}, store.User{}, err
	}
	u, err := c.Store.UserByID(ctx, orgID, userID)
	return org, u, err
}

// orgLocation is the organization's time zone, which mails tell times in;
// UTC when its policy cannot be read.
func orgLocation(org store.Org) *time.Location {
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return time.UTC
	}
	return pol.Location()
}
