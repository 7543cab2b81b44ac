package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
)

// tokenFindCmd answers the helpdesk's "whose authenticator is this?".
func (c *cli) tokenFindCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "find ORG",
		Short: "Find whose authenticator app shows a code now (the code on stdin)",
		Long: `Find the authenticator apps of an organization that show a code now, for the
helpdesk's "whose authenticator is this?": a person reads the code their app
shows, and this prints the user and token it belongs to. The code is read from
standard input. It is no sign-in: nothing is used up and no guess is counted,
and the lookup is written to the audit log. Exit 1 when no token shows it.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			code, err := c.line("a code")
			if err != nil {
				return err
			}
			found, err := c.verifier(a, nil, nil, nil).Whose(cmd.Context(), org.ID, code, a.admin.Actor)
			if errors.Is(err, auth.ErrMalformed) {
				return fmt.Errorf("%w: %q is no one-time code: type the 6 or 8 digits the app shows", admin.ErrInvalid, code)
			}
			if err != nil {
				return err
			}
			if len(found) == 0 {
				fmt.Fprintln(c.stderr, "no authenticator of "+org.Slug+" shows that code now (codes change every 30 seconds: ask for the one on screen)")
				return exitError(1)
			}
			for _, t := range found {
				fmt.Fprintf(c.stdout, "%s/%s\t%s\t%s\t%s\n", org.Slug, t.Username, t.Serial, t.Type, t.State)
			}
			return nil
		}),
	}
}

// tokenDeleteCmd deletes a revoked or never-activated token for good.
func (c *cli) tokenDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ORG/USER SERIAL",
		Short: "Delete a revoked or never-activated token for good",
		Long: `Delete a token for good, with its enrollment: only a revoked token, or one
still waiting for its first code. A token in use is revoked first
("twofold token revoke"), so that deleting never silently takes away a way
in. The audit log keeps what happened to it.`,
		Args: cobra.ExactArgs(2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			if err := a.admin.DeleteToken(cmd.Context(), org, user, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s: deleted\n", strings.ToUpper(args[0]))
			return nil
		}),
	}
}
