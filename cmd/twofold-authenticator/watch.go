package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twofold-mfa/twofold/internal/push"
)

// pushFlags are what watch and approve share.
type pushFlags struct {
	pin pinInput
	tls tlsInput
}

func (f *pushFlags) flags(cmd *cobra.Command) {
	f.pin.flags(cmd)
	f.tls.flags(cmd)
}

// devices opens the push token named in args, or every push token, asking
// each one's PIN once.
func (c *cli) devices(args []string, f pushFlags) ([]*device, error) {
	v, err := c.vault()
	if err != nil {
		return nil, err
	}
	client, err := c.httpClient(f.tls)
	if err != nil {
		return nil, err
	}
	toks, err := v.Tokens()
	if err != nil {
		return nil, err
	}
	var out []*device
	for _, t := range toks {
		if t.Push == nil || (len(args) == 1 && t.Name != args[0]) {
			continue
		}
		t, s, err := c.open(v, t.Name, f.pin)
		if err != nil {
			return nil, err
		}
		d, err := c.device(t, s, client)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		if len(args) == 1 {
			return nil, fmt.Errorf("no push token named %q (see \"twofold-authenticator list\"; only tokens added with enroll have push)", args[0])
		}
		return nil, errors.New("no push tokens yet: add one with \"twofold-authenticator enroll\"")
	}
	return out, nil
}

func (c *cli) watchCmd() *cobra.Command {
	var f pushFlags
	cmd := &cobra.Command{
		Use:   "watch [NAME]",
		Short: "Wait for sign-in requests (push) and approve or deny each",
		Long: `Wait for sign-in requests to the push tokens (or to the one named), show each
(organization, application, where it comes from, when, how long it lasts) and
ask for the number the sign-in screen shows: type it to approve, d to deny, or
r to deny and report that it wasn't you. The PIN of each token that has one is
asked once, at the start. Stop with Ctrl-C.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			devs, err := c.devices(args, f)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			type arrival struct {
				d *device
				r push.Request
			}
			arrivals := make(chan arrival)
			for _, d := range devs {
				go func() {
					for ctx.Err() == nil {
						reqs, err := d.pending(ctx, push.MaxWait)
						if err != nil {
							if ctx.Err() != nil {
								return
							}
							fmt.Fprintf(c.stderr, "%s: %v; trying again shortly\n", d.token.Name, err)
							select {
							case <-ctx.Done():
							case <-time.After(10 * time.Second):
							}
							continue
						}
						for _, r := range reqs {
							select {
							case arrivals <- arrival{d, r}:
							case <-ctx.Done():
								return
							}
						}
					}
				}()
			}
			fmt.Fprintf(c.stderr, "waiting for sign-in requests to %s (Ctrl-C to stop)\n", names(devs))
			// A request stays pending, so each poll returns it again
			// until it is answered.
			seen := map[string]bool{}
			for {
				select {
				case <-ctx.Done():
					return nil
				case a := <-arrivals:
					if seen[a.r.ID] {
						continue
					}
					seen[a.r.ID] = true
					if err := c.handle(ctx, a.d, a.r); err != nil {
						fmt.Fprintln(c.stderr, err)
					}
				}
			}
		},
	}
	f.flags(cmd)
	return cmd
}

func names(devs []*device) string {
	s := make([]string, len(devs))
	for i, d := range devs {
		s[i] = d.token.Name
	}
	return strings.Join(s, ", ")
}

// handle shows one request, asks what to do and answers it.
func (c *cli) handle(ctx context.Context, d *device, r push.Request) error {
	left, ok := c.secondsLeft(r)
	if !ok {
		return nil
	}
	fmt.Fprintf(c.stderr, "\nsign-in request to %s: %s, %s\n  from %s at %s, %d seconds left\n",
		d.token.Name, r.Org, r.Application, r.Source, c.localTime(r.CreatedAt), left)
	a, err := c.decide(r)
	if err != nil {
		return err
	}
	if _, ok := c.secondsLeft(r); !ok {
		return errors.New("the request expired while you decided; sign in again")
	}
	status, err := d.answer(ctx, r.ID, a)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, statusText(status))
	return nil
}

// decide asks for the number among the request's three, d or r.
func (c *cli) decide(r push.Request) (push.AnswerRequest, error) {
	choices := make([]string, len(r.Numbers))
	for i, n := range r.Numbers {
		choices[i] = strconv.Itoa(n)
	}
	for {
		s, err := c.prompts().ask(fmt.Sprintf("Type the number the sign-in screen shows (%s), d to deny, r if this wasn't you", strings.Join(choices, ", ")), "")
		if err != nil {
			return push.AnswerRequest{}, err
		}
		switch s = strings.ToLower(s); {
		case s == "d":
			return push.AnswerRequest{Decision: push.DecisionDeny}, nil
		case s == "r":
			return push.AnswerRequest{Decision: push.DecisionFraud}, nil
		case slices.Contains(choices, s):
			n, _ := strconv.Atoi(s)
			return push.AnswerRequest{Decision: push.DecisionApprove, Number: n}, nil
		}
		fmt.Fprintln(c.stderr, "that is none of the three numbers; look at the sign-in screen again")
	}
}

// secondsLeft says how long r stays answerable; false once it has expired.
func (c *cli) secondsLeft(r push.Request) (int, bool) {
	exp, err := time.Parse(time.RFC3339, r.ExpiresAt)
	if err != nil {
		return 0, false
	}
	left := int(exp.Sub(c.now()) / time.Second)
	return left, left > 0
}

func (c *cli) localTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return "an unknown time"
	}
	return t.Local().Format(time.TimeOnly)
}

// statusText tells a person what the server did with an answer.
func statusText(status string) string {
	switch status {
	case push.StatusAccepted:
		return "approved: the sign-in goes ahead"
	case push.StatusWrongNumber:
		return "that was not the number on the sign-in screen: the sign-in is refused; sign in again"
	case push.StatusDenied:
		return "denied"
	case push.StatusFraud:
		return "denied and reported to your organization"
	case push.StatusExpired:
		return "the request had expired; sign in again"
	}
	return "the server says: " + status
}

func (c *cli) approveCmd() *cobra.Command {
	var f pushFlags
	var id, decision string
	var number int
	cmd := &cobra.Command{
		Use:   "approve [NAME]",
		Short: "Answer the sign-in requests waiting now, then exit (scriptable)",
		Long: `Answer the sign-in requests waiting now for the push tokens (or the one
named), then exit. Without flags it asks, as watch does. With --number or
--decision it answers without asking: the request given with --request, or the
only one waiting.`,
		Example: `  twofold-authenticator approve
  twofold-authenticator approve work --number 42
  twofold-authenticator approve --request ID --decision fraud`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			scripted := number != 0 || decision != ""
			if decision == "" && number != 0 {
				decision = push.DecisionApprove
			}
			switch decision {
			case "", push.DecisionDeny, push.DecisionFraud:
			case push.DecisionApprove:
				if number == 0 {
					return errors.New("to approve, give the number the sign-in screen shows with --number")
				}
			default:
				return fmt.Errorf("--decision %q: want approve, deny or fraud", decision)
			}
			devs, err := c.devices(args, f)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			type waiting struct {
				d *device
				r push.Request
			}
			var all []waiting
			for _, d := range devs {
				reqs, err := d.pending(ctx, 0)
				if err != nil {
					return fmt.Errorf("%s: %w", d.token.Name, err)
				}
				for _, r := range reqs {
					if id == "" || r.ID == id {
						all = append(all, waiting{d, r})
					}
				}
			}
			switch {
			case len(all) == 0 && id != "":
				return fmt.Errorf("no sign-in request %s is waiting (answered or expired?)", id)
			case len(all) == 0 && scripted:
				return errors.New("no sign-in request is waiting")
			case len(all) == 0:
				fmt.Fprintln(c.stderr, "no sign-in request is waiting")
				return nil
			case len(all) > 1 && scripted:
				return fmt.Errorf("%d sign-in requests are waiting: choose one with --request (see them with approve and no flags)", len(all))
			}
			if !scripted {
				for _, w := range all {
					if err := c.handle(ctx, w.d, w.r); err != nil {
						return err
					}
				}
				return nil
			}
			w := all[0]
			status, err := w.d.answer(ctx, w.r.ID, push.AnswerRequest{Decision: decision, Number: number})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, status)
			if want := map[string]string{push.DecisionApprove: push.StatusAccepted, push.DecisionDeny: push.StatusDenied, push.DecisionFraud: push.StatusFraud}[decision]; status != want {
				return errors.New(statusText(status))
			}
			return nil
		},
	}
	f.flags(cmd)
	cmd.Flags().StringVar(&id, "request", "", "the id of the request to answer")
	cmd.Flags().IntVar(&number, "number", 0, "the number the sign-in screen shows (approves)")
	cmd.Flags().StringVar(&decision, "decision", "", "approve, deny or fraud (deny and report that it wasn't you)")
	return cmd
}
