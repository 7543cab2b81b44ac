package console

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/policy"
)

// settingsRoutes are the organization's settings: what its users see of
// it (name, logo, support contact, where to go once enrolled), whom its
// mails come from and its time zone. Like the policy, an admin's matter.
func (s *Server) settingsRoutes() []route {
	return []route{
		{pattern: "GET /settings", scope: orgScope, action: admin.PolicyWrite, h: s.settingsPage},
		{pattern: "POST /settings", scope: orgScope, action: admin.PolicyWrite, fresh: true, h: s.setSettings},
		{pattern: "POST /settings/logo", scope: orgScope, action: admin.PolicyWrite, fresh: true, h: s.setLogo},
		{pattern: "POST /settings/logo/remove", scope: orgScope, action: admin.PolicyWrite, h: s.removeLogo},
	}
}

func init() {
	for _, post := range []string{"", "/logo", "/logo/remove"} {
		forms["POST /o/{org}/admin/settings"+post] = pageForm("/o/{org}/admin/settings")
	}
}

// SettingsView is the organization's settings (page "settings"): one
// form posting the fields, each under its Key with csrf_token, to
// Action; a form uploading a logo (multipart, field "logo") to
// LogoAction; and one removing it, posting to RemoveAction.
type SettingsView struct {
	Action       string
	Fields       []SettingsField
	LogoAction   string
	RemoveAction string
	LogoURL      string // the current logo, or empty
	MaxLogoKiB   int
	LogoTypes    string // the accepted types, as people name them: "PNG, JPEG, GIF, WebP"
}

// SettingsField is one field of the settings form: its catalogue texts
// are console.settings.field.<Key>.{label,help}.
type SettingsField struct {
	Key   string
	Value string // the stored value, or as typed after a refusal
	Max   int    // the most characters it takes, 0 for no limit of its own
	Type  string // the input's type: "text" or "url"
}

// settingsKeys are the form's fields, in its order.
var settingsKeys = []string{"name", "support_contact", "continue_url", "sender_name", "time_zone"}

// logoTypeNames names the accepted logo types as people know them.
var logoTypeNames = map[string]string{"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}

func logoTypes() string {
	names := make([]string, len(admin.LogoTypes))
	for i, t := range admin.LogoTypes {
		names[i] = logoTypeNames[t]
		if names[i] == "" {
			names[i] = t
		}
	}
	return strings.Join(names, ", ")
}

// storedSettings are the values the form starts from.
func (s *Server) storedSettings(r *http.Request, v *visit) (map[string]string, error) {
	org, err := s.Store.OrgBySlug(r.Context(), v.org.Slug)
	if err != nil {
		return nil, err
	}
	pol, err := v.admin.Policy(r.Context(), org)
	if err != nil {
		return nil, err
	}
	v.org = org
	return map[string]string{
		"name":            org.Name,
		"support_contact": org.SupportContact,
		"continue_url":    org.ContinueURL,
		"sender_name":     org.SenderName,
		"time_zone":       pol.TimeZone,
	}, nil
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := s.page(w, r, v, "console.settings.title", nil)
	p.Flash = flash(r)
	s.showSettings(w, r, v, http.StatusOK, p, nil)
}

// showSettings shows the settings on p, with the values typed in the
// form when typed is not nil.
func (s *Server) showSettings(w http.ResponseWriter, r *http.Request, v *visit, status int, p page.Page, typed map[string]string) {
	values, err := s.storedSettings(r, v)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	// The header shows the organization as it is now: renamed, with a
	// new logo.
	p.In(v.org)
	maxes := map[string]int{"support_contact": admin.MaxSupportContact, "continue_url": admin.MaxContinueURL, "sender_name": admin.MaxSenderName}
	h := v.home() + "settings"
	view := SettingsView{Action: h, LogoAction: h + "/logo", RemoveAction: h + "/logo/remove",
		LogoURL: page.LogoURL(v.org), MaxLogoKiB: admin.MaxLogoBytes >> 10, LogoTypes: logoTypes()}
	for _, k := range settingsKeys {
		f := SettingsField{Key: k, Value: values[k], Max: maxes[k], Type: "text"}
		if k == "continue_url" {
			f.Type = "url"
		}
		if value, ok := typed[k]; ok {
			f.Value = value
		}
		view.Fields = append(view.Fields, f)
	}
	p.Data = view
	s.show(w, status, "settings", p)
}

// setSettings sends the fields that differ from the stored values to
// SetOrgProfile, which changes all of them or, refusing one, none.
func (s *Server) setSettings(w http.ResponseWriter, r *http.Request, v *visit) {
	stored, err := s.storedSettings(r, v)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	typed, changed := map[string]string{}, map[string]*string{}
	for _, k := range settingsKeys {
		value := strings.TrimSpace(r.PostFormValue(k))
		typed[k] = value
		if value != stored[k] {
			changed[k] = &value
		}
	}
	if len(changed) == 0 {
		page.Redirect(w, r, withDone(v.home()+"settings", "console.flash.settings_unchanged"))
		return
	}
	_, err = v.admin.SetOrgProfile(r.Context(), v.org, admin.OrgProfileChange{
		Name: changed["name"],
		OrgSettingsChange: admin.OrgSettingsChange{
			SupportContact: changed["support_contact"], ContinueURL: changed["continue_url"], SenderName: changed["sender_name"],
		},
		TimeZone: changed["time_zone"],
	})
	if err == nil {
		page.Redirect(w, r, withDone(v.home()+"settings", "console.flash.settings"))
		return
	}
	if !errors.Is(err, admin.ErrInvalid) {
		s.unavailable(w, r, err)
		return
	}
	p := s.page(w, r, v, "console.settings.title", nil)
	// The refusal names every problem; the page shows the first on its
	// field.
	var ke *policy.KeyError
	if errors.As(err, &ke) {
		p.Error, p.ErrorArgs, p.ErrorField = "console.error.invalid", []any{detail(ke.Err)}, ke.Key
	} else {
		p.Error, p.ErrorArgs = "console.error.invalid", []any{detail(err)}
	}
	s.showSettings(w, r, v, http.StatusBadRequest, p, typed)
}

// setLogo takes the uploaded logo, which admin checks (its size and its
// type, found from its bytes).
func (s *Server) setLogo(w http.ResponseWriter, r *http.Request, v *visit) {
	f, _, err := r.FormFile("logo")
	if err != nil {
		s.logoRefused(w, r, v, "console.settings.logo_missing", nil)
		return
	}
	defer f.Close()
	// One byte more than allowed tells too large from just right.
	data, err := io.ReadAll(io.LimitReader(f, admin.MaxLogoBytes+1))
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	maxKiB := admin.MaxLogoBytes >> 10
	switch _, terr := admin.LogoType(data); {
	case len(data) == 0:
		s.logoRefused(w, r, v, "console.settings.logo_missing", nil)
		return
	case len(data) > admin.MaxLogoBytes:
		s.logoRefused(w, r, v, "console.settings.logo_too_large", []any{maxKiB, logoTypes()})
		return
	case terr != nil:
		s.logoRefused(w, r, v, "console.settings.logo_type", []any{logoTypes(), maxKiB})
		return
	}
	if _, err := v.admin.SetOrgLogo(r.Context(), v.org, data); err != nil {
		if errors.Is(err, admin.ErrInvalid) {
			s.logoRefused(w, r, v, "console.error.invalid", []any{detail(err)})
			return
		}
		s.unavailable(w, r, err)
		return
	}
	page.Redirect(w, r, withDone(v.home()+"settings", "console.flash.logo"))
}

// logoRefused shows the settings page with why the logo was refused on
// the logo's field.
func (s *Server) logoRefused(w http.ResponseWriter, r *http.Request, v *visit, msg string, args []any) {
	p := s.page(w, r, v, "console.settings.title", nil)
	p.Error, p.ErrorArgs, p.ErrorField, p.ErrorForm = msg, args, "logo", "console.settings.logo"
	s.showSettings(w, r, v, http.StatusBadRequest, p, nil)
}

func (s *Server) removeLogo(w http.ResponseWriter, r *http.Request, v *visit) {
	if _, err := v.admin.RemoveOrgLogo(r.Context(), v.org); err != nil {
		s.unavailable(w, r, err)
		return
	}
	page.Redirect(w, r, withDone(v.home()+"settings", "console.flash.logo_removed"))
}
