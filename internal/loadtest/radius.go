package loadtest

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"layeh.com/radius"

	twofoldradius "github.com/twofold-mfa/twofold/internal/radius"
)

// RADIUS is a RADIUS server to send Access-Requests to.
type RADIUS struct {
	Addr   string // host:port
	Secret []byte
	// Source, when valid, is the address the requests come from: a
	// client registered for one address of the loopback range.
	Source  net.IP
	Timeout time.Duration // for each answer; 0: 2 s
	// AnswersWithoutMessageAuthenticator takes answers that carry none
	// (their Response Authenticator is still checked): FreeRADIUS 3.2.1
	// sends none to a client that does not require one.
	AnswersWithoutMessageAuthenticator bool
}

// NewWorker returns a Worker with a UDP socket of its own, as a gateway
// has: identifiers count up per socket.
func (r RADIUS) NewWorker() (Worker, error) {
	raddr, err := net.ResolveUDPAddr("udp", r.Addr)
	if err != nil {
		return nil, fmt.Errorf("loadtest: RADIUS address %s: %w", r.Addr, err)
	}
	var laddr *net.UDPAddr
	if r.Source != nil {
		laddr = &net.UDPAddr{IP: r.Source}
	}
	conn, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		return nil, fmt.Errorf("loadtest: RADIUS socket: %w", err)
	}
	var seed [32]byte
	crand.Read(seed[:])
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &radiusWorker{conn: conn, secret: r.Secret, timeout: timeout, rand: rand.NewChaCha8(seed), lenient: r.AnswersWithoutMessageAuthenticator,
		req: make([]byte, 0, 256), buf: make([]byte, radius.MaxPacketLength)}, nil
}

type radiusWorker struct {
	conn     *net.UDPConn
	secret   []byte
	timeout  time.Duration
	rand     *rand.ChaCha8 // Request Authenticators
	id       byte
	req, buf []byte
	lenient  bool // answers without a Message-Authenticator are taken
}

// errNoAnswer is a request that got no answer in time.
var errNoAnswer = errors.New("no answer in time")

func (w *radiusWorker) Check(ctx context.Context, user, code string) (bool, error) {
	w.id++
	var auth [16]byte
	w.rand.Read(auth[:])
	req, err := twofoldradius.AppendAccessRequest(w.req[:0], w.id, auth, w.secret, user, code)
	if err != nil {
		return false, err
	}
	w.req = req
	deadline := time.Now().Add(w.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	w.conn.SetReadDeadline(deadline)
	if _, err := w.conn.Write(req); err != nil {
		return false, fmt.Errorf("send: %w", err)
	}
	for {
		n, err := w.conn.Read(w.buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return false, errNoAnswer
		}
		if err != nil {
			return false, fmt.Errorf("receive: %w", err)
		}
		c, err := twofoldradius.CheckAnswer(w.buf[:n], req, w.secret)
		if errors.Is(err, twofoldradius.ErrNotTheAnswer) {
			continue // a late answer to a request that timed out
		}
		if errors.Is(err, twofoldradius.ErrAnswerNoMsgAuth) && w.lenient {
			c, err = radius.Code(w.buf[0]), nil
		}
		if err != nil {
			return false, err
		}
		switch c {
		case radius.CodeAccessAccept:
			return true, nil
		case radius.CodeAccessReject:
			return false, nil
		default:
			return false, fmt.Errorf("answered %v", c)
		}
	}
}

func (w *radiusWorker) Close() error { return w.conn.Close() }
