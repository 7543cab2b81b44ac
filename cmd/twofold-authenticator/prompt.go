package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// prompter asks questions on standard error and reads the answers from
// standard input, one line each, so that standard output carries only what
// scripts read (codes). On a terminal, secrets are read without echo.
type prompter struct {
	in  *bufio.Reader
	tty *os.File // standard input when it is a terminal
	out io.Writer
}

func newPrompter(stdin io.Reader, stderr io.Writer) *prompter {
	p := &prompter{in: bufio.NewReader(stdin), out: stderr}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = f
	}
	return p
}

// errNoInput says that standard input ended before an answer.
var errNoInput = errors.New("standard input ended before the answer")

// line reads one line without its line ending. what names the answer in
// the error when there is none.
func (p *prompter) line(what string) (string, error) {
	s, err := p.in.ReadString('\n')
	if err != nil && (err != io.EOF || s == "") {
		if err == io.EOF {
			return "", fmt.Errorf("expected %s: %w (run in a terminal, or pipe the answers in)", what, errNoInput)
		}
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// ask asks question and returns the answer, or def for an empty one.
func (p *prompter) ask(question, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", question, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", question)
	}
	s, err := p.line("an answer")
	if err != nil {
		return "", err
	}
	if s = strings.TrimSpace(s); s == "" {
		return def, nil
	}
	return s, nil
}

// secret asks for a secret (a PIN), without echo on a terminal.
func (p *prompter) secret(question string) (string, error) {
	fmt.Fprintf(p.out, "%s: ", question)
	if p.tty == nil {
		return p.line("an answer")
	}
	b, err := term.ReadPassword(int(p.tty.Fd()))
	fmt.Fprintln(p.out)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", strings.ToLower(question), err)
	}
	return string(b), nil
}

// confirm asks a yes/no question whose default is no.
func (p *prompter) confirm(question string) (bool, error) {
	s, err := p.ask(question+" [y/N]", "")
	if err != nil {
		return false, err
	}
	s = strings.ToLower(s)
	return s == "y" || s == "yes", nil
}
