package admin_test

import (
	"fmt"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestNamesRefuseControlCharacters gives every name an operator types —
// of an organization, a user, a token, an API key, a RADIUS client — the
// same inputs: names are trimmed, and a line break or other control
// character inside is refused with nothing written, because the names
// reach mail subjects, otpauth URIs, the CLI's tables and the audit log.
func TestNamesRefuseControlCharacters(t *testing.T) {
	// field sets a name through the admin service and returns what was
	// stored; n makes slugs and usernames unique.
	type field func(e *env, t *testing.T, n int, name string) (string, error)
	fields := []struct {
		what string
		set  field
	}{
		{"an organization's name", func(e *env, t *testing.T, n int, name string) (string, error) {
			org, err := e.svc.CreateOrg(e.ctx, fmt.Sprintf("org%d", n), name)
			if err != nil {
				return "", err
			}
			got, err := e.store.OrgBySlug(e.ctx, org.Slug)
			return got.Name, err
		}},
		{"a display name", func(e *env, t *testing.T, n int, name string) (string, error) {
			u, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: fmt.Sprintf("user%d", n), DisplayName: name})
			if err != nil {
				return "", err
			}
			got, err := e.store.UserByName(e.ctx, e.org.ID, u.Username)
			return got.DisplayName, err
		}},
		{"a token's name", func(e *env, t *testing.T, n int, name string) (string, error) {
			en, err := e.svc.EnrollToken(e.ctx, e.org, "alice", "totp", name)
			if err != nil {
				return "", err
			}
			got, err := e.store.TokenBySerial(e.ctx, e.org.ID, en.Token.Serial)
			return got.Name, err
		}},
		{"an API key's name", func(e *env, t *testing.T, n int, name string) (string, error) {
			key, _, err := e.svc.CreateAPIKey(e.ctx, e.org, name)
			if err != nil {
				return "", err
			}
			got, err := e.store.APIKeyByHash(e.ctx, secret.HashToken(key))
			return got.Name, err
		}},
		{"a RADIUS client's name", func(e *env, t *testing.T, n int, name string) (string, error) {
			added, err := e.svc.AddRadiusClient(e.ctx, e.org, admin.NewRadiusClient{Name: name, Address: fmt.Sprintf("192.0.2.%d", n)})
			if err != nil {
				return "", err
			}
			cs, err := e.store.RadiusClients(e.ctx, e.org.ID)
			for _, c := range cs {
				if c.ID == added.Client.ID {
					return c.Name, err
				}
			}
			return "", fmt.Errorf("client %d not stored (%v)", added.Client.ID, err)
		}},
	}
	tests := []struct {
		name  string
		input string
		want  string // stored name; empty: refused, with refusal in the error
		// refusal is what the error says.
		refusal string
	}{
		{"spaces and a line break around the name are trimmed", "  Acme Corp\r\n", "Acme Corp", ""},
		{"letters of any script and emoji are kept", "Ärzte Ωmega 👩‍💻", "Ärzte Ωmega 👩‍💻", ""},
		{"a CR LF inside is refused", "Acme\r\nBcc: mallory@example.org", "", "line breaks"},
		{"a LF inside is refused", "Acme\nCorp", "", "line breaks"},
		{"a CR inside is refused", "Acme\rCorp", "", "line breaks"},
		{"a tab inside is refused", "Acme\tCorp", "", "control characters"},
		{"a NUL is refused", "Acme\x00", "", "control characters"},
		{"an escape sequence is refused", "Acme\x1b[2J", "", "control characters"},
		{"DEL is refused", "Acme\x7f", "", "control characters"},
		{"the C1 next-line character is refused", "Acme\u0085Corp", "", "control characters"},
		{"the Unicode line separator is refused", "Acme\u2028Corp", "", "line breaks"},
		{"the Unicode paragraph separator is refused", "Acme\u2029Corp", "", "line breaks"},
		{"invalid UTF-8 is refused", "Acme\xff", "", "UTF-8"},
	}
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		n := 0
		for _, f := range fields {
			for _, tt := range tests {
				n++
				t.Run(f.what+": "+tt.name, func(t *testing.T) {
					before, beforeOrg := len(e.events(t, 0)), len(e.events(t, e.org.ID))
					got, err := f.set(e, t, n, tt.input)
					if tt.want != "" {
						if err != nil || got != tt.want {
							t.Fatalf("%s %q: stored %q, %v; want %q", f.what, tt.input, got, err, tt.want)
						}
						return
					}
					if err == nil {
						t.Fatalf("%s %q: stored %q, want it refused", f.what, tt.input, got)
					}
					wantInvalid(t, err, f.what)
					wantInvalid(t, err, tt.refusal)
					e.wantNoEvent(t, 0, before)
					e.wantNoEvent(t, e.org.ID, beforeOrg)
				})
			}
		}
	})
}
