package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
)

const testFrom = "Twofold <twofold@example.org>"

// secretCode stands for what a body may hold: no error may repeat it.
const secretCode = "493817"

var testTime = time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)

var emlName = regexp.MustCompile(`^([0-9]+)-[0-9a-f]{16}\.eml$`)

func TestOutboxWritesEachMessageAsOneEMLFile(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{
			name: "a text and HTML message with a non-ASCII subject and body",
			msg: Message{
				To:       "Jürgen Müller <juergen@example.de>",
				Subject:  "Code für Jürgen",
				Text:     "Hallo Jürgen,\n\nIhr Einmalcode für Acme: " + secretCode + "\nEr gilt 10 Minuten.\n",
				HTML:     "<p>Hallo Jürgen,</p>\n<p>Ihr Einmalcode für Acme: <b>" + secretCode + "</b></p>",
				Language: "de",
			},
		},
		{
			name: "a text-only message",
			msg: Message{
				To:       "alice@example.org",
				Subject:  "Your one-time code",
				Text:     "Your one-time code is " + secretCode + ".\n",
				Language: "en",
			},
		},
		{
			name: "a message with a long subject, long lines and no language",
			msg: Message{
				To:      "bob@example.nl",
				Subject: strings.TrimSpace(strings.Repeat("Uw authenticator-app is toegevoegd aan uw account ", 4)),
				Text:    strings.Repeat("Open https://twofold.example.org/enroll?code=abcdefghijklmnopqrstuvwxyz0123456789 ", 5) + "\n.\nFrom here on.\n",
				HTML:    "<p>" + strings.Repeat("é", 500) + "</p>",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox")
			o := &Outbox{Dir: dir, From: testFrom, Clock: clock.NewFake(testTime)}
			if err := o.Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}

			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if perm := st.Mode().Perm(); perm != 0o700 {
				t.Errorf("outbox directory mode = %o, want 700", perm)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Fatalf("outbox holds %d entries (%v), want exactly one .eml file", len(entries), entries)
			}
			name := entries[0].Name()
			match := emlName.FindStringSubmatch(name)
			if match == nil {
				t.Fatalf("file name %q is not <unix-nanos>-<random>.eml", name)
			}
			if nanos, _ := strconv.ParseInt(match[1], 10, 64); nanos != testTime.UnixNano() {
				t.Errorf("file name time = %d, want the clock's %d", nanos, testTime.UnixNano())
			}
			info, err := entries[0].Info()
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("file mode = %o, want 600", perm)
			}

			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			p := parseMessage(t, raw)
			checkMessage(t, p, tt.msg, testFrom)
			if date, err := p.header.Date(); err != nil || !date.Equal(testTime.Truncate(time.Second)) {
				t.Errorf("Date = %v (%v), want the clock's %v", date, err, testTime.Truncate(time.Second))
			}
			for i, line := range strings.Split(string(raw), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line %d is %d octets long, over RFC 5322's 998", i+1, len(line))
				}
				if strings.ContainsRune(line, '\n') || strings.ContainsRune(line, '\r') {
					t.Errorf("line %d has a bare CR or LF", i+1)
				}
			}
		})
	}
}

func TestOutboxRefusesBadMessagesAndWritesNothing(t *testing.T) {
	good := Message{To: "alice@example.org", Subject: "Your one-time code", Text: "Code: " + secretCode + "\n", HTML: "<p>" + secretCode + "</p>", Language: "en"}
	with := func(f func(*Message)) Message { m := good; f(&m); return m }
	tests := []struct {
		name string
		from string
		msg  Message
		want string // in the error
	}{
		{"a CR LF in the subject is refused as header injection", testFrom,
			with(func(m *Message) { m.Subject = "Hello\r\nBcc: victim@example.net" }), "Subject contains a line break"},
		{"a bare LF in the subject is refused", testFrom,
			with(func(m *Message) { m.Subject = "Hello\nX-Evil: 1" }), "Subject contains a line break"},
		{"a bare CR in the subject is refused", testFrom,
			with(func(m *Message) { m.Subject = "Hello\rX-Evil: 1" }), "Subject contains a line break"},
		{"a CR LF in the recipient is refused as header injection", testFrom,
			with(func(m *Message) { m.To = "alice@example.org\r\nBcc: victim@example.net" }), "To contains a line break"},
		{"a CR LF in the sender's display name is refused as header injection", testFrom,
			with(func(m *Message) { m.FromName = "Acme\r\nBcc: victim@example.net" }), "From name contains a line break"},
		{"a folded recipient is refused too", testFrom,
			with(func(m *Message) { m.To = "Alice\r\n <alice@example.org>" }), "To contains a line break"},
		{"another control character in the subject is refused", testFrom,
			with(func(m *Message) { m.Subject = "Hello\x00" }), "Subject contains a control character"},
		{"a subject that is not UTF-8 is refused", testFrom,
			with(func(m *Message) { m.Subject = "Code f\xfcr J\xfcrgen" }), "Subject is not valid UTF-8"},
		{"two recipients are refused", testFrom,
			with(func(m *Message) { m.To = "alice@example.org, mallory@example.net" }), "To address"},
		{"a recipient that is not an address is refused", testFrom,
			with(func(m *Message) { m.To = "alice" }), "To address"},
		{"a missing recipient is refused", testFrom,
			with(func(m *Message) { m.To = "" }), "no To address"},
		{"a message without text is refused", testFrom,
			with(func(m *Message) { m.Text = " \n" }), "no text body"},
		{"a body that is not UTF-8 is refused without repeating it", testFrom,
			with(func(m *Message) { m.Text = "Code: " + secretCode + " \xff" }), "text body is not valid UTF-8"},
		{"an HTML body that is not UTF-8 is refused without repeating it", testFrom,
			with(func(m *Message) { m.HTML = "<p>" + secretCode + " \xff</p>" }), "HTML body is not valid UTF-8"},
		{"a language that is not a BCP 47 tag is refused", testFrom,
			with(func(m *Message) { m.Language = "de\r\nX-Evil: 1" }), "Content-Language"},
		{"a From that is not an address is refused", "Twofold",
			good, "From address"},
		{"a From with a line break is refused", "Twofold <twofold@example.org>\r\nBcc: victim@example.net",
			good, "From contains a line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox")
			o := &Outbox{Dir: dir, From: tt.from}
			err := o.Send(context.Background(), tt.msg)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error %q does not wrap ErrInvalidMessage", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secretCode) {
				t.Errorf("error %q repeats the body", err)
			}
			if entries, err := os.ReadDir(dir); !os.IsNotExist(err) {
				t.Errorf("outbox was touched: %v entries, err %v; want no directory", len(entries), err)
			}
		})
	}
}

func TestOutboxKeepsConcurrentMessagesApart(t *testing.T) {
	// The fake clock gives every message the same nanoseconds: the random
	// part of the name must keep them apart.
	dir := t.TempDir()
	o := &Outbox{Dir: dir, From: testFrom, Clock: clock.NewFake(testTime)}
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- o.Send(context.Background(), Message{
				To: fmt.Sprintf("user%d@example.org", i), Subject: "Code", Text: fmt.Sprintf("Message %d\n", i),
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !emlName.MatchString(e.Name()) {
			t.Errorf("unexpected entry %q (a temporary file left behind?)", e.Name())
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		seen[parseMessage(t, raw).text] = true
	}
	if len(seen) != n {
		t.Errorf("outbox holds %d distinct messages, want %d", len(seen), n)
	}
}

func TestOutboxHonoursACancelledContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Outbox{Dir: dir, From: testFrom}).Send(ctx, Message{To: "alice@example.org", Subject: "Code", Text: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("outbox was created: %v", err)
	}
}
