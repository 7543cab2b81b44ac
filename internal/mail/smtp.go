package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/twofold-mfa/twofold/internal/clock"
)

// Default SMTP ports: submission with STARTTLS (RFC 6409) and submission
// over implicit TLS (RFC 8314).
const (
	defaultSMTPPort  = 587
	defaultSMTPSPort = 465
)

// smtpTimeout bounds one whole Send: connecting, every command and the data.
const smtpTimeout = 10 * time.Second

// SMTP sends over SMTP with github.com/wneessen/go-mail.
//
// smtp://user:pass@host:port uses STARTTLS when the server offers it; with
// credentials STARTTLS is mandatory, so a password is never sent in clear
// (nor to a server that drops STARTTLS from its answer). smtps:// uses
// implicit TLS. Default ports are 587 and 465. With user info it
// authenticates with PLAIN or LOGIN (falling back to a SCRAM or CRAM-MD5
// mechanism when the server offers neither). Certificates are verified;
// there is no way to turn that off. Each Send opens its own connection, so an
// SMTP value is safe for concurrent use, and takes at most 10 s or until ctx
// ends.
type SMTP struct {
	// TLSConfig, when not nil, is used for STARTTLS and implicit TLS, e.g.
	// to trust a private CA through RootCAs. ServerName defaults to the
	// host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config

	// Clock gives the Date header; nil means the wall clock.
	Clock clock.Clock

	from        string
	host        string
	port        int
	implicitTLS bool
	username    string
	password    string
}

// NewSMTP returns a sender for u, an smtp:// or smtps:// URL with optional
// user info (percent-encoded) and port, sending from from. tlsConfig may be
// nil (system roots). Errors never contain the password.
func NewSMTP(u *url.URL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	if u == nil {
		return nil, errors.New("mail: no SMTP URL")
	}
	const want = "want smtp://user:pass@host:port or smtps://user:pass@host:port"
	s := &SMTP{TLSConfig: tlsConfig, from: from}
	switch u.Scheme {
	case "smtp":
		s.port = defaultSMTPPort
	case "smtps":
		s.port = defaultSMTPSPort
		s.implicitTLS = true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q is not smtp or smtps; %s", u.Scheme, want)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, fmt.Errorf("mail: SMTP URL has no host; %s", want)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL port %q is not a port number", p)
		}
		s.port = n
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mail: SMTP URL has a path, query or fragment, which mean nothing here; %s", want)
	}
	if u.User != nil {
		s.username = u.User.Username()
		s.password, _ = u.User.Password()
	}
	if _, err := parseAddress("From", from); err != nil {
		return nil, err
	}
	return s, nil
}

// String describes the server without the password, e.g.
// "smtps://mailer@mail.example.org:465".
func (s *SMTP) String() string {
	u := url.URL{Scheme: "smtp", Host: s.addr()}
	if s.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.username != "" {
		u.User = url.User(s.username)
	}
	return u.String()
}

func (s *SMTP) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// tlsConfig returns a copy of s.TLSConfig (or a new config) with ServerName
// and a TLS 1.2 minimum filled in.
func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.TLSConfig != nil {
		c = s.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// Send validates m, connects, and delivers it. Nothing is sent when m is
// refused. Errors name the server address but never the body.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := buildMessage(m, s.from, now(s.Clock))
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: send via %s: %w", s.addr(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, smtpTimeout)
	defer cancel()

	tlsConf := s.tlsConfig()
	// go-mail bounds the dial by ctx and each command by its timeout, but
	// does not watch ctx after connecting: close the connection when ctx
	// ends so that a stalled server cannot hold Send past ctx.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dialCtx context.Context, network, address string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if s.implicitTLS {
			d := tls.Dialer{Config: tlsConf}
			conn, err = d.DialContext(dialCtx, network, address)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(dialCtx, network, address)
		}
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { _ = conn.Close() }))
		return conn, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(smtpTimeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(dial),
	}
	switch {
	case s.implicitTLS:
		// The dialer above does the TLS handshake; WithSSL keeps go-mail
		// from also trying STARTTLS inside it.
		opts = append(opts, gomail.WithSSL())
	case s.username != "":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.username),
			gomail.WithPassword(s.password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client for %s: %w", s.addr(), err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("mail: send via %s: %w (%v)", s.addr(), ctxErr, err)
		}
		return fmt.Errorf("mail: send via %s: %w", s.addr(), err)
	}
	return nil
}
