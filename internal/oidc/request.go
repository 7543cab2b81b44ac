package oidc

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/web"
)

// requested is what the application asked in its authorization request,
// kept as JSON with the request.
type requested struct {
	RedirectURI   string   `json:"redirect_uri"`
	Scopes        []string `json:"scopes"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	ResponseMode  string   `json:"response_mode,omitempty"`
	CodeChallenge string   `json:"code_challenge"`
	Prompt        []string `json:"prompt,omitempty"`
	// MaxAge, when set, is how old in seconds the sign-in may be (0 for
	// prompt=login: a new one).
	MaxAge    *uint    `json:"max_age,omitempty"`
	ACRValues []string `json:"acr_values,omitempty"`
	// HintSubject is the subject of the id_token_hint: the sign-in must
	// be that user's.
	HintSubject string `json:"hint_subject,omitempty"`
}

// signedIn is what the sign-in that completed a request used, kept with
// the request and its grant: the claims are made of it.
type signedIn struct {
	AuthTime time.Time `json:"auth_time"`
	AMR      []string  `json:"amr"`
	ACR      string    `json:"acr"`
}

// The authentication context classes Twofold tells (acr) and takes in
// acr_values: one factor (the password, or a code alone) and two.
const (
	acrOneFactor = "urn:twofold:loa:1fa"
	acrTwoFactor = "urn:twofold:loa:2fa"
)

// acrValues are the classes in the order of strength.
var acrValues = []string{acrOneFactor, acrTwoFactor}

// claimsOf tells the truth about a portal sign-in in RFC 8176 terms: pwd
// for the password, otp for a code from an authenticator app or a mailed
// code, swk for the Twofold Authenticator's push (a software key signs the
// answer), and mfa when a password and another factor were both used. A
// backup code counts as the second factor without a name of its own; a
// helpdesk's temporary code and a password reset link count for nothing
// beyond what they are (no mfa).
func claimsOf(s web.SignIn) signedIn {
	out := signedIn{AuthTime: s.At.UTC().Truncate(time.Second), AMR: []string{}}
	add := func(v string) {
		if !slices.Contains(out.AMR, v) {
			out.AMR = append(out.AMR, v)
		}
	}
	password, second := false, false
	for _, m := range s.Methods {
		switch m {
		case web.MethodPassword:
			password = true
			add("pwd")
		case policy.MethodApp, policy.MethodEmail:
			second = true
			add("otp")
		case policy.MethodPush:
			second = true
			add("swk")
		case "backup":
			second = true
		}
	}
	out.ACR = acrOneFactor
	if password && second {
		add("mfa")
		out.ACR = acrTwoFactor
	}
	return out
}

// wantsTwoFactors reports whether acr_values ask for two factors: the
// only class above one that Twofold has. Values it does not know ask for
// nothing (they are voluntary, OpenID Connect Core 3.1.2.1); the acr
// claim tells what was done.
func wantsTwoFactors(values []string) bool { return slices.Contains(values, acrTwoFactor) }

// authRequest is a stored authorization request as op sees it.
type authRequest struct {
	row store.OIDCAuthRequest
	req requested
	in  signedIn
}

func newAuthRequest(row store.OIDCAuthRequest) (*authRequest, error) {
	a := &authRequest{row: row}
	if err := json.Unmarshal([]byte(row.Request), &a.req); err != nil {
		return nil, err
	}
	if row.SignIn != "" {
		if err := json.Unmarshal([]byte(row.SignIn), &a.in); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *authRequest) GetID() string         { return a.row.ID }
func (a *authRequest) GetACR() string        { return a.in.ACR }
func (a *authRequest) GetAMR() []string      { return a.in.AMR }
func (a *authRequest) GetAudience() []string { return []string{a.row.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.in.AuthTime
}
func (a *authRequest) GetClientID() string { return a.row.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.req.ResponseMode)
}
func (a *authRequest) GetScopes() []string { return a.req.Scopes }
func (a *authRequest) GetState() string    { return a.req.State }
func (a *authRequest) GetSubject() string  { return subject(a.row.UserID) }
func (a *authRequest) Done() bool          { return a.row.UserID != 0 }

// subject is a user's sub: the user's id, which a rename does not change
// and no other user of the organization ever has.
func subject(userID int64) string { return strconv.FormatInt(userID, 10) }

// refreshRequest is a grant as a refresh token brings it back.
type refreshRequest struct {
	grant  store.OIDCGrant
	in     signedIn
	scopes []string
}

func (r *refreshRequest) GetAMR() []string                 { return r.in.AMR }
func (r *refreshRequest) GetAudience() []string            { return []string{r.grant.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.in.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.grant.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return subject(r.grant.UserID) }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }
