package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// TestOrgsShowJSON checks the documented fields and the history of an
// organization that was renamed, changed status and received keys.
func TestOrgsShowJSON(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	code, out, errOut := e.run(t, state, "orgs", "show", "754", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("orgs show JSON: %v\n%s", err, out)
	}
	if m := missingKeys(raw, "org", "events", "outcomes"); len(m) > 0 {
		t.Fatalf("lacks %v", m)
	}
	org := raw["org"].(map[string]any)
	if m := missingKeys(org, "orgId", "name", "ecmId", "status", "statusName", "class", "listed", "firstSeen", "lastSeen", "mode",
		"nonProd", "prod", "kids", "lastChange", "lastError", "onJwkSetUrl", "fhirBaseUrls"); len(m) > 0 {
		t.Errorf("org lacks %v", m)
	}
	var show struct {
		Org struct {
			Name, Mode string
			Kids       []string
			Prod       struct{ RunID int64 }
		}
		Events []struct {
			Kind, Old, New, What string
			SyncID               int64
		}
		Outcomes []struct{ Action, Result string }
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range show.Events {
		kinds = append(kinds, ev.Kind)
	}
	if strings.Join(kinds, ",") != "new,renamed,status" {
		t.Errorf("events %v, want new, renamed, status", kinds)
	}
	if ev := show.Events[1]; ev.Old != "Akron Health System" || ev.New != "Summa Akron Health" || ev.What != `renamed from "Akron Health System"` {
		t.Errorf("rename %+v", ev)
	}
	if ev := show.Events[2]; ev.Old != "3" || ev.New != "1" || ev.What != "status nonprod-only → enabled" {
		t.Errorf("status change %+v", ev)
	}
	if show.Org.Name != "Summa Akron Health" || show.Org.Mode != "jwks" || strings.Join(show.Org.Kids, ",") != "key-a" || show.Org.Prod.RunID != 2 {
		t.Errorf("org %+v", show.Org)
	}
	if len(show.Outcomes) != 1 || show.Outcomes[0].Action != "complete" || show.Outcomes[0].Result != "ok" {
		t.Errorf("outcomes %+v", show.Outcomes)
	}
}

// TestFHIRBaseURLs shows the Brands bundle's base URLs in `orgs show` and
// the reports once a bundle was imported.
func TestFHIRBaseURLs(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	ctx := context.Background()
	s, err := store.Open(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.App(ctx, e.portal, sim.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceBrands(ctx, app.ID, &store.BrandsData{
		Import: store.BrandsImport{ImportedAt: Day1, Source: "brands.json", Organizations: 2, Endpoints: 2},
		Endpoints: []store.Endpoint{
			{OrgID: "528", Address: "https://fhir.upstate.test/api/FHIR/R4/", Name: "Upstate"},
			{OrgID: "528", Address: "https://fhir.upstate.test/proxy/R4/", Name: "Upstate proxy"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		file string
		want []string
	}{
		{"orgs show with URLs", []string{"orgs", "show", "528"}, "", []string{
			"  FHIR base URL   https://fhir.upstate.test/api/FHIR/R4/\n                  https://fhir.upstate.test/proxy/R4/\n"}},
		{"orgs show without", []string{"orgs", "show", "1647"}, "", []string{"FHIR base URL   none in the Brands bundle imported 2026-03-02 09:00 UTC"}},
		{"orgs show JSON", []string{"orgs", "show", "528", "--output", "json"}, "", []string{`"fhirBaseUrls": [
      "https://fhir.upstate.test/api/FHIR/R4/",
      "https://fhir.upstate.test/proxy/R4/"
    ]`}},
		{"status JSON", []string{"status", "--output", "json"}, "", []string{`"source": "brands.json"`}},
		{"report CSV", []string{"report", "--format", "csv", "--out", "-"}, "", []string{
			",true,https://fhir.upstate.test/api/FHIR/R4/ https://fhir.upstate.test/proxy/R4/,,,\n"}},
		{"report HTML", []string{"report", "--out", filepath.Join(dir, "r.html")}, filepath.Join(dir, "r.html"), []string{
			"<th>FHIR base URL</th>", "<div>https://fhir.upstate.test/proxy/R4/</div>", "FHIR base URLs from the Brands bundle imported 2026-03-02 09:00 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := e.run(t, state, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if tt.file != "" {
				b, err := os.ReadFile(tt.file)
				if err != nil {
					t.Fatal(err)
				}
				out = string(b)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
