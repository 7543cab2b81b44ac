package web

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Mailer writes Twofold's mails in the user's language and sends them.
type Mailer struct {
	Render    *Renderer
	Sender    mail.Sender
	PublicURL string
}

// send renders mail name for u of org, with times in the organization's
// time zone, and sends it.
func (m *Mailer) send(ctx context.Context, org store.Org, u store.User, name string, data any) error {
	if u.Email == "" {
		return fmt.Errorf("mail %s: user %s has no email address", name, u.Username)
	}
	lang := u.Language
	if lang == "" {
		lang = "en"
	}
	subject, text, html, err := m.Render.Mail(lang, orgLocation(org), name, data)
	if err != nil {
		return err
	}
	if err := m.Sender.Send(ctx, mail.Message{To: u.Email, Subject: subject, Text: text, HTML: html, Language: lang}); err != nil {
		return fmt.Errorf("mail %s to %s: %w", name, u.Username, err)
	}
	return nil
}

// Invite sends the enrollment link of a newly assigned token.
func (m *Mailer) Invite(ctx context.Context, org store.Org, u store.User, link string, expires time.Time) error {
	return m.send(ctx, org, u, "invite", InviteMail{OrgName: org.Name, Username: u.Username, Link: link, Expires: expires})
}

// ResetLink sends a password reset link, valid for valid.
func (m *Mailer) ResetLink(ctx context.Context, org store.Org, u store.User, token string, valid time.Duration) error {
	link := m.PublicURL + "/o/" + org.Slug + "/login/reset?token=" + url.QueryEscape(token)
	return m.send(ctx, org, u, "reset_link", ResetMail{OrgName: org.Name, Username: u.Username, Link: link, Minutes: int(valid / time.Minute)})
}

// Notice tells a user about a change to their account: name is
// "token_added", "token_removed" or "password_changed".
func (m *Mailer) Notice(ctx context.Context, name string, org store.Org, u store.User, tokenName string, when time.Time) error {
	return m.send(ctx, org, u, name, NoticeMail{
		OrgName: org.Name, Username: u.Username, TokenName: tokenName, When: when,
		PortalURL: m.PublicURL + "/o/" + org.Slug + "/",
	})
}

// BackupUsed tells a user a backup code was used to sign in, and how
// many are left.
func (m *Mailer) BackupUsed(ctx context.Context, org store.Org, u store.User, left int, when time.Time) error {
	return m.send(ctx, org, u, "backup_used", NoticeMail{
		OrgName: org.Name, Username: u.Username, When: when, Left: left,
		PortalURL: m.PublicURL + "/o/" + org.Slug + "/",
	})
}

// AccountLocked tells a user their account locked at when, until until —
// store.LockedForever when only an operator can unlock it.
func (m *Mailer) AccountLocked(ctx context.Context, org store.Org, u store.User, when, until time.Time) error {
	return m.send(ctx, org, u, "account_locked", LockedMail{
		OrgName: org.Name, Username: u.Username, When: when, Until: until, Forever: until.Equal(store.LockedForever),
		PortalURL: m.PublicURL + "/o/" + org.Slug + "/",
	})
}

// VerifyCode sends the code that confirms it is the user adding an authenticator.
func (m *Mailer) VerifyCode(ctx context.Context, org store.Org, u store.User, code string, valid time.Duration) error {
	return m.send(ctx, org, u, "verify_code", VerifyCodeMail{OrgName: org.Name, Code: code, Minutes: int(valid / time.Minute)})
}

// CodeSender mails what the verification core must tell users: emailed
// one-time codes, the use of a backup code and a lock. It satisfies
// auth.Sender.
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

func (c CodeSender) recipient(ctx context.Context, orgID, userID int64) (store.Org, store.User, error) {
	org, err := c.Store.OrgByID(ctx, orgID)
	if err != nil {
		return store.Org{}, store.User{}, err
	}
	u, err := c.Store.UserByID(ctx, orgID, userID)
	return org, u, err
}
