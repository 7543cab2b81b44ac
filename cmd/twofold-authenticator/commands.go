package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/cmd/twofold-authenticator/vault"
)

// storeEnv names the store file instead of the default, for tests and
// scripts; --store wins over it.
const storeEnv = "TWOFOLD_AUTHENTICATOR_STORE"

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "twofold-authenticator",
		Short: "The Twofold Authenticator: one-time codes and push approvals",
		Long: `The Twofold Authenticator keeps your tokens, shows their one-time codes and
approves or denies Twofold sign-in requests (push).

Add a token from the activation string an organization mailed you with
"enroll", or any otpauth:// account with "import". Then "code" shows the
current one-time code and "watch" waits for sign-in requests.

Tokens are kept in one file (--store, or ` + storeEnv + `;
by default twofold-authenticator/tokens in your configuration directory),
readable only by you (mode 0600). A token with a PIN has its secrets sealed
under a key made from the PIN (argon2id, AES-256-GCM); after too many wrong
PINs in a row (5 unless the organization says otherwise) it is wiped from the
file. A token without a PIN is protected only by the file's mode: anyone who
can read the file as you, or a backup of it, can make its codes. A short PIN
slows down, but does not stop, someone who has copied the file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&c.storePath, "store", "", "the token store file (default: $"+storeEnv+", else twofold-authenticator/tokens in the user configuration directory)")
	root.AddCommand(c.enrollCmd(), c.importCmd(), c.codeCmd(), c.watchCmd(), c.approveCmd(), c.listCmd(), c.renameCmd(), c.removeCmd())
	return root
}

// vault opens the token store the flags and environment name.
func (c *cli) vault() (*vault.Vault, error) {
	path := c.storePath
	if path == "" {
		path = c.getenv(storeEnv)
	}
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("find where to keep tokens: %w (name a file with --store or %s)", err, storeEnv)
		}
		path = filepath.Join(dir, "twofold-authenticator", "tokens")
	}
	return &vault.Vault{Path: path, Rand: c.rand, Now: c.now}, nil
}

// prompts returns the prompter over the command's standard input.
func (c *cli) prompts() *prompter {
	if c.prompt == nil {
		c.prompt = newPrompter(c.stdin, c.stderr)
	}
	return c.prompt
}

// pinInput is how a command that opens a token gets its PIN.
type pinInput struct{ stdin bool }

func (p *pinInput) flags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.stdin, "pin-stdin", false, "read the token's PIN from a line of standard input, without a prompt (for scripts)")
}

// open opens the token named name, asking for its PIN if it has one.
func (c *cli) open(v *vault.Vault, name string, p pinInput) (vault.Token, vault.Secrets, error) {
	t, err := v.Get(name)
	if err != nil {
		return t, vault.Secrets{}, c.explain(v, err)
	}
	pin := ""
	if t.HasPIN() {
		if p.stdin {
			pin, err = c.prompts().line("the PIN")
		} else {
			pin, err = c.prompts().secret("PIN of " + name)
		}
		if err != nil {
			return t, vault.Secrets{}, err
		}
		if pin == "" {
			return t, vault.Secrets{}, fmt.Errorf("%s has a PIN: type it (or give it with --pin-stdin)", name)
		}
	}
	t, s, err := v.Open(name, pin)
	return t, s, c.explain(v, err)
}

// minPIN is the shortest token PIN accepted: four digits, as MobilePASS+
// and bank cards have taught people.
const minPIN = 4

// newPIN asks for a new token PIN twice. An empty answer means no PIN.
func (c *cli) newPIN(rules pinRules) (string, error) {
	question := fmt.Sprintf("PIN for this token (at least %d characters; empty for none)", rules.min)
	if rules.required {
		question = fmt.Sprintf("PIN for this token (your organization requires one, at least %d characters)", rules.min)
	}
	for {
		pin, err := c.prompts().secret(question)
		if err != nil {
			return "", err
		}
		if pin == "" && !rules.required {
			fmt.Fprintln(c.stderr, "no PIN: the token is protected only by the store file's mode")
			return "", nil
		}
		if len([]rune(pin)) < rules.min {
			fmt.Fprintln(c.stderr, "that PIN is too short; try again")
			continue
		}
		again, err := c.prompts().secret("The same PIN again")
		if err != nil {
			return "", err
		}
		if again == pin {
			return pin, nil
		}
		fmt.Fprintln(c.stderr, "the two PINs differ; try again")
	}
}

// explain adds what to do next to the store's errors.
func (c *cli) explain(v *vault.Vault, err error) error {
	if errors.Is(err, vault.ErrNotFound) {
		return fmt.Errorf("%w in %s (see the names with \"twofold-authenticator list\")", err, v.Path)
	}
	return err
}

// tokenName returns the NAME argument, or the only token's name when there
// is one token and no argument.
func (c *cli) tokenName(v *vault.Vault, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	toks, err := v.Tokens()
	if err != nil {
		return "", err
	}
	switch len(toks) {
	case 0:
		return "", fmt.Errorf("no tokens in %s yet: add one with \"twofold-authenticator enroll\" or \"import\"", v.Path)
	case 1:
		return toks[0].Name, nil
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		names[i] = t.Name
	}
	return "", fmt.Errorf("which token? name one of: %s", strings.Join(names, ", "))
}

func (c *cli) listCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tokens: name, account, issuer or organization, type, push, PIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := c.vault()
			if err != nil {
				return err
			}
			toks, err := v.Tokens()
			if err != nil {
				return err
			}
			if len(toks) == 0 {
				fmt.Fprintf(c.stderr, "no tokens in %s yet: add one with \"twofold-authenticator enroll\" or \"import\"\n", v.Path)
				return nil
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tACCOUNT\tISSUER\tTYPE\tPUSH\tPIN")
			for _, t := range toks {
				issuer := t.Organization
				if issuer == "" {
					issuer = t.Issuer
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, dash(t.Account), dash(issuer), t.Type, yesNo(t.Push != nil), yesNo(t.HasPIN()))
			}
			return w.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (c *cli) renameCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a token",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.vault()
			if err != nil {
				return err
			}
			if err := checkName(args[1]); err != nil {
				return err
			}
			if err := v.Rename(args[0], args[1]); err != nil {
				return c.explain(v, err)
			}
			fmt.Fprintf(c.stderr, "renamed %s to %s\n", args[0], args[1])
			return nil
		},
	}
}

func (c *cli) removeCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a token from this device (asks first, unless --yes)",
		Long: `Remove a token from this device for good: its codes cannot be shown again.
The account it belongs to still expects them: first add another way to sign in
there, or ask its administrator to remove the token on their side too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.vault()
			if err != nil {
				return err
			}
			t, err := v.Get(args[0])
			if err != nil {
				return c.explain(v, err)
			}
			if !yes {
				ok, err := c.prompts().confirm(fmt.Sprintf("Remove %s (%s) from this device for good?", t.Name, describe(t)))
				if err != nil {
					return fmt.Errorf("%w; to remove without asking, add --yes", err)
				}
				if !ok {
					return errors.New("nothing removed")
				}
			}
			if err := v.Remove(t.Name); err != nil {
				return c.explain(v, err)
			}
			fmt.Fprintf(c.stderr, "removed %s\n", t.Name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking")
	return cmd
}

// describe names a token's account for a person.
func describe(t vault.Token) string {
	by := t.Organization
	if by == "" {
		by = t.Issuer
	}
	switch {
	case by != "" && t.Account != "":
		return by + ", " + t.Account
	case by != "":
		return by
	case t.Account != "":
		return t.Account
	}
	return t.Type
}

// checkName refuses token names that would be awkward on a command line or
// in a list.
func checkName(name string) error {
	if strings.TrimSpace(name) != name || name == "" {
		return fmt.Errorf("token name %q: empty, or spaces around it", name)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("token name %q contains a control character", name)
	}
	return nil
}
