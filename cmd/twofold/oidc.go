package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
)

func (c *cli) oidcCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "oidc", Short: "Manage the applications that sign their users in with Twofold (OpenID Connect)"}
	client := &cobra.Command{Use: "client", Short: "Manage OpenID Connect clients: web applications of one organization"}

	var n admin.NewOIDCClient
	add := &cobra.Command{
		Use:   "add ORG --name NAME --redirect-uri URI [--redirect-uri URI…] [--public] [--first-party] [--scopes openid,profile,…]",
		Short: "Register an application; prints its client id, and the client secret once",
		Long: `Register a web application with the organization's OpenID Connect provider,
whose issuer is TWOFOLD_PUBLIC_URL/o/ORG. The application sends its users to
Twofold's sign-in (the portal's, with the organization's policy) and gets an
ID token that says how they signed in (amr, acr).

Redirect URIs are matched exactly; they must use https (http only on
127.0.0.1, [::1] or localhost, for development). A confidential client gets a
client secret, printed once and stored only as its hash; --public registers
one without a secret (a browser or mobile application). Every client must
use PKCE (S256). --first-party skips the consent page for the organization's
own applications. --scopes limits what it may ask (default: openid, profile,
email, offline_access; offline_access gives refresh tokens).`,
		Example: `  twofold oidc client add acme --name Wiki --redirect-uri https://wiki.acme.example/oauth2/callback --first-party
  twofold oidc client add acme --name "Customer app" --public --redirect-uri https://app.acme.example/cb --scopes openid,email`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			added, err := a.admin.AddOIDCClient(cmd.Context(), org, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "registered application %s for %s; issuer %s/o/%s\n", added.Client.Name, org.Slug, strings.TrimSuffix(a.cfg.PublicURL, "/"), org.Slug)
			fmt.Fprintf(c.stdout, "client_id: %s\n", added.Client.ClientID)
			if added.Secret != "" {
				fmt.Fprintln(c.stderr, "client secret (shown once; enter it in the application):")
				fmt.Fprintf(c.stdout, "client_secret: %s\n", added.Secret)
			}
			return nil
		}),
	}
	add.Flags().StringVar(&n.Name, "name", "", "the application's name, shown on the consent page and in the audit log")
	add.Flags().StringArrayVar(&n.RedirectURIs, "redirect-uri", nil, "where the application receives the sign-in (repeat for several)")
	add.Flags().StringArrayVar(&n.LogoutURIs, "post-logout-redirect-uri", nil, "where the application may send the browser after signing out (repeat for several)")
	add.Flags().BoolVar(&n.Public, "public", false, "a public client: no secret (browser or mobile application)")
	add.Flags().BoolVar(&n.FirstParty, "first-party", false, "the organization's own application: its users are not asked to consent")
	add.Flags().StringSliceVar(&n.Scopes, "scopes", nil, "the scopes it may ask, among "+strings.Join(admin.OIDCScopes, ", "))

	list := &cobra.Command{
		Use:   "list ORG",
		Short: "List an organization's OpenID Connect clients",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cs, err := a.admin.OIDCClients(cmd.Context(), org)
			if err != nil {
				return err
			}
			if len(cs) == 0 {
				fmt.Fprintf(c.stderr, "no applications registered for %s (add one with: twofold oidc client add %s --name NAME --redirect-uri URI)\n", org.Slug, org.Slug)
				return nil
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT ID\tNAME\tTYPE\tREDIRECT URIS\tSCOPES\tADDED")
			for _, cl := range cs {
				kind := "confidential"
				if cl.Public {
					kind = "public"
				}
				if cl.FirstParty {
					kind += ", first-party"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", cl.ClientID, cl.Name, kind, strings.Join(cl.RedirectURIs, " "), strings.Join(cl.Scopes, " "), when(cl.CreatedAt))
			}
			return w.Flush()
		}),
	}
	remove := &cobra.Command{
		Use:   "remove ORG CLIENT_ID",
		Short: "Remove an application; every token it holds is revoked",
		Args:  cobra.ExactArgs(2),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := a.admin.RemoveOIDCClient(cmd.Context(), org, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "removed application %s from %s\n", args[1], org.Slug)
			return nil
		}),
	}
	client.AddCommand(add, list, remove)
	cmd.AddCommand(client)
	return cmd
}
