package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/directory"
)

// directoryCmd connects organizations to their LDAP directory or Active
// Directory (package directory).
func (c *cli) directoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "directory",
		Short: "Connect an organization to its LDAP directory or Active Directory, and sync its users",
		Long: `An organization's users can come from its LDAP directory or Active Directory:
"twofold directory sync" creates the users it finds, updates what changed, and
disables the users that left the directory or are disabled there (never
deleting them); "twofold serve" syncs at the organization's sync_interval.
With password_auth=true, passwords are checked by the directory (a bind as
the user) instead of Twofold's own.`,
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range directory.Defaults().List() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Key, orDash(s.Value), s.Help)
	}
	tw.Flush()

	show := &cobra.Command{
		Use:     "show ORG",
		Short:   "Show an organization's directory settings (never the bind password) and its last sync",
		Example: `  twofold directory show acme`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cfg, err := a.directory.Config(cmd.Context(), org)
			if err != nil {
				return err
			}
			return c.showDirectory(org.Slug, cfg)
		}),
	}

	var passwordStdin bool
	set := &cobra.Command{
		Use:   "set ORG [KEY=VALUE ...] [--bind-password-stdin]",
		Short: "Change directory settings: all that are given, or none when one is refused",
		Long: `Change one or more directory settings of an organization; either every change
is made or, when any value is refused, none. --bind-password-stdin reads the
service account's password from the first line of standard input (an empty
line removes it); it is sealed with the master key and never shown.

The settings, with their defaults:

` + strings.TrimRight(b.String(), "\n"),
		Example: `  printf '%s\n' "$BIND_PASSWORD" | twofold directory set acme url=ldaps://dc1.acme.example \
      bind_dn='CN=twofold,OU=Service,DC=acme,DC=example' base_dn='OU=Staff,DC=acme,DC=example' \
      filter='(&(objectCategory=person)(objectClass=user))' username_attr=sAMAccountName \
      roles='admin:CN=Twofold Admins,OU=Groups,DC=acme,DC=example' sync_interval=1h --bind-password-stdin
  twofold directory set acme password_auth=true`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return errors.New("name the organization, as in: twofold directory set acme url=ldaps://dc.acme.example (see twofold directory set --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, err := settingArgs("twofold directory set --help", args[1:])
			if err != nil {
				return err
			}
			var password *string
			if passwordStdin {
				pw, err := c.line("the bind password")
				if err != nil {
					return err
				}
				password = &pw
			}
			if len(changes) == 0 && password == nil {
				return errors.New("name at least one setting (KEY=VALUE) or --bind-password-stdin (see twofold directory set --help)")
			}
			return c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
				org, err := a.admin.Org(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				cfg, err := a.directory.Set(cmd.Context(), org, changes, password)
				if errors.Is(err, admin.ErrInvalid) {
					msg := strings.ReplaceAll(err.Error(), admin.ErrInvalid.Error()+": ", "")
					return fmt.Errorf("directory of %s not changed:\n  %s\nsee every setting with: twofold directory set --help",
						org.Slug, strings.ReplaceAll(msg, "\n", "\n  "))
				}
				if err != nil {
					return err
				}
				return c.showDirectory(org.Slug, cfg)
			})(cmd, args)
		},
	}
	set.Flags().BoolVar(&passwordStdin, "bind-password-stdin", false, "read the bind password from the first line of standard input (empty removes it)")

	var dryRun bool
	sync := &cobra.Command{
		Use:   "sync ORG [--dry-run]",
		Short: "Sync an organization's users with its directory now",
		Long: `Search the directory and bring the organization's users in line with it, in
one transaction: new entries become users, changed attributes (and roles, when
the roles setting maps groups) are updated, and users the sync manages that
left the directory or are disabled there (Active Directory's userAccountControl)
are disabled, never deleted; those it disabled are enabled again when they
return, never one an operator disabled. Users added by hand and not in the
directory are left alone. A search that finds nobody changes nothing.

--dry-run prints what would change and changes nothing.`,
		Example: `  twofold directory sync acme --dry-run
  twofold directory sync acme`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r, err := a.directory.Sync(cmd.Context(), org, dryRun)
			if err != nil {
				return fmt.Errorf("sync of %s: %w", org.Slug, err)
			}
			c.printReport(r)
			return nil
		}),
	}
	sync.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change, change nothing")
	cmd.AddCommand(show, set, sync)
	return cmd
}

// showDirectory prints an organization's directory settings.
func (c *cli) showDirectory(slug string, cfg directory.Config) error {
	if !cfg.Configured {
		fmt.Fprintf(c.stdout, "organization %s has no directory (connect one with: twofold directory set %s url=… base_dn=…); the defaults:\n", slug, slug)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE")
	for _, s := range cfg.List() {
		fmt.Fprintf(tw, "%s\t%s\n", s.Key, orDash(s.Value))
	}
	pw := "not set"
	if cfg.HasPassword {
		pw = "set (sealed; never shown)"
	}
	fmt.Fprintf(tw, "bind password\t%s\n", pw)
	if cfg.Configured {
		last := "never"
		if !cfg.LastSyncAt.IsZero() {
			last = when(cfg.LastSyncAt) + ": " + cfg.LastResult
		}
		fmt.Fprintf(tw, "last sync\t%s\n", last)
	}
	return tw.Flush()
}

// printReport prints what a sync did or, in a dry run, would do.
func (c *cli) printReport(r directory.Report) {
	verb := map[bool]string{true: "would ", false: ""}[r.DryRun]
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, ch := range r.Changes {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\n", verb, ch.Kind, ch.Username, ch.Detail)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(tw, "skipped\t%s\n", s)
	}
	tw.Flush()
	fmt.Fprintln(c.stdout, r.Summary())
}
