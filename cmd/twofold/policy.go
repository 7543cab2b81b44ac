package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/policy"
)

func (c *cli) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show and change an organization's authentication policy",
		Long: `Each organization has an authentication policy: whether logins need a second
factor, how many wrong codes lock a user and for how long, the parameters of
new tokens, and more. It starts with the service provider's defaults.`,
	}

	show := &cobra.Command{
		Use:     "show ORG",
		Short:   "Show every policy setting with its value, its default and what it allows",
		Example: `  twofold policy show acme`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			p, err := a.admin.Policy(cmd.Context(), org)
			if err != nil {
				return err
			}
			if err := settingsTable(c.stdout, p.Settings(), true); err != nil {
				return err
			}
			if err := p.Validate(); err != nil {
				fmt.Fprintf(c.stderr, "the stored policy of %s is not valid, so logins fail; correct it with twofold policy set %s KEY=VALUE:\n  %s\n",
					org.Slug, org.Slug, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return nil
		}),
	}

	var settings strings.Builder
	settingsTable(&settings, policy.Default().Settings(), false)
	set := &cobra.Command{
		Use:   "set ORG KEY=VALUE [KEY=VALUE ...]",
		Short: "Change policy settings: all that are given, or none when one is not allowed",
		Long: `Change one or more settings of an organization's policy. Either every change
is made or, when any value is not allowed, none; the error names every problem.
Values are whole numbers, durations such as 90s, 10m or 72h, true or false
(also yes/no, on/off, 1/0), or text. Changes take effect at once, also on
running servers; otp_* settings apply to tokens enrolled afterwards.

The settings, with their defaults:

` + strings.TrimRight(settings.String(), "\n"),
		Example: `  twofold policy set acme lockout_threshold=3 lockout_duration=30m
  twofold policy set acme login_form=combined`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return errors.New("name the organization and at least one setting, as in: twofold policy set acme lockout_threshold=3 (see the settings with: twofold policy show ORG)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, err := settingArgs("twofold policy show "+args[0], args[1:])
			if err != nil {
				return err
			}
			return c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
				org, err := a.admin.Org(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				old, err := a.admin.Policy(cmd.Context(), org)
				if err != nil {
					return err
				}
				p, err := a.admin.SetPolicy(cmd.Context(), org, changes)
				return c.policyChanged("policy of "+org.Slug, "twofold policy show "+org.Slug, old, p, err)
			})(cmd, args)
		},
	}

	cmd.AddCommand(show, set, c.policyDefaultCmd(settings.String()))
	return cmd
}

func (c *cli) policyDefaultCmd(settings string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "default",
		Short: "Show and change the service provider's default policy, which new organizations start with",
		Long: `The default policy is the policy a new organization starts with (a copy:
organizations created before a change keep their own). It starts as the
built-in defaults.`,
	}
	show := &cobra.Command{
		Use:     "show",
		Short:   "Show every setting of the default policy with its value and the built-in default",
		Example: `  twofold policy default show`,
		Args:    cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app, _ []string) error {
			p, err := a.admin.DefaultPolicy(cmd.Context())
			if err != nil {
				return err
			}
			if err := settingsTable(c.stdout, p.Settings(), true); err != nil {
				return err
			}
			if err := p.Validate(); err != nil {
				fmt.Fprintf(c.stderr, "the default policy is not valid, so organizations created with it cannot sign in; correct it with twofold policy default set KEY=VALUE:\n  %s\n",
					strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return nil
		}),
	}
	set := &cobra.Command{
		Use:   "set KEY=VALUE [KEY=VALUE ...]",
		Short: "Change settings of the default policy: all that are given, or none when one is not allowed",
		Long: `Change one or more settings of the default policy, under the rules of
"twofold policy set". Organizations created afterwards start with the result;
existing ones are not changed.

The settings, with their built-in defaults:

` + strings.TrimRight(settings, "\n"),
		Example: `  twofold policy default set lockout_threshold=3 login_form=combined`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return errors.New("name at least one setting, as in: twofold policy default set lockout_threshold=3 (see the settings with: twofold policy default show)")
			}
			return nil
		},
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			changes, err := settingArgs("twofold policy default show", args)
			if err != nil {
				return err
			}
			old, err := a.admin.DefaultPolicy(cmd.Context())
			if err != nil {
				return err
			}
			p, err := a.admin.SetDefaultPolicy(cmd.Context(), changes)
			return c.policyChanged("default policy", "twofold policy default show", old, p, err)
		}),
	}
	cmd.AddCommand(show, set)
	return cmd
}

// policyChanged reports the outcome of a change of the policy named what
// from old to p (err from the change); showCmd shows it.
func (c *cli) policyChanged(what, showCmd string, old, p policy.Policy, err error) error {
	if errors.Is(err, admin.ErrInvalid) {
		msg := strings.TrimPrefix(err.Error(), admin.ErrInvalid.Error()+": ")
		return fmt.Errorf("%s not changed:\n  %s\nsee every setting and the values it allows with: %s",
			what, strings.ReplaceAll(msg, "\n", "\n  "), showCmd)
	}
	if err != nil {
		return err
	}
	diff := policy.Changes(old, p)
	if len(diff) == 0 {
		fmt.Fprintf(c.stdout, "%s unchanged: the settings had those values already\n", what)
		return nil
	}
	fmt.Fprintf(c.stdout, "%s changed:\n", what)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, ch := range diff {
		fmt.Fprintf(tw, "  %s\t%s\t(was %s)\n", ch.Key, orDash(ch.New), orDash(ch.Old))
	}
	return tw.Flush()
}

// settingsTable writes settings as an aligned table; with values, each
// setting's value next to its default, otherwise the default only.
func settingsTable(w io.Writer, settings []policy.Setting, values bool) error {
	defaults := policy.Default().Settings()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if values {
		fmt.Fprintln(tw, "SETTING\tVALUE\tDEFAULT\tDESCRIPTION")
	}
	for i, s := range settings {
		if values {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Key, orDash(s.Value), orDash(defaults[i].Value), s.Help)
		} else {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Key, orDash(s.Value), s.Help)
		}
	}
	return tw.Flush()
}

// settingArgs reads KEY=VALUE arguments; showCmd, in a refusal, shows
// the settings.
func settingArgs(showCmd string, args []string) (map[string]string, error) {
	changes := make(map[string]string, len(args))
	for _, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("%q should be KEY=VALUE, for example lockout_threshold=3 (see the settings with: %s)", arg, showCmd)
		}
		if _, twice := changes[key]; twice {
			return nil, fmt.Errorf("%s is given twice; give each setting once", key)
		}
		changes[key] = value
	}
	return changes, nil
}
