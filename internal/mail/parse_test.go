package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
)

// parsed is a message read back with net/mail and mime/multipart only, as a
// mail client would, independent of go-mail.
type parsed struct {
	header    netmail.Header
	subject   string // decoded from RFC 2047
	mediaType string // of the whole message
	text      string // decoded, CRLF turned into LF
	html      string // decoded, CRLF turned into LF; "" when absent
	parts     int
}

// parseMessage parses raw, failing the test on anything a mail client could
// not read.
func parseMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	var p parsed
	p.header = msg.Header
	p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	p.mediaType = mediaType
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.parts = 1
		p.text = decodePart(t, mediaType, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		p.parts++
		// multipart.Reader removes the Content-Transfer-Encoding header
		// of a quoted-printable part and decodes it itself.
		ct, ctParams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		body := decodePart(t, ct, ctParams, part.Header.Get("Content-Transfer-Encoding"), part)
		switch ct {
		case "text/plain":
			p.text = body
		case "text/html":
			p.html = body
		default:
			t.Fatalf("unexpected part type %q", ct)
		}
	}
	return p
}

func decodePart(t *testing.T, mediaType string, params map[string]string, cte string, r io.Reader) string {
	t.Helper()
	if cs := params["charset"]; !strings.EqualFold(cs, "utf-8") {
		t.Errorf("%s charset = %q, want UTF-8", mediaType, cs)
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s body: %v", mediaType, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// checkMessage compares a parsed message with the Message it came from.
func checkMessage(t *testing.T, p parsed, m Message, from string) {
	t.Helper()
	wantFrom, _ := netmail.ParseAddress(from)
	if m.FromName != "" {
		wantFrom.Name = m.FromName
	}
	gotFrom, err := p.header.AddressList("From")
	if err != nil || len(gotFrom) != 1 || gotFrom[0].Address != wantFrom.Address || gotFrom[0].Name != wantFrom.Name {
		t.Errorf("From = %v (%v), want %v", gotFrom, err, wantFrom)
	}
	wantTo, _ := netmail.ParseAddress(m.To)
	gotTo, err := p.header.AddressList("To")
	if err != nil || len(gotTo) != 1 || gotTo[0].Address != wantTo.Address || gotTo[0].Name != wantTo.Name {
		t.Errorf("To = %v (%v), want %v", gotTo, err, wantTo)
	}
	if p.subject != m.Subject {
		t.Errorf("Subject = %q, want %q", p.subject, m.Subject)
	}
	if got := p.header.Get("Content-Language"); got != m.Language {
		t.Errorf("Content-Language = %q, want %q", got, m.Language)
	}
	if got := p.header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	if got := p.header.Get("MIME-Version"); got != "1.0" {
		t.Errorf("MIME-Version = %q, want 1.0", got)
	}
	id := p.header.Get("Message-ID")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@"+domainOf(wantFrom.Address)+">") || len(id) < 20 {
		t.Errorf("Message-ID = %q, want <random@%s>", id, domainOf(wantFrom.Address))
	}
	if _, err := p.header.Date(); err != nil {
		t.Errorf("Date %q: %v", p.header.Get("Date"), err)
	}
	for _, h := range []string{"Bcc", "Cc", "Reply-To", "User-Agent", "X-Mailer"} {
		if v := p.header.Get(h); v != "" {
			t.Errorf("unexpected %s: %q", h, v)
		}
	}
	if p.text != m.Text {
		t.Errorf("text body = %q, want %q", p.text, m.Text)
	}
	if p.html != m.HTML {
		t.Errorf("HTML body = %q, want %q", p.html, m.HTML)
	}
	wantType, wantParts := "multipart/alternative", 2
	if m.HTML == "" {
		wantType, wantParts = "text/plain", 1
	}
	if p.mediaType != wantType || p.parts != wantParts {
		t.Errorf("message is %s with %d part(s), want %s with %d", p.mediaType, p.parts, wantType, wantParts)
	}
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }
