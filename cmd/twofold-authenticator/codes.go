package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/cmd/twofold-authenticator/vault"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/push"
)

// newToken is how a command that adds a token (import, enroll) gets its
// name and PIN: from flags, or by asking.
type newToken struct {
	name     string
	pinStdin bool
	noPIN    bool
}

func (n *newToken) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&n.name, "name", "", "the token's name on this device (default: asked, suggesting the account's)")
	cmd.Flags().BoolVar(&n.pinStdin, "pin-stdin", false, "read the token's new PIN from a line of standard input, once, without a prompt (for scripts)")
	cmd.Flags().BoolVar(&n.noPIN, "no-pin", false, "keep the token without a PIN, protected only by the store file's mode")
}

// freeName refuses a name that is not valid or is taken.
func (c *cli) freeName(v *vault.Vault, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := v.Get(name); err == nil {
		return fmt.Errorf("a token named %q exists already: choose another name with --name, or rename the old one first", name)
	} else if !errors.Is(err, vault.ErrNotFound) {
		return err
	}
	return nil
}

// askName asks for a token name until it gets a free one.
func (c *cli) askName(v *vault.Vault, suggested string) (string, error) {
	for {
		name, err := c.prompts().ask("Name for this token", suggested)
		if err != nil {
			return "", err
		}
		err = c.freeName(v, name)
		if err == nil {
			return name, nil
		}
		var ce *vault.CorruptError
		if errors.As(err, &ce) {
			return "", err
		}
		fmt.Fprintln(c.stderr, err)
	}
}

// pinRules is what a new token's PIN must be: required or optional, of
// at least min characters.
type pinRules struct {
	required bool
	min      int
}

// ownRules leave the PIN to the user: an imported token has no
// organization to ask.
var ownRules = pinRules{min: minPIN}

// orgRules are the rules an organization sent with an activation, never
// weaker than the app's own.
func orgRules(p push.PIN) pinRules {
	return pinRules{required: p.Required, min: max(p.MinLength, minPIN)}
}

// pinFor returns the new token's PIN as n says, or asks for it, under
// rules; "" is no PIN.
func (c *cli) pinFor(n newToken, rules pinRules) (string, error) {
	switch {
	case n.noPIN && rules.required:
		return "", errors.New("your organization requires a PIN for this token: run enroll again without --no-pin (ask for a new invitation: this activation is used)")
	case n.noPIN:
		return "", nil
	case n.pinStdin:
		pin, err := c.prompts().line("the new PIN")
		if err != nil {
			return "", err
		}
		if pin == "" && !rules.required {
			return "", nil
		}
		if len([]rune(pin)) < rules.min {
			return "", fmt.Errorf("the PIN must have at least %d characters", rules.min)
		}
		return pin, nil
	}
	return c.newPIN(rules)
}

func (c *cli) importCmd() *cobra.Command {
	var n newToken
	cmd := &cobra.Command{
		Use:   "import URI",
		Short: "Add an account from an otpauth:// URI (the text of its QR code)",
		Long: `Add an account from a standard otpauth://totp/… or otpauth://hotp/… URI, the
text a QR code for Google or Microsoft Authenticator holds. Give - as URI to
read it from standard input, which keeps its secret out of your shell history
and the process list.`,
		Example: `  twofold-authenticator import - < account.uri
  twofold-authenticator import 'otpauth://totp/Acme:alice?secret=…&issuer=Acme' --name acme`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.vault()
			if err != nil {
				return err
			}
			uri := args[0]
			if uri == "-" {
				if uri, err = c.prompts().line("an otpauth:// URI"); err != nil {
					return err
				}
			}
			k, err := otp.ParseURI(uri)
			if err != nil {
				return fmt.Errorf("%w (import takes the otpauth:// text of an authenticator QR code; for a Twofold activation string use enroll)", err)
			}
			suggested := k.Account
			if k.Issuer != "" {
				suggested = k.Issuer + ":" + k.Account
			}
			t := vault.Token{
				Type: k.Type, Issuer: k.Issuer, Account: k.Account,
				Algorithm: k.Algorithm, Digits: k.Digits, Period: int(k.Period / time.Second), Counter: k.Counter,
			}
			if t.Name = n.name; t.Name == "" {
				t.Name, err = c.askName(v, suggested)
			} else {
				err = c.freeName(v, t.Name)
			}
			if err != nil {
				return err
			}
			pin, err := c.pinFor(n, ownRules)
			if err != nil {
				return err
			}
			if t, err = v.Add(t, vault.Secrets{OTP: k.Secret}, pin); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "added %s (%s)\nnext: twofold-authenticator code %s\n", t.Name, describe(t), quoteArg(t.Name))
			return nil
		},
	}
	n.flags(cmd)
	return cmd
}

func (c *cli) codeCmd() *cobra.Command {
	var p pinInput
	cmd := &cobra.Command{
		Use:   "code [NAME]",
		Short: "Print a token's current one-time code (NAME may be left out when there is one token)",
		Long: `Print a token's current one-time code on standard output, and on standard
error how many seconds it stays valid. A counter-based (HOTP) token moves on to
its next code each time. A token with a PIN asks for it first.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.vault()
			if err != nil {
				return err
			}
			name, err := c.tokenName(v, args)
			if err != nil {
				return err
			}
			t, s, err := c.open(v, name, p)
			if err != nil {
				return err
			}
			return c.printCode(v, t, s)
		},
	}
	p.flags(cmd)
	return cmd
}

// printCode prints t's current code on standard output and how long it
// lasts on standard error.
func (c *cli) printCode(v *vault.Vault, t vault.Token, s vault.Secrets) error {
	g, err := otp.NewGenerator(s.OTP, t.Algorithm, t.Digits)
	if err != nil {
		return fmt.Errorf("token %s: %w", t.Name, err)
	}
	if t.Type == "hotp" {
		counter, err := v.NextCounter(t.Name)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, g.Code(counter))
		fmt.Fprintf(c.stderr, "%s: counter %d; the next \"code\" shows the next one\n", t.Name, counter)
		return nil
	}
	period := time.Duration(t.Period) * time.Second
	now := c.now()
	step := otp.Step(now, period)
	fmt.Fprintln(c.stdout, g.Code(uint64(step)))
	left := int64(t.Period) - now.Unix()%int64(t.Period)
	fmt.Fprintf(c.stderr, "%s: valid for %d more seconds\n", t.Name, left)
	return nil
}

// quoteArg quotes a name for a shell command the user may paste.
func quoteArg(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':' || r == '@') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
