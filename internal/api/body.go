package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// validateBody is the decoded body of POST /api/v1/validate. It is one of
// three requests:
//
//   - a code to check: Code, and TransactionID when the code answers a
//     challenge (an emailed code);
//   - a challenge to start: Methods, the second factors the application
//     can offer ("push", "email"), in the order it prefers them;
//   - a new code for a challenge: Resend with TransactionID.
//
// Username is always there; Password may come with a code or a new challenge.
type validateBody struct {
	Username, Code, Password string
	// HasPassword is set when the password member is present, even empty:
	// the application then wants Twofold to check it.
	HasPassword   bool
	TransactionID string
	Methods       []string // not nil when the member is present
	Resend        bool
}

// The challenge methods: a push to the Twofold Authenticator, a mailed
// code; and the typed code a withheld push asks for instead.
const (
	methodPush  = "push"
	methodEmail = "email"
	methodCode  = "code"
)

// knownMethods are the challenge methods a request may name.
var knownMethods = []string{methodPush, methodEmail}

// badInput is a problem with the request body, said in words fit to send
// back to the integrator.
type badInput string

func (e badInput) Error() string { return string(e) }

func badInputf(format string, args ...any) badInput {
	return badInput(fmt.Sprintf(format, args...))
}

const example = `{"username": "alice", "code": "123456"}`

// The members a validate body may have, as said in error messages.
const members = "username, code, password, transaction_id, methods and resend"

// parseValidate decodes the body of a validate request: a JSON object
// whose members are the strings username, code, password and
// transaction_id, the array of strings methods and the boolean resend.
// It reads the object token by token rather than into a struct, to be
// stricter than encoding/json's Unmarshal: member names match exactly (not
// case-insensitively), a member may not appear twice (so no two parsers
// can disagree about which one counts), unknown members and values of
// another type (null included) are refused, and nothing may follow the
// object. The username must not be empty, and may hold no control
// character but white space; exactly one of a code, methods or resend
// must be asked for, with the members that go with it. Every error is a
// badInput.
func parseValidate(body []byte) (validateBody, error) {
	var v validateBody
	if !utf8.Valid(body) {
		return v, badInput("request body is not valid UTF-8")
	}
	// Duplicate names are refused below, with a message that says which;
	// the UTF-8 is valid, and an escaped lone surrogate becomes U+FFFD,
	// as encoding/json decodes it.
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	switch {
	case errors.Is(err, io.EOF):
		return v, badInput("request body is empty; send a JSON object such as " + example)
	case err != nil || tok.Kind() != '{':
		return v, badInput("request body must be a JSON object such as " + example)
	}
	var seenUsername, seenCode, seenTxID, seenMethods, seenResend bool
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return v, invalidJSON(err)
		}
		name := tok.String() // object names are strings
		var seen *bool
		switch name {
		case "username":
			seen = &seenUsername
		case "code":
			seen = &seenCode
		case "password":
			seen = &v.HasPassword
		case "transaction_id":
			seen = &seenTxID
		case "methods":
			seen = &seenMethods
		case "resend":
			seen = &seenResend
		default:
			return v, badInputf("unknown member %q: the members are %s", clip(name), members)
		}
		if *seen {
			return v, badInputf("member %q appears twice", name)
		}
		*seen = true
		switch name {
		case "methods":
			if v.Methods, err = parseMethods(dec); err != nil {
				return v, err
			}
			continue
		case "resend":
			tok, err = dec.ReadToken()
			if err != nil {
				return v, invalidJSON(err)
			}
			switch tok.Kind() {
			case 't', 'f':
				v.Resend = tok.Bool()
			default:
				return v, badInput("resend must be true or false")
			}
			continue
		}
		tok, err = dec.ReadToken()
		if err != nil {
			return v, invalidJSON(err)
		}
		if tok.Kind() != '"' {
			return v, badInputf("%s must be a JSON string", name)
		}
		switch value := tok.String(); name {
		case "username":
			v.Username = value
		case "code":
			v.Code = value
		case "transaction_id":
			v.TransactionID = value
		default:
			v.Password = value
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return v, invalidJSON(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return v, badInput("nothing may come after the JSON object")
	}
	switch {
	case v.Username == "":
		return v, badInput("username is missing or empty")
	case strings.ContainsFunc(v.Username, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }):
		return v, badInput("username contains a control character")
	case seenCode && v.Code == "":
		return v, badInput("code is missing or empty")
	case seenTxID && v.TransactionID == "":
		return v, badInput("transaction_id is empty")
	case seenCode && seenMethods:
		return v, badInput("send code or methods, not both: methods starts a challenge, code answers one")
	case v.Resend && (seenCode || seenMethods || v.HasPassword):
		return v, badInput("resend asks for a new code of a challenge and takes only username and transaction_id")
	case v.Resend && !seenTxID:
		return v, badInput("resend needs the transaction_id of the challenge to send a new code for")
	case seenMethods && seenTxID:
		return v, badInput("methods starts a new challenge and takes no transaction_id; to have the code of a challenge sent again, send resend: true")
	case !seenCode && !seenMethods && !v.Resend && seenTxID:
		return v, badInput("code is required with transaction_id (or resend: true to have the code sent again)")
	case !seenCode && !seenMethods && !v.Resend:
		return v, badInput("code or methods is required; send a JSON object such as " + example)
	}
	return v, nil
}

// parseMethods reads the value of the methods member: a non-empty array
// of known method names, each at most once.
func parseMethods(dec *jsontext.Decoder) ([]string, error) {
	const notArray = "methods must be a JSON array of strings, such as [\"email\"]"
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, invalidJSON(err)
	}
	if tok.Kind() != '[' {
		return nil, badInput(notArray)
	}
	methods := []string{}
	for dec.PeekKind() != ']' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, invalidJSON(err)
		}
		if tok.Kind() != '"' {
			return nil, badInput(notArray)
		}
		switch m := tok.String(); {
		case !slices.Contains(knownMethods, m):
			return nil, badInputf("unknown method %q: the methods are %s", clip(m), strings.Join(knownMethods, ", "))
		case slices.Contains(methods, m):
			return nil, badInputf("method %q appears twice", m)
		default:
			methods = append(methods, m)
		}
	}
	if _, err := dec.ReadToken(); err != nil { // the closing bracket
		return nil, invalidJSON(err)
	}
	if len(methods) == 0 {
		return nil, badInputf("methods is empty: name at least one of %s", strings.Join(knownMethods, ", "))
	}
	return methods, nil
}

func invalidJSON(err error) badInput {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return badInput("invalid JSON: the body ends inside the object")
	}
	var syntax *jsontext.SyntacticError
	if errors.As(err, &syntax) {
		return badInputf("invalid JSON: %v after byte %d", syntax.Err, syntax.ByteOffset)
	}
	return badInputf("invalid JSON: %v", err)
}

// clip shortens s to at most 40 bytes for an error message, on a rune boundary.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
