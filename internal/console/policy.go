package console

import (
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

// policyRoutes are the policy section. Even reading it is an admin's
// matter: the helpdesk has no say in it.
func (s *Server) policyRoutes() []route {
	return []route{
		{pattern: "GET /policy", scope: orgScope, action: admin.PolicyWrite, h: s.policyPage},
		{pattern: "POST /policy", scope: orgScope, action: admin.PolicyWrite, fresh: true, h: s.setPolicy},
	}
}

func init() {
	forms["POST /o/{org}/admin/policy"] = pageForm("/o/{org}/admin/policy")
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
}

// SettingView is one setting of the form: its catalogue texts are
// console.policy.setting.<Key>.{label,help,allowed}.
type SettingView struct {
	policy.Setting        // Value is the current one, or as typed after a refusal
	Default        string // the service provider's default
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.policy.title", nil)
	p.Flash = flash(r)
	s.showPolicy(w, r, v, http.StatusOK, p, nil)
}

// showPolicy shows the policy on p, with the values typed in the form
// when typed is not nil.
func (s *Server) showPolicy(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, typed map[string]string) {
	pol, err := v.admin.Policy(r.Context(), v.org)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	history, err := v.admin.AuditEvents(r.Context(), v.org, admin.AuditQuery{Action: "policy.set", Limit: historyLength})
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	view := PolicyView{Action: v.home() + "policy", History: history}
	defaults := policy.Default().Settings()
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
	pol, err := v.admin.Policy(r.Context(), v.org)
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
	_, err = v.admin.SetPolicy(r.Context(), v.org, changes)
	if err == nil {
		page.Redirect(w, r, withDone(v.home()+"policy", "console.flash.policy"))
		return
	}
	if !errors.Is(err, admin.ErrInvalid) {
		s.unavailable(w, r, err)
		return
	}
	p := s.page(w, r, v, "console.policy.title", nil)
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
