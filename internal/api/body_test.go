package api

import (
	"fmt"
	"reflect"
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
		{"Methods start a challenge without a code.", `{"username": "alice", "methods": ["email"]}`,
			validateBody{Username: "alice", Methods: []string{"email"}}, ""},
		{"Methods may come with a password.", `{"methods": [ "email" ], "password": "pw", "username": "alice"}`,
			validateBody{Username: "alice", Methods: []string{"email"}, Password: "pw", HasPassword: true}, ""},
		{"A code may answer a transaction.", `{"username": "alice", "code": "123456", "transaction_id": "abc"}`,
			validateBody{Username: "alice", Code: "123456", TransactionID: "abc"}, ""},
		{"A code may answer a transaction with a password.", `{"transaction_id": "abc", "password": "", "username": "alice", "code": "1"}`,
			validateBody{Username: "alice", Code: "1", TransactionID: "abc", HasPassword: true}, ""},
		{"Resend names a transaction.", `{"username": "alice", "transaction_id": "abc", "resend": true}`,
			validateBody{Username: "alice", TransactionID: "abc", Resend: true}, ""},
		{"resend false is as if it were absent.", `{"username": "alice", "code": "1", "resend": false}`, ok("alice", "1"), ""},
		{"UTF-8 passes through.", `{"username": "Ålice ß", "code": "١٢٣"}`, ok("Ålice ß", "١٢٣"), ""},
		{"A tab around the username is white space, trimmed later.", `{"username": "\talice\t", "code": "1"}`, ok("\talice\t", "1"), ""},

		{"An empty body is refused.", ``, validateBody{}, "empty"},
		{"White space only is refused.", " \n", validateBody{}, "empty"},
		{"A string is refused.", `"alice"`, validateBody{}, "JSON object"},
		{"An empty object is refused.", `{}`, validateBody{}, "username is missing"},
		{"Methods without a username are refused.", `{"methods": ["email"]}`, validateBody{}, "username is missing"},
		{"A body with neither code nor methods is refused.", `{"username": "alice"}`, validateBody{}, "code or methods is required"},
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
		{"Code and methods together are refused.", `{"username": "alice", "code": "1", "methods": ["email"]}`, validateBody{}, "code or methods, not both"},
		{"Empty methods are refused.", `{"username": "alice", "methods": []}`, validateBody{}, "methods is empty: name at least one of push, email"},
		{"An unknown method is refused, naming the known ones.", `{"username": "alice", "methods": ["sms"]}`, validateBody{}, `unknown method "sms": the methods are push, email`},
		{"Method names are case-sensitive.", `{"username": "alice", "methods": ["Email"]}`, validateBody{}, `unknown method "Email"`},
		{"A method named twice is refused.", `{"username": "alice", "methods": ["email", "email"]}`, validateBody{}, `method "email" appears twice`},
		{"A method that is not a string is refused.", `{"username": "alice", "methods": ["email", 1]}`, validateBody{}, "methods must be a JSON array of strings"},
		{"A nested array in methods is refused.", `{"username": "alice", "methods": [["email"]]}`, validateBody{}, "methods must be a JSON array of strings"},
		{"Methods that are a string are refused.", `{"username": "alice", "methods": "email"}`, validateBody{}, "methods must be a JSON array of strings"},
		{"null methods are refused.", `{"username": "alice", "methods": null}`, validateBody{}, "methods must be a JSON array of strings"},
		{"An unclosed methods array is refused.", `{"username": "alice", "methods": ["email"`, validateBody{}, "invalid JSON"},
		{"A trailing comma in methods is refused.", `{"username": "alice", "methods": ["email",]}`, validateBody{}, "invalid JSON"},
		{"A repeated methods member is refused.", `{"username": "alice", "methods": ["email"], "methods": ["email"]}`, validateBody{}, `"methods" appears twice`},
		{"Methods with a transaction are refused.", `{"username": "alice", "methods": ["email"], "transaction_id": "abc"}`, validateBody{}, "takes no transaction_id"},
		{"A transaction without a code is refused.", `{"username": "alice", "transaction_id": "abc"}`, validateBody{}, "code is required with transaction_id"},
		{"An empty transaction id is refused.", `{"username": "alice", "code": "1", "transaction_id": ""}`, validateBody{}, "transaction_id is empty"},
		{"A transaction id that is a number is refused.", `{"username": "alice", "code": "1", "transaction_id": 7}`, validateBody{}, "transaction_id must be a JSON string"},
		{"A repeated transaction id is refused.", `{"username": "alice", "code": "1", "transaction_id": "a", "transaction_id": "b"}`, validateBody{}, `"transaction_id" appears twice`},
		{"Resend without a transaction is refused.", `{"username": "alice", "resend": true}`, validateBody{}, "resend needs the transaction_id"},
		{"Resend with a code is refused.", `{"username": "alice", "transaction_id": "abc", "code": "1", "resend": true}`, validateBody{}, "takes only username and transaction_id"},
		{"Resend with methods is refused.", `{"username": "alice", "methods": ["email"], "resend": true}`, validateBody{}, "takes only username and transaction_id"},
		{"Resend with a password is refused.", `{"username": "alice", "transaction_id": "abc", "password": "pw", "resend": true}`, validateBody{}, "takes only username and transaction_id"},
		{"Resend that is a string is refused.", `{"username": "alice", "transaction_id": "abc", "resend": "true"}`, validateBody{}, "resend must be true or false"},
		{"null resend is refused.", `{"username": "alice", "transaction_id": "abc", "resend": null}`, validateBody{}, "resend must be true or false"},
		{"A repeated resend is refused.", `{"username": "alice", "transaction_id": "abc", "resend": true, "resend": true}`, validateBody{}, `"resend" appears twice`},
		{"resend false with a transaction alone is refused.", `{"username": "alice", "transaction_id": "abc", "resend": false}`, validateBody{}, "code is required with transaction_id"},
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
		case c.wantErr == "" && !reflect.DeepEqual(got, c.want):
			t.Errorf("%s\n%q: %+v, want %+v", c.name, c.body, got, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s\n%q: error %v, want one saying %q", c.name, c.body, err, c.wantErr)
		}
	}
}
