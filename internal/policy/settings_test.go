package policy

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSettingsOfDefault(t *testing.T) {
	want := []struct{ key, value string }{
		{"mfa_required", "true"},
		{"login_form", "two-step"},
		{"lockout_threshold", "5"},
		{"lockout_duration", "10m"},
		{"lockout_hard_limit", "100"},
		{"password_min_length", "8"},
		{"first_login_enrollment", "true"},
		{"token_claim", "false"},
		{"password_reset", "true"},
		{"backup_codes_at_setup", "true"},
		{"otp_algorithm", "SHA1"},
		{"otp_digits", "6"},
		{"otp_period", "30s"},
		{"totp_window", "1"},
		{"hotp_window", "10"},
		{"resync_window", "40"},
		{"enrollment_lifetime", "72h"},
		{"methods", "app,email"},
		{"push_timeout", "2m"},
		{"push_number_matching", "true"},
		{"push_rate", "5/5m"},
		{"radius_push_wait", "20s"},
		{"pin_mode", "none"},
		{"pin_min_length", "4"},
		{"pin_max_length", "16"},
		{"pin_digits_only", "true"},
		{"pin_change_on_first_use", "true"},
		{"token_pin_attempts", "5"},
		{"email_code_digits", "6"},
		{"email_code_lifetime", "10m"},
		{"email_resend_every", "30s"},
		{"email_resend_max", "5"},
		{"email_resend_window", "15m"},
		{"radius_mode", "code"},
		{"radius_attributes", ""},
		{"time_zone", "UTC"},
		{"audit_retention", "0s"},
		{"temp_code_lifetime", "24h"},
		{"temp_code_uses", "1"},
	}
	got := Default().Settings()
	if len(got) != len(want) {
		t.Fatalf("Settings() has %d settings, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Key != w.key || got[i].Value != w.value {
			t.Errorf("Settings()[%d] = %s=%s, want %s=%s", i, got[i].Key, got[i].Value, w.key, w.value)
		}
	}
}

// Every field of Policy is a setting with help, so that a field added
// later shows up in "twofold policy show" with a description.
func TestEveryFieldIsASettingWithHelp(t *testing.T) {
	typ := reflect.TypeFor[Policy]()
	settings := Default().Settings()
	if len(settings) != typ.NumField() {
		t.Fatalf("Settings() has %d settings for %d fields of Policy", len(settings), typ.NumField())
	}
	for i, s := range settings {
		f := typ.Field(i)
		if tag := f.Tag.Get("json"); tag != s.Key {
			t.Errorf("setting %d is %q, want the json tag %q of field %s", i, s.Key, tag, f.Name)
		}
		if s.Help == "" || strings.Contains(s.Help, "\n") {
			t.Errorf("field %s needs a one-line help:\"…\" tag, has %q", f.Name, s.Help)
		}
	}
}

// The value Settings shows for each setting is one Set reads back, for a
// policy where every value differs from the default.
func TestSettingsRoundTripThroughSet(t *testing.T) {
	p := Policy{
		MFARequired: false, LoginForm: "combined", LockoutThreshold: 3, LockoutDuration: Duration(90 * time.Minute),
		OTPAlgorithm: "SHA256", OTPDigits: 8, OTPPeriod: Duration(time.Minute), TOTPWindow: 2, HOTPWindow: 20,
		ResyncWindow: 100, EnrollmentLifetime: Duration(36*time.Hour + 30*time.Second),
		Methods: []string{MethodApp, MethodPush}, PINMode: PINServer, PINMinLength: 6, PINMaxLength: 8,
		PINDigitsOnly: false, PINChangeOnFirstUse: false, EmailCodeDigits: 8, EmailCodeLifetime: Duration(5 * time.Minute),
		EmailResendEvery: Duration(time.Minute), EmailResendMax: 3, EmailResendWindow: Duration(time.Hour),
		RadiusMode: RadiusPassword, RadiusAttributes: []string{"Filter-Id=vpn-users", "Session-Timeout=3600"},
	}
	got := Default()
	for _, s := range p.Settings() {
		if err := got.Set(s.Key, s.Value); err != nil {
			t.Fatalf("Set(%q, %q): %v", s.Key, s.Value, err)
		}
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("after setting every value of %+v, got %+v", p, got)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		want       func(*Policy) // the change expected on Default()
	}{
		{"lockout_threshold", "3", func(p *Policy) { p.LockoutThreshold = 3 }},
		{"lockout_threshold", " 7 ", func(p *Policy) { p.LockoutThreshold = 7 }},
		{"lockout_threshold", "0", func(p *Policy) { p.LockoutThreshold = 0 }}, // Set takes it; Validate refuses it
		{"lockout_duration", "30m", func(p *Policy) { p.LockoutDuration = Duration(30 * time.Minute) }},
		{"lockout_duration", "1h30m", func(p *Policy) { p.LockoutDuration = Duration(90 * time.Minute) }},
		{"enrollment_lifetime", "72h", func(p *Policy) {}},
		{"otp_period", "60s", func(p *Policy) { p.OTPPeriod = Duration(time.Minute) }},
		{"login_form", "combined", func(p *Policy) { p.LoginForm = "combined" }},
		{"otp_algorithm", "SHA512", func(p *Policy) { p.OTPAlgorithm = "SHA512" }},
		{"mfa_required", "false", func(p *Policy) { p.MFARequired = false }},
		{"mfa_required", "no", func(p *Policy) { p.MFARequired = false }},
		{"mfa_required", "OFF", func(p *Policy) { p.MFARequired = false }},
		{"mfa_required", "0", func(p *Policy) { p.MFARequired = false }},
		{"mfa_required", "yes", func(p *Policy) {}},
		{"mfa_required", "on", func(p *Policy) {}},
		{"mfa_required", "1", func(p *Policy) {}},
		{"mfa_required", "True", func(p *Policy) {}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			got, want := Default(), Default()
			tt.want(&want)
			if err := got.Set(tt.key, tt.value); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Set gave %+v, want %+v", got, want)
			}
		})
	}
}

func TestSetRefusesWrongKindsAndUnknownKeys(t *testing.T) {
	tests := []struct {
		key, value string
		want       []string // substrings of the error
	}{
		{"lockout_threshold", "three", []string{"lockout_threshold", "whole number", `"three"`}},
		{"lockout_threshold", "3.5", []string{"whole number"}},
		{"lockout_threshold", "", []string{"whole number"}},
		{"lockout_threshold", "99999999999999999999", []string{"whole number"}},
		{"lockout_duration", "10", []string{"lockout_duration", "duration such as 90s, 10m or 72h"}},
		{"lockout_duration", "soon", []string{"duration"}},
		{"mfa_required", "maybe", []string{"mfa_required", "true or false"}},
		{"lockout_treshold", "3", []string{`unknown policy setting "lockout_treshold"`, "mfa_required, login_form, lockout_threshold", "enrollment_lifetime"}},
		{"", "3", []string{"unknown policy setting"}},
		{"lockout-threshold", "3", []string{"did you mean lockout_threshold?"}},
		{"LockoutThreshold", "3", []string{"unknown policy setting"}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			p := Default()
			err := p.Set(tt.key, tt.value)
			if err == nil {
				t.Fatalf("Set(%q, %q) = nil, want an error", tt.key, tt.value)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Set(%q, %q) = %q, want it to say %q", tt.key, tt.value, err, w)
				}
			}
			if !reflect.DeepEqual(p, Default()) {
				t.Errorf("a refused Set changed the policy to %+v", p)
			}
		})
	}
}

// List settings do not exist yet; parse reads them as comma-separated values.
func TestParseList(t *testing.T) {
	type names []string
	var s struct {
		Plain []string
		Named names
	}
	tests := []struct {
		text string
		want []string
	}{
		{"a,b,c", []string{"a", "b", "c"}},
		{" a , b ,, ", []string{"a", "b"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		v := reflect.ValueOf(&s).Elem()
		if err := parse(v.Field(0), "plain", tt.text); err != nil || !slices.Equal(s.Plain, tt.want) {
			t.Errorf("parse(%q) into []string = %q, %v; want %q", tt.text, s.Plain, err, tt.want)
		}
		if err := parse(v.Field(1), "named", tt.text); err != nil || !slices.Equal(s.Named, names(tt.want)) {
			t.Errorf("parse(%q) into a named []string = %q, %v; want %q", tt.text, s.Named, err, tt.want)
		}
		if got := format(v.Field(0)); got != strings.Join(tt.want, ",") {
			t.Errorf("format after parse(%q) = %q, want %q", tt.text, got, strings.Join(tt.want, ","))
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 30 * time.Second: "30s", 90 * time.Second: "1m30s", 10 * time.Minute: "10m",
		72 * time.Hour: "72h", 90 * time.Minute: "1h30m", time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestChanges(t *testing.T) {
	to := Default()
	to.LockoutDuration = Duration(30 * time.Minute)
	to.LockoutThreshold = 3
	want := []Change{{"lockout_threshold", "5", "3"}, {"lockout_duration", "10m", "30m"}}
	if got := Changes(Default(), to); !slices.Equal(got, want) {
		t.Fatalf("Changes() = %+v, want %+v", got, want)
	}
	if got := Changes(to, to); len(got) != 0 {
		t.Fatalf("Changes(p, p) = %+v, want none", got)
	}
}

func TestDecodeDoesNotValidate(t *testing.T) {
	p, err := Decode([]byte(`{"lockout_threshold": 0}`))
	if err != nil || p.LockoutThreshold != 0 || p.LoginForm != "two-step" {
		t.Fatalf("Decode = %+v, %v; want the stored 0 and defaults elsewhere", p, err)
	}
	if _, err := Decode([]byte(`not json`)); err == nil {
		t.Fatal("Decode(not json) = nil error")
	}
}

// A form shows a refusal beside the field of the setting it is about:
// every refusal, of the kind or of the range, names its setting.
func TestRefusalsNameTheirSetting(t *testing.T) {
	p := Default()
	var ke *KeyError
	if err := p.Set("lockout_threshold", "many"); !errors.As(err, &ke) || ke.Key != "lockout_threshold" {
		t.Errorf("Set of a wrong kind = %v, want a KeyError of lockout_threshold", err)
	}
	p.LockoutThreshold, p.TimeZone, p.RadiusAttributes = 0, "Mars/Olympus", []string{"Nope=1"}
	var keys []string
	for _, err := range p.Validate().(interface{ Unwrap() []error }).Unwrap() {
		if !errors.As(err, &ke) {
			t.Fatalf("Validate refusal %v names no setting", err)
		}
		keys = append(keys, ke.Key)
	}
	slices.Sort(keys)
	if want := []string{"lockout_threshold", "radius_attributes", "time_zone"}; !slices.Equal(keys, want) {
		t.Errorf("Validate refused %v, want %v", keys, want)
	}
}

// Settings with choices allow each of them and nothing else, and say how
// every value is written.
func TestSettingChoicesAndKinds(t *testing.T) {
	kinds := map[string]string{}
	for _, s := range Default().Settings() {
		kinds[s.Key] = s.Kind
		for _, c := range s.Choices {
			p := Default()
			if err := p.Set(s.Key, c); err != nil {
				t.Errorf("%s=%s: %v", s.Key, c, err)
			} else if err := p.Validate(); err != nil {
				t.Errorf("%s=%s, one of its choices, is refused: %v", s.Key, c, err)
			}
		}
		if len(s.Choices) > 0 {
			p := Default()
			if p.Set(s.Key, "999") == nil && p.Validate() == nil {
				t.Errorf("%s allows 999, which is not one of its choices %v", s.Key, s.Choices)
			}
		}
	}
	want := map[string]string{
		"mfa_required": KindBool, "lockout_threshold": KindNumber, "lockout_duration": KindDuration,
		"methods": KindList, "time_zone": KindText, "login_form": KindText,
	}
	for k, kind := range want {
		if kinds[k] != kind {
			t.Errorf("%s is of kind %q, want %q", k, kinds[k], kind)
		}
	}
}
