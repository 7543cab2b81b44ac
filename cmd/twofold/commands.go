package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/config"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

func newRoot(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "twofold",
		Short: "Twofold multi-factor authentication server",
		Long: `Twofold gives an organization's users one-time codes from an authenticator app.

Start the server with "twofold serve"; manage organizations, users, tokens and
API keys with the other commands. Settings come from flags, TWOFOLD_*
environment variables and an optional YAML file (--config), in that order.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	config.Flags(root.PersistentFlags())
	root.AddCommand(
		c.serveCmd(), c.migrateCmd(), c.orgCmd(), c.userCmd(), c.tokenCmd(),
		c.apikeyCmd(), c.checkCmd(), c.keysCmd(), c.policyCmd(), c.radiusCmd(), c.oidcCmd(),
		c.auditCmd(), c.directoryCmd(), c.webpushCmd(),
	)
	root.AddCommand(c.adminCmd(), c.enrollmentCmd(), c.rolloutCmd(), c.loadtestCmd())
	root.SetUsageFunc(usage)
	refuseUnknown(root)
	return root
}

// withApp wraps a command's work with opening and closing the installation.
func (c *cli) withApp(fn func(cmd *cobra.Command, a *app, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := c.open(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		return fn(cmd, a, args)
	}
}

// withOrgUser also resolves the ORG/USER argument's organization.
func (c *cli) withOrgUser(fn func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error) func(*cobra.Command, []string) error {
	return c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
		slug, user, err := orgUser(args[0])
		if err != nil {
			return err
		}
		org, err := a.admin.Org(cmd.Context(), slug)
		if err != nil {
			return err
		}
		return fn(cmd, a, org, user, args[1:])
	})
}

func (c *cli) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date (serve does this at start too)",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app, _ []string) error {
			v, err := a.store.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s database %s is at schema version %d\n", a.store.Driver(), redact(a.cfg), v)
			return nil
		}),
	}
}

func (c *cli) orgCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organizations"}
	var name string
	create := &cobra.Command{
		Use:     "create SLUG",
		Short:   "Create an organization",
		Example: `  twofold org create acme --name "Acme Corp"`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.CreateOrg(cmd.Context(), args[0], name)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "created organization %s (%s)\nnext: twofold user add %s/USER --email USER@example.org\n", org.Slug, org.Name, org.Slug)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "display name shown to users (default: the slug)")
	cmd.AddCommand(create)
	cmd.AddCommand(c.orgManageCmds()...)
	return cmd
}

func (c *cli) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	var n admin.NewUser
	var passwordStdin bool
	add := &cobra.Command{
		Use:     "add ORG/USER",
		Short:   "Add a user to an organization",
		Example: `  echo 'a long passphrase' | twofold user add acme/alice --email alice@acme.example --password-stdin`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			n.Username = user
			if passwordStdin {
				pw, err := c.line("a password")
				if err != nil {
					return err
				}
				n.Password = pw
			}
			u, err := a.admin.AddUser(cmd.Context(), org, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "added user %s/%s\nnext: twofold token enroll %s/%s --type totp\n", org.Slug, u.Username, org.Slug, u.Username)
			return nil
		}),
	}
	add.Flags().StringVar(&n.Email, "email", "", "the user's email address (enrollment links and notices go there)")
	add.Flags().StringVar(&n.DisplayName, "display-name", "", "the user's full name")
	add.Flags().StringVar(&n.Role, "role", store.RoleUser, "user, helpdesk (finds users and helps them back in) or admin (an organization admin)")
	add.Flags().StringVar(&n.Language, "language", "", "en, nl or de: the language of the user's mail until they choose one on a page")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the user's password from the first line of standard input")

	passwd := &cobra.Command{
		Use:   "passwd ORG/USER --password-stdin",
		Short: "Set a user's password, read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			pw, err := c.line("the new password")
			if err != nil {
				return err
			}
			if err := a.admin.SetPassword(cmd.Context(), org, user, pw); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "password of %s/%s changed\n", org.Slug, auth.CanonicalUsername(user))
			return nil
		}),
	}
	passwd.Flags().Bool("password-stdin", true, "read the password from standard input (the only way; the flag is for scripts that say so)")
	var pinStdin bool
	pin := &cobra.Command{
		Use:   "pin ORG/USER [--pin-stdin]",
		Short: "Assign a user's server PIN: random (printed once) or read from standard input",
		Long: `Assign a user's server PIN, typed before every code when the organization's
policy says pin_mode=server. Without --pin-stdin a random PIN is made and printed
once. The user must change an assigned PIN at the next sign-in when the policy
says pin_change_on_first_use=true.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			var given string
			if pinStdin {
				var err error
				if given, err = c.line("a PIN"); err != nil {
					return err
				}
			}
			p, err := a.admin.SetPIN(cmd.Context(), org, user, given, false)
			if err != nil {
				return err
			}
			if !pinStdin {
				fmt.Fprintf(c.stderr, "PIN of %s/%s (shown once):\n", org.Slug, auth.CanonicalUsername(user))
				fmt.Fprintln(c.stdout, p)
			} else {
				fmt.Fprintf(c.stdout, "PIN of %s/%s set\n", org.Slug, auth.CanonicalUsername(user))
			}
			return nil
		}),
	}
	pin.Flags().BoolVar(&pinStdin, "pin-stdin", false, "read the PIN from the first line of standard input")

	backup := &cobra.Command{
		Use:   "backup-codes ORG/USER",
		Short: "Make a new set of ten backup codes for a user (printed once; the old set stops working)",
		Args:  cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			codes, err := a.admin.GenerateBackupCodes(cmd.Context(), org, user)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "backup codes of %s/%s (shown once; each works once):\n", org.Slug, auth.CanonicalUsername(user))
			for _, code := range codes {
				fmt.Fprintln(c.stdout, code)
			}
			return nil
		}),
	}
	disable := &cobra.Command{
		Use:   "disable ORG/USER",
		Short: "Stop a user from signing in anywhere, and sign them out everywhere",
		Long: `Stop a user from signing in: the portal, the REST API, RADIUS and "twofold check"
refuse them, every session in the portal ends and pending emailed codes stop
working. Tokens, backup codes, password and PIN are kept: "twofold user enable"
lets the user in again.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			if err := a.admin.DisableUser(cmd.Context(), org, user); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s/%s disabled and signed out everywhere\n", org.Slug, auth.CanonicalUsername(user))
			return nil
		}),
	}
	enable := &cobra.Command{
		Use:   "enable ORG/USER",
		Short: "Let a disabled user sign in again",
		Args:  cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			if err := a.admin.EnableUser(cmd.Context(), org, user); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s/%s enabled\n", org.Slug, auth.CanonicalUsername(user))
			return nil
		}),
	}
	resetMFA := &cobra.Command{
		Use:   "reset-mfa ORG/USER",
		Short: "Take every second factor from a user who lost them, for a fresh start",
		Long: `Revoke every token of a user, cancel their pending enrollment links, delete
their backup codes, stop pending emailed codes and sign them out everywhere, all
at once. The password and the server PIN stay. Then give the user a new token
with "twofold token enroll".`,
		Args: cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			n, err := a.admin.ResetMFA(cmd.Context(), org, user)
			if err != nil {
				return err
			}
			name := org.Slug + "/" + auth.CanonicalUsername(user)
			fmt.Fprintf(c.stdout, "MFA of %s reset (tokens revoked: %d); backup codes deleted; signed out everywhere\nnext: twofold token enroll %s --type totp\n", name, n, name)
			return nil
		}),
	}
	cmd.AddCommand(add, c.userEditCmd(), passwd, pin, backup, disable, enable, resetMFA, c.tempCodeCmd())
	cmd.AddCommand(c.userRoleCmd())
	cmd.AddCommand(c.userDirectoryCmds()...)
	cmd.AddCommand(c.userImportCmd(), c.userExportCmd())
	return cmd
}

func (c *cli) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage users' tokens (authenticators)"}

	var typ, name string
	var showSecret, noEmail bool
	enroll := &cobra.Command{
		Use:   "enroll ORG/USER",
		Short: "Assign a new token and mail the user an enrollment link",
		Long: `Assign a new token to a user and mail them the single-use enrollment link
(unless --no-email; the link is printed either way). The token becomes active
when its first code is verified: by the user on the page the link opens (for an
email token, that page mails the first code), or by an operator with
"twofold token activate". A push token (where the policy's methods allow push)
is activated by the Twofold Authenticator instead, with the activation string
that is printed and mailed with the link.`,
		Example:     `  twofold token enroll acme/alice --type totp`,
		Annotations: map[string]string{settingsKey: settingsMail},
		Args:        cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			en, err := a.admin.EnrollToken(cmd.Context(), org, user, typ, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "assigned %s token %s to %s/%s\n", en.Token.Type, en.Token.Serial, org.Slug, auth.CanonicalUsername(user))
			if err := c.sendLink(cmd, a, org, user, en, noEmail); err != nil {
				return err
			}
			if showSecret {
				fmt.Fprintf(c.stdout, "otpauth URI (shown once; it holds the secret):\n  %s\n", en.URI)
			}
			return nil
		}),
	}
	enroll.Flags().StringVar(&typ, "type", "totp", "totp (time-based), hotp (counter-based), email (codes by mail) or push (the Twofold Authenticator)")
	enroll.Flags().StringVar(&name, "name", "", "a name for the token, shown to the user")
	enroll.Flags().BoolVar(&showSecret, "show-secret", false, "also print the otpauth:// URI, for provisioning by script")
	enroll.Flags().BoolVar(&noEmail, "no-email", false, "do not mail the link; only print it")

	var resendNoEmail bool
	resend := &cobra.Command{
		Use:         "resend ORG/USER [SERIAL]",
		Short:       "Send a new enrollment link for an assigned token; the older link stops working",
		Annotations: map[string]string{settingsKey: settingsMail},
		Args:        cobra.RangeArgs(1, 2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			serial, err := a.admin.Serial(cmd.Context(), org, user, first(args), store.TokenAssigned)
			if err != nil {
				return err
			}
			en, err := a.admin.ResendEnrollment(cmd.Context(), org, user, serial)
			if err != nil {
				return err
			}
			return c.sendLink(cmd, a, org, user, en, resendNoEmail)
		}),
	}
	resend.Flags().BoolVar(&resendNoEmail, "no-email", false, "do not mail the link; only print it")

	var extendFor time.Duration
	extend := &cobra.Command{
		Use:   "extend ORG/USER [SERIAL] [--for 72h]",
		Short: "Keep a pending enrollment link working longer",
		Args:  cobra.RangeArgs(1, 2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			serial, err := a.admin.Serial(cmd.Context(), org, user, first(args), store.TokenAssigned)
			if err != nil {
				return err
			}
			until := a.admin.Clock.Now().Add(extendFor)
			if err := a.admin.ExtendEnrollment(cmd.Context(), org, user, serial, until); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "the enrollment link of %s now works until %s\n", serial, until.Local().Format(time.DateTime))
			return nil
		}),
	}
	extend.Flags().DurationVar(&extendFor, "for", 72*time.Hour, "how long from now the link keeps working")

	cancel := &cobra.Command{
		Use:   "cancel ORG/USER [SERIAL]",
		Short: "Stop a pending enrollment link from working (resend makes a new one)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			serial, err := a.admin.Serial(cmd.Context(), org, user, first(args), store.TokenAssigned)
			if err != nil {
				return err
			}
			if err := a.admin.CancelEnrollment(cmd.Context(), org, user, serial); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "the enrollment link of %s no longer works\n", serial)
			return nil
		}),
	}

	list := &cobra.Command{
		Use:   "list ORG/USER",
		Short: "List a user's tokens",
		Args:  cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			u, ts, err := a.admin.Tokens(cmd.Context(), org, user)
			if err != nil {
				return err
			}
			if u.LockedUntil.After(time.Now()) {
				fmt.Fprintf(c.stdout, "%s/%s is locked until %s after %d failed attempts (twofold token unlock %s/%s)\n",
					org.Slug, u.Username, u.LockedUntil.Local().Format(time.DateTime), u.Failures, org.Slug, u.Username)
			}
			if len(ts) == 0 {
				fmt.Fprintf(c.stdout, "%s/%s has no tokens (twofold token enroll %s/%s)\n", org.Slug, u.Username, org.Slug, u.Username)
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tTYPE\tSTATE\tNAME\tADDED\tACTIVATED\tLAST USED\tDRIFT")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", t.Serial, t.Type, t.State, orDash(t.Name),
					when(t.CreatedAt), when(t.ActivatedAt), when(t.LastUsedAt), t.Drift)
			}
			return tw.Flush()
		}),
	}

	change := func(op, short string) *cobra.Command {
		return &cobra.Command{
			Use:   op + " ORG/USER SERIAL",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
				if err := a.admin.ChangeToken(cmd.Context(), org, user, args[0], op); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%s: %s done\n", strings.ToUpper(args[0]), op)
				return nil
			}),
		}
	}

	unlock := &cobra.Command{
		Use:   "unlock ORG/USER",
		Short: "Lift a user's lockout after too many wrong codes",
		Args:  cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			if err := a.admin.Unlock(cmd.Context(), org, user); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s/%s unlocked\n", org.Slug, auth.CanonicalUsername(user))
			return nil
		}),
	}

	activate := &cobra.Command{
		Use:     "activate ORG/USER [SERIAL]",
		Short:   "Activate an assigned token with its first code, read from standard input",
		Example: `  echo 123456 | twofold token activate acme/alice TOTPABCD1234`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			serial, err := a.admin.Serial(cmd.Context(), org, user, first(args), store.TokenAssigned)
			if err != nil {
				return err
			}
			code, err := c.line("the token's first code")
			if err != nil {
				return err
			}
			v, err := c.mailingVerifier(a)
			if err != nil {
				return err
			}
			defer v.Wait() // a lock notice goes out before the command ends
			out, err := v.Activate(cmd.Context(), c.request(org, user, code), serial)
			return c.verdict(out, err, serial+" is active", "code refused; "+serial+" stays assigned (check the phone's clock, or wait for the next code)")
		}),
	}

	resync := &cobra.Command{
		Use:     "resync ORG/USER [SERIAL]",
		Short:   "Bring a token whose clock or counter wandered back into step with two consecutive codes from standard input",
		Example: `  printf '123456\n654321\n' | twofold token resync acme/alice TOTPABCD1234`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			serial, err := a.admin.Serial(cmd.Context(), org, user, first(args), store.TokenActive)
			if err != nil {
				return err
			}
			code, err := c.line("the first of two consecutive codes")
			if err != nil {
				return err
			}
			next, err := c.line("the second of two consecutive codes")
			if err != nil {
				return err
			}
			v, err := c.mailingVerifier(a)
			if err != nil {
				return err
			}
			defer v.Wait()
			out, err := v.Resync(cmd.Context(), c.request(org, user, code), serial, next)
			return c.verdict(out, err, serial+" is back in step", "codes refused: they must be two consecutive codes from the token")
		}),
	}

	cmd.AddCommand(enroll, resend, extend, cancel, list,
		change("suspend", "Suspend a token: its codes are refused until it is resumed"),
		change("resume", "Resume a suspended token"),
		change("revoke", "Revoke a token for good"),
		unlock, activate, resync, c.tokenFindCmd(), c.tokenDeleteCmd())
	cmd.AddCommand(c.tokenImportCmd(), c.tokenInventoryCmd(), c.tokenAssignCmd())
	return cmd
}

func (c *cli) apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys of applications"}
	var name string
	create := &cobra.Command{
		Use:     "create ORG --name NAME",
		Short:   "Create an API key for an application (printed once)",
		Example: `  twofold apikey create acme --name "intranet portal"`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			key, _, err := a.admin.CreateAPIKey(cmd.Context(), org, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "API key for %q in %s (shown once; store it in the application's secrets):\n", name, org.Slug)
			fmt.Fprintln(c.stdout, key)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "which application uses the key")
	list := &cobra.Command{
		Use:     "list ORG",
		Short:   "List an organization's API keys, revoked ones included (never the keys themselves)",
		Example: `  twofold apikey list acme`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ks, err := a.admin.APIKeys(cmd.Context(), org)
			if err != nil {
				return err
			}
			if len(ks) == 0 {
				fmt.Fprintf(c.stderr, "%s has no API keys; make one with: twofold apikey create %s --name NAME\n", org.Slug, org.Slug)
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPREFIX\tCREATED\tREVOKED")
			for _, k := range ks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Prefix, when(k.CreatedAt), when(k.RevokedAt))
			}
			return tw.Flush()
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke ORG NAME",
		Short: "Revoke an application's API key: the REST API refuses it from then on",
		Long: `Revoke the API key of an organization named NAME (see: twofold apikey list ORG).
Requests with it are refused at once, also by running servers. A revoked key
stays listed; it cannot be used again.`,
		Example: `  twofold apikey revoke acme "intranet portal"`,
		Args:    cobra.ExactArgs(2),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := a.admin.RevokeAPIKey(cmd.Context(), org, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "API key %q of %s revoked\n", strings.TrimSpace(args[1]), org.Slug)
			return nil
		}),
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func (c *cli) checkCmd() *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "check ORG/USER",
		Short: "Check a code read from standard input: prints accept or reject, exits 0 or 1",
		Long: `Check a code the way a login would, through the same lockout and single-use
rules. Exit status: 0 accept, 1 reject, 2 when the check could not be made.`,
		Example: `  echo 123456 | twofold check acme/alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
				r := c.request(org, user, "")
				if passwordStdin {
					pw, err := c.line("the password")
					if err != nil {
						return err
					}
					r.Password, r.CheckPassword = pw, true
				}
				code, err := c.line("a code")
				if err != nil {
					return err
				}
				r.Code = code
				v, err := c.mailingVerifier(a)
				if err != nil {
					return err
				}
				defer v.Wait() // a lock or backup-code notice goes out before the command ends
				out, err := v.Verify(cmd.Context(), r)
				if err != nil {
					return err
				}
				if !out.Accepted {
					fmt.Fprintln(c.stdout, "reject")
					fmt.Fprintf(c.stderr, "reason (from the audit log, never shown to users): %v\n", out.Reason)
					return exitError(1)
				}
				fmt.Fprintln(c.stdout, "accept")
				return nil
			})(cmd, args)
			var exit exitError
			if err != nil && !errors.As(err, &exit) {
				fmt.Fprintln(c.stderr, "twofold:", err)
				return exitError(2)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "check a password too, read from the line before the code")
	return cmd
}

func (c *cli) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the master key that seals secrets at rest"}
	var noReseal bool
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new master key and re-seal every secret with it",
		Long: `Add a new key to the master key file; from then on secrets are sealed with it,
while older keys still open what they sealed. Then every secret is re-sealed
with the new key in one transaction.

With several instances: run "twofold keys rotate --no-reseal", copy the key
file to every instance and restart them, then run "twofold keys reseal".
Remove an old key from the file only after a reseal.`,
		Args: cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app, _ []string) error {
			keys, err := secret.AddKey(a.cfg.KeyFile(), nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "added key %d to %s\n", keys.NewestID(), a.cfg.KeyFile())
			if noReseal {
				return nil
			}
			a.admin.Keys = keys
			return c.reseal(cmd, a)
		}),
	}
	rotate.Flags().BoolVar(&noReseal, "no-reseal", false, "only add the key (for installations with several instances)")
	reseal := &cobra.Command{
		Use:   "reseal",
		Short: "Re-seal every secret with the newest master key",
		Args:  cobra.NoArgs,
		RunE:  c.withApp(func(cmd *cobra.Command, a *app, _ []string) error { return c.reseal(cmd, a) }),
	}
	cmd.AddCommand(rotate, reseal)
	return cmd
}

// sendLink prints an enrollment link and, unless noEmail, mails it to the user.
func (c *cli) sendLink(cmd *cobra.Command, a *app, org store.Org, user string, en admin.Enrolled, noEmail bool) error {
	fmt.Fprintf(c.stdout, "enrollment link (single use, valid until %s):\n  %s\n", en.Expires.Local().Format(time.DateTime), en.Link)
	if en.Activation != "" {
		fmt.Fprintf(c.stdout, "activation string for the Twofold Authenticator (single use, like the link):\n  %s\n", en.Activation)
	}
	if noEmail {
		return nil
	}
	u, err := a.admin.User(cmd.Context(), org, user)
	if err != nil {
		return err
	}
	if u.Email == "" {
		fmt.Fprintf(c.stdout, "%s/%s has no email address: give them the link yourself\n", org.Slug, u.Username)
		return nil
	}
	m, err := a.mailer()
	if err != nil {
		return err
	}
	if err := m.Invite(cmd.Context(), org, u, en.Token.Type, en.Link, en.Expires); err != nil {
		return fmt.Errorf("%w\n(the token is assigned; send the link another way, or retry with: twofold token resend %s/%s)", err, org.Slug, u.Username)
	}
	fmt.Fprintf(c.stdout, "mailed to %s\n", u.Email)
	return nil
}

func (c *cli) reseal(cmd *cobra.Command, a *app) error {
	n, err := a.admin.Reseal(cmd.Context())
	if err != nil {
		return err
	}
	r, err := a.admin.ResealRadiusSecrets(cmd.Context())
	if err != nil {
		return err
	}
	inv, err := a.admin.ResealInventory(cmd.Context())
	if err != nil {
		return err
	}
	k, err := a.admin.ResealOIDCKeys(cmd.Context())
	if err != nil {
		return err
	}
	a.directory.Keys = a.admin.Keys
	d, err := a.directory.Reseal(cmd.Context())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "re-sealed %d secrets with key %d\n", n+r+inv+k+d, a.admin.Keys.NewestID())
	return nil
}

// verifier builds the verification core; mailer sends emailed codes, and
// reg, when not nil, receives its metrics.
func (c *cli) verifier(a *app, mailer *compose.Mailer, reg prometheus.Registerer, pushWaiting auth.PushNotifier) *auth.Verifier {
	cfg := auth.Config{Store: a.store, Keys: a.admin.Keys, Clock: a.admin.Clock, Hasher: a.admin.Hasher, Log: a.log,
		Rand: a.admin.Rand, Registerer: reg, Throttle: loginThrottle(a.cfg), PushWaiting: pushWaiting, Directory: a.directory}
	if mailer != nil {
		cfg.Sender = compose.CodeSender{Store: a.store, Mailer: mailer}
	}
	return auth.NewVerifier(cfg)
}

// mailingVerifier is the core for the CLI's own checks (check, token
// activate, token resync): it mails what a check must tell the user, a
// lock or a backup code used, like the server's core does.
func (c *cli) mailingVerifier(a *app) (*auth.Verifier, error) {
	m, err := a.mailer()
	if err != nil {
		return nil, err
	}
	return c.verifier(a, m, nil, nil), nil
}

// loginThrottle is the limit on password attempts per client address the
// configuration asks for. Behind a proxy that is not named as trusted,
// every request seems to come from the proxy, and one limit for all would
// lock everyone out at once: then there is none.
func loginThrottle(cfg config.Config) auth.Throttle {
	if cfg.LoginRate == 0 || cfg.InsecureHTTP && len(cfg.TrustedProxies) == 0 {
		return auth.Throttle{PerMinute: -1}
	}
	return auth.Throttle{PerMinute: float64(cfg.LoginRate), Burst: cfg.LoginRate}
}

func (c *cli) request(org store.Org, user, code string) auth.Request {
	return auth.Request{OrgID: org.ID, Username: user, Code: code, Actor: "cli"}
}

// verdict reports the outcome of an operator's code check.
func (c *cli) verdict(out auth.Outcome, err error, accepted, refused string) error {
	if err != nil {
		return err
	}
	if !out.Accepted {
		return fmt.Errorf("%s (%v)", refused, out.Reason)
	}
	fmt.Fprintln(c.stdout, accepted)
	return nil
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
