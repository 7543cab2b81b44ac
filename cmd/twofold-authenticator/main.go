// Command twofold-authenticator is the Twofold Authenticator for the
// command line: it keeps tokens (Twofold push tokens and any otpauth://
// account), shows their one-time codes and approves or denies Twofold push
// requests. It is also the reference client of Twofold's push protocol.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		now: time.Now, rand: rand.Reader,
	}
	code := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0 for
// success, 1 for an error.
func (c *cli) run(ctx context.Context, args []string) int {
	root := c.root()
	root.SetArgs(args)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(c.stderr, "twofold-authenticator:", err)
		return 1
	}
	return 0
}

// cli carries what every command shares: its streams, environment, clock
// and source of randomness, all injected so that tests control them.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	rand           io.Reader

	storePath string // --store
	prompt    *prompter
}
