package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/importer"
	"github.com/twofold-mfa/twofold/internal/store"
)

// importer is an Importer for a, with a progress bar on standard error
// when that is a terminal (a script's log gets the summary line only).
func (c *cli) importer(a *app, what string) (*importer.Importer, func()) {
	im := &importer.Importer{Admin: a.admin}
	f, ok := c.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return im, func() {}
	}
	var bar *progressbar.ProgressBar
	im.Progress = func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		}
		bar.Set(done)
	}
	return im, func() {
		if bar != nil {
			bar.Finish()
		}
	}
}

func (c *cli) userImportCmd() *cobra.Command {
	var synthetic int
	var seedOut string
	var opt importer.UserOptions
	var invite bool
	cmd := &cobra.Command{
		Use:   "import ORG FILE.csv [--dry-run] [--skip-bad] [--invite] | import ORG --synthetic N --seed-out FILE",
		Short: "Import users from a CSV file, or fill a new organization with synthetic users for load tests",
		Long: `Import users into an organization from a CSV file ("-" reads standard input).

The first row names the columns, in any order: username (required), email,
display name, language (en, nl or de), role (user, helpdesk or admin). The
file must be UTF-8 (with or without a byte order mark; in Excel: Save As, CSV
UTF-8), separated by commas or semicolons. Every row is checked first, by the
rules of "twofold user add", and for usernames twice in the file or already in
the organization; each refused row is reported with its line number, and then
nothing is imported unless --skip-bad is given. --dry-run checks and reports
and changes nothing. Users are written a thousand to a transaction, each
audited as user.add: an interrupted import leaves whole batches, and running
it again with --skip-bad adds the rest (the users already there are reported
and passed over). --invite then mails each new user with an email address an
invitation, as "twofold rollout" does.

With --synthetic N, create the organization ORG (it must not exist yet) with N
users user000001… each with one active TOTP token (SHA1, 6 digits, 30 s) of a
random secret, and write the seed file (CSV: username, serial, secret in
Base32, algorithm, digits, period) that the load tool reads. The seed file
holds the secrets in clear and is written readable by its owner only: use it
for throw-away organizations, never for real users.`,
		Example: `  twofold user import acme users.csv --dry-run
  twofold user import acme users.csv --invite
  twofold user import load --synthetic 100000 --seed-out load-seed.csv`,
		Annotations: map[string]string{settingsKey: settingsMail},
		Args:        cobra.RangeArgs(1, 2),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			if synthetic != 0 {
				if len(args) != 1 || seedOut == "" {
					return fmt.Errorf("%w: --synthetic takes the organization to create and --seed-out FILE, and no CSV file", admin.ErrInvalid)
				}
				return c.synthetic(cmd, a, args[0], synthetic, seedOut)
			}
			if len(args) != 2 {
				return fmt.Errorf("%w: name the CSV file to import (twofold user import %s FILE.csv), or --synthetic N --seed-out FILE", admin.ErrInvalid, args[0])
			}
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if invite && !opt.DryRun {
				m, err := a.mailer()
				if err != nil {
					return err
				}
				opt.Invite = m
			}
			return c.importUsers(cmd, a, org, args[1], opt)
		}),
	}
	cmd.Flags().BoolVar(&opt.DryRun, "dry-run", false, "check every row and report what would be imported; change nothing")
	cmd.Flags().BoolVar(&opt.SkipBad, "skip-bad", false, "import the good rows even when some are refused (they are reported)")
	cmd.Flags().BoolVar(&invite, "invite", false, "mail each imported user with an email address an invitation to set up an authenticator app")
	cmd.Flags().IntVar(&synthetic, "synthetic", 0, "create the organization with this many synthetic users, each with an active TOTP token")
	cmd.Flags().StringVar(&seedOut, "seed-out", "", "with --synthetic: where to write the seed file (refused if it exists)")
	return cmd
}

// openInput opens the file an import reads; "-" is standard input.
func (c *cli) openInput(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(c.stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", admin.ErrInvalid, err)
	}
	return f, nil
}

// maxListed is how many refused rows, or users to add, a report lists;
// the rest it counts.
const maxListed = 100

func (c *cli) importUsers(cmd *cobra.Command, a *app, org store.Org, file string, opt importer.UserOptions) error {
	in, err := c.openInput(file)
	if err != nil {
		return err
	}
	defer in.Close()
	im, done := c.importer(a, "users")
	start := time.Now()
	rep, err := im.ImportUsers(cmd.Context(), org, in, opt)
	done()
	if errors.Is(err, importer.ErrFile) {
		return err
	}
	for i, e := range rep.Errors {
		if i == maxListed {
			fmt.Fprintf(c.stdout, "… and %d more refused rows\n", len(rep.Errors)-maxListed)
			break
		}
		fmt.Fprintf(c.stdout, "refused %s\n", e)
	}
	if opt.DryRun && (err == nil || errors.Is(err, importer.ErrRows)) {
		fmt.Fprintf(c.stdout, "dry run: nothing was changed; of %d rows, %d users would be added, %d rows are refused\n", rep.Rows, len(rep.Users), len(rep.Errors))
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for i, u := range rep.Users {
			if i == maxListed {
				fmt.Fprintf(tw, "  … and %d more\n", len(rep.Users)-maxListed)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", u.Username, orDash(u.Email), orDash(u.DisplayName), orDash(u.Language), u.Role)
		}
		tw.Flush()
		return err
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(c.stdout, "imported %d users into %s from %d rows in %s", rep.Added, org.Slug, rep.Rows, elapsed.Round(time.Millisecond))
	if n := len(rep.Errors); n > 0 {
		fmt.Fprintf(c.stdout, "; %d rows refused (above)", n)
	}
	fmt.Fprintln(c.stdout)
	if rep.Rollout != nil {
		return c.rolloutReport(org, *rep.Rollout, false)
	}
	return nil
}

func (c *cli) synthetic(cmd *cobra.Command, a *app, slug string, n int, seedOut string) error {
	f, err := os.OpenFile(seedOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("seed file: %w (name a new file)", err)
	}
	im, done := c.importer(a, "users")
	start := time.Now()
	_, err = im.Synthetic(cmd.Context(), slug, n, f)
	done()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(c.stdout, "created organization %s with %d synthetic users, each with an active TOTP token, in %s (%.0f users/s)\nseed file: %s (secrets in clear: delete it with the organization)\n",
		slug, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), seedOut)
	return nil
}

func (c *cli) userExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export ORG",
		Short: "Write an organization's users as CSV to standard output, as user import reads them, with their enrollment state",
		Long: `Write an organization's users as CSV (UTF-8, a header row) to standard
output: username, email, display name, language and role, the columns
"twofold user import" reads, then status, authenticators (active tokens),
enrollment (the invitation's state: pending, expired, completed, cancelled,
or empty) and enrollment expires (UTC). A text that a spreadsheet would take
for a formula gets a leading apostrophe, which an import takes off again.`,
		Example: `  twofold user export acme > acme-users.csv`,
		Args:    cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			im := &importer.Importer{Admin: a.admin}
			return im.ExportUsers(cmd.Context(), org, c.stdout)
		}),
	}
}

func (c *cli) tokenImportCmd() *cobra.Command {
	var opt importer.TokenOptions
	var pskFile string
	var passwordStdin, dryRun bool
	var assign []string
	cmd := &cobra.Command{
		Use:   "import ORG FILE [--format pskc|oath-csv|entra-csv] [--psk-file F | --password-stdin] [--assign SERIAL=USER …]",
		Short: "Import hardware tokens from their seed file: to the inventory, or to their users",
		Long: `Import tokens from a seed file ("-" reads standard input) into an organization.

Formats (guessed from the content unless --format says):
  pskc       RFC 6030 PSKC: plain values, or AES-CBC under a pre-shared key
             (--psk-file: a file holding the key in hex) or a key derived from a
             password (--password-stdin, PBKDF2). The MAC is checked: a file that
             does not match is refused whole.
  oath-csv   rows of serial, hex key, hotp|totp, digits, counter (HOTP) or period
             (TOTP), and optionally the username to give the token to.
  entra-csv  Microsoft Entra's hardware token CSV: upn, serial number, secret key
             (Base32), time interval, manufacturer, model; the UPN names the user
             (by the whole UPN, or the part before the @).

A token the file gives to a user, or that --assign gives (it wins), is active
for that user at once, with its counter carried over; the others go to the
organization's inventory (twofold token inventory), to be given out later with
twofold token assign. Every secret is sealed with the master key as it is read
and never written anywhere in clear. The file is checked whole first; a refused
token imports nothing. --dry-run checks and reports only.`,
		Example: `  twofold token import acme tokens.pskc --psk-file transport.key
  echo 'the passphrase' | twofold token import acme tokens.pskc --password-stdin
  twofold token import acme entra.csv --dry-run
  twofold token import acme seeds.csv --format oath-csv --assign 1234567=alice`,
		Args: cobra.ExactArgs(2),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if pskFile != "" && passwordStdin {
				return fmt.Errorf("%w: give either --psk-file or --password-stdin", admin.ErrInvalid)
			}
			if pskFile != "" {
				raw, err := os.ReadFile(pskFile)
				if err != nil {
					return fmt.Errorf("%w: pre-shared key: %v", admin.ErrInvalid, err)
				}
				if opt.Keys.PreShared, err = hex.DecodeString(strings.TrimSpace(string(raw))); err != nil {
					return fmt.Errorf("%w: the pre-shared key file %s must hold the key in hex", admin.ErrInvalid, pskFile)
				}
				clear(raw)
			}
			if passwordStdin {
				if args[1] == "-" {
					return fmt.Errorf("%w: the file and the password cannot both come from standard input", admin.ErrInvalid)
				}
				pw, err := c.line("the PSKC file's password")
				if err != nil {
					return err
				}
				opt.Keys.Password = []byte(pw)
			}
			opt.Assign = map[string]string{}
			for _, a := range assign {
				serial, user, ok := strings.Cut(a, "=")
				if !ok || serial == "" || user == "" {
					return fmt.Errorf("%w: --assign %q should be SERIAL=USER", admin.ErrInvalid, a)
				}
				opt.Assign[serial] = user
			}
			opt.DryRun = dryRun
			in, err := c.openInput(args[1])
			if err != nil {
				return err
			}
			defer in.Close()
			im, done := c.importer(a, "tokens")
			rep, err := im.ImportTokens(cmd.Context(), org, in, opt)
			done()
			clear(opt.Keys.PreShared)
			clear(opt.Keys.Password)
			for i, e := range rep.Errors {
				if i == maxListed {
					fmt.Fprintf(c.stdout, "… and %d more refused\n", len(rep.Errors)-maxListed)
					break
				}
				fmt.Fprintf(c.stdout, "refused %s\n", e)
			}
			if err != nil {
				return err
			}
			verb := "imported"
			if dryRun {
				verb = "dry run: nothing was changed; would import"
			}
			fmt.Fprintf(c.stdout, "%s %d tokens (%s) into %s: %d to users, %d to the inventory\n",
				verb, len(rep.Stock)+len(rep.Assigned), rep.Format, org.Slug, len(rep.Assigned), len(rep.Stock))
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			for i, as := range rep.Assigned {
				if i == maxListed {
					fmt.Fprintf(tw, "  … and %d more\n", len(rep.Assigned)-maxListed)
					break
				}
				fmt.Fprintf(tw, "  %s\t→ %s/%s\n", as.Serial, org.Slug, as.Username)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().StringVar(&opt.Format, "format", "", "pskc, oath-csv or entra-csv (default: guessed from the content)")
	cmd.Flags().StringVar(&pskFile, "psk-file", "", "PSKC: a file holding the pre-shared key in hex")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "PSKC: read the password the key is derived from (PBKDF2) from standard input")
	cmd.Flags().StringArrayVar(&assign, "assign", nil, "SERIAL=USER: give that token to that user, active (may be repeated)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the file and report what would be imported; change nothing")
	return cmd
}

func (c *cli) tokenInventoryCmd() *cobra.Command {
	var after string
	cmd := &cobra.Command{
		Use:   "inventory ORG [--after SERIAL]",
		Short: "List an organization's unassigned tokens (imported hardware tokens), 500 at a time",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			org, err := a.admin.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ts, err := a.admin.Inventory(cmd.Context(), org, after, admin.MaxPageSize)
			if err != nil {
				return err
			}
			if len(ts) == 0 {
				fmt.Fprintf(c.stdout, "no unassigned tokens in %s\n", org.Slug)
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tTYPE\tDIGITS\tPERIOD/COUNTER\tMANUFACTURER\tMODEL\tIMPORTED")
			for _, t := range ts {
				pc := fmt.Sprintf("%ds", t.Period)
				if t.Type == "hotp" {
					pc = fmt.Sprintf("next %d", t.LastStep+1)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", t.Serial, t.Type, t.Digits, pc, orDash(t.Manufacturer), orDash(t.Model), when(t.CreatedAt))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(ts) == admin.MaxPageSize {
				fmt.Fprintf(c.stdout, "more tokens: add --after %s for the next page\n", ts[len(ts)-1].Serial)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&after, "after", "", "list the tokens after this serial")
	return cmd
}

func (c *cli) tokenAssignCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "assign ORG/USER SERIAL",
		Short:   "Give an unassigned token (from the inventory) to a user, active at once",
		Example: `  twofold token assign acme/alice 987654321`,
		Args:    cobra.ExactArgs(2),
		RunE: c.withOrgUser(func(cmd *cobra.Command, a *app, org store.Org, user string, args []string) error {
			t, err := a.admin.AssignToken(cmd.Context(), org, user, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "token %s (%s) is %s/%s's, active: the user signs in with its next code\n", t.Serial, t.Name, org.Slug, auth.CanonicalUsername(user))
			return nil
		}),
	}
}
