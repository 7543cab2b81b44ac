package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/cmd/twofold-authenticator/vault"
	"github.com/twofold-mfa/twofold/internal/push"
)

// maxResponse bounds what the app reads of a server's answer.
const maxResponse = 1 << 20

// tlsInput is how a command that talks to a server trusts its certificate.
type tlsInput struct{ caFile string }

func (t *tlsInput) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.caFile, "ca-file", "", "also trust the CA certificates in this PEM file (for a server with a self-signed or private certificate)")
}

// httpClient verifies servers against the system's roots and --ca-file.
// There is deliberately no way to skip verification: the activation and
// every answer would then be open to whoever sits on the network.
func (c *cli) httpClient(t tlsInput) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if t.caFile != "" {
		pem, err := os.ReadFile(t.caFile)
		if err != nil {
			return nil, fmt.Errorf("read --ca-file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", t.caFile)
		}
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		},
		// A long poll lasts up to push.MaxWait; anything longer is stuck.
		Timeout: (push.MaxWait + 15) * time.Second,
	}, nil
}

// device is one push token able to make signed requests to its server.
type device struct {
	token vault.Token
	key   ed25519.PrivateKey
	http  *http.Client
	now   func() time.Time
}

func (c *cli) device(t vault.Token, s vault.Secrets, client *http.Client) (*device, error) {
	if t.Push == nil || len(s.DeviceKey) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s is not a push token (only tokens added with enroll are)", t.Name)
	}
	return &device{token: t, key: ed25519.NewKeyFromSeed(s.DeviceKey), http: client, now: c.now}, nil
}

// pending returns the token's pending requests, waiting up to wait seconds
// for one to come.
func (d *device) pending(ctx context.Context, wait int) ([]push.Request, error) {
	var out push.RequestsResponse
	err := d.do(ctx, http.MethodGet, fmt.Sprintf("%s?wait=%d", push.PathRequests, wait), nil, &out)
	return out.Requests, err
}

// answer sends a decision on request id and returns the request's status.
func (d *device) answer(ctx context.Context, id string, a push.AnswerRequest) (string, error) {
	var out push.AnswerResponse
	err := d.do(ctx, http.MethodPost, push.PathRequests+"/"+id, a, &out)
	return out.Status, err
}

func (d *device) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(d.token.Push.Server, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(push.SignatureHeader, push.Sign(d.key, d.token.Push.Serial, method, req.URL.RequestURI(), body, d.now()))
	return exchange(d.http, req, out)
}

// exchange sends req and decodes a 200 answer into out; any other status
// becomes an error with the server's message.
func exchange(client *http.Client, req *http.Request, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return fmt.Errorf("%s: the server's certificate is not signed by a CA this computer trusts; if the server uses its own CA, give it with --ca-file", req.URL.Host)
		}
		return fmt.Errorf("reach %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("read the answer of %s: %w", req.URL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e push.ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return &serverError{status: resp.StatusCode, msg: e.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the answer of %s is not what this app understands (%v): is it a Twofold server of a compatible version?", req.URL.Host, err)
	}
	return nil
}

// serverError is a refusal by the server.
type serverError struct {
	status int
	msg    string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("the server refused: %s (HTTP %d)", e.msg, e.status)
}
