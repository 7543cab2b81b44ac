// Package compose writes Twofold's mails — the invitation, notices of
// changes to an account, emailed codes — in the recipient's language from
// templates embedded in the binary, and hands them to a mail.Sender. It is
// the one place mail is worded: the portal, the CLI and the verification
// core's sender all go through its Mailer, so none of them needs the
// web pages to send mail.
package compose

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
)

//go:embed templates
var templateFS embed.FS

// Renderer renders mails from the embedded templates, parsed once.
type Renderer struct {
	mails map[string]mailSet
}

// mailSet is one mail's templates: "subject" and "text" in the text set,
// with the text layout's "footer"; in the HTML set, the mail layout
// ("layout") around the mail's "body".
type mailSet struct {
	text *texttemplate.Template
	html *template.Template
}

// Frame is what every mail of an organization takes from it besides the
// mail's own data: the layout's part, set once in Mailer.send, so no mail
// needs a field for it.
type Frame struct {
	Loc     *time.Location // the organization's time zone, which times are told in; nil is UTC
	Support string         // the support contact the footer names; empty leaves it out
}

// view is what a mail template is given.
type view struct {
	Lang    string
	Loc     *time.Location // see Frame
	Support string         // see Frame
	Data    any
}

// funcs are the template functions of mails.
var funcs = template.FuncMap{
	// t looks up a message: {{t $.Lang "key" args…}}.
	"t": i18n.T,
	// datetime formats a time in a language and a zone: {{datetime $.Lang $.Loc .When}}.
	"datetime": i18n.DateTime,
}

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{mails: map[string]mailSet{}}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("compose: mail layout: %w", err)
	}
	textBase, err := texttemplate.New("layout.txt").Funcs(texttemplate.FuncMap(funcs)).ParseFS(templateFS, "templates/layout.txt")
	if err != nil {
		return nil, fmt.Errorf("compose: mail text layout: %w", err)
	}
	texts, err := fs.Glob(templateFS, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	for _, file := range texts {
		name := strings.TrimSuffix(path.Base(file), ".txt")
		if name == "layout" {
			continue
		}
		text, err := texttemplate.Must(textBase.Clone()).ParseFS(templateFS, file)
		if err != nil {
			return nil, fmt.Errorf("compose: %s: %w", file, err)
		}
		html, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("compose: mail %s: %w", name, err)
		}
		for _, def := range []string{"subject", "text"} {
			if text.Lookup(def) == nil {
				return nil, fmt.Errorf("compose: %s defines no %q", file, def)
			}
		}
		if html.Lookup("body") == nil {
			return nil, fmt.Errorf("compose: mail %s.html defines no \"body\"", name)
		}
		r.mails[name] = mailSet{text: text, html: html}
	}
	return r, nil
}

// Render renders mail name ("invite" with InviteMail; "token_added",
// "token_removed", "password_changed" and "backup_used" with NoticeMail;
// "verify_code" with VerifyCodeMail; "reset_link" with ResetMail;
// "account_locked" with LockedMail; "temp_code" with TempCodeMail;
// "push_fraud" with FraudMail) in lang,
// framed by f: subject, plain text and HTML bodies.
func (r *Renderer) Render(lang string, f Frame, name string, data any) (subject, text, html string, err error) {
	m, ok := r.mails[name]
	if !ok {
		return "", "", "", fmt.Errorf("compose: no mail %q", name)
	}
	if f.Loc == nil {
		f.Loc = time.UTC
	}
	v := view{Lang: i18n.Match(lang, ""), Loc: f.Loc, Support: f.Support, Data: data}
	var buf bytes.Buffer
	if err := m.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return "", "", "", fmt.Errorf("compose: mail %q subject: %w", name, err)
	}
	// One line, whatever the organization's name holds.
	subject = strings.Join(strings.Fields(buf.String()), " ")
	buf.Reset()
	if err := m.text.ExecuteTemplate(&buf, "text", v); err != nil {
		return "", "", "", fmt.Errorf("compose: mail %q text: %w", name, err)
	}
	text = tidyText(buf.String())
	buf.Reset()
	if err := m.html.ExecuteTemplate(&buf, "layout", v); err != nil {
		return "", "", "", fmt.Errorf("compose: mail %q html: %w", name, err)
	}
	return subject, text, buf.String(), nil
}

// blankLines matches runs of blank lines.
var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText trims each line of a plain-text mail, keeps at most one blank
// line between paragraphs and ends it with a newline.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(s) + "\n"
}
