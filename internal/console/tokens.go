package console

import (
	"net/http"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/page"
)

// tokenChange is a form on a user's page that changes one of their
// tokens: suspend, resume or revoke (admin.Service.ChangeToken).
func (s *Server) tokenChange(op string) handler {
	return s.change("console.user.tokens", "", func(r *http.Request, v *visit, u string) (string, error) {
		return "console.flash.token_" + op, v.admin.ChangeToken(r.Context(), v.org, u, r.PathValue("serial"), op)
	})
}

func (s *Server) deleteToken() handler {
	return s.change("console.user.tokens", "", func(r *http.Request, v *visit, u string) (string, error) {
		return "console.flash.token_deleted", v.admin.DeleteToken(r.Context(), v.org, u, r.PathValue("serial"))
	})
}

// assignToken gives the user an unassigned token from the inventory (an
// imported hardware token) by its serial, active at once.
func (s *Server) assignToken() handler {
	return s.change("console.user.tokens", "serial", func(r *http.Request, v *visit, u string) (string, error) {
		_, err := v.admin.AssignToken(r.Context(), v.org, u, r.PostFormValue("serial"))
		return "console.flash.token_assigned", err
	})
}

// resync takes two consecutive codes of a token whose clock or counter
// has drifted, through the verification core.
func (s *Server) resync() handler {
	return s.change("console.user.tokens", "", func(r *http.Request, v *visit, u string) (string, error) {
		serial, err := v.admin.Serial(r.Context(), v.org, u, r.PathValue("serial"), "")
		if err != nil {
			return "", err
		}
		req := auth.Request{OrgID: v.org.ID, Username: u, Code: r.PostFormValue("code"), Actor: v.op.Username, Source: page.Source(r)}
		out, err := s.Verifier.Resync(r.Context(), req, serial, r.PostFormValue("next_code"))
		if err != nil {
			return "", err
		}
		if !out.Accepted {
			return "", refused{"console.error.resync", "code-" + serial}
		}
		return "console.flash.resynced", nil
	})
}

// enrollmentChange is a form on a user's page that changes one of their
// invitations.
func (s *Server) resendEnrollment() handler {
	return s.change("console.user.enrollments", "", func(r *http.Request, v *visit, u string) (string, error) {
		en, err := v.admin.ResendEnrollment(r.Context(), v.org, u, r.PathValue("serial"))
		if err != nil {
			return "", err
		}
		user, err := v.admin.User(r.Context(), v.org, u)
		if err != nil {
			return "", err
		}
		if user.Email == "" {
			return "console.flash.invited_no_email", nil
		}
		return "console.flash.resent", s.Mailer.Invite(r.Context(), v.org, user, en.Token.Type, en.Link, en.Expires)
	})
}

// extendBy is how much longer "extend" keeps an invitation valid.
const extendBy = 72 * time.Hour

func (s *Server) extendEnrollment() handler {
	return s.change("console.user.enrollments", "", func(r *http.Request, v *visit, u string) (string, error) {
		return "console.flash.extended", v.admin.ExtendEnrollment(r.Context(), v.org, u, r.PathValue("serial"), s.Clock.Now().Add(extendBy))
	})
}

func (s *Server) cancelEnrollment() handler {
	return s.change("console.user.enrollments", "", func(r *http.Request, v *visit, u string) (string, error) {
		return "console.flash.cancelled", v.admin.CancelEnrollment(r.Context(), v.org, u, r.PathValue("serial"))
	})
}
