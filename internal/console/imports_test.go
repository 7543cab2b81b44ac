package console

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// uploadForm posts fields and a file (field "file") as the import
// forms do, with the browser's CSRF token.
func (s *site) uploadForm(c *http.Client, path string, fields map[string]string, data []byte) response {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", s.csrf(c))
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "upload")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", s.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return s.do(c, req)
}

// finished follows an import's page until its report is in.
func (s *site) finished(c *http.Client, job string) response {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.get(c, job)
		if r.status != http.StatusOK || !strings.Contains(r.body, `http-equiv="refresh"`) {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the import at %s has not finished", job)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestImportPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		base := "/o/acme/admin/import"

		r := s.get(c, base)
		has(t, r, en("console.import.users"), en("console.import.tokens"), `enctype="multipart/form-data"`, `href="/o/acme/admin/users.csv"`)

		csv := []byte("username,email,display name\nbob,bob@acme.example,Bob\ncarol,,Carol\nann,,Ann again\n")
		// The preview: a row refused by its line, nothing changed.
		r = s.uploadForm(c, base+"/users/preview", nil, csv)
		if r.status != http.StatusOK {
			t.Fatalf("preview: %d\n%s", r.status, r.body)
		}
		has(t, r, en("console.import.report_dry"), "line 4 (ann): user ann exists already in acme")
		if n := figure(t, r, "console.import.to_add"); n != 2 {
			t.Errorf("the preview would add %d users, want 2", n)
		}
		if _, err := s.admin.User(s.ctx, s.org, "bob"); err == nil {
			t.Fatal("the preview added bob")
		}

		// The import, good rows only, runs as a job whose page shows the report.
		r = s.uploadForm(c, base+"/users", map[string]string{"skip_bad": "1", "invite": "1"}, csv)
		job := location(r)
		if !strings.HasPrefix(job, base+"/jobs/") {
			t.Fatalf("import: %d %q, want the job's page", r.status, job)
		}
		r = s.finished(c, job)
		has(t, r, en("console.import.report_done"), "line 4 (ann)")
		if n := figure(t, r, "console.import.added"); n != 2 {
			t.Errorf("the import added %d users, want 2", n)
		}
		if _, err := s.admin.User(s.ctx, s.org, "carol"); err != nil {
			t.Errorf("after the import: %v", err)
		}
		if n := len(s.mails()); n != 1 {
			t.Errorf("%d mails, want bob's invitation", n)
		}

		// A file refused whole is an error on its field.
		r = s.uploadForm(c, base+"/users/preview", nil, []byte("username,phone\nx,1\n"))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="file-users-error"`) || !strings.Contains(r.body, "phone") {
			t.Errorf("an unknown column: %d\n%s", r.status, r.body)
		}
		r = s.uploadForm(c, base+"/users/preview", nil, nil)
		has(t, r, en("console.import.file_missing"))

		// Tokens: a bad MAC is refused whole, the right key imports.
		fig6, err := os.ReadFile("../importer/testdata/rfc6030-figure6.pskc")
		if err != nil {
			t.Fatal(err)
		}
		psk := map[string]string{"psk": "12345678901234567890123456789012"}
		r = s.uploadForm(c, base+"/tokens/preview", psk, bytes.Replace(fig6, []byte("Su+N"), []byte("Tu+N"), 1))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "MAC of the secret does not match") {
			t.Errorf("a bad MAC: %d\n%s", r.status, r.body)
		}
		r = s.uploadForm(c, base+"/tokens/preview", map[string]string{"psk": "not hex"}, fig6)
		has(t, r, en("console.import.psk_hex"))
		r = s.uploadForm(c, base+"/tokens/preview", psk, fig6)
		has(t, r, en("console.import.report_dry"), en("console.import.format_found", en("console.import.format.pskc")))
		r = s.finished(c, location(s.uploadForm(c, base+"/tokens", psk, fig6)))
		if n := figure(t, r, "console.import.to_inventory"); n != 1 {
			t.Errorf("%d tokens for the inventory, want 1\n%s", n, r.body)
		}
		if inv, _ := s.admin.Inventory(s.ctx, s.org, "", 0); len(inv) != 1 {
			t.Errorf("inventory = %+v", inv)
		}

		// From the inventory to carol, on her page.
		if r := s.get(c, "/o/acme/admin/users/carol"); !strings.Contains(r.body, `action="/o/acme/admin/users/carol/tokens/assign"`) {
			t.Error("carol's page offers no hardware token, with one in stock")
		}
		r = s.post(c, "/o/acme/admin/users/carol/tokens/assign", url.Values{"serial": {"nope"}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="serial-error"`) {
			t.Errorf("an unknown serial: %d", r.status)
		}
		r = s.post(c, "/o/acme/admin/users/carol/tokens/assign", url.Values{"serial": {"987654321"}})
		if !strings.Contains(location(r), "done=console.flash.token_assigned") {
			t.Errorf("assign: %d %q", r.status, location(r))
		}
		if _, ts, err := s.admin.Tokens(s.ctx, s.org, "carol"); err != nil || len(ts) != 1 || ts[0].Serial != "987654321" || ts[0].State != store.TokenActive {
			t.Errorf("carol's tokens = %+v, %v", ts, err)
		}

		// The export.
		r = s.get(c, "/o/acme/admin/users.csv")
		if !strings.HasPrefix(r.body, "username,email,display name,language,role,status") || !strings.Contains(r.body, "\ncarol,,Carol,,user,active,1,,\n") ||
			r.header.Get("Content-Disposition") != `attachment; filename="acme-users.csv"` {
			t.Errorf("export: %v\n%s", r.header, r.body)
		}
	})
}

func TestImportJobPage(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	ann := s.person(s.org, "ann", store.RoleAdmin)
	c := s.signIn(ann)
	// A job still running reloads itself, and stops when asked.
	s.console.imports.add("running", &importJob{orgID: s.org.ID, kind: "users", done: 3000, total: 10000}, s.clock.Now())
	r := s.get(c, "/o/acme/admin/import/jobs/running")
	has(t, r, `<meta http-equiv="refresh" content="2">`, `<progress id="progress" max="10000" value="3000">`, en("console.import.progress", 3000, 10000),
		`href="/o/acme/admin/import/jobs/running?refresh=off"`)
	r = s.get(c, "/o/acme/admin/import/jobs/running?refresh=off")
	if strings.Contains(r.body, `http-equiv="refresh"`) || !strings.Contains(r.body, `href="/o/acme/admin/import/jobs/running?refresh=off"`) {
		t.Errorf("with the reload stopped:\n%s", r.body)
	}
	// Another organization's job, or none, is not found.
	globex, err := s.admin.CreateOrg(s.ctx, "globex", "Globex")
	if err != nil {
		t.Fatal(err)
	}
	s.console.imports.add("theirs", &importJob{orgID: globex.ID, kind: "users"}, s.clock.Now())
	for _, id := range []string{"theirs", "nothing"} {
		if r := s.get(c, "/o/acme/admin/import/jobs/"+id); r.status != http.StatusNotFound {
			t.Errorf("job %s: %d, want 404", id, r.status)
		}
	}
	// A file beyond the console's limit is refused as too large.
	r = s.uploadForm(c, "/o/acme/admin/import/users/preview", nil, bytes.Repeat([]byte("x"), maxUpload+1))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, en("console.import.too_large")) {
		t.Errorf("a file too large: %d", r.status)
	}
}
