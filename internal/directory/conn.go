package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// connect opens a connection to the directory s names, over TLS: ldaps://
// from the start, ldap:// after StartTLS, unless allow_plaintext lets it
// go without. The connection gives up after s.Timeout, or when ctx ends.
func connect(ctx context.Context, s Settings) (*ldap.Conn, error) {
	if err := s.Ready(); err != nil {
		return nil, err
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, fmt.Errorf("directory url: %w", err)
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		if tc.RootCAs, err = caPool(s.CAFile); err != nil {
			return nil, err
		}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = Defaults().Timeout
	}
	d := &net.Dialer{Timeout: timeout}
	if deadline, ok := ctx.Deadline(); ok {
		d.Deadline = deadline
	}
	conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.URL, err)
	}
	conn.SetTimeout(timeout)
	// A context that ends closes the connection, which ends whatever
	// waits on it.
	context.AfterFunc(ctx, func() { conn.Close() })
	if u.Scheme == "ldap" && !s.AllowPlaintext {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with %s: %w (use ldaps://, make the server offer StartTLS with a certificate this machine trusts, or set ca_file)", s.URL, err)
		}
	}
	return conn, nil
}

// bindService binds as the settings' service account; without a bind DN
// the connection stays anonymous.
func bindService(conn *ldap.Conn, s Settings, password string) error {
	if s.BindDN == "" {
		return nil
	}
	if password == "" {
		return errors.New("the directory has a bind DN but no bind password; set it (twofold directory set ORG --bind-password-stdin)")
	}
	if err := conn.Bind(s.BindDN, password); err != nil {
		return fmt.Errorf("bind as %s: %w", s.BindDN, err)
	}
	return nil
}

// deadline bounds a whole exchange with the directory: a few round trips
// of s.Timeout each.
func deadline(ctx context.Context, s Settings, trips int) (context.Context, context.CancelFunc) {
	t := s.Timeout
	if t <= 0 {
		t = Defaults().Timeout
	}
	return context.WithTimeout(ctx, time.Duration(trips)*t)
}
