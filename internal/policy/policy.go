// Package policy holds an organization's authentication policy: one typed
// structure with the service provider's defaults and validation, stored per
// organization as JSON.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Policy is what an organization decides about authentication. The zero
// value is not valid; start from Default.
type Policy struct {
	// MFARequired makes every portal login ask for a second factor; a user
	// without an authenticator is walked through adding one first.
	MFARequired bool `json:"mfa_required" help:"ask every portal login for a second factor (true or false)"`
	// LoginForm is "two-step" (username and password, then the code) or
	// "combined" (username, code and password on one page).
	LoginForm string `json:"login_form" choices:"two-step,combined" help:"two-step (password, then code) or combined (all on one page)"`

	// LockoutThreshold is how many second-factor guesses are evaluated per
	// user before the account locks (1–100).
	LockoutThreshold int `json:"lockout_threshold" help:"wrong codes in a row before the user is locked (1 to 100)"`
	// LockoutDuration is how long the first lock lasts; each further lock
	// without a success in between lasts one LockoutDuration longer.
	LockoutDuration Duration `json:"lockout_duration" help:"how long the first lock lasts; each further one without a success lasts that much longer (1m to 24h)"`
	// LockoutHardLimit is how many failures in a row, across lock periods,
	// lock the account until an operator unlocks it (NIST SP 800-63B-4
	// section 3.2.2 allows at most 100).
	LockoutHardLimit int `json:"lockout_hard_limit" help:"failures in a row after which only an operator can unlock (1 to 100)"`

	// PasswordMinLength is the fewest characters a new password may have
	// (NIST SP 800-63B-4 section 3.1.1.2 asks for at least 8 where a
	// second factor is used, 15 where the password stands alone).
	PasswordMinLength int `json:"password_min_length" help:"fewest characters of a new password (8 to 64)"`

	// FirstLoginEnrollment lets a user who has never had an authenticator
	// (and has no invitation outstanding) add the first one at sign-in with
	// the password alone, as customer portals do. Everyone else needs more
	// than the password: the invitation link, a backup code, a code mailed to
	// them, or the helpdesk.
	FirstLoginEnrollment bool `json:"first_login_enrollment" help:"a user who never had an authenticator adds one at first sign-in with the password alone (true or false)"`
	// TokenClaim lets a user without an authenticator claim one of the
	// organization's unassigned hardware tokens (imported to the
	// inventory) at sign-in: after the password, the serial printed on
	// it and a code it shows make it theirs. It suits tokens handed out
	// in person; off, only an operator assigns them (token assign).
	TokenClaim bool `json:"token_claim" help:"a user without an authenticator claims an unassigned hardware token at sign-in with its serial and a code it shows (true or false)"`
	// PasswordReset lets users who forgot their password set a new one
	// from the sign-in page: a single-use link mailed to their address,
	// and their second factor when they have one.
	PasswordReset bool `json:"password_reset" help:"users who forgot their password set a new one with a mailed link and their second factor (true or false)"`
	// BackupCodesAtSetup walks a user who has just activated an
	// authenticator, and has no backup codes, through saving a set, so that
	// a lost phone never needs the helpdesk.
	BackupCodesAtSetup bool `json:"backup_codes_at_setup" help:"a user without backup codes saves a set right after activating an authenticator (true or false)"`

	// OTPAlgorithm, OTPDigits and OTPPeriod are the parameters of new tokens.
	OTPAlgorithm string   `json:"otp_algorithm" choices:"SHA1,SHA256,SHA512" help:"hash of new tokens: SHA1, SHA256 or SHA512"`
	OTPDigits    int      `json:"otp_digits" choices:"6,8" help:"digits per code of new tokens: 6 or 8"`
	OTPPeriod    Duration `json:"otp_period" choices:"30s,60s" help:"how long a code of a new TOTP token lasts: 30s or 60s"`

	// TOTPWindow is how many steps either side of the expected one a TOTP
	// code may come from; HOTPWindow is how far ahead of the last accepted
	// counter an HOTP code is looked for.
	TOTPWindow int `json:"totp_window" help:"TOTP steps accepted either side of the current one (0 to 2)"`
	HOTPWindow int `json:"hotp_window" help:"HOTP counters looked ahead for a code (1 to 50)"`
	// ResyncWindow bounds the search for two consecutive codes when a
	// token is resynchronised (steps either side for TOTP, counters ahead
	// for HOTP). It also bounds the drift remembered for a TOTP token.
	ResyncWindow int `json:"resync_window" help:"how far resync looks for two consecutive codes (the larger window to 1000)"`

	// EnrollmentLifetime is how long an enrollment link stays valid.
	EnrollmentLifetime Duration `json:"enrollment_lifetime" help:"how long an enrollment link stays valid (1h to 720h)"`

	// Methods are the second factors users may choose (MethodApp, …).
	// Backup codes are always allowed: nobody is locked out for good.
	Methods []string `json:"methods" help:"second factors users may choose: app, email, push, sms (comma-separated)"`

	// PushTimeout is how long a push request can be answered.
	PushTimeout Duration `json:"push_timeout" help:"how long a push request can be answered in the app (30s to 10m)"`
	// PushNumberMatching makes the app offer three numbers, of which the
	// user picks the one the sign-in shows; without it the app shows the
	// one number and approving needs no pick.
	PushNumberMatching bool `json:"push_number_matching" help:"the user picks, among three in the app, the number the sign-in shows (true or false)"`
	// PushRate bounds the push requests one user is sent per window, against
	// MFA fatigue: beyond it push is withheld and a typed code is asked for
	// until the window has passed.
	PushRate Rate `json:"push_rate" help:"most push requests per user per window, as count/window such as 5/5m; beyond it a typed code is asked for (1 to 100 per 1m to 24h)"`
	// RadiusPushWait is how long RADIUS holds an Access-Request for the
	// answer to a push: below the gateway's retry timer, which resends.
	RadiusPushWait Duration `json:"radius_push_wait" help:"how long RADIUS holds an Access-Request for the push answer (1s to 25s)"`

	// PINMode is PINNone, PINServer (a PIN typed before every code,
	// checked by the server) or PINToken (the PIN is kept by the app).
	PINMode string `json:"pin_mode" choices:"none,server,token" help:"none, server (PIN typed before the code) or token (PIN kept by the app)"`
	// PINMinLength and PINMaxLength bound a server PIN (4–16); the
	// shortest also bounds a token PIN, which the app keeps.
	PINMinLength int `json:"pin_min_length" help:"shortest PIN, checked by the server or kept by the app (4 to 16)"`
	PINMaxLength int `json:"pin_max_length" help:"longest server PIN (4 to 16)"`
	// PINDigitsOnly limits server PINs to digits; otherwise letters are allowed too.
	PINDigitsOnly bool `json:"pin_digits_only" help:"server PINs are digits only (true) or letters and digits (false)"`
	// PINChangeOnFirstUse makes a user change a PIN the operator assigned.
	PINChangeOnFirstUse bool `json:"pin_change_on_first_use" help:"a PIN assigned by the operator must be changed at the next sign-in"`
	// TokenPINAttempts is how many wrong token PINs in a row make the
	// Twofold Authenticator wipe the token, as a hardware token does; the
	// app learns it at activation.
	TokenPINAttempts int `json:"token_pin_attempts" help:"wrong token PINs in a row after which the Twofold Authenticator wipes the token (3 to 10)"`

	// EmailCodeDigits and EmailCodeLifetime shape emailed codes.
	EmailCodeDigits   int      `json:"email_code_digits" help:"digits of an emailed code (6 to 8)"`
	EmailCodeLifetime Duration `json:"email_code_lifetime" help:"how long an emailed code is valid (1m to 1h)"`
	// A new code may be mailed at most once per EmailResendEvery and
	// EmailResendMax times per EmailResendWindow.
	EmailResendEvery  Duration `json:"email_resend_every" help:"shortest wait before another code is mailed (10s to 10m)"`
	EmailResendMax    int      `json:"email_resend_max" help:"most codes mailed within email_resend_window (1 to 20)"`
	EmailResendWindow Duration `json:"email_resend_window" help:"the time email_resend_max counts over (1m to 24h)"`

	// RadiusMode is what a RADIUS Access-Request's User-Password carries:
	// RadiusCode (the code, after the PIN under the server-PIN policy),
	// RadiusPasswordCode (the password followed by the code) or
	// RadiusPassword (the password alone; an Access-Challenge then asks
	// for the code).
	RadiusMode string `json:"radius_mode" choices:"code,password+code,password" help:"what RADIUS User-Password holds: code, password+code, or password (then a challenge asks for the code)"`
	// RadiusAttributes are sent in every RADIUS Access-Accept, each
	// written Name=value with a name from RadiusAttributeKinds.
	RadiusAttributes []string `json:"radius_attributes" help:"attributes of every RADIUS Access-Accept, as Name=value (Filter-Id, Class, Reply-Message, Session-Timeout, Idle-Timeout; comma-separated)"`

	// TimeZone is the IANA name of the zone the pages and mails tell times
	// in, so that "last used" and "valid until" read as the users' clocks do.
	TimeZone string `json:"time_zone" help:"the time zone pages and mails tell times in, an IANA name such as Europe/Amsterdam"`

	// AuditRetention is how long audit events are kept before the janitor
	// removes them; 0 keeps them forever.
	AuditRetention Duration `json:"audit_retention" help:"how long audit events are kept: 0 keeps them forever, otherwise 24h to 87600h (10 years)"`
	// TempCodeLifetime is how long a temporary code the helpdesk issues
	// for a lost authenticator stays valid, at most; TempCodeUses is how
	// many sign-ins it allows, at most.
	TempCodeLifetime Duration `json:"temp_code_lifetime" help:"how long a temporary code from the helpdesk stays valid, at most (1m to 720h)"`
	TempCodeUses     int      `json:"temp_code_uses" help:"how many sign-ins a temporary code from the helpdesk allows, at most (1 to 10)"`
}

// The bounds of an AuditRetention other than 0 (keep forever).
const (
	MinAuditRetention = 24 * time.Hour
	MaxAuditRetention = 10 * 365 * 24 * time.Hour
)

// RADIUS modes.
const (
	RadiusCode         = "code"
	RadiusPasswordCode = "password+code"
	RadiusPassword     = "password"
)

// RadiusAttributeKinds are the RADIUS attributes an organization may add to
// its Access-Accepts, with their RFC 2865 types and whether their value is
// text or a whole number of seconds.
var RadiusAttributeKinds = map[string]struct {
	Type   byte
	Number bool
}{
	"Reply-Message":   {18, false},
	"Filter-Id":       {11, false},
	"Class":           {25, false},
	"Session-Timeout": {27, true},
	"Idle-Timeout":    {28, true},
}

// RadiusAttribute splits a radius_attributes entry into its name and value
// and checks both.
func RadiusAttribute(entry string) (name, value string, err error) {
	name, value, ok := strings.Cut(entry, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	kind, known := RadiusAttributeKinds[name]
	switch {
	case !ok || !known:
		return "", "", fmt.Errorf("radius_attributes: %q should be Name=value with a name of Filter-Id, Class, Reply-Message, Session-Timeout or Idle-Timeout", entry)
	case value == "" || len(value) > 253:
		return "", "", fmt.Errorf("radius_attributes: the value of %s must be 1 to 253 bytes", name)
	case kind.Number:
		if n, err := strconv.ParseUint(value, 10, 32); err != nil || n == 0 {
			return "", "", fmt.Errorf("radius_attributes: %s takes a whole number of seconds, not %q", name, value)
		}
	case !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl):
		return "", "", fmt.Errorf("radius_attributes: the value of %s must be text without control characters", name)
	}
	return name, value, nil
}

// MaxEnrollmentLifetime is the longest EnrollmentLifetime a policy may
// set: a record of a replaced link is of no use for longer.
const MaxEnrollmentLifetime = 30 * 24 * time.Hour

// MaxEmailResendWindow is the longest EmailResendWindow a policy may set:
// a mailed code's challenge must be kept at least this long to be counted.
const MaxEmailResendWindow = 24 * time.Hour

// MaxTempCodeLifetime is the longest a temporary code may be valid: 30 days.
const MaxTempCodeLifetime = 30 * 24 * time.Hour

// MaxTOTPWindow is the most TOTPWindow a policy may set: a code of two
// steps either side is a minute off with 30 s steps.
const MaxTOTPWindow = 2

// PIN modes.
const (
	PINNone   = "none"
	PINServer = "server"
	PINToken  = "token"
)

// Second-factor methods.
const (
	MethodApp   = "app"
	MethodEmail = "email"
	MethodPush  = "push"
	MethodSMS   = "sms"
)

// Allows reports whether users may use method m.
func (p Policy) Allows(m string) bool {
	for _, x := range p.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// Default returns the service provider's defaults (DESIGN.md section 6).
func Default() Policy {
	return Policy{
		MFARequired:          true,
		LoginForm:            "two-step",
		PasswordMinLength:    8,
		LockoutThreshold:     5,
		LockoutDuration:      Duration(10 * time.Minute),
		LockoutHardLimit:     100,
		FirstLoginEnrollment: true,
		PasswordReset:        true,
		BackupCodesAtSetup:   true,
		OTPAlgorithm:         "SHA1",
		OTPDigits:            6,
		OTPPeriod:            Duration(30 * time.Second),
		TOTPWindow:           1,
		HOTPWindow:           10,
		ResyncWindow:         40,
		EnrollmentLifetime:   Duration(72 * time.Hour),
		Methods:              []string{MethodApp, MethodEmail},
		PINMode:              PINNone,
		PINMinLength:         4,
		PINMaxLength:         16,
		PINDigitsOnly:        true,
		PINChangeOnFirstUse:  true,
		TokenPINAttempts:     5,
		EmailCodeDigits:      6,
		EmailCodeLifetime:    Duration(10 * time.Minute),
		EmailResendEvery:     Duration(30 * time.Second),
		EmailResendMax:       5,
		EmailResendWindow:    Duration(15 * time.Minute),
		RadiusMode:           RadiusCode,
		TimeZone:             "UTC",
		AuditRetention:       0,
		TempCodeLifetime:     Duration(24 * time.Hour),
		TempCodeUses:         1,
		PushTimeout:          Duration(120 * time.Second),
		PushNumberMatching:   true,
		PushRate:             Rate{Count: 5, Per: 5 * time.Minute},
		RadiusPushWait:       Duration(20 * time.Second),
	}
}

// Location returns the time zone of TimeZone; a name that does not load,
// which Validate refuses, is UTC.
func (p Policy) Location() *time.Location {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil || p.TimeZone == "" {
		return time.UTC
	}
	return loc
}

// Validate reports every value outside its allowed range, each as a
// *KeyError naming the setting it is about.
func (p Policy) Validate() error {
	var errs []error
	check := func(key string, ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, &KeyError{Key: key, Err: fmt.Errorf(format, args...)})
		}
	}
	for _, m := range p.Methods {
		check("methods", m == MethodApp || m == MethodEmail || m == MethodPush || m == MethodSMS,
			"methods may hold app, email, push and sms, not %q", m)
	}
	check("methods", len(p.Methods) > 0, "methods must name at least one method")
	check("pin_mode", p.PINMode == PINNone || p.PINMode == PINServer || p.PINMode == PINToken,
		"pin_mode must be none, server or token, not %q", p.PINMode)
	check("token_pin_attempts", p.TokenPINAttempts >= 3 && p.TokenPINAttempts <= 10,
		"token_pin_attempts must be 3 to 10, not %d", p.TokenPINAttempts)
	check("pin_min_length", p.PINMinLength >= 4 && p.PINMinLength <= p.PINMaxLength && p.PINMaxLength <= 16,
		"pin_min_length and pin_max_length must satisfy 4 <= min <= max <= 16, not %d and %d", p.PINMinLength, p.PINMaxLength)
	check("email_code_digits", p.EmailCodeDigits >= 6 && p.EmailCodeDigits <= 8,
		"email_code_digits must be between 6 and 8, not %d", p.EmailCodeDigits)
	check("email_code_lifetime", p.EmailCodeLifetime.D() >= time.Minute && p.EmailCodeLifetime.D() <= time.Hour,
		"email_code_lifetime must be between 1m and 1h, not %s", p.EmailCodeLifetime)
	check("email_resend_every", p.EmailResendEvery.D() >= 10*time.Second && p.EmailResendEvery.D() <= 10*time.Minute,
		"email_resend_every must be between 10s and 10m, not %s", p.EmailResendEvery)
	check("email_resend_max", p.EmailResendMax >= 1 && p.EmailResendMax <= 20,
		"email_resend_max must be between 1 and 20, not %d", p.EmailResendMax)
	check("email_resend_window", p.EmailResendWindow.D() >= time.Minute && p.EmailResendWindow.D() <= MaxEmailResendWindow,
		"email_resend_window must be between 1m and 24h, not %s", p.EmailResendWindow)
	check("login_form", p.LoginForm == "two-step" || p.LoginForm == "combined",
		"login_form must be two-step or combined, not %q", p.LoginForm)
	check("password_min_length", p.PasswordMinLength >= 8 && p.PasswordMinLength <= 64,
		"password_min_length must be between 8 and 64, not %d", p.PasswordMinLength)
	check("lockout_threshold", p.LockoutThreshold >= 1 && p.LockoutThreshold <= 100,
		"lockout_threshold must be between 1 and 100, not %d", p.LockoutThreshold)
	check("lockout_duration", p.LockoutDuration.D() >= time.Minute && p.LockoutDuration.D() <= 24*time.Hour,
		"lockout_duration must be between 1m and 24h, not %s", p.LockoutDuration)
	check("lockout_hard_limit", p.LockoutHardLimit >= 1 && p.LockoutHardLimit <= 100,
		"lockout_hard_limit must be between 1 and 100, not %d", p.LockoutHardLimit)
	check("otp_algorithm", p.OTPAlgorithm == "SHA1" || p.OTPAlgorithm == "SHA256" || p.OTPAlgorithm == "SHA512",
		"otp_algorithm must be SHA1, SHA256 or SHA512, not %q", p.OTPAlgorithm)
	check("otp_digits", p.OTPDigits == 6 || p.OTPDigits == 8,
		"otp_digits must be 6 or 8, not %d", p.OTPDigits)
	check("otp_period", p.OTPPeriod.D() == 30*time.Second || p.OTPPeriod.D() == 60*time.Second,
		"otp_period must be 30s or 60s, not %s", p.OTPPeriod)
	check("totp_window", p.TOTPWindow >= 0 && p.TOTPWindow <= MaxTOTPWindow,
		"totp_window must be between 0 and %d, not %d", MaxTOTPWindow, p.TOTPWindow)
	check("hotp_window", p.HOTPWindow >= 1 && p.HOTPWindow <= 50,
		"hotp_window must be between 1 and 50, not %d", p.HOTPWindow)
	check("resync_window", p.ResyncWindow >= p.TOTPWindow && p.ResyncWindow >= p.HOTPWindow && p.ResyncWindow <= 1000,
		"resync_window must be between the larger of totp_window and hotp_window and 1000, not %d", p.ResyncWindow)
	check("enrollment_lifetime", p.EnrollmentLifetime.D() >= time.Hour && p.EnrollmentLifetime.D() <= MaxEnrollmentLifetime,
		"enrollment_lifetime must be between 1h and 720h, not %s", p.EnrollmentLifetime)
	check("radius_mode", p.RadiusMode == RadiusCode || p.RadiusMode == RadiusPasswordCode || p.RadiusMode == RadiusPassword,
		"radius_mode must be code, password+code or password, not %q", p.RadiusMode)
	// LoadLocation reads "" and "Local" as the server's own zone, which is no
	// organization's choice.
	_, err := time.LoadLocation(p.TimeZone)
	check("time_zone", err == nil && p.TimeZone != "" && p.TimeZone != "Local",
		"time_zone must be an IANA time zone name such as Europe/Amsterdam, not %q", p.TimeZone)
	check("temp_code_lifetime", p.TempCodeLifetime.D() >= time.Minute && p.TempCodeLifetime.D() <= MaxTempCodeLifetime,
		"temp_code_lifetime must be between 1m and 720h, not %s", p.TempCodeLifetime)
	check("temp_code_uses", p.TempCodeUses >= 1 && p.TempCodeUses <= 10,
		"temp_code_uses must be between 1 and 10, not %d", p.TempCodeUses)
	for _, a := range p.RadiusAttributes {
		if _, _, err := RadiusAttribute(a); err != nil {
			errs = append(errs, &KeyError{Key: "radius_attributes", Err: err})
		}
	}
	check("push_timeout", p.PushTimeout.D() >= 30*time.Second && p.PushTimeout.D() <= 10*time.Minute,
		"push_timeout must be between 30s and 10m, not %s", p.PushTimeout)
	check("push_rate", p.PushRate.Count >= 1 && p.PushRate.Count <= 100 && p.PushRate.Per >= time.Minute && p.PushRate.Per <= 24*time.Hour,
		"push_rate must be 1 to 100 per 1m to 24h, such as 5/5m, not %s", p.PushRate)
	check("radius_push_wait", p.RadiusPushWait.D() >= time.Second && p.RadiusPushWait.D() <= MaxRadiusPushWait,
		"radius_push_wait must be between 1s and 25s, not %s", p.RadiusPushWait)
	check("audit_retention", p.AuditRetention == 0 || (p.AuditRetention.D() >= MinAuditRetention && p.AuditRetention.D() <= MaxAuditRetention),
		"audit_retention must be 0 (keep forever) or between 24h and 87600h (10 years), not %s", p.AuditRetention)
	return errors.Join(errs...)
}

// Parse decodes a stored policy and validates it. Keys missing from data
// keep their defaults, so policies stored before a setting existed stay valid.
func Parse(data []byte) (Policy, error) {
	p, err := Decode(data)
	if err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

// Decode reads a stored policy like Parse but does not validate it, so
// that a policy stored with a value no longer allowed can still be read
// and corrected.
func Decode(data []byte) (Policy, error) {
	p := Default()
	if len(data) > 0 {
		if err := json.Unmarshal(data, &p); err != nil {
			return Policy{}, fmt.Errorf("policy: %w", err)
		}
	}
	return p, nil
}

// MaxRadiusPushWait is the longest RADIUS holds an Access-Request for a
// push answer: below the 30 s that gateways commonly wait before they
// give up on a server.
const MaxRadiusPushWait = 25 * time.Second

// Rate is a number of events per window, written "5/5m".
type Rate struct {
	Count int
	Per   time.Duration
}

func (r Rate) String() string { return strconv.Itoa(r.Count) + "/" + formatDuration(r.Per) }

// MarshalText writes r as count/window.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads count/window, such as 5/5m.
func (r *Rate) UnmarshalText(b []byte) error {
	count, per, ok := strings.Cut(string(b), "/")
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if !ok || err != nil {
		return fmt.Errorf("a rate is count/window, such as 5/5m, not %q", b)
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil {
		return fmt.Errorf("a rate is count/window, such as 5/5m, not %q", b)
	}
	*r = Rate{Count: n, Per: d}
	return nil
}

// Duration is a time.Duration written as "10m0s" in JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d in time.Duration's notation.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads time.Duration's notation ("90s", "10m", "72h").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
