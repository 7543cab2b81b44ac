// Package policy holds an organization's authentication policy: one typed
// structure with the service provider's defaults and validation, stored per
// organization as JSON.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Policy is what an organization decides about authentication. The zero
// value is not valid; start from Default.
type Policy struct {
	// MFARequired makes every portal login ask for a second factor; a user
	// without an authenticator is walked through adding one first.
	MFARequired bool `json:"mfa_required"`
	// LoginForm is "two-step" (username and password, then the code) or
	// "combined" (username, code and password on one page).
	LoginForm string `json:"login_form"`

	// LockoutThreshold is how many second-factor guesses are evaluated per
	// user before the account locks (1–100).
	LockoutThreshold int `json:"lockout_threshold"`
	// LockoutDuration is how long a lock lasts.
	LockoutDuration Duration `json:"lockout_duration"`

	// OTPAlgorithm, OTPDigits and OTPPeriod are the parameters of new tokens.
	OTPAlgorithm string   `json:"otp_algorithm"`
	OTPDigits    int      `json:"otp_digits"`
	OTPPeriod    Duration `json:"otp_period"`

	// TOTPWindow is how many steps either side of the expected one a TOTP
	// code may come from; HOTPWindow is how far ahead of the last accepted
	// counter an HOTP code is looked for.
	TOTPWindow int `json:"totp_window"`
	HOTPWindow int `json:"hotp_window"`
	// ResyncWindow bounds the search for two consecutive codes when a
	// token is resynchronised (steps either side for TOTP, counters ahead
	// for HOTP). It also bounds the drift remembered for a TOTP token.
	ResyncWindow int `json:"resync_window"`

	// EnrollmentLifetime is how long an enrollment link stays valid.
	EnrollmentLifetime Duration `json:"enrollment_lifetime"`
}

// Default returns the service provider's defaults (DESIGN.md section 6).
func Default() Policy {
	return Policy{
		MFARequired:        true,
		LoginForm:          "two-step",
		LockoutThreshold:   5,
		LockoutDuration:    Duration(10 * time.Minute),
		OTPAlgorithm:       "SHA1",
		OTPDigits:          6,
		OTPPeriod:          Duration(30 * time.Second),
		TOTPWindow:         1,
		HOTPWindow:         10,
		ResyncWindow:       40,
		EnrollmentLifetime: Duration(72 * time.Hour),
	}
}

// Validate reports every value outside its allowed range.
func (p Policy) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(p.LoginForm == "two-step" || p.LoginForm == "combined",
		"login_form must be two-step or combined, not %q", p.LoginForm)
	check(p.LockoutThreshold >= 1 && p.LockoutThreshold <= 100,
		"lockout_threshold must be between 1 and 100, not %d", p.LockoutThreshold)
	check(p.LockoutDuration.D() >= time.Minute && p.LockoutDuration.D() <= 24*time.Hour,
		"lockout_duration must be between 1m and 24h, not %s", p.LockoutDuration)
	check(p.OTPAlgorithm == "SHA1" || p.OTPAlgorithm == "SHA256" || p.OTPAlgorithm == "SHA512",
		"otp_algorithm must be SHA1, SHA256 or SHA512, not %q", p.OTPAlgorithm)
	check(p.OTPDigits == 6 || p.OTPDigits == 8,
		"otp_digits must be 6 or 8, not %d", p.OTPDigits)
	check(p.OTPPeriod.D() == 30*time.Second || p.OTPPeriod.D() == 60*time.Second,
		"otp_period must be 30s or 60s, not %s", p.OTPPeriod)
	check(p.TOTPWindow >= 0 && p.TOTPWindow <= 2,
		"totp_window must be between 0 and 2, not %d", p.TOTPWindow)
	check(p.HOTPWindow >= 1 && p.HOTPWindow <= 50,
		"hotp_window must be between 1 and 50, not %d", p.HOTPWindow)
	check(p.ResyncWindow >= p.TOTPWindow && p.ResyncWindow >= p.HOTPWindow && p.ResyncWindow <= 1000,
		"resync_window must be between the larger of totp_window and hotp_window and 1000, not %d", p.ResyncWindow)
	check(p.EnrollmentLifetime.D() >= time.Hour && p.EnrollmentLifetime.D() <= 30*24*time.Hour,
		"enrollment_lifetime must be between 1h and 720h, not %s", p.EnrollmentLifetime)
	return errors.Join(errs...)
}

// Parse decodes a stored policy. Keys missing from data keep their
// defaults, so policies stored before a setting existed stay valid.
func Parse(data []byte) (Policy, error) {
	p := Default()
	if len(data) > 0 {
		if err := json.Unmarshal(data, &p); err != nil {
			return Policy{}, fmt.Errorf("policy: %w", err)
		}
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	return p, nil
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
