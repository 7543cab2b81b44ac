package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
)

// userDirectoryCmds are the user commands of the directory: list, show, delete.
func (c *cli) userDirectoryCmds() []*cobra.Command {
	return []*cobra.Command{c.userListCmd(), c.userShowCmd(), c.userDeleteCmd()}
}

func (c *cli) userListCmd() *cobra.Command {
	var q admin.UserQuery
	cmd := &cobra.Command{
		Use:   "list ORG [--search S] [--filter F] [--after USER] [--limit N]",
		Short: "List an organization's users, a page at a time, with their authenticators and invitation",
		Long: `List an organization's users in username order, a page at a time (50 by
default). --search matches the start of a username or email address, or any
part of a display name, without regard to case. --filter keeps the users with
no authenticator (no active token), an invitation pending, an invitation
expired, or locked out now. When there are more users, the last line says the
--after that shows the next page.`,
		Example: `  twofold user list acme --search ann
  twofold user list acme --filter no-authenticator --after bob`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if q.Limit < 1 { // the service takes 0 for the default
				return fmt.Errorf("%w: a page holds 1 to %d users, not %d", admin.ErrInvalid, admin.MaxPageSize, q.Limit)
			}
			p, err := a.admin.Users(cmd.Context(), org, q)
			if err != nil {
				return err
			}
			if len(p.Users) == 0 {
				fmt.Fprintf(c.stdout, "no users in %s match\n", org.Slug)
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tDISPLAY NAME\tEMAIL\tSTATUS\tROLE\tAUTHENTICATORS\tINVITATION\tLOCKED UNTIL")
			for _, u := range p.Users {
				invitation := orDash(u.Enrollment)
				if u.Enrollment == store.EnrollmentPending || u.Enrollment == store.EnrollmentExpired {
					invitation += " " + when(u.EnrollmentExpires)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", u.Username, orDash(u.DisplayName), orDash(u.Email),
					u.Status, u.Role, u.Authenticators, invitation, when(u.LockedUntil))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if p.Next != "" {
				fmt.Fprintf(c.stdout, "more users: add --after %s for the next page\n", p.Next)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&q.Search, "search", "", "the start of a username or email address, or a part of a display name")
	cmd.Flags().StringVar(&q.Filter, "filter", "", "one of "+strings.Join(admin.Filters, ", "))
	cmd.Flags().StringVar(&q.After, "after", "", "show the users after this username (the last line of a page says which)")
	cmd.Flags().IntVar(&q.Limit, "limit", admin.DefaultPageSize, fmt.Sprintf("users on a page, 1 to %d", admin.MaxPageSize))
	return cmd
}

func (c *cli) userShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ORG/USER",
		Short: "Show a user's account, tokens, enrollments and backup codes left",
		Args:  cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			d, err := a.admin.UserDetail(cmd.Context(), org, user)
			if err != nil {
				return err
			}
			u := d.User
			lock := "not locked"
			switch {
			case d.Locked && u.LockedUntil.Equal(store.LockedForever):
				lock = fmt.Sprintf("locked until an operator unlocks (twofold token unlock %s/%s)", org.Slug, u.Username)
			case d.Locked:
				lock = fmt.Sprintf("locked until %s (twofold token unlock %s/%s)", when(u.LockedUntil), org.Slug, u.Username)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			for _, row := range [][2]string{
				{"user", org.Slug + "/" + u.Username},
				{"display name", orDash(u.DisplayName)},
				{"email", orDash(u.Email)},
				{"status", u.Status},
				{"role", u.Role},
				{"language", orDash(u.Language)},
				{"lock", lock},
				{"failures in a row", fmt.Sprint(u.TotalFailures)},
				{"added", when(u.CreatedAt)},
				{"backup codes left", fmt.Sprint(d.BackupCodesLeft)},
			} {
				fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout)
			if len(d.Tokens) == 0 {
				fmt.Fprintf(c.stdout, "tokens: none (twofold token enroll %s/%s)\n", org.Slug, u.Username)
			} else {
				fmt.Fprintln(c.stdout, "tokens:")
				tw = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  SERIAL\tTYPE\tNAME\tSTATE\tADDED\tLAST USED")
				for _, t := range d.Tokens {
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.Serial, t.Type, orDash(t.Name), t.State, when(t.CreatedAt), when(t.LastUsedAt))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintln(c.stdout)
			if len(d.Enrollments) == 0 {
				fmt.Fprintln(c.stdout, "enrollments: none")
				return nil
			}
			fmt.Fprintln(c.stdout, "enrollments:")
			return c.enrollmentTable(d.Enrollments, "  ", false)
		}),
	}
}

// enrollmentTable prints enrollments, indented, with their user when withUser.
func (c *cli) enrollmentTable(ens []store.EnrollmentRow, indent string, withUser bool) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	user := func(s string) string {
		if withUser {
			return s + "\t"
		}
		return ""
	}
	fmt.Fprintln(tw, indent+user("USERNAME")+"SERIAL\tTYPE\tSTATUS\tCREATED\tLAST SENT\tEXPIRES\tCOMPLETED")
	for _, en := range ens {
		fmt.Fprintf(tw, "%s%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", indent, user(en.Username), en.Serial, en.Type, en.Status,
			when(en.CreatedAt), when(en.LastSentAt), when(en.ExpiresAt), when(en.CompletedAt))
	}
	return tw.Flush()
}

func (c *cli) userDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ORG/USER --yes",
		Short: "Delete a user for good, with their tokens, enrollments, sessions and backup codes",
		Long: `Delete a user and every row that refers to them — tokens, enrollments and
their links, pending codes, sessions, backup codes — in one transaction. The
audit log keeps the user's events. Without --yes nothing is deleted: the
command says what would be. To stop a user for now instead, use
"twofold user disable".`,
		Args: cobra.ExactArgs(1),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, _ []string) error {
			if !yes {
				u, f, err := a.admin.UserFootprint(cmd.Context(), org, user)
				if err != nil {
					return err
				}
				return fmt.Errorf("%w: deleting %s/%s deletes for good %s; to go ahead, run again with --yes (or stop the user for now: twofold user disable %s/%s)",
					admin.ErrInvalid, org.Slug, u.Username, admin.DescribeFootprint(f), org.Slug, u.Username)
			}
			f, err := a.admin.DeleteUser(cmd.Context(), org, user)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted %s/%s with %s\n", org.Slug, auth.CanonicalUsername(user), admin.DescribeFootprint(f))
			return nil
		}),
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "delete indeed (without it, only say what would be deleted)")
	return cmd
}

func (c *cli) enrollmentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "enrollment", Short: "See enrollments (the invitations to set up a token)"}
	var status string
	list := &cobra.Command{
		Use:   "list ORG [--status pending|completed|expired|cancelled]",
		Short: "List an organization's enrollments per user and token, with their dates",
		Long: `List an organization's enrollments per user and token: created, last sent,
expiry and completion. An enrollment is expired when it is pending past its
expiry; resend it with "twofold token resend", or "twofold rollout" resends
every expired one.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ens, err := a.admin.Enrollments(cmd.Context(), org, status)
			if err != nil {
				return err
			}
			if len(ens) == 0 {
				what := "enrollments"
				if status != "" {
					what = status + " " + what
				}
				fmt.Fprintf(c.stdout, "no %s in %s\n", what, org.Slug)
				return nil
			}
			return c.enrollmentTable(ens, "", true)
		}),
	}
	list.Flags().StringVar(&status, "status", "", "keep one status: "+strings.Join(admin.EnrollmentStatuses, ", "))
	cmd.AddCommand(list)
	return cmd
}

func (c *cli) rolloutCmd() *cobra.Command {
	var opt admin.RolloutOptions
	cmd := &cobra.Command{
		Use:   "rollout ORG [--dry-run] [--type totp|email] [--remind-after 72h]",
		Short: "Invite every user without an authenticator, remind those who did not act, and report who is outstanding",
		Long: `Assign a token to every active user with an email address who has no
authenticator and no pending invitation, and mail them the invitation, as
"twofold token enroll" does. A pending invitation sent longer ago than
--remind-after, or expired, is sent again with a new link (the old one stops
working). The report names who was invited, who was reminded, and who is
still outstanding: users without an email address, users whose invitation
is recent, and users whose authenticator is suspended (a helpdesk case).
Running it again goes on from where it stopped. --dry-run reports the same and
changes nothing. Progress goes to standard error.`,
		Example: `  twofold rollout acme --dry-run
  twofold rollout acme --remind-after 48h`,
		Annotations: map[string]string{settingsKey: settingsMail},
		Args:        cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var inv admin.Inviter
			if !opt.DryRun {
				m, err := a.mailer()
				if err != nil {
					return err
				}
				inv = m
			}
			opt.Progress = func(done, total int) {
				if done%100 == 0 || done == total {
					fmt.Fprintf(c.stderr, "rollout: %d of %d invitations sent\n", done, total)
				}
			}
			r, err := a.admin.Rollout(cmd.Context(), org, inv, opt)
			if err != nil {
				return err
			}
			return c.rolloutReport(org, r, opt.DryRun)
		}),
	}
	cmd.Flags().BoolVar(&opt.DryRun, "dry-run", false, "report what would be done, and change nothing")
	cmd.Flags().StringVar(&opt.Type, "type", "totp", "the token to assign: totp (an authenticator app) or email (codes by mail)")
	cmd.Flags().DurationVar(&opt.RemindAfter, "remind-after", 72*time.Hour, "send a pending invitation again when it was sent longer ago than this")
	return cmd
}

func (c *cli) rolloutReport(org store.Org, r admin.RolloutReport, dry bool) error {
	invited, reminded := "invited", "reminded"
	if dry {
		fmt.Fprintf(c.stdout, "dry run: nothing was changed or sent; this is what twofold rollout %s would do\n", org.Slug)
		invited, reminded = "to invite", "to remind"
	}
	section := func(title string, es []admin.RolloutEntry, detail func(admin.RolloutEntry) string) {
		fmt.Fprintf(c.stdout, "%s: %d\n", title, len(es))
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, e := range es {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Username, orDash(e.Email), detail(e))
		}
		tw.Flush()
	}
	section(invited, r.Invited, func(e admin.RolloutEntry) string {
		if dry {
			return "no authenticator, no invitation"
		}
		return fmt.Sprintf("%s, link valid until %s", e.Serial, when(e.Expires))
	})
	section(reminded, r.Reminded, func(e admin.RolloutEntry) string {
		if dry {
			return fmt.Sprintf("%s, sent %s, expires %s", e.Serial, when(e.SentAt), when(e.Expires))
		}
		return fmt.Sprintf("%s, new link valid until %s", e.Serial, when(e.Expires))
	})
	fmt.Fprintf(c.stdout, "still outstanding: %d\n", len(r.Waiting)+len(r.NoEmail)+len(r.Suspended))
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, e := range r.Waiting {
		fmt.Fprintf(tw, "  %s\t%s\twaiting: invited %s, link valid until %s\n", e.Username, e.Email, when(e.SentAt), when(e.Expires))
	}
	for _, e := range r.NoEmail {
		fmt.Fprintf(tw, "  %s\t-\tno email address: give them a link yourself (twofold token enroll %s/%s --no-email)\n", e.Username, org.Slug, e.Username)
	}
	for _, e := range r.Suspended {
		fmt.Fprintf(tw, "  %s\t%s\tauthenticator suspended: a helpdesk case (twofold token list %s/%s)\n", e.Username, orDash(e.Email), org.Slug, e.Username)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Failed) == 0 {
		return nil
	}
	section("failed", r.Failed, func(e admin.RolloutEntry) string { return e.Err })
	return fmt.Errorf("%d of the invitations failed (see above); the others were sent", len(r.Failed))
}
