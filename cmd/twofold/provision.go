package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/importer"
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
	cmd := &cobra.Command{
		Use:   "import ORG FILE.csv | import ORG --synthetic N --seed-out FILE",
		Short: "Import users from a CSV file, or fill a new organization with synthetic users for load tests",
		Long: `Import users into an organization.

With --synthetic N, create the organization ORG (it must not exist yet) with N
users user000001… each with one active TOTP token (SHA1, 6 digits, 30 s) of a
random secret, and write the seed file (CSV: username, serial, secret in
Base32, algorithm, digits, period) that the load tool reads. The seed file
holds the secrets in clear and is written readable by its owner only: use it
for throw-away organizations, never for real users.`,
		Example: `  twofold user import load --synthetic 100000 --seed-out load-seed.csv`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: c.withApp(func(cmd *cobra.Command, a *app, args []string) error {
			if synthetic == 0 {
				return fmt.Errorf("%w: name the CSV file to import, or --synthetic N --seed-out FILE", admin.ErrInvalid)
			}
			if len(args) != 1 || seedOut == "" {
				return fmt.Errorf("%w: --synthetic takes the organization to create and --seed-out FILE, and no CSV file", admin.ErrInvalid)
			}
			return c.synthetic(cmd, a, args[0], synthetic, seedOut)
		}),
	}
	cmd.Flags().IntVar(&synthetic, "synthetic", 0, "create the organization with this many synthetic users, each with an active TOTP token")
	cmd.Flags().StringVar(&seedOut, "seed-out", "", "with --synthetic: where to write the seed file (refused if it exists)")
	return cmd
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
