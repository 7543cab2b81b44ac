package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // QR images may be photos
	_ "image/png"
	"net/http"
	"os"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/cmd/twofold-authenticator/vault"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/push"
)

func (c *cli) enrollCmd() *cobra.Command {
	var n newToken
	var t tlsInput
	var qrFile string
	cmd := &cobra.Command{
		Use:   "enroll ACTIVATION | --qr FILE",
		Short: "Add a Twofold token from the activation string or link in your invitation",
		Long: `Add a Twofold token from the activation string in the invitation your
organization mailed you (T1…, in groups of four), from the link that carries it,
or from a picture of its QR code (--qr, PNG or JPEG). The app makes a new device
key, activates the token with the server over TLS, keeps the token and shows its
first one-time code. An activation string works once.`,
		Example: `  twofold-authenticator enroll T1AB-CDEF-…
  twofold-authenticator enroll --qr invitation.png`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (qrFile != "") {
				return errors.New("give the activation string or link, or --qr FILE, not both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.vault()
			if err != nil {
				return err
			}
			text := ""
			if qrFile != "" {
				if text, err = readQR(qrFile); err != nil {
					return err
				}
			} else {
				text = args[0]
			}
			a, err := push.ParseActivationLink(text)
			if err != nil {
				return fmt.Errorf("%w: check it against the invitation, or paste the link instead", err)
			}
			client, err := c.httpClient(t)
			if err != nil {
				return err
			}
			// What can be checked is checked before activating: the
			// activation string works once. The PIN is asked after, as
			// the organization's rules for it come with the token.
			if n.name != "" {
				if err := c.freeName(v, n.name); err != nil {
					return err
				}
			}
			pub, priv, err := ed25519.GenerateKey(c.rand)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "activating with %s …\n", a.URL)
			resp, err := c.activate(cmd, client, a, pub)
			if err != nil {
				return err
			}
			secret, err := otp.DecodeSecret(resp.TOTP.Secret)
			if err != nil {
				return fmt.Errorf("the server's answer: %w", err)
			}
			alg, err := otp.ParseAlgorithm(resp.TOTP.Algorithm)
			if err != nil {
				return fmt.Errorf("the server's answer: %w", err)
			}
			server := resp.URL
			if server == "" {
				server = a.URL
			}
			tok := vault.Token{
				Type: "totp", Account: resp.Username, Organization: resp.Org.Name,
				Algorithm: alg, Digits: resp.TOTP.Digits, Period: resp.TOTP.Period,
				Push: &vault.Push{Server: server, Serial: resp.Serial},
			}
			if tok.Organization == "" {
				tok.Organization = resp.Org.Slug
			}
			name := n.name
			if name == "" {
				if name, err = c.askName(v, tok.Organization); err != nil {
					return err
				}
			}
			tok.Name = name
			tok.PINLimit = resp.PIN.MaxAttempts
			pin, err := c.pinFor(n, orgRules(resp.PIN))
			if err != nil {
				return err
			}
			s := vault.Secrets{OTP: secret, DeviceKey: priv.Seed()}
			if tok, err = v.Add(tok, s, pin); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "added %s (%s); its first code:\n", tok.Name, describe(tok))
			if err := c.printCode(v, tok, s); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "next: \"twofold-authenticator watch\" to approve sign-ins\n")
			return nil
		},
	}
	n.flags(cmd)
	t.flags(cmd)
	cmd.Flags().StringVar(&qrFile, "qr", "", "read the activation from a PNG or JPEG picture of its QR code")
	return cmd
}

// activate presents the activation code and the device's public key.
func (c *cli) activate(cmd *cobra.Command, client *http.Client, a push.Activation, pub ed25519.PublicKey) (push.ActivateResponse, error) {
	host, _ := os.Hostname()
	body, err := json.Marshal(push.ActivateRequest{
		ActivationCode: a.Code,
		PublicKey:      push.EncodePublicKey(pub),
		DeviceName:     strings.TrimSpace(host + " (twofold-authenticator)"),
	})
	if err != nil {
		return push.ActivateResponse{}, err
	}
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimSuffix(a.URL, "/")+push.PathActivate, bytes.NewReader(body))
	if err != nil {
		return push.ActivateResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var resp push.ActivateResponse
	err = exchange(client, req, &resp)
	var se *serverError
	if errors.As(err, &se) && se.status < 500 {
		return resp, fmt.Errorf("%w: an activation string works once and expires; ask your organization for a new invitation", err)
	}
	return resp, err
}

// readQR decodes the QR code in a PNG or JPEG file.
func readQR(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the QR image: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return "", fmt.Errorf("%s is not a PNG or JPEG image: %w", path, err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("read the QR image: %w", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", fmt.Errorf("no readable QR code in %s (%v): crop the picture to the code, or type the activation string instead", path, err)
	}
	return res.GetText(), nil
}
