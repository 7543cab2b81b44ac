package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// validateBody is the decoded body of POST /api/v1/validate.
type validateBody struct {
	Username, Code, Password string
	// HasPassword is set when the password member is present, even empty:
	// the application then wants Twofold to check it.
	HasPassword bool
}

// badInput is a problem with the request body, said in words fit to send
// back to the integrator.
type badInput string

func (e badInput) Error() string { return string(e) }

func badInputf(format string, args ...any) badInput {
	return badInput(fmt.Sprintf(format, args...))
}

const example = `{"username": "alice", "code": "123456"}`

// parseValidate decodes the body of a validate request: a JSON object
// whose members are the strings username, code and optionally password.
// It reads the object token by token rather than into a struct, to be
// stricter than encoding/json's Unmarshal: member names match exactly (not
// case-insensitively), a member may not appear twice (so no two parsers
// can disagree about which one counts), unknown members and non-string
// values (null included) are refused, and nothing may follow the object.
// The username and code must not be empty, and the username may hold no
// control character but white space. Every error is a badInput.
func parseValidate(body []byte) (validateBody, error) {
	var v validateBody
	if !utf8.Valid(body) {
		return v, badInput("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return v, badInput("request body is empty; send a JSON object such as " + example)
	case err != nil || tok != json.Delim('{'):
		return v, badInput("request body must be a JSON object such as " + example)
	}
	var seenUsername, seenCode bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return v, invalidJSON(err)
		}
		name, _ := tok.(string) // object keys are strings
		var seen *bool
		switch name {
		case "username":
			seen = &seenUsername
		case "code":
			seen = &seenCode
		case "password":
			seen = &v.HasPassword
		default:
			return v, badInputf("unknown member %q: the members are username, code and password", clip(name))
		}
		if *seen {
			return v, badInputf("member %q appears twice", name)
		}
		*seen = true
		tok, err = dec.Token()
		if err != nil {
			return v, invalidJSON(err)
		}
		value, ok := tok.(string)
		if !ok {
			return v, badInputf("%s must be a JSON string", name)
		}
		switch name {
		case "username":
			v.Username = value
		case "code":
			v.Code = value
		default:
			v.Password = value
		}
	}
	if _, err := dec.Token(); err != nil {
		return v, invalidJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, badInput("nothing may come after the JSON object")
	}
	switch {
	case v.Username == "":
		return v, badInput("username is missing or empty")
	case v.Code == "":
		return v, badInput("code is missing or empty")
	case strings.ContainsFunc(v.Username, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }):
		return v, badInput("username contains a control character")
	}
	return v, nil
}

func invalidJSON(err error) badInput {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return badInput("invalid JSON: the body ends inside the object")
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
