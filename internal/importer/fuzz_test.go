package importer

import (
	"bytes"
	"testing"
)

func FuzzParseUsers(f *testing.F) {
	for _, s := range []string{
		"username,email,display name,language,role\nbob,bob@acme.example,Bob,nl,user\n",
		"\ufeffUsername;E-mail\r\nbob;bob@acme.example\r\n",
		"username\n\"a,b\"\n\"unterminated\n",
		"username,email\nbob\n",
		"\xff\xfeu\x00",
		"username\nzo\xeb\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, bad, err := ParseUsers(bytes.NewReader(data))
		if err != nil {
			if rows != nil || bad != nil {
				t.Fatalf("a refused file returned rows: %v %v", rows, bad)
			}
			return
		}
		last := 0
		for _, r := range rows {
			if r.Line <= last && last != 0 {
				t.Fatalf("rows out of line order: %d after %d", r.Line, last)
			}
			last = r.Line
		}
	})
}
