package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auditexport"
	"github.com/twofold-mfa/twofold/internal/store"
)

// defaultAuditRows is how many events the table shows unless --limit says otherwise.
const defaultAuditRows = 100

func (c *cli) auditCmd() *cobra.Command {
	var (
		q                          admin.AuditQuery
		user, since, until, format string
		limit                      int
	)
	cmd := &cobra.Command{
		Use:   "audit ORG [--user USER] [--actor A] [--action A] [--result R] [--since T] [--until T] [--limit N] [--format table|csv|json]",
		Short: "Show or export an organization's audit log, newest first",
		Long: `Show an organization's audit log, newest first: every sign-in attempt and every
operator's change, with who acted, what was done, to what, the result, the
source address and details. Events never hold a secret, code or password.

The filters narrow the events shown; the ones given must all match. A time (T)
is an RFC 3339 time such as 2026-11-24T09:00:00Z, a date or date and time of day
in the organization's time zone (2026-11-24, 2026-11-24T09:00), or a duration
back from now (90m, 24h, 7d). --since includes its time, --until does not.

--format table (the default) shows aligned columns, the newest 100 events
unless --limit says otherwise. csv (with a header row) and json (JSON Lines:
one object per event) export every event that matches, streamed from the
database, for any size of log. Times are in the organization's time zone
(policy time_zone). In csv, a cell that a spreadsheet would run as a formula
(starting with =, +, -, @) is prefixed with a single quote.

Events older than the policy's audit_retention are removed by the server
(0, the default, keeps them forever); each removal is itself in the log as
audit.purge.`,
		Example: `  twofold audit acme
  twofold audit acme --user alice --since 7d
  twofold audit acme --action 'token.*' --result ok --limit 20
  twofold audit acme --result locked --since 2026-11-01 --until 2026-12-01
  twofold audit acme --since 24h --format csv > audit.csv
  twofold audit acme --format json | jq -r 'select(.result != "accept") | .target'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("name one organization, as in: twofold audit acme (see the filters with: twofold audit --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "csv" && format != "json" {
				return fmt.Errorf("--format must be table, csv or json, not %q", format)
			}
			if limit < 0 {
				return fmt.Errorf("--limit must be 0 (no limit) or more, not %d", limit)
			}
			q.Limit = limit
			if !cmd.Flags().Changed("limit") && format == "table" {
				q.Limit = defaultAuditRows
			}
			return c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
				ctx := cmd.Context()
				org, err := a.admin.Org(ctx, args[0])
				if err != nil {
					return err
				}
				pol, err := a.admin.Policy(ctx, org)
				if err != nil {
					return err
				}
				loc := pol.Location()
				for _, t := range []struct {
					flag, value string
					to          *time.Time
				}{{"--since", since, &q.Since}, {"--until", until, &q.Until}} {
					if t.value == "" {
						continue
					}
					if *t.to, err = a.admin.AuditTime(t.flag, t.value, loc); err != nil {
						return err
					}
				}
				q.User = user
				if _, err := a.admin.AuditFilter(org, q); err != nil {
					return err
				}
				if format == "table" {
					return c.auditTable(cmd, a, org, q, loc)
				}
				return auditexport.Write(c.stdout, auditexport.Format(format), loc, func(fn func(store.Event) error) error {
					return a.admin.EachAuditEvent(ctx, org, q, fn)
				})
			})(cmd, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "only events about this user (USER or ORG/USER): operators' changes to the user, the user's sign-ins and codes")
	f.StringVar(&q.Actor, "actor", "", "only events by this actor: cli, api:KEY-NAME, radius:CLIENT-NAME, janitor, or a username")
	f.StringVar(&q.Action, "action", "", "only this action, such as validate or token.suspend, or a family such as 'token.*'")
	f.StringVar(&q.Result, "result", "", "only this result, such as ok, accept, reject, or a reason such as locked")
	f.StringVar(&since, "since", "", "only events at or after T: a time (2026-11-24T09:00:00Z, 2026-11-24) or a duration back from now (24h, 7d)")
	f.StringVar(&until, "until", "", "only events before T, written as for --since")
	f.IntVar(&limit, "limit", 0, "at most this many events, the newest; 0 for all (default: 100 for table, all for csv and json)")
	f.StringVar(&format, "format", "table", "table, csv (with a header row) or json (JSON Lines, one object per event)")
	return cmd
}

func (c *cli) auditTable(cmd *cobra.Command, a *app, org store.Org, q admin.AuditQuery, loc *time.Location) error {
	shown := q.Limit
	if q.Limit > 0 {
		q.Limit++ // one more tells whether the table is cut short
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TIME (%s)\tACTOR\tACTION\tTARGET\tRESULT\tSOURCE\tDETAIL\n", loc)
	n, more := 0, false
	err := a.admin.EachAuditEvent(cmd.Context(), org, q, func(e store.Event) error {
		if shown > 0 && n == shown {
			more = true
			return nil
		}
		n++
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.In(loc).Format("2006-01-02 15:04:05"),
			cell(e.Actor), cell(e.Action), cell(e.Target), cell(e.Result), cell(e.Source), cell(e.Detail))
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case n == 0:
		fmt.Fprintf(c.stderr, "no events in the audit log of %s match\n", org.Slug)
	case more:
		fmt.Fprintf(c.stderr, "showing the newest %d events; more match: narrow them with --since, --until or another filter, or raise --limit (0 for all)\n", shown)
	}
	return nil
}

// cell is a value for the table: "-" when empty, quoted when it holds a
// tab, line break or other control character that would break the table.
func cell(s string) string {
	switch {
	case s == "":
		return "-"
	case strings.ContainsFunc(s, unicode.IsControl):
		return strconv.Quote(s)
	}
	return s
}
