package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
)

// tempCodeCmd is "user temp-code": the helpdesk's answer to a lost
// authenticator.
func (c *cli) tempCodeCmd() *cobra.Command {
	var o admin.TempCodeOptions
	cmd := &cobra.Command{
		Use:   "temp-code ORG/USER [--valid 24h] [--uses 1] [--suspend SERIAL|--suspend-all]",
		Short: "Give a user who lost their authenticator a temporary code (shown once) and suspend the lost one",
		Long: `Make a temporary code for a user who lost their authenticator, to read out to
them: it works wherever a one-time code is asked (after the PIN under
pin_mode=server), for the policy's temp_code_lifetime (24h by default) and
temp_code_uses (1 by default); --valid and --uses can only give less. It is
shown once and stored only as a keyed hash; a new one replaces the old.

The lost authenticator is suspended at once, which signs the user out
everywhere: the one named with --suspend, every authenticator app of the user
with --suspend-all, or else the user's only one. The user is mailed that a
temporary code was issued, never the code itself.`,
		Example:     `  twofold user temp-code acme/alice --valid 4h`,
		Annotations: map[string]string{settingsKey: settingsMail},
		Args:        cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			tc, err := a.admin.IssueTempCode(cmd.Context(), org, user, o)
			if err != nil {
				return err
			}
			name := org.Slug + "/" + tc.User.Username
			for _, s := range tc.Suspended {
				fmt.Fprintf(c.stdout, "suspended %s (resume it with: twofold token resume %s %s)\n", s, name, s)
			}
			uses := "one sign-in"
			if tc.Uses > 1 {
				uses = fmt.Sprintf("%d sign-ins", tc.Uses)
			}
			fmt.Fprintf(c.stderr, "temporary code of %s (shown once; read it out to the user; %s, until %s):\n",
				name, uses, tc.ExpiresAt.Local().Format(time.DateTime))
			fmt.Fprintln(c.stdout, tc.Code)
			if tc.User.Email == "" {
				fmt.Fprintf(c.stdout, "%s has no email address: no notice was mailed\n", name)
				return nil
			}
			m, err := a.mailer()
			if err == nil {
				err = m.TempCodeIssued(cmd.Context(), org, tc.User, a.admin.Clock.Now(), tc.ExpiresAt, tc.Uses, len(tc.Suspended) > 0)
			}
			if err != nil {
				return fmt.Errorf("%w\n(the temporary code above works; the notice to %s was not mailed)", err, tc.User.Email)
			}
			fmt.Fprintf(c.stdout, "notice mailed to %s\n", tc.User.Email)
			return nil
		}),
	}
	cmd.Flags().DurationVar(&o.Valid, "valid", 0, "how long the code works (default: the policy's temp_code_lifetime; never longer)")
	cmd.Flags().IntVar(&o.Uses, "uses", 0, "how many sign-ins it allows (default: the policy's temp_code_uses; never more)")
	cmd.Flags().StringVar(&o.Suspend, "suspend", "", "the serial of the lost authenticator to suspend")
	cmd.Flags().BoolVar(&o.SuspendAll, "suspend-all", false, "suspend every authenticator app of the user")
	return cmd
}
