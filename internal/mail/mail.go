// Package mail sends Twofold's messages: over SMTP when TWOFOLD_SMTP_URL is
// set, otherwise into an outbox directory of .eml files an operator can read.
//
// The package takes a finished message (subject, plain text, optional HTML,
// language); wording and translation belong to the caller. Both senders build
// the same MIME message with github.com/wneessen/go-mail, refuse header
// injection, and return errors that never contain the message body, which
// may hold a one-time code or an enrollment link.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/twofold-mfa/twofold/internal/clock"
)

// Message is one email, ready to send.
type Message struct {
	To string // one address, e.g. "alice@example.org" or "Alice <alice@example.org>"
	// FromName, when not empty, replaces the display name of the
	// configured From address, so a mail can name the organization it
	// is sent for ("Acme Corp via Twofold <twofold@example.org>") while
	// the address stays the one configured.
	FromName string
	Subject  string
	Text     string // plain-text body (required)
	HTML     string // HTML body (may be empty: then text only)
	Language string // BCP 47 tag for Content-Language, e.g. "nl" (may be empty: no header)
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by every error that refuses a message before
// anything is sent or written: a bad address, a line break in a header
// (header injection), a missing text body, a malformed language tag. Such an
// error is the caller's bug, not a delivery failure worth retrying.
var ErrInvalidMessage = errors.New("invalid message")

// New returns the sender for smtpURL ("" → an Outbox in outboxDir). from is
// the envelope and header From address, e.g. `Twofold <twofold@example.org>`.
// Errors never repeat smtpURL, which may contain a password.
func New(smtpURL, outboxDir, from string) (Sender, error) {
	if _, err := parseAddress("From", from); err != nil {
		return nil, err
	}
	if strings.TrimSpace(smtpURL) == "" {
		if outboxDir == "" {
			return nil, errors.New("mail: no SMTP URL and no outbox directory")
		}
		return &Outbox{Dir: outboxDir, From: from}, nil
	}
	u, err := url.Parse(smtpURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// the reason.
		reason := "unparseable"
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		return nil, fmt.Errorf("mail: SMTP URL is not a valid URL: %s", reason)
	}
	s, err := NewSMTP(u, from, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// buildMessage validates m and turns it into go-mail's Msg: From (with
// m.FromName as its display name, when set), To,
// Subject (RFC 2047 encoded-words when not ASCII), Date from now, a random
// Message-ID in the From domain, Content-Language, Auto-Submitted, and a
// text/plain body with an optional text/html alternative, in UTF-8 with
// quoted-printable transfer encoding. Its errors never contain the body.
func buildMessage(m Message, from string, now time.Time) (*gomail.Msg, error) {
	fromAddr, err := parseAddress("From", from)
	if err != nil {
		return nil, err
	}
	if m.FromName != "" {
		if err := checkHeaderValue("From name", m.FromName); err != nil {
			return nil, err
		}
		fromAddr = &netmail.Address{Name: m.FromName, Address: fromAddr.Address}
	}
	toAddr, err := parseAddress("To", m.To)
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue("Subject", m.Subject); err != nil {
		return nil, err
	}
	if m.Language != "" && !languageTag.MatchString(m.Language) {
		return nil, fmt.Errorf("mail: %w: Content-Language %q is not a BCP 47 language tag", ErrInvalidMessage, m.Language)
	}
	if strings.TrimSpace(m.Text) == "" {
		return nil, fmt.Errorf("mail: %w: no text body", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.Text) {
		return nil, fmt.Errorf("mail: %w: text body is not valid UTF-8", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.HTML) {
		return nil, fmt.Errorf("mail: %w: HTML body is not valid UTF-8", ErrInvalidMessage)
	}
	id, err := messageID(fromAddr.Address)
	if err != nil {
		return nil, err
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(fromAddr)
	msg.ToMailAddress(toAddr)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(id)
	if m.Language != "" {
		msg.SetGenHeader(gomail.HeaderContentLang, m.Language)
	}
	// RFC 3834: tells auto-responders (vacation replies) not to answer, and
	// X-Auto-Response-Suppress asks the same of Exchange.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// languageTag is the syntax of a BCP 47 tag (RFC 5646): subtags of one to
// eight letters or digits joined by hyphens, the first made of letters.
var languageTag = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)

// parseAddress parses one RFC 5322 address for the header field, refusing
// line breaks and other control characters before net/mail sees them, since
// net/mail would accept a folded CRLF.
func parseAddress(field, s string) (*netmail.Address, error) {
	if err := checkHeaderValue(field, s); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("mail: %w: no %s address", ErrInvalidMessage, field)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("mail: %w: %s address: %v", ErrInvalidMessage, field, err)
	}
	return a, nil
}

// checkHeaderValue refuses a value that could end the header line and start
// another (CR, LF), any other control character, and invalid UTF-8.
func checkHeaderValue(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("mail: %w: %s is not valid UTF-8", ErrInvalidMessage, field)
	}
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n':
			return fmt.Errorf("mail: %w: %s contains a line break (header injection refused)", ErrInvalidMessage, field)
		case (r < 0x20 && r != '\t') || r == 0x7f:
			return fmt.Errorf("mail: %w: %s contains a control character", ErrInvalidMessage, field)
		}
	}
	return nil
}

// messageID returns a new random Message-ID (without angle brackets) in the
// domain of the From address, so it leaks no host name and is unique per
// message.
func messageID(fromAddress string) (string, error) {
	domain := fromAddress[strings.LastIndexByte(fromAddress, '@')+1:]
	if domain == "" || !isPrintableASCII(domain) {
		domain = "twofold.invalid"
	}
	r, err := randomHex(16)
	if err != nil {
		return "", err
	}
	return r + "@" + domain, nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// randomHex returns n random bytes from crypto/rand as hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mail: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// now returns c.Now(), or the wall clock when c is nil.
func now(c clock.Clock) time.Time {
	if c == nil {
		return time.Now()
	}
	return c.Now()
}
