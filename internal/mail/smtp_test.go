package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1 that
// records what it receives.

type serverTLS int

const (
	noTLS       serverTLS = iota // plain, no STARTTLS offered
	startTLS                     // STARTTLS offered
	implicitTLS                  // TLS from the first byte (smtps)
)

const (
	testUser     = "mailer"
	testPassword = "p@ss wörd:/?" // needs percent-encoding in the URL
)

type received struct {
	from string
	to   []string
	data []byte
	tls  bool // the session was encrypted when MAIL FROM came
	user string
}

type testServer struct {
	addr string

	mu           sync.Mutex
	messages     []received
	authAttempts int
	clearAuth    int // AUTH commands on an unencrypted connection
	sessions     int
	wire         bytes.Buffer // everything the server read and wrote, decrypted
}

type serverOptions struct {
	tls        serverTLS
	cert       tls.Certificate
	rejectRcpt bool
}

func (s *testServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wire.Write(p)
}

// snapshot returns what the server has seen. A failed Send has had its
// answer to every command it sent, so nothing it did can still be on its way.
func (s *testServer) snapshot() (msgs []received, authAttempts, clearAuth, sessions int, wire string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...), s.authAttempts, s.clearAuth, s.sessions, s.wire.String()
}

func startServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		ts.sessions++
		ts.mu.Unlock()
		return &testSession{srv: ts, conn: c, rejectRcpt: opts.rejectRcpt}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // the client, not the server, must refuse to send a password in clear
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.Debug = ts
	srv.EnableSMTPUTF8 = true
	tlsConf := &tls.Config{Certificates: []tls.Certificate{opts.cert}}
	var l net.Listener
	var err error
	switch opts.tls {
	case noTLS:
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case startTLS:
		srv.TLSConfig = tlsConf
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case implicitTLS:
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	}
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

type testSession struct {
	srv        *testServer
	conn       *smtp.Conn
	rejectRcpt bool
	cur        received
}

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	_, encrypted := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.authAttempts++
	if !encrypted {
		s.srv.clearAuth++
	}
	s.srv.mu.Unlock()
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != testUser || password != testPassword {
			return smtp.ErrAuthFailed
		}
		s.cur.user = username
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	_, s.cur.tls = s.conn.TLSConnectionState()
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.srv.mu.Lock()
	s.srv.messages = append(s.srv.messages, s.cur)
	s.srv.mu.Unlock()
	s.cur = received{user: s.cur.user}
	return nil
}

func (s *testSession) Reset()        { s.cur = received{user: s.cur.user} }
func (s *testSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Twofold test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func smtpURL(scheme, addr string, withCredentials bool) *url.URL {
	u := &url.URL{Scheme: scheme, Host: addr}
	if withCredentials {
		u.User = url.UserPassword(testUser, testPassword)
	}
	return u
}

func newTestSMTP(t *testing.T, u *url.URL, tlsConf *tls.Config) *SMTP {
	t.Helper()
	// Parse the URL's text, as New would, so percent-encoding is exercised.
	parsed, err := url.Parse(u.String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSMTP(parsed, testFrom, tlsConf)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

var testMessage = Message{
	To:       "Jürgen Müller <juergen@example.de>",
	Subject:  "Code für Jürgen",
	Text:     "Hallo Jürgen,\n\nIhr Einmalcode: " + secretCode + "\n",
	HTML:     "<p>Hallo Jürgen,</p><p>Ihr Einmalcode: <b>" + secretCode + "</b></p>",
	Language: "de",
}

func TestSMTPDeliversToARealServer(t *testing.T) {
	cert, pool := selfSigned(t)
	trusting := &tls.Config{RootCAs: pool}
	tests := []struct {
		name        string
		server      serverTLS
		scheme      string
		credentials bool
		clientTLS   *tls.Config
		msg         Message
		wantTLS     bool
	}{
		{"a plain server without credentials gets the message in clear",
			noTLS, "smtp", false, nil, testMessage, false},
		{"a text-only message arrives as text/plain",
			noTLS, "smtp", false, nil, Message{To: "alice@example.org", Subject: "Your one-time code", Text: "Code: " + secretCode + "\n", Language: "en"}, false},
		{"the sender's display name names the organization, the address stays the configured one",
			noTLS, "smtp", false, nil, Message{To: "alice@example.org", FromName: "Bäckerei Müller via Twofold", Subject: "Bäckerei Müller: your one-time code", Text: "Code: " + secretCode + "\n", Language: "de"}, false},
		{"STARTTLS is used when offered, even without credentials",
			startTLS, "smtp", false, trusting, testMessage, true},
		{"credentials are sent after STARTTLS with a certificate the client trusts",
			startTLS, "smtp", true, trusting, testMessage, true},
		{"smtps uses implicit TLS and authenticates",
			implicitTLS, "smtps", true, trusting, testMessage, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, serverOptions{tls: tt.server, cert: cert})
			s := newTestSMTP(t, smtpURL(tt.scheme, srv.addr, tt.credentials), tt.clientTLS)
			if err := s.Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs, authAttempts, clearAuth, _, _ := srv.snapshot()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.from != "twofold@example.org" {
				t.Errorf("MAIL FROM = %q, want twofold@example.org", got.from)
			}
			wantRcpt := bareAddress(t, tt.msg.To)
			if len(got.to) != 1 || got.to[0] != wantRcpt {
				t.Errorf("RCPT TO = %q, want [%s]", got.to, wantRcpt)
			}
			if got.tls != tt.wantTLS {
				t.Errorf("session encrypted = %v, want %v", got.tls, tt.wantTLS)
			}
			if tt.credentials {
				if got.user != testUser {
					t.Errorf("authenticated user = %q, want %q", got.user, testUser)
				}
			} else if authAttempts != 0 || got.user != "" {
				t.Errorf("client authenticated (%d attempts, user %q) without credentials", authAttempts, got.user)
			}
			if clearAuth != 0 {
				t.Errorf("%d AUTH commands over an unencrypted connection", clearAuth)
			}
			checkMessage(t, parseMessage(t, got.data), tt.msg, testFrom)
		})
	}
}

// bareAddress returns the bare address of an RFC 5322 address.
func bareAddress(t *testing.T, s string) string {
	t.Helper()
	a, err := parseAddress("To", s)
	if err != nil {
		t.Fatal(err)
	}
	return a.Address
}

func TestSMTPRefusesWhatIsUnsafeOrFails(t *testing.T) {
	cert, pool := selfSigned(t)
	trusting := &tls.Config{RootCAs: pool}
	tests := []struct {
		name        string
		server      serverOptions
		scheme      string
		credentials bool
		clientTLS   *tls.Config
		msg         Message
		want        string // in the error
		wantInvalid bool   // refused before connecting
	}{
		{"credentials are not sent to a server without STARTTLS",
			serverOptions{tls: noTLS}, "smtp", true, nil, testMessage, "STARTTLS", false},
		{"an untrusted certificate stops STARTTLS instead of falling back to clear text",
			serverOptions{tls: startTLS, cert: cert}, "smtp", false, nil, testMessage, "certificate", false},
		{"an untrusted certificate stops STARTTLS before credentials are sent",
			serverOptions{tls: startTLS, cert: cert}, "smtp", true, nil, testMessage, "certificate", false},
		{"an untrusted certificate stops smtps",
			serverOptions{tls: implicitTLS, cert: cert}, "smtps", true, nil, testMessage, "certificate", false},
		{"a wrong host name in the certificate is refused",
			serverOptions{tls: startTLS, cert: cert}, "smtp", false, &tls.Config{RootCAs: pool, ServerName: "mail.example.org"}, testMessage, "certificate", false},
		{"a refused recipient is an error",
			serverOptions{tls: startTLS, cert: cert, rejectRcpt: true}, "smtp", true, trusting, testMessage, "No such user here", false},
		{"a line break in the subject is refused before connecting",
			serverOptions{tls: noTLS}, "smtp", false, nil,
			Message{To: "alice@example.org", Subject: "Hi\r\nBcc: victim@example.net", Text: "Code: " + secretCode}, "line break", true},
		{"a line break in the recipient is refused before connecting",
			serverOptions{tls: noTLS}, "smtp", false, nil,
			Message{To: "alice@example.org\r\nBcc: victim@example.net", Subject: "Hi", Text: "Code: " + secretCode}, "line break", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.server)
			s := newTestSMTP(t, smtpURL(tt.scheme, srv.addr, tt.credentials), tt.clientTLS)
			err := s.Send(context.Background(), tt.msg)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not mention %q", msg, tt.want)
			}
			if got := errors.Is(err, ErrInvalidMessage); got != tt.wantInvalid {
				t.Errorf("errors.Is(err, ErrInvalidMessage) = %v, want %v", got, tt.wantInvalid)
			}
			if !tt.wantInvalid && !strings.Contains(msg, srv.addr) {
				t.Errorf("error %q does not name the server %s", msg, srv.addr)
			}
			for _, secret := range []string{secretCode, testPassword, url.QueryEscape(testPassword)} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains %q", msg, secret)
				}
			}
			msgs, authAttempts, clearAuth, sessions, wire := srv.snapshot()
			if len(msgs) != 0 {
				t.Errorf("server received %d messages, want none", len(msgs))
			}
			if tt.server.tls == noTLS && tt.credentials {
				plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
				if authAttempts != 0 || strings.Contains(wire, plain) || strings.Contains(wire, testPassword) || clientAuthLine.MatchString(wire) {
					t.Errorf("credentials went over the wire in clear (%d AUTH attempts):\n%s", authAttempts, wire)
				}
			}
			if clearAuth != 0 {
				t.Errorf("%d AUTH commands over an unencrypted connection", clearAuth)
			}
			if strings.Contains(tt.want, "certificate") && authAttempts != 0 {
				t.Errorf("%d AUTH attempts despite a failed TLS handshake", authAttempts)
			}
			if tt.wantInvalid && sessions != 0 {
				t.Errorf("client connected (%d sessions) for a refused message", sessions)
			}
		})
	}
}

// clientAuthLine matches an AUTH command from the client in the server's
// transcript (the server's own capability line reads "250-AUTH PLAIN").
var clientAuthLine = regexp.MustCompile(`(?mi)^AUTH `)

func TestSMTPFailsFastWhenTheServerIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now

	for _, scheme := range []string{"smtp", "smtps"} {
		t.Run(scheme, func(t *testing.T) {
			s := newTestSMTP(t, smtpURL(scheme, addr, true), nil)
			start := time.Now()
			err := s.Send(context.Background(), testMessage)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Send succeeded with no server")
			}
			if elapsed >= smtpTimeout/2 {
				t.Errorf("Send took %v to fail on a refused connection; the timeout is %v", elapsed, smtpTimeout)
			}
			msg := err.Error()
			if !strings.Contains(msg, addr) {
				t.Errorf("error %q does not name the server %s", msg, addr)
			}
			for _, secret := range []string{secretCode, "Jürgen", testPassword, url.QueryEscape(testPassword)} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains %q", msg, secret)
				}
			}
		})
	}
}

func TestSMTPGivesUpOnAStalledServerWhenTheContextEnds(t *testing.T) {
	// A server that accepts and never greets: only the context can end
	// the wait before the 10 s timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		accepted <- c
		cancel()
	}()
	t.Cleanup(func() {
		select {
		case c := <-accepted:
			_ = c.Close()
		default:
		}
	})

	s := newTestSMTP(t, smtpURL("smtp", l.Addr().String(), false), nil)
	start := time.Now()
	err = s.Send(ctx, testMessage)
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if elapsed >= smtpTimeout/2 {
		t.Errorf("Send took %v after the context ended; the timeout is %v", elapsed, smtpTimeout)
	}
	if strings.Contains(err.Error(), secretCode) {
		t.Errorf("error %q repeats the body", err)
	}
}

func TestSMTPStringHidesThePassword(t *testing.T) {
	s := newTestSMTP(t, smtpURL("smtps", "mail.example.org:2465", true), nil)
	got := fmt.Sprint(s)
	if want := "smtps://mailer@mail.example.org:2465"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
