package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The service provider's commands: its admins, and the organizations it
// runs. Each change goes through the admin service, checked and audited.

// adminCmd manages the service provider's admins.
func (c *cli) adminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage the service provider's admins, who run the server and its organizations",
		Long: `The service provider's admins run the server and create organizations. They are
accounts like a user's, in the provider's own organization ` + store.ProviderSlug + `: they
enroll an authenticator the same way, and sign in to the provider's console with
the same second factor.`,
	}
	var n admin.NewUser
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create USER --email ADDRESS [--password-stdin]",
		Short: "Create a service provider admin",
		Example: `  echo 'a long passphrase' | twofold admin create root --email root@provider.example --password-stdin
  twofold token enroll ` + store.ProviderSlug + `/root --type totp`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			n.Username = args[0]
			if passwordStdin {
				pw, err := c.line("a password")
				if err != nil {
					return err
				}
				n.Password = pw
			}
			u, err := a.admin.CreateProviderAdmin(cmd.Context(), n)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "created service provider admin %s\nnext: twofold token enroll %s/%s --type totp\n", u.Username, store.ProviderSlug, u.Username)
			return nil
		}),
	}
	create.Flags().StringVar(&n.Email, "email", "", "the admin's email address (required: enrollment links and notices go there)")
	create.Flags().StringVar(&n.DisplayName, "display-name", "", "the admin's full name")
	create.Flags().StringVar(&n.Language, "language", "", "en, nl or de: the language of the admin's mail")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the admin's password from the first line of standard input")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the service provider's admins",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app, _ []string) error {
			us, err := a.admin.ProviderAdmins(cmd.Context())
			if err != nil {
				return err
			}
			if len(us) == 0 {
				fmt.Fprintln(c.stdout, "no service provider admins yet (create one with: twofold admin create USER --email ADDRESS)")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tEMAIL\tSTATUS\tCREATED")
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, orDash(u.Email), u.Status, when(u.CreatedAt))
			}
			return tw.Flush()
		}),
	}
	cmd.AddCommand(create, list)
	return cmd
}

// orgManageCmds are the org commands besides create.
func (c *cli) orgManageCmds() []*cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the organizations with their status and number of users",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app, _ []string) error {
			orgs, err := a.admin.Orgs(cmd.Context())
			if err != nil {
				return err
			}
			if len(orgs) == 0 {
				fmt.Fprintln(c.stdout, "no organizations yet (create one with: twofold org create SLUG --name NAME)")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tNAME\tSTATUS\tCREATED\tUSERS")
			for _, o := range orgs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", o.Slug, o.Name, o.Status, when(o.CreatedAt), o.Users)
			}
			return tw.Flush()
		}),
	}

	var name string
	rename := &cobra.Command{
		Use:     "rename SLUG --name NAME",
		Short:   "Change an organization's display name (the slug stays)",
		Example: `  twofold org rename acme --name "Acme Corporation"`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.RenameOrg(cmd.Context(), args[0], name)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "organization %s is now named %s\n", org.Slug, org.Name)
			return nil
		}),
	}
	rename.Flags().StringVar(&name, "name", "", "the new display name shown to users")

	disable := &cobra.Command{
		Use:   "disable SLUG",
		Short: "Stop everyone in an organization from signing in, and sign them out",
		Long: `Stop every user of an organization from signing in: the portal, enrollment
links, the REST API, RADIUS and "twofold check" refuse them all, with the answer
any refusal gets (the audit log says org_disabled). Every session ends and
pending emailed codes and reset links stop working. Users, tokens and settings
are kept: "twofold org enable" lets everyone in again.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			if err := a.admin.DisableOrg(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "organization %s disabled; its users are signed out and refused everywhere\n", args[0])
			return nil
		}),
	}
	enable := &cobra.Command{
		Use:   "enable SLUG",
		Short: "Let the users of a disabled organization sign in again",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			if err := a.admin.EnableOrg(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "organization %s enabled\n", args[0])
			return nil
		}),
	}
	return append([]*cobra.Command{list, rename, disable, enable}, c.orgSettingsCmds()...)
}

// userRoleCmd sets a user's organization role.
func (c *cli) userRoleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "role ORG/USER user|helpdesk|admin",
		Short: "Set a user's role in the organization: user, helpdesk or admin",
		Long: `Set what a user may do in the organization's console:
  user      nothing: signs in to the portal only
  helpdesk  find users, see their authenticators and audit trail, unlock,
            resend an invitation, issue a temporary code and reset MFA
  admin     everything within the organization`,
		Example: `  twofold user role acme/carol helpdesk`,
		Args:    cobra.ExactArgs(2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			if err := a.admin.SetRole(cmd.Context(), org, user, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s/%s is now %s\n", org.Slug, auth.CanonicalUsername(user), args[0])
			return nil
		}),
	}
}
