package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store"
)

// orgSettingsCmds show an organization and change what it tells its users.
func (c *cli) orgSettingsCmds() []*cobra.Command {
	show := &cobra.Command{
		Use:     "show SLUG",
		Short:   "Show an organization: name, status, settings, logo, created",
		Example: `  twofold org show acme`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return c.showOrg(cmd, a, org)
		}),
	}

	var support, continueURL, senderName, logoFile string
	var noLogo bool
	settings := &cobra.Command{
		Use:   "settings SLUG [--support TEXT] [--continue-url URL] [--sender-name NAME] [--logo FILE | --no-logo]",
		Short: "Change what an organization tells its users: support contact, continue URL, mail sender, logo",
		Long: `Change the settings given, and only those; an empty value clears a setting.
Every value is checked before anything changes, so a refused one changes nothing.

  --support       whom users ask for help, on their pages and in every mail's
                  footer, at most ` + fmt.Sprint(admin.MaxSupportContact) + ` characters
  --continue-url  where users go once enrolled: an https:// URL (http:// only
                  for localhost or 127.0.0.1), without a user name or password
  --sender-name   the name mails come from, in place of "NAME via Twofold"
                  (without <, > or @, so it cannot pass for an address)
  --logo          an image file shown on the organization's pages: PNG, JPEG,
                  GIF or WebP (not SVG, which can carry script), at most
                  ` + fmt.Sprint(admin.MaxLogoBytes>>10) + ` KiB
  --no-logo       remove the logo`,
		Example: `  twofold org settings acme --support "IT helpdesk, +31 20 123 4567, help@acme.example"
  twofold org settings acme --continue-url https://intranet.acme.example/ --logo acme.png
  twofold org settings acme --sender-name ""`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			var ch admin.OrgSettingsChange
			for _, f := range []struct {
				flag  string
				value *string
				field **string
			}{
				{"support", &support, &ch.SupportContact},
				{"continue-url", &continueURL, &ch.ContinueURL},
				{"sender-name", &senderName, &ch.SenderName},
			} {
				if cmd.Flags().Changed(f.flag) {
					*f.field = f.value
				}
			}
			settingsGiven := ch != admin.OrgSettingsChange{}
			setLogo := cmd.Flags().Changed("logo")
			if !settingsGiven && !setLogo && !noLogo {
				return errors.New("name at least one setting to change: --support, --continue-url, --sender-name, --logo or --no-logo (see twofold org settings --help)")
			}
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// Check the logo before the settings change: a refused
			// logo then changes nothing, as a refused setting does.
			var logo []byte
			if setLogo {
				if logo, err = os.ReadFile(logoFile); err != nil {
					return fmt.Errorf("read the logo: %w", err)
				}
				if _, err := admin.LogoType(logo); err != nil {
					return fmt.Errorf("%s: %w", logoFile, err)
				}
			}
			if settingsGiven {
				if org, err = a.admin.SetOrgSettings(cmd.Context(), org, ch); err != nil {
					return err
				}
			}
			switch {
			case setLogo:
				org, err = a.admin.SetOrgLogo(cmd.Context(), org, logo)
			case noLogo:
				org, err = a.admin.RemoveOrgLogo(cmd.Context(), org)
			}
			if err != nil {
				return err
			}
			return c.showOrg(cmd, a, org)
		}),
	}
	settings.Flags().StringVar(&support, "support", "", "whom users ask for help, shown on their pages and in mails (empty clears)")
	settings.Flags().StringVar(&continueURL, "continue-url", "", "where users go once enrolled, an https:// URL (empty clears)")
	settings.Flags().StringVar(&senderName, "sender-name", "", `the name mails come from (empty: "NAME via Twofold")`)
	settings.Flags().StringVar(&logoFile, "logo", "", "an image file (PNG, JPEG, GIF or WebP) to show on the organization's pages")
	settings.Flags().BoolVar(&noLogo, "no-logo", false, "remove the organization's logo")
	settings.MarkFlagsMutuallyExclusive("logo", "no-logo")
	return []*cobra.Command{show, settings}
}

// showOrg prints an organization with its settings.
func (c *cli) showOrg(cmd *cobra.Command, a *app, org store.Org) error {
	logo := "none"
	if org.LogoHash != "" {
		data, typ, err := a.store.OrgLogo(cmd.Context(), org.ID)
		if err != nil {
			return err
		}
		logo = fmt.Sprintf("%s, %d bytes", typ, len(data))
	}
	sender := org.SenderName
	if sender == "" {
		sender = fmt.Sprintf("- (mail comes from %q)", i18n.T("en", "mail.from", org.Name))
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"organization", org.Slug},
		{"name", org.Name},
		{"status", org.Status},
		{"support contact", orDash(org.SupportContact)},
		{"continue URL", orDash(org.ContinueURL)},
		{"sender name", sender},
		{"logo", logo},
		{"created", when(org.CreatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}
