package radius

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestClientsFollowEveryInstance: a RADIUS client removed or added through
// another instance on the same database is dropped or answered by a
// running server within a second, without a restart.
func TestClientsFollowEveryInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx, cancel := context.WithCancel(context.Background())
		clk := clock.System{}
		keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cheap := &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}
		st, other := b.Open(t, clk), b.Open(t, clk)
		// The changes are made through the other instance.
		svc := &admin.Service{Store: other, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: "https://mfa.example", Actor: "test"}
		org, err := svc.CreateOrg(ctx, "acme", "Acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddRadiusClient(ctx, org, admin.NewRadiusClient{Name: "vpn", Address: "127.0.0.1", Secret: testSecret}); err != nil {
			t.Fatal(err)
		}
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := New(Config{Store: st, Keys: keys, Clock: clk,
			Verifier: auth.NewVerifier(auth.Config{Store: st, Keys: keys, Clock: clk, Hasher: cheap})})
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, conn) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
		gw, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer gw.Close()
		var id byte
		answered := func() bool {
			id++
			req, err := AppendAccessRequest(nil, id, [16]byte{id, 1}, []byte(testSecret), "nobody", "123456")
			if err != nil {
				t.Fatal(err)
			}
			gw.Write(req)
			gw.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			buf := make([]byte, 4096)
			n, err := gw.Read(buf)
			if err != nil {
				return false
			}
			_, err = CheckAnswer(buf[:n], req, []byte(testSecret))
			return err == nil
		}
		// within polls until answered reports want, for at most a second.
		within := func(want bool) time.Duration {
			start := time.Now()
			for time.Since(start) < time.Second {
				if answered() == want {
					return time.Since(start)
				}
			}
			t.Fatalf("after a second, answered is still %v", !want)
			return 0
		}
		if !answered() {
			t.Fatal("the registered client's request got no answer")
		}
		if err := svc.RemoveRadiusClient(ctx, org, "vpn"); err != nil {
			t.Fatal(err)
		}
		t.Logf("removed: dropped after %v", within(false))
		if _, err := svc.AddRadiusClient(ctx, org, admin.NewRadiusClient{Name: "vpn2", Address: "127.0.0.0/8", Secret: testSecret}); err != nil {
			t.Fatal(err)
		}
		t.Logf("added: answered after %v", within(true))
	})
}
