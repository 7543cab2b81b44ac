package radius

import (
	"context"
	"errors"
	"testing"

	"layeh.com/radius"
)

func TestGatewaySideAgreesWithTheServer(t *testing.T) {
	s, f, _ := newTestServer(t, `{}`)
	ctx := context.Background()
	auth := [16]byte{1, 2, 3}
	req, err := AppendAccessRequest(nil, 42, auth, []byte(testSecret), "alice", "123456")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRequest(req, []byte(testSecret)); err != nil {
		t.Fatalf("the server's check of the request: %v", err)
	}
	answer := s.Handle(ctx, req, gateway)
	if code, err := CheckAnswer(answer, req, []byte(testSecret)); err != nil || code != radius.CodeAccessAccept {
		t.Fatalf("CheckAnswer = %v, %v; want Access-Accept", code, err)
	}
	if len(f.verified) != 1 || f.verified[0].Code != "123456" || f.verified[0].Username != "alice" {
		t.Fatalf("the server verified %+v", f.verified)
	}
	other, _ := AppendAccessRequest(nil, 43, auth, []byte(testSecret), "alice", "123456")
	for _, tc := range []struct {
		name   string
		answer func() []byte
		req    []byte
		secret string
		want   error
	}{
		{"an answer to another identifier", func() []byte { return answer }, other, testSecret, ErrNotTheAnswer},
		{"another secret", func() []byte { return answer }, req, "other secret", ErrBadResponseAuth},
		{"a changed attribute", func() []byte {
			b := append([]byte(nil), answer...)
			b[len(b)-1] ^= 1
			return b
		}, req, testSecret, ErrBadResponseAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CheckAnswer(tc.answer(), tc.req, []byte(tc.secret)); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := AppendAccessRequest(nil, 1, auth, []byte(testSecret), "", "123456"); err == nil {
		t.Fatal("an empty User-Name was encoded")
	}
}
