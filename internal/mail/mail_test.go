package mail

import (
	"strings"
	"testing"
)

func TestNewChoosesTheSender(t *testing.T) {
	type want struct {
		outboxDir   string // for an Outbox
		addr        string // for SMTP: host:port
		implicitTLS bool
		username    string
		password    string
	}
	tests := []struct {
		name      string
		smtpURL   string
		outboxDir string
		from      string
		want      *want  // nil: an error
		wantErr   string // in the error
	}{
		{name: "no SMTP URL writes to the outbox",
			smtpURL: "", outboxDir: "/var/lib/twofold/outbox", from: testFrom,
			want: &want{outboxDir: "/var/lib/twofold/outbox"}},
		{name: "a blank SMTP URL writes to the outbox",
			smtpURL: "  ", outboxDir: "/data/outbox", from: "twofold@example.org",
			want: &want{outboxDir: "/data/outbox"}},
		{name: "smtp without a port uses submission port 587",
			smtpURL: "smtp://mail.example.org", from: testFrom,
			want: &want{addr: "mail.example.org:587"}},
		{name: "smtps without a port uses port 465 and implicit TLS",
			smtpURL: "smtps://mail.example.org", from: testFrom,
			want: &want{addr: "mail.example.org:465", implicitTLS: true}},
		{name: "smtp with user, percent-encoded password and port",
			smtpURL: "smtp://mailer:p%40ss%20w%C3%B6rd@mail.example.org:2525", from: testFrom,
			want: &want{addr: "mail.example.org:2525", username: "mailer", password: "p@ss wörd"}},
		{name: "an upper-case scheme and an IPv6 host are understood",
			smtpURL: "SMTPS://[2001:db8::25]:4650/", from: testFrom,
			want: &want{addr: "[2001:db8::25]:4650", implicitTLS: true}},
		{name: "another scheme is refused",
			smtpURL: "http://mail.example.org", from: testFrom, wantErr: `scheme "http" is not smtp or smtps`},
		{name: "a mailto URL is refused",
			smtpURL: "mailto:twofold@example.org", from: testFrom, wantErr: "is not smtp or smtps"},
		{name: "a URL without a host is refused",
			smtpURL: "smtp://", from: testFrom, wantErr: "no host"},
		{name: "a bad port is refused",
			smtpURL: "smtp://mail.example.org:99999", from: testFrom, wantErr: "not a port number"},
		{name: "a query is refused rather than ignored",
			smtpURL: "smtp://mail.example.org?tls=off", from: testFrom, wantErr: "path, query or fragment"},
		{name: "an unparseable URL is refused without repeating the password",
			smtpURL: "smtp://mailer:hunter2@mail.example.org:x", from: testFrom, wantErr: "not a valid URL"},
		{name: "a From that is not an address is refused",
			smtpURL: "smtp://mailer:hunter2@mail.example.org", from: "Twofold", wantErr: "From address"},
		{name: "an outbox without a directory is refused",
			smtpURL: "", outboxDir: "", from: testFrom, wantErr: "no outbox directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.smtpURL, tt.outboxDir, tt.from)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("New = %#v, want an error", s)
				}
				if s != nil {
					t.Errorf("New returned a sender %#v with its error", s)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not say %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q contains the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			switch s := s.(type) {
			case *Outbox:
				if tt.want.outboxDir == "" {
					t.Fatalf("New = Outbox, want SMTP")
				}
				if s.Dir != tt.want.outboxDir || s.From != tt.from {
					t.Errorf("Outbox = %+v, want Dir %q From %q", s, tt.want.outboxDir, tt.from)
				}
			case *SMTP:
				if tt.want.addr == "" {
					t.Fatalf("New = SMTP %v, want Outbox", s)
				}
				if s.addr() != tt.want.addr || s.implicitTLS != tt.want.implicitTLS ||
					s.username != tt.want.username || s.password != tt.want.password || s.from != tt.from {
					t.Errorf("SMTP = {addr %s implicitTLS %v user %q password %q from %q}, want %+v",
						s.addr(), s.implicitTLS, s.username, s.password, s.from, *tt.want)
				}
				if s.TLSConfig != nil {
					t.Errorf("New set a TLSConfig; only tests give one")
				}
			default:
				t.Fatalf("New returned %T", s)
			}
		})
	}
}

func TestNewSMTPRefusesANilURL(t *testing.T) {
	if _, err := NewSMTP(nil, testFrom, nil); err == nil {
		t.Fatal("NewSMTP(nil) succeeded")
	}
}
