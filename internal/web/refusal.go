package web

import (
	"errors"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/store"
)

// refusal is what a page says about a refused code or password: the
// error, and a hint at what usually went wrong, each a catalogue key with
// its arguments, and the id of the field it is about.
type refusal struct {
	Error     string
	ErrorArgs []any
	Hint      string
	HintArgs  []any
	Field     string
}

// onto puts the refusal on p.
func (f refusal) onto(p *page.Page) {
	p.Error, p.ErrorArgs, p.Hint, p.HintArgs, p.ErrorField = f.Error, f.ErrorArgs, f.Hint, f.HintArgs, f.Field
}

// wrongCode is the error for a wrong code of each method (auth.Outcome.Method).
var wrongCode = map[string]string{
	"app":    "error.code_wrong",
	"email":  "error.email_code_wrong",
	"backup": "error.backup_wrong",
	"temp":   "error.temp_wrong",
}

// codeRefused says why the core refused a code, as far as the person at
// the page may be told: input that is no code at all; a lock and its end,
// which the core tells only a person who has proven to be the user
// (auth.Request.Identified); otherwise a wrong code, in the words of its
// method, with the phone's clock when it runs off. Every other reason is
// the one answer for a wrong code.
func codeRefused(lang string, loc *time.Location, out auth.Outcome, now time.Time) refusal {
	if errors.Is(out.Reason, auth.ErrMalformed) {
		return refusal{Error: "error.code_malformed", Field: "code"}
	}
	if f, ok := lockRefused(lang, loc, out, now); ok {
		return f
	}
	f := refusal{Error: wrongCode[out.Method], Field: "code"}
	if f.Error == "" {
		f.Error = wrongCode["app"]
	}
	if off := out.ClockOffset; off > 0 {
		f.Hint, f.HintArgs = "hint.clock_ahead", []any{offsetText(lang, off)}
	} else if off < 0 {
		f.Hint, f.HintArgs = "hint.clock_behind", []any{offsetText(lang, -off)}
	}
	return f
}

// enrollRefused is codeRefused for the first code of an authenticator
// app, where a wrong code most often means the phone's clock is off or the
// code changed while it was typed: it says so when nothing more precise
// is known.
func enrollRefused(lang string, loc *time.Location, out auth.Outcome, now time.Time) refusal {
	f := codeRefused(lang, loc, out, now)
	if f.Error == wrongCode["app"] && f.Hint == "" {
		f.Hint = "hint.clock"
	}
	return f
}

// pushErrors are the messages for a push that did not sign in, by the
// core's reason.
var pushErrors = map[error]string{
	auth.ErrPushDenied:      "error.push_denied",
	auth.ErrPushFraud:       "error.push_denied",
	auth.ErrPushWrongNumber: "error.push_wrong_number",
	auth.ErrPushExpired:     "error.push_expired",
}

// pushRefused says why a push did not sign in: a lock and its end, when
// the core tells it; denied in the app — a fraud report too, as the
// person at this page may be the one reported —; the wrong number picked;
// no answer in time. Anything else (a lock it does not date, an answer
// collected elsewhere) is the one answer that it was not approved.
func pushRefused(lang string, loc *time.Location, out auth.Outcome, now time.Time) refusal {
	if f, ok := lockRefused(lang, loc, out, now); ok {
		return f
	}
	for reason, key := range pushErrors {
		if errors.Is(out.Reason, reason) {
			return refusal{Error: key}
		}
	}
	return refusal{Error: "error.push_failed"}
}

// passwordRefused says why the core refused a password the user confirms
// in a session that has proven it is them: a lock and its end, or a wrong
// password.
func passwordRefused(lang string, loc *time.Location, out auth.Outcome, now time.Time) refusal {
	if f, ok := lockRefused(lang, loc, out, now); ok {
		return f
	}
	return refusal{Error: "error.password_wrong", Field: "password"}
}

// lockRefused is the refusal of a lock whose end the core has told
// (auth.Outcome.LockedUntil), and reports whether there is one.
func lockRefused(lang string, loc *time.Location, out auth.Outcome, now time.Time) (refusal, bool) {
	switch {
	case out.LockedUntil.IsZero():
		return refusal{}, false
	case out.LockedUntil.Equal(store.LockedForever):
		return refusal{Error: "error.locked_helpdesk"}, true
	}
	return refusal{Error: "error.locked_until", ErrorArgs: []any{i18n.Moment(lang, loc, out.LockedUntil, now)}}, true
}

// offsetText says how far a clock is off in words: seconds up to two
// minutes, minutes from there.
func offsetText(lang string, d time.Duration) string {
	if d < 2*time.Minute {
		return i18n.T(lang, "hint.seconds", int(d/time.Second))
	}
	return i18n.T(lang, "hint.minutes", int(d.Round(time.Minute)/time.Minute))
}
