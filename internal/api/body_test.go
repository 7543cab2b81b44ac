package api

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseValidate(t *testing.T) {
	ok := func(u, c string) validateBody { return validateBody{Username: u, Code: c} }
	withPassword := func(u, c, p string) validateBody {
		return validateBody{Username: u, Code: c, Password: p, HasPassword: true}
	}
	type parseCase struct {
		name    string
		body    string
		want    validateBody
		wantErr string // a part of the error; empty when the body is good
	}
	cases := []parseCase{
		{"Username and code are read.", `{"username":"alice","code":"123456"}`, ok("alice", "123456"), ""},
		{"White space around everything is allowed.", " \t\r\n{ \"username\" : \"alice\" ,\n\"code\":\"123456\" } \n", ok("alice", "123456"), ""},
		{"Members come in any order.", `{"code": "123456", "username": "alice"}`, ok("alice", "123456"), ""},
		{"A password member is read.", `{"username": "alice", "code": "1", "password": "pw"}`, withPassword("alice", "1", "pw"), ""},
		{"An empty password is present.", `{"username": "alice", "code": "1", "password": ""}`, withPassword("alice", "1", ""), ""},
		{"Escapes are decoded.", `{"username": "a\"\\\/z", "code": "\u0031\u00e9", "password": "\b\f\n\r\t"}`,
			withPassword("a\"\\/z", "1é", "\b\f\n\r\t"), ""},
		{"A surrogate pair is one rune.", `{"username": "\ud83d\ude00", "code": "1"}`, ok("😀", "1"), ""},
		{"An unpaired surrogate becomes U+FFFD.", `{"username": "\ud800x\udc00\ud800\u0041", "code": "1"}`, ok("\uFFFDx\uFFFD\uFFFDA", "1"), ""},
		{"UTF-8 passes through.", `{"username": "Ålice ß", "code": "١٢٣"}`, ok("Ålice ß", "١٢٣"), ""},
		{"A tab around the username is white space, trimmed later.", `{"username": "\talice\t", "code": "1"}`, ok("\talice\t", "1"), ""},

		{"An empty body is refused.", ``, validateBody{}, "empty"},
		{"White space only is refused.", " \n", validateBody{}, "empty"},
		{"A string is refused.", `"alice"`, validateBody{}, "JSON object"},
		{"An empty object is refused.", `{}`, validateBody{}, "username is missing"},
		{"A missing code is refused.", `{"username": "alice"}`, validateBody{}, "code is missing"},
		{"An empty code is refused.", `{"username": "alice", "code": ""}`, validateBody{}, "code is missing"},
		{"A trailing comma is refused.", `{"username": "alice", "code": "1",}`, validateBody{}, "invalid JSON"},
		{"A missing colon is refused.", `{"username" "alice"}`, validateBody{}, "invalid JSON"},
		{"A missing comma is refused.", `{"username": "alice" "code": "1"}`, validateBody{}, "invalid JSON"},
		{"An unclosed object is refused.", `{"username": "alice", "code": "1"`, validateBody{}, "invalid JSON"},
		{"An unterminated string is refused.", `{"username": "alice`, validateBody{}, "invalid JSON"},
		{"An unterminated escaped string is refused.", `{"username": "al\n`, validateBody{}, "invalid JSON"},
		{"A backslash at the end is refused.", `{"username": "al\`, validateBody{}, "invalid JSON"},
		{"A bad escape is refused.", `{"username": "\x41", "code": "1"}`, validateBody{}, "invalid JSON"},
		{"A short \\u escape is refused.", `{"username": "\u41", "code": "1"}`, validateBody{}, "invalid JSON"},
		{"A single-quoted string is refused.", `{'username': 'alice'}`, validateBody{}, "invalid JSON"},
		{"A number is refused.", `{"username": "alice", "code": 123456}`, validateBody{}, "code must be a JSON string"},
		{"true is refused.", `{"username": true, "code": "1"}`, validateBody{}, "username must be a JSON string"},
		{"An object value is refused.", `{"username": {"name": "alice"}, "code": "1"}`, validateBody{}, "username must be a JSON string"},
		{"null is refused.", `{"username": "alice", "code": "1", "password": null}`, validateBody{}, "password must be a JSON string"},
		{"An unknown member is refused.", `{"username": "alice", "code": "1", "otp": "1"}`, validateBody{}, `unknown member "otp"`},
		{"A long unknown member is quoted short.", `{"` + strings.Repeat("é", 100) + `": 1}`, validateBody{}, `…"`},
		{"Member names are case-sensitive.", `{"Code": "1", "username": "alice"}`, validateBody{}, `unknown member "Code"`},
		{"A repeated member is refused.", `{"code": "1", "username": "alice", "code": "2"}`, validateBody{}, `"code" appears twice`},
		{"A repeated password is refused.", `{"password": "", "username": "alice", "code": "1", "password": "x"}`, validateBody{}, `"password" appears twice`},
		{"A second object is refused.", `{"username": "alice", "code": "1"}{}`, validateBody{}, "after the JSON object"},
		{"A byte order mark is refused.", "\uFEFF{}", validateBody{}, "JSON object"},
		{"Invalid UTF-8 is refused.", "{\"username\": \"\xc3\", \"code\": \"1\"}", validateBody{}, "UTF-8"},
		{"A NUL in the username is refused.", `{"username": "alice\u0000", "code": "1"}`, validateBody{}, "control character"},
		{"A DEL in the username is refused.", "{\"username\": \"al\x7fice\", \"code\": \"1\"}", validateBody{}, "control character"},
	}
	// Raw control characters are refused in every string.
	for c := range 0x20 {
		cases = append(cases,
			parseCase{fmt.Sprintf("A raw %#x in a string is refused.", c),
				fmt.Sprintf("{\"username\": \"alice\", \"code\": \"1%c2\"}", c), validateBody{}, "invalid JSON"},
			parseCase{fmt.Sprintf("A raw %#x after an escape is refused.", c),
				fmt.Sprintf("{\"username\": \"alice\", \"code\": \"\\n1%c2\"}", c), validateBody{}, "invalid JSON"})
	}
	for _, c := range cases {
		got, err := parseValidate([]byte(c.body))
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s\n%q: %v", c.name, c.body, err)
		case c.wantErr == "" && got != c.want:
			t.Errorf("%s\n%q: %+v, want %+v", c.name, c.body, got, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s\n%q: error %v, want one saying %q", c.name, c.body, err, c.wantErr)
		}
	}
}
