package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
)

func (c *cli) userEditCmd() *cobra.Command {
	var email, name, language string
	cmd := &cobra.Command{
		Use:   "edit ORG/USER [--email ADDR] [--name NAME] [--language en|nl|de]",
		Short: "Change a user's email address, display name or language: only the flags given",
		Long: `Change a user's profile. Only the fields whose flags are given change; an
empty --email "" takes the address away (refused while an email token needs
it), an empty --language "" leaves the language to the pages the user visits.
A new address stops the codes and password reset links sent to the old one.`,
		Example: `  twofold user edit acme/alice --email alice@acme.example --language nl
  twofold user edit acme/alice --name "Alice de Vries"`,
		Args: cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			var e admin.UserEdit
			flags := cmd.Flags()
			if flags.Changed("email") {
				e.Email = &email
			}
			if flags.Changed("name") && flags.Changed("display-name") {
				return errors.New("give the display name once, with --name")
			}
			if flags.Changed("name") || flags.Changed("display-name") {
				e.DisplayName = &name
			}
			if flags.Changed("language") {
				e.Language = &language
			}
			if e.Email == nil && e.DisplayName == nil && e.Language == nil {
				return fmt.Errorf("say what to change with --email, --name or --language, as in: twofold user edit %s/%s --email %s@example.org", org.Slug, user, user)
			}
			old, err := a.admin.User(cmd.Context(), org, user)
			if err != nil {
				return err
			}
			u, err := a.admin.EditUser(cmd.Context(), org, user, e)
			if err != nil {
				return err
			}
			var changed []string
			for _, f := range []struct{ what, old, new string }{
				{"email", old.Email, u.Email}, {"name", old.DisplayName, u.DisplayName}, {"language", old.Language, u.Language},
			} {
				if f.old != f.new {
					changed = append(changed, fmt.Sprintf("%s %s (was %s)", f.what, orDash(f.new), orDash(f.old)))
				}
			}
			if len(changed) == 0 {
				fmt.Fprintf(c.stdout, "%s/%s unchanged: the fields had those values already\n", org.Slug, u.Username)
				return nil
			}
			fmt.Fprintf(c.stdout, "%s/%s changed: %s\n", org.Slug, u.Username, strings.Join(changed, ", "))
			return nil
		}),
	}
	cmd.Flags().StringVar(&email, "email", "", `the new email address; "" takes it away`)
	cmd.Flags().StringVar(&name, "name", "", "the new display name (the user's full name)")
	// user add calls it --display-name: either works.
	cmd.Flags().StringVar(&name, "display-name", "", "the same as --name")
	cmd.Flags().MarkHidden("display-name")
	cmd.Flags().StringVar(&language, "language", "", `en, nl or de: the language of the user's mail; "" leaves it to the pages the user visits`)
	return cmd
}
