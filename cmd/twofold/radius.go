package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/radius"
)

func (c *cli) radiusCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "radius", Short: "Manage the gateways (RADIUS clients) that may ask the RADIUS server"}
	client := &cobra.Command{Use: "client", Short: "Manage RADIUS clients: gateways known by source address, each in one organization"}

	var n admin.NewRadiusClient
	var secretStdin bool
	add := &cobra.Command{
		Use:   "add ORG --name NAME --cidr ADDRESS[/BITS] [--secret-stdin]",
		Short: "Register a gateway; prints a generated shared secret once unless one is read from standard input",
		Long: `Register a gateway (VPN, Citrix, firewall) that sends RADIUS Access-Requests.
Requests from other addresses are dropped without an answer. Without
--secret-stdin a random shared secret of 32 characters is generated and
printed once: enter it in the gateway. A secret shorter than 8 characters is
refused, one shorter than 16 is accepted with a warning.

Requests must carry a valid Message-Authenticator (RFC 3579, the BlastRADIUS
fix); --allow-missing-message-authenticator accepts old gateways that cannot
send one. Changes reach every running server within a second.`,
		Example: `  twofold radius client add acme --name vpn --cidr 192.0.2.10
  printf '%s\n' "$SECRET" | twofold radius client add acme --name citrix --cidr 198.51.100.0/28 --secret-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if secretStdin {
				if n.Secret, err = c.line("the shared secret"); err != nil {
					return err
				}
				if n.Secret == "" {
					return errors.New("the shared secret read from standard input is empty; leave out --secret-stdin to have one generated")
				}
			}
			added, err := a.admin.AddRadiusClient(cmd.Context(), org, n)
			if err != nil {
				return err
			}
			if added.Warning != "" {
				fmt.Fprintln(c.stderr, "warning:", added.Warning)
			}
			fmt.Fprintf(c.stderr, "registered RADIUS client %s (%s) for %s\n", added.Client.Name, added.Client.CIDR, org.Slug)
			if added.Generated {
				fmt.Fprintln(c.stderr, "shared secret (shown once; enter it in the gateway):")
				fmt.Fprintln(c.stdout, added.Secret)
			}
			return nil
		}),
	}
	add.Flags().StringVar(&n.Name, "name", "", "a name for the gateway, shown in the audit log")
	add.Flags().StringVar(&n.Address, "cidr", "", "the gateway's source address, or a range such as 192.0.2.0/28")
	add.Flags().BoolVar(&secretStdin, "secret-stdin", false, "read the shared secret from the first line of standard input instead of generating one")
	add.Flags().BoolVar(&n.AllowMissingMessageAuthenticator, "allow-missing-message-authenticator", false, "accept requests without a Message-Authenticator (old gateways only; weakens protection against BlastRADIUS)")

	list := &cobra.Command{
		Use:   "list ORG",
		Short: "List an organization's RADIUS clients",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cs, err := a.admin.RadiusClients(cmd.Context(), org)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tADDRESS\tMESSAGE-AUTHENTICATOR\tADDED")
			for _, cl := range cs {
				ma := "required"
				if !cl.RequireMessageAuthenticator {
					ma = "optional"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cl.Name, cl.CIDR, ma, when(cl.CreatedAt))
			}
			return w.Flush()
		}),
	}
	remove := &cobra.Command{
		Use:   "remove ORG NAME",
		Short: "Remove a RADIUS client; its requests are dropped within a second",
		Args:  cobra.ExactArgs(2),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := a.admin.RemoveRadiusClient(cmd.Context(), org, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "removed RADIUS client %s from %s\n", args[1], org.Slug)
			return nil
		}),
	}
	client.AddCommand(add, list, remove)
	cmd.AddCommand(client)
	return cmd
}

// startRadius starts the RADIUS server on the configured UDP address and
// returns the address it listens on; it stops when ctx is done.
func (c *cli) startRadius(ctx context.Context, a *app, v *auth.Verifier) (net.Addr, error) {
	conn, err := net.ListenPacket("udp", a.cfg.RadiusAddr)
	if err != nil {
		return nil, fmt.Errorf("RADIUS: listen on udp %s: %w (is another RADIUS server running? choose another address with --radius-addr)", a.cfg.RadiusAddr, err)
	}
	srv := radius.New(radius.Config{Store: a.store, Keys: a.keys, Verifier: v, Clock: a.admin.Clock, Rand: a.admin.Rand, Log: a.log})
	go func() {
		if err := srv.Serve(ctx, conn); err != nil {
			a.log.Error("RADIUS server stopped", "err", err)
		}
	}()
	return conn.LocalAddr(), nil
}
