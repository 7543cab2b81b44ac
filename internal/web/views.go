package web

import (
	"html/template"
	"time"
)

// The view models: what each page template is given. Handlers fill them;
// templates only loop and test, and take every word from the catalogue.

// EnrollPasswordView asks for the user's password before the QR code is
// shown (page "enroll_password"). The form posts to /enroll with fields
// code (hidden, the enrollment code), password and csrf_token.
type EnrollPasswordView struct {
	Code     string
	Username string
}

// EnrollView shows how to add the token to an authenticator app and asks
// for its first code (page "enroll"). The form posts to Action with fields
// code (the one-time code), csrf_token, and the hidden fields in Hidden.
type EnrollView struct {
	Action    string            // form action URL
	Hidden    map[string]string // hidden form fields, name → value
	Username  string
	QR        template.URL // data:image/png;base64,… of the otpauth URI
	URI       template.URL // otpauth://… link, for opening on the phone itself
	Secret    string       // Base32 secret in groups of four
	Type      string       // "totp" or "hotp"
	Digits    int
	Period    int    // seconds
	Algorithm string // "SHA1"
	// Platform selects the instructions shown: "android", "iphone" or
	// "other"; PlatformURLs links to this page with each platform chosen.
	Platform     string
	PlatformURLs map[string]string
	// Name is the token's name, prefilled and editable (field name, at
	// most NameMax characters); the QR code's label carries it.
	Name    string
	NameMax int
	// Replaces names the authenticator this one replaces once its first
	// code is accepted, or is empty.
	Replaces string
	// ClaimURL, at a first sign-in where a hardware token may be claimed
	// instead, links to that page.
	ClaimURL string
}

// EnrollPushView shows how to add a push token to the Twofold
// Authenticator (page "enroll_push"): it has no form, as the device
// activates the token itself, and the page reloads until it has.
type EnrollPushView struct {
	Username   string
	Activation string       // the activation string, in hyphenated groups
	QR         template.URL // data:image/png;base64,… of AppLink
	AppLink    string       // the https link that opens the app with the string
	Command    string       // the command-line app's command that enrolls it
	// CheckURL is this page, for a person who would rather not wait for
	// it to reload itself every Refresh seconds; StopURL is this page
	// without the reload, and Refresh is 0 there.
	CheckURL string
	StopURL  string
	Refresh  int
}

// EnrollDoneView says the token is active (page "enroll_done").
type EnrollDoneView struct {
	LoginURL string // the organization's portal login
	Email    bool   // the token was an email token, not an app
	// ContinueURL is where the organization sends its users once
	// enrolled (store.OrgSettings), or empty.
	ContinueURL string
}

// EnrollEmailView turns on an email token an operator assigned (page
// "enroll_email"): first a form posting enrollment (the link's code) to
// SendAction, which mails the first code; once Sent, a form posting
// enrollment and code to Action, and SendAction again for a new code.
type EnrollEmailView struct {
	Enrollment         string
	Action, SendAction string
	Email              string // the address, masked
	Sent               bool
	PIN                bool // the server PIN comes before the code
}

// EnrollGoneView explains why an enrollment link does not work (page
// "enroll_gone"). Reason is "expired", "used", "cancelled" or "unknown".
type EnrollGoneView struct {
	Reason   string
	LoginURL string // the organization's portal login, when the link names one
}

// LoginView is the portal login (page "login"). The form posts to Action
// with username and password, or — when Combined — username, code and
// password, and csrf_token.
type LoginView struct {
	Action   string
	Username string // prefilled after a refusal
	Combined bool
	PIN      bool   // the code field takes the server PIN first
	Forgot   string // the "Forgot your password?" page, or empty where the policy offers none
	// Email offers, on the combined form, "Email me a code": the form
	// posts method=email and the code step mails one.
	Email bool
}

// ForgotView asks who forgot their password (page "forgot"): the form
// posts username (a username or an email address) and csrf_token to
// Action. Sent shows, instead, that a link is on its way if the account
// exists, valid Minutes.
type ForgotView struct {
	Action   string
	LoginURL string
	Sent     bool
	Minutes  int
}

// ResetView sets a new password with a reset link (page "reset"): the
// form posts token (hidden, the link's secret), code when Factor is not
// empty, new_password, new_password_confirm and csrf_token to Action.
type ResetView struct {
	Action   string
	Token    string
	Username string
	// Factor is the second factor asked for: "app" (the authenticator
	// app's code, or a backup code when Backup), "backup" (a backup code
	// only) or "" (the user has none).
	Factor    string
	Backup    bool
	PIN       bool // the code field takes the server PIN first
	MinLength int  // the shortest password allowed
}

// CodeView asks for the second factor (page "login_code"). The form posts
// code and csrf_token to Action.
type CodeView struct {
	Action string
	// Method is the way chosen: "app" (the authenticator app's code),
	// "email" (a mailed code) or "backup" (a backup code).
	Method string
	// Methods are the ways the user can sign in, to switch between:
	// empty when there is only one. Each posts method to MethodAction.
	Methods      []MethodChoice
	MethodAction string
	// Email: the masked address, whether a code is on its way (Sent),
	// and where "Re-send code" posts.
	Email        string
	Sent         bool
	ResendAction string
	// PIN: the policy asks for the server PIN typed before the code.
	PIN bool
	// Push, for the method "push", is the push request waiting for the
	// user's answer, or nil when none is (a button sends one, posting
	// method=push to MethodAction). Instead is the method "Enter a code
	// instead" switches to, or empty when there is none to type.
	Push    *PushView
	Instead string
}

// PushView is a push request the code page waits for: it shows Number,
// which the user picks in the app, reloads itself every Refresh seconds
// until the person stops it at StopURL (then Refresh is 0), and "Check
// now" posts csrf_token to CheckAction.
type PushView struct {
	Number      int
	CheckAction string
	StopURL     string
	Refresh     int
}

// MethodChoice is one way to sign in on the code page.
type MethodChoice struct {
	Code     string // "app", "email", "backup", "sms", "push"
	Current  bool   // the way the page asks for now
	Disabled bool   // shown but not offered
	Reason   string // catalogue key saying why it is disabled
	Weaker   bool   // labelled as less secure than an authenticator app
	Email    string // for "email": the masked address
}

// DashboardView lists the user's authenticators (page "dashboard").
type DashboardView struct {
	Tokens []TokenView
	// Forms post to these URLs; each also carries csrf_token.
	RenameAction   string // fields: serial, name
	RemoveAction   string // GET with ?serial=… leads to the remove confirmation
	ReplaceAction  string // field serial: replace an authenticator app with a new one
	PasswordAction string // fields: password, new_password, new_password_confirm
	AddAction      string // POST starts adding an authenticator
	LogoutAction   string // POST logs out
	HasPassword    bool
	// DirectoryPassword says the password is the organization's
	// directory's: it is asked for, but changed there, not here.
	DirectoryPassword bool
	// PasswordMinLength is the policy's minimum, for the new password's help.
	PasswordMinLength int
	// Backup codes: how many of a set of BackupTotal are left (0: none
	// made or all used); BackupAction posts password (when HasPassword)
	// to make a new set.
	BackupAction string
	BackupLeft   int
	BackupTotal  int
	// PIN is the "Change PIN" form under a server PIN policy, else nil.
	PIN *PINView
}

// PINView is a form that sets the server PIN: on the dashboard (fields
// pin when HasPIN, new_pin, new_pin_confirm) and, as page "pin", the step
// after signing in when a PIN must be chosen (MustChange: the operator
// assigned it; otherwise the user has none yet).
type PINView struct {
	Action     string
	HasPIN     bool
	MustChange bool
	Rules      PINRules
}

// PINRules are the policy's rules for a PIN, to tell the user.
type PINRules struct {
	Min, Max   int
	DigitsOnly bool
}

// BackupCodesView shows a new set of backup codes once (page
// "backup_codes"): Text is the codes one per line for the readonly box,
// Download a data: link of the same as a text file. The form posts saved
// (the checkbox) and csrf_token to Action, which puts the codes in use;
// NewAction replaces them with a new set before they are.
type BackupCodesView struct {
	Codes     []string
	Text      string
	Download  template.URL
	FileName  string
	Action    string
	NewAction string
}

// TokenView is one authenticator in the dashboard.
type TokenView struct {
	Serial   string
	Name     string // the user's name for it; empty shows a default by Type
	Type     string // "totp", "hotp"
	State    string // "active", "assigned", "suspended", …
	Added    time.Time
	LastUsed time.Time // zero: never
	// Replaceable: an active authenticator app, which a new phone can
	// replace in one step.
	Replaceable bool
}

// RemoveView confirms removing an authenticator (page "remove"): the form
// posts serial (hidden), password, code and csrf_token to Action.
type RemoveView struct {
	Action string
	Token  TokenView
	PIN    bool // the code field takes the server PIN first
	// Last: it is the user's only active authenticator, and BackupLeft
	// backup codes are what remains to sign in with; ReplaceAction (field
	// serial) replaces it instead.
	Last          bool
	BackupLeft    int
	ReplaceAction string
}

// AddVerifyView asks for the verification code emailed to the user before
// an authenticator is added (page "add_verify"): the form posts code and
// csrf_token to Action; ResendAction sends a new code.
type AddVerifyView struct {
	Action       string
	ResendAction string
	Email        string // shown partly hidden: a•••@example.org
}

// AddChooseView lets the user choose what to add (page "add_choose"), or
// whether to add email after a first authenticator (page "setup_email"):
// the form posts method ("app", "email" or "skip") and csrf_token to Action.
type AddChooseView struct {
	Action string
	Email  string // masked address the codes would go to; empty: no email
	// Hardware offers the claiming of a hardware token (policy token_claim).
	Hardware bool
}

// AddEmailView asks for the first emailed code of a new email token (page
// "add_email"): code and csrf_token to Action; ResendAction mails a new one.
type AddEmailView struct {
	Action       string
	ResendAction string
	Email        string
	PIN          bool
}

// AddPasswordView asks the user to confirm their password while adding an
// authenticator (page "add_password"): password and csrf_token to Action.
type AddPasswordView struct {
	Action string
}
