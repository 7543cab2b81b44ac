package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/push"
)

func (c *cli) webpushCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webpush",
		Short: "Web Push notifications to the Twofold Authenticator web app",
	}
	keygen := &cobra.Command{
		Use:   "keygen FILE",
		Short: "Make a VAPID key file for Web Push (P-256, PEM, mode 0600)",
		Long: `Make the VAPID private key with which Twofold signs its Web Push messages
(RFC 8292), and write it to FILE, readable by its owner only. An existing FILE
is left as it is: browsers subscribed with the old key would stop receiving.

Then turn Web Push on with --webpush-vapid-key-file=FILE (TWOFOLD_WEBPUSH_VAPID_KEY_FILE)
and --webpush-contact=mailto:you@example.org (TWOFOLD_WEBPUSH_CONTACT). With
several instances, copy the same file to each.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pem, err := push.NewVAPIDKey()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s exists; it is kept, as browsers subscribed with its key would stop receiving. Remove it first to make a new one", args[0])
			}
			if err != nil {
				return err
			}
			// Whatever the umask allowed, the key is the owner's alone.
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return err
			}
			if _, err := f.Write(pem); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			key, err := push.ParseVAPIDKey(pem)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "wrote the VAPID key to %s\npublic key (applicationServerKey): %s\n", args[0], push.ApplicationServerKey(key))
			return nil
		},
	}
	cmd.AddCommand(keygen)
	return cmd
}

// webPush is the Web Push sender the configuration turns on, or nil.
func webPush(a *app) (*push.WebPush, error) {
	if a.cfg.WebPushKeyFile == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(a.cfg.WebPushKeyFile)
	if err != nil {
		return nil, fmt.Errorf("web push VAPID key: %w (make one with: twofold webpush keygen FILE)", err)
	}
	key, err := push.ParseVAPIDKey(raw)
	if err != nil {
		return nil, fmt.Errorf("web push VAPID key %s: %w", a.cfg.WebPushKeyFile, err)
	}
	return &push.WebPush{
		Key: key, Contact: a.cfg.WebPushContact, Store: a.store, Clock: a.admin.Clock, Log: a.log,
		// The endpoint is the browser's push service: a redirect elsewhere
		// is not followed.
		Client: &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}
