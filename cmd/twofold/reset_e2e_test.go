package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// TestEndToEndForgotPassword: a user with an authenticator app forgot the
// password. In headless Chromium the sign-in page's "Forgot your
// password?" leads to a form for the username; the page then says a link
// was mailed if the account exists; the link arrives at the SMTP server,
// its page asks for the app's code and the new password twice, and leads
// signed in to the dashboard; the notice that the password changed
// arrives; and the new password signs in. Four actions from the sign-in
// page: the link, the username, the mail's link, the reset form.
func TestEndToEndForgotPassword(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	in, mailbox, publicURL := startPortal(t)
	const slug, username, password, newPassword = "acme", "carol", "correct horse battery staple", "a brand new passphrase"
	in.ok("", "org", "create", slug, "--name", "Acme Corp")
	in.ok(password+"\n", "user", "add", slug+"/"+username, "--email", "carol@example.org", "--language", "en", "--password-stdin")
	out := in.ok("", "token", "enroll", slug+"/"+username, "--type", "totp", "--show-secret")
	key, err := otp.ParseURI(regexp.MustCompile(`otpauth://\S+`).FindString(out))
	if err != nil {
		t.Fatalf("token enroll --show-secret: %v\n%s", err, out)
	}
	gen, _ := otp.NewGenerator(key.Secret, key.Algorithm, key.Digits)
	// Activate with the previous step's code, so that the current step is
	// free for the reset: no waiting.
	step := otp.Step(time.Now(), key.Period)
	in.ok(gen.Code(uint64(step-1))+"\n", "token", "activate", slug+"/"+username)

	b := newBrowser(t, chromium, "en")
	b.navigate("login page", publicURL+"/o/"+slug+"/login")
	b.click("forgot your password", `a[href$="/login/forgot"]`)
	if loc := b.location("forgot page"); loc.Path != "/o/"+slug+"/login/forgot" {
		b.fatalf("forgot page", "the link led to %s", loc)
	}
	b.screenshot("screenshot of the forgot page", "forgot")
	b.fill("username or address", "input[name=username]", username)
	b.submit("ask for a link", "input[name=username]")
	if text := b.visibleText(); !strings.Contains(text, "If an account matches what you typed") {
		b.fatalf("forgot page after asking", "the page does not give the one answer")
	}
	b.screenshot("screenshot of the link-sent page", "forgot-sent")

	msg := mailbox.waitFor(t, "en", "/login/reset?token=")
	if !contains(msg.rcpt, "carol@example.org") || !strings.Contains(msg.subject, "Acme Corp") {
		t.Errorf("reset mail: %q to %q, want the organization in the subject, to carol@example.org", msg.subject, msg.rcpt)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(publicURL) + `/o/` + slug + `/login/reset\?token=[a-z2-7]+`).FindString(msg.text)
	if link == "" {
		t.Fatalf("reset mail holds no link under %s:\n%s", publicURL, msg.text)
	}

	b.navigate("open the reset link", link)
	b.screenshot("screenshot of the reset page", "reset")
	b.fill("app code", "input[name=code]", gen.Code(uint64(otp.Step(time.Now(), key.Period))))
	b.fill("new password", "input[name=new_password]", newPassword)
	b.fill("new password again", "input[name=new_password_confirm]", newPassword)
	b.submit("set the new password", "input[name=new_password_confirm]")
	if loc := b.location("dashboard after the reset"); loc.Path != "/o/"+slug+"/" {
		b.fatalf("dashboard after the reset", "the browser is at %s, want signed in", loc)
	}
	if text := b.visibleText(); !strings.Contains(text, "Your password has been changed.") {
		b.errorf("dashboard after the reset", "the dashboard does not say the password changed")
	}
	notice := mailbox.waitFor(t, "en", "password")
	if !contains(notice.rcpt, "carol@example.org") {
		t.Errorf("notice to %q", notice.rcpt)
	}

	b2 := newBrowser(t, chromium, "en")
	b2.navigate("login page", publicURL+"/o/"+slug+"/login")
	b2.fill("login username", "input[name=username]", username)
	b2.fill("login password", "input[name=password]", newPassword)
	b2.submit("sign in with the new password", "input[name=password]")
	if loc := b2.location("code page"); loc.Path != "/o/"+slug+"/login/code" {
		b2.fatalf("code page", "the new password did not lead to the code step (at %s)", loc)
	}
}
