package compose

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/store"
)

// sent keeps the messages a Mailer hands over; package mail's own tests
// show that a Message arrives as such at a real SMTP server.
type sent struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (s *sent) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *sent) last(t *testing.T) mail.Message {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		t.Fatal("nothing was sent")
	}
	return s.msgs[len(s.msgs)-1]
}

func TestMailerGreetsNamesTheOrganizationAndGivesTheZone(t *testing.T) {
	when := time.Date(2026, time.November, 27, 9, 30, 0, 0, time.UTC)
	org := store.Org{Slug: "acme", Name: "Acme Corp"}
	helped := org
	helped.OrgSettings = store.OrgSettings{SupportContact: "IT helpdesk, +31 20 123 4567, help@acme.example", SenderName: "Acme IT Service Desk"}
	anna := store.User{Username: "anna", DisplayName: "Anna de Vries", Email: "anna@acme.example", Language: "en", PasswordHash: "$argon2id$…"}
	bare := store.User{Username: "bob", Email: "bob@acme.example", Language: "nl"}
	tests := []struct {
		name string
		send func(m *Mailer) error
		want []string // in the plain text
		not  []string // not in the plain text
		from string   // the sender's display name
	}{
		{"a notice greets by display name and gives the time with its zone",
			func(m *Mailer) error { return m.Notice(context.Background(), "password_changed", org, anna, "", when) },
			[]string{"Hello Anna de Vries,", "09:30 UTC"}, []string{"Hello anna,"}, "Acme Corp via Twofold"},
		{"the time is given in the organization's zone",
			func(m *Mailer) error {
				dutch := org
				dutch.Policy = []byte(`{"time_zone": "Europe/Amsterdam"}`)
				return m.Notice(context.Background(), "token_added", dutch, anna, "Work phone", when)
			},
			[]string{"10:30 CET", "Work phone"}, nil, "Acme Corp via Twofold"},
		{"without a display name the username greets, in the user's language",
			func(m *Mailer) error {
				return m.Notice(context.Background(), "token_removed", org, bare, "Work phone", when)
			},
			[]string{"Hallo bob,"}, nil, "Acme Corp via Twofold"},
		{"the emailed code greets by name",
			func(m *Mailer) error { return m.VerifyCode(context.Background(), org, anna, "482913", 10*time.Minute) },
			[]string{"Hello Anna de Vries,", "482913"}, []string{i18n.T("en", "mail.greeting_plain")}, "Acme Corp via Twofold"},
		{"an invitation to an app says which app, the password and the phone's button",
			func(m *Mailer) error {
				return m.Invite(context.Background(), org, anna, "totp", "https://mfa.example/enroll?code=x", when)
			},
			[]string{i18n.T("en", "mail.invite.app"), i18n.T("en", "mail.invite.password", "anna"),
				i18n.T("en", "mail.invite.phone", i18n.T("en", "enroll.add_to_phone")), "https://mfa.example/enroll?code=x", "09:30 UTC"},
			[]string{i18n.T("en", "mail.invite_email.intro", "Acme Corp"), i18n.T("en", "mail.invite.push")}, "Acme Corp via Twofold"},
		{"a push token's invitation carries the activation string and its app link",
			func(m *Mailer) error {
				return m.Invite(context.Background(), org, anna, "push", "https://mfa.example/enroll?code=abcdef", when)
			},
			[]string{i18n.T("en", "mail.invite.push"), push.Activation{URL: "https://mfa.example", Code: "abcdef"}.String(),
				"https://mfa.example/app/#a=" + push.Activation{URL: "https://mfa.example", Code: "abcdef"}.String(), "https://mfa.example/enroll?code=abcdef"},
			nil, "Acme Corp via Twofold"},
		{"an invitation without a password does not mention one",
			func(m *Mailer) error {
				return m.Invite(context.Background(), org, bare, "totp", "https://mfa.example/enroll?code=x", when)
			},
			[]string{i18n.T("nl", "mail.invite.app")}, []string{i18n.T("nl", "mail.invite.password", "bob")}, "Acme Corp via Twofold"},
		{"an email token's invitation says the page mails the first code",
			func(m *Mailer) error {
				return m.Invite(context.Background(), org, anna, "email", "https://mfa.example/enroll?code=y", when)
			},
			[]string{i18n.T("en", "mail.invite_email.intro", "Acme Corp"), i18n.T("en", "mail.invite_email.open"), "https://mfa.example/enroll?code=y"},
			[]string{i18n.T("en", "mail.invite.app"), i18n.T("en", "enroll.add_to_phone")}, "Acme Corp via Twofold"},
		{"a temporary code's notice says when and until when, never the code",
			func(m *Mailer) error {
				return m.TempCodeIssued(context.Background(), org, anna, when, when.Add(48*time.Hour), 3, true)
			},
			[]string{"Hello Anna de Vries,", "09:30 UTC", i18n.T("en", "mail.temp_code.until_uses", 3, i18n.DateTime("en", time.UTC, when.Add(48*time.Hour))),
				i18n.T("en", "mail.temp_code.suspended"), i18n.T("en", "mail.temp_code.not_you"), "https://mfa.example/o/acme/"},
			[]string{i18n.T("en", "mail.temp_code.until_once", i18n.DateTime("en", time.UTC, when.Add(48*time.Hour)))}, "Acme Corp via Twofold"},
		{"a temporary code of one use that suspended nothing says so",
			func(m *Mailer) error {
				return m.TempCodeIssued(context.Background(), org, bare, when, when.Add(time.Hour), 1, false)
			},
			[]string{i18n.T("nl", "mail.temp_code.until_once", i18n.DateTime("nl", time.UTC, when.Add(time.Hour)))},
			[]string{i18n.T("nl", "mail.temp_code.suspended")}, "Acme Corp via Twofold"},
		{"in German the sender is named in German",
			func(m *Mailer) error {
				de := anna
				de.Language = "de"
				return m.Notice(context.Background(), "password_changed", org, de, "", when)
			},
			[]string{"Guten Tag Anna de Vries,"}, nil, "Acme Corp über Twofold"},
		{"without a support contact the footer names none",
			func(m *Mailer) error { return m.Notice(context.Background(), "password_changed", org, anna, "", when) },
			[]string{i18n.T("en", "mail.footer", "Acme Corp")}, []string{"Questions?"}, "Acme Corp via Twofold"},
		{"the organization's sender name and support contact frame every mail",
			func(m *Mailer) error {
				return m.Notice(context.Background(), "password_changed", helped, anna, "", when)
			},
			[]string{i18n.T("en", "mail.footer", "Acme Corp") + "\nQuestions? Contact: IT helpdesk, +31 20 123 4567, help@acme.example\n"}, nil, "Acme IT Service Desk"},
		{"in Dutch too, on a mail the core sends",
			func(m *Mailer) error {
				return m.VerifyCode(context.Background(), helped, bare, "482913", 10*time.Minute)
			},
			[]string{"Vragen? Neem contact op: IT helpdesk, +31 20 123 4567, help@acme.example"}, nil, "Acme IT Service Desk"},
		{"and in German, on an invitation",
			func(m *Mailer) error {
				de := anna
				de.Language = "de"
				return m.Invite(context.Background(), helped, de, "totp", "https://mfa.example/enroll?code=x", when)
			},
			[]string{"Fragen? Wenden Sie sich an: IT helpdesk, +31 20 123 4567, help@acme.example"}, nil, "Acme IT Service Desk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &sent{}
			m := &Mailer{Render: newRenderer(t), Sender: out, PublicURL: "https://mfa.example"}
			if err := tt.send(m); err != nil {
				t.Fatal(err)
			}
			msg := out.last(t)
			if msg.FromName != tt.from {
				t.Errorf("From name %q, want %q", msg.FromName, tt.from)
			}
			if !strings.HasPrefix(msg.Subject, "Acme Corp: ") {
				t.Errorf("subject %q does not start with the organization", msg.Subject)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, msg.Text)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(msg.Text, w) {
					t.Errorf("text has %q:\n%s", w, msg.Text)
				}
			}
		})
	}
}
