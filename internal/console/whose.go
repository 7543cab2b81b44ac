package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
)

// whoseRoutes are the authenticators section's: "whose authenticator is
// this?", asked with a code someone reads out. It is a post, not a
// search, so that the code stays out of addresses and logs.
func (s *Server) whoseRoutes() []route {
	return []route{
		{pattern: "GET /tokens", scope: orgScope, action: admin.UsersRead, h: s.whosePage},
		{pattern: "POST /tokens", scope: orgScope, action: admin.UsersRead, h: s.whose},
	}
}

// WhoseView finds whose authenticator app shows a code (page "tokens"):
// the form posts code and csrf_token to Action. After a search, Asked is
// set, and Found lists the authenticators that show the code now.
type WhoseView struct {
	Action string
	Asked  bool
	Found  []OwnerView
}

// OwnerView is an authenticator that shows the code, and whose it is.
type OwnerView struct {
	Username, Serial, Type, State, Name string
	URL                                 string // the user's page
}

func (s *Server) whosePage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.show(w, http.StatusOK, "tokens", s.page(w, r, v, "console.tokens.title", WhoseView{Action: v.home() + "tokens"}))
}

// whose asks the verification core, which consumes nothing and counts no
// guess, and audits the asking as the operator.
func (s *Server) whose(w http.ResponseWriter, r *http.Request, v *visit) {
	view := WhoseView{Action: v.home() + "tokens"}
	p := s.page(w, r, v, "console.tokens.title", nil)
	found, err := s.Verifier.Whose(r.Context(), v.org.ID, strings.TrimSpace(r.PostFormValue("code")), v.op.Username)
	if errors.Is(err, auth.ErrMalformed) {
		p.Error, p.ErrorField = "console.tokens.malformed", "code"
		p.Data = view
		s.show(w, http.StatusBadRequest, "tokens", p)
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	view.Asked = true
	for _, t := range found {
		view.Found = append(view.Found, OwnerView{Username: t.Username, Serial: t.Serial, Type: t.Type, State: t.State, Name: t.Name, URL: v.userURL(t.Username)})
	}
	p.Data = view
	s.show(w, http.StatusOK, "tokens", p)
}
