package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// policyRoutes are the policy sections: an organization's policy, and in
// the provider's console the default policy new organizations start
// with. Even reading one is an admin's matter: the helpdesk has no say
// in it.
func (s *Server) policyRoutes() []route {
	return []route{
		{pattern: "GET /policy", scope: orgScope, action: admin.PolicyWrite, h: s.policyPage},
		{pattern: "POST /policy", scope: orgScope, action: admin.PolicyWrite, fresh: true, h: s.setPolicy},
		{pattern: "GET /policy", scope: providerScope, h: s.policyPage},
		{pattern: "POST /policy", scope: providerScope, fresh: true, h: s.setPolicy},
	}
}

func init() {
	forms["POST /o/{org}/admin/policy"] = pageForm("/o/{org}/admin/policy")
	forms["POST /admin/policy"] = pageForm("/admin/policy")
}

// policySource is the policy a visit edits: its organization's, or in
// the provider's console the default policy.
type policySource struct {
	title    string // catalogue key of the page's title
	read     func(context.Context) (policy.Policy, error)
	defaults func(context.Context) (policy.Policy, error) // what each setting is when not set
	history  func(context.Context) ([]store.Event, error)
	set      func(context.Context, map[string]string) error
}

func (v *visit) policy() policySource {
	if scopeOf(v.org) == providerScope {
		return policySource{
			title:    "console.policy.default_title",
			read:     v.admin.DefaultPolicy,
			defaults: func(context.Context) (policy.Policy, error) { return policy.Default(), nil },
			history: func(ctx context.Context) ([]store.Event, error) {
				return v.admin.DefaultPolicyHistory(ctx, historyLength)
			},
			set: func(ctx context.Context, c map[string]string) error {
				_, err := v.admin.SetDefaultPolicy(ctx, c)
				return err
			},
		}
	}
	return policySource{
		title:    "console.policy.title",
		read:     func(ctx context.Context) (policy.Policy, error) { return v.admin.Policy(ctx, v.org) },
		defaults: v.admin.DefaultPolicy,
		history: func(ctx context.Context) ([]store.Event, error) {
			return v.admin.PolicyHistory(ctx, v.org, historyLength)
		},
		set: func(ctx context.Context, c map[string]string) error {
			_, err := v.admin.SetPolicy(ctx, v.org, c)
			return err
		},
	}
}

// historyLength is how many of the policy's changes the page lists.
const historyLength = 20

// PolicyView is the organization's policy (page "policy"): one form
// posting each setting under its key, with csrf_token, to Action; and
// the latest changes from the audit log, newest first.
type PolicyView struct {
	Action   string
	Settings []SettingView
	History  []store.Event
	// ForNewOrgs: it is the provider's default policy, which new
	// organizations start with.
	ForNewOrgs bool
}

// SettingView is one setting of the form: its catalogue texts are
// console.policy.setting.<Key>.{label,help,allowed}.
type SettingView struct {
	policy.Setting        // Value is the current one, or as typed after a refusal
	Default        string // the value when not set: the provider's default policy, or the built-in one
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, v.policy().title, nil)
	p.Flash = flash(r)
	s.showPolicy(w, r, v, http.StatusOK, p, nil)
}

// showPolicy shows the policy on p, with the values typed in the form
// when typed is not nil.
func (s *Server) showPolicy(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, typed map[string]string) {
	src := v.policy()
	pol, err := src.read(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	history, err := src.history(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	def, err := src.defaults(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	view := PolicyView{Action: v.home() + "policy", History: history, ForNewOrgs: scopeOf(v.org) == providerScope}
	defaults := def.Settings()
	for i, st := range pol.Settings() {
		if value, ok := typed[st.Key]; ok {
			st.Value = value
		}
		view.Settings = append(view.Settings, SettingView{st, defaults[i].Value})
	}
	p.Data = view
	s.show(w, status, "policy", p)
}

// setPolicy sends the settings whose fields differ from the stored
// values to SetPolicy, which changes all of them or, refusing one, none.
func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request, v *visit) {
	src := v.policy()
	pol, err := src.read(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	typed, changes := map[string]string{}, map[string]string{}
	for _, st := range pol.Settings() {
		value := strings.TrimSpace(r.PostFormValue(st.Key))
		if st.Kind == policy.KindList {
			// As Settings writes a list, so that "app, email" is no change.
			items := strings.Split(value, ",")
			for i := range items {
				items[i] = strings.TrimSpace(items[i])
			}
			value = strings.Join(slices.DeleteFunc(items, func(s string) bool { return s == "" }), ",")
		}
		typed[st.Key] = value
		if value != st.Value {
			changes[st.Key] = value
		}
	}
	if len(changes) == 0 {
		page.Redirect(w, r, withDone(v.home()+"policy", "console.flash.policy_unchanged"))
		return
	}
	err = src.set(r.Context(), changes)
	if err == nil {
		page.Redirect(w, r, withDone(v.home()+"policy", "console.flash.policy"))
		return
	}
	if !errors.Is(err, admin.ErrInvalid) {
		s.unavailable(w, r, err)
		return
	}
	p := s.page(w, r, v, src.title, nil)
	// The refusal names every problem; the page shows the first on its
	// field. Only changed settings were sent, so that is nearly always
	// the one problem there is.
	var ke *policy.KeyError
	if errors.As(err, &ke) {
		base := "console.policy.setting." + ke.Key
		p.Error, p.ErrorArgs, p.ErrorField = "console.policy.refused", []any{i18n.T(p.Lang, base+".label"), i18n.T(p.Lang, base+".allowed")}, ke.Key
	} else {
		p.Error, p.ErrorArgs = "console.error.invalid", []any{detail(err)}
	}
	s.showPolicy(w, r, v, http.StatusBadRequest, p, typed)
}
