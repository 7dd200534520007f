package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/brands"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// brandsFixtures holds the synthetic bundles.
const brandsFixtures = "../../testdata/brands"

// brandsEnv is a simulated portal with a state database in a temp dir.
type brandsEnv struct {
	sim    *sim.Sim
	dir    *sim.Brands
	srv    *httptest.Server
	cookie string
	state  string
}

// smallBundleOrgs are the management page organizations that
// testdata/brands/small.json describes (or, for some, does not).
var smallBundleOrgs = []sim.Org{
	{OrgID: "200", ECMId: "55", Name: "St. Luke's Hospital", Approved: sim.ApprovedBoth},
	{OrgID: "392", ECMId: "1203", Name: "Brown University Health", Approved: sim.ApprovedBoth},
	{OrgID: "525", ECMId: "1041", Name: "Acumen Physician Solutions", Approved: sim.ApprovedNonProd},
	{OrgID: "1108", ECMId: "901", Name: "AdvantageCare Physicians", Approved: sim.ApprovedBoth},
	{OrgID: "1696", ECMId: "762", Name: "Access Community Health Network", Approved: sim.ApprovedBoth},
	{OrgID: "16770", ECMId: "1328", Name: "Children's National Hospital", Approved: sim.ApprovedBoth},
	{OrgID: "30875", ECMId: "1441", Name: "Dickson Medical Associates", Approved: sim.ApprovedNone},
	{OrgID: "31291", ECMId: "1486", Name: "Reno Orthopaedic Clinic", Approved: sim.ApprovedBoth},
}

// newBrandsEnv starts a simulator with orgs (generated ones when nil) and
// the public directory, and syncs the organizations into a fresh state
// database.
func newBrandsEnv(t *testing.T, orgs []sim.Org, generated int) *brandsEnv {
	t.Helper()
	cfg := sim.Config{Orgs: -1, Seed: 1}
	if orgs == nil {
		cfg.Orgs = generated
	}
	s := sim.New(cfg)
	for _, o := range orgs {
		s.AddOrg(o)
	}
	e := &brandsEnv{sim: s, dir: s.ServeBrands(sim.BrandsConfig{SlowDelay: 10 * time.Second}), cookie: s.NewSession(),
		state: filepath.Join(t.TempDir(), "state.db")}
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	if code, _, errOut := e.run(t, "orgs", "sync", "--rate", "50"); code != 0 {
		t.Fatalf("orgs sync: exit %d: %s", code, errOut)
	}
	return e
}

// run runs the real command line in-process against the simulator.
func (e *brandsEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	all := append([]string{"--portal", e.srv.URL, "--app", sim.DefaultAppID, "--cookie", e.cookie, "--state", e.state}, args...)
	return runCmd(t, testRun{}, all...)
}

// report decodes a --output json report.
func decodeBrands(t *testing.T, out string) brandsJSON {
	t.Helper()
	var r brandsJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("decode report: %v\n%s", err, out)
	}
	return r
}

func TestBrandsFromFile(t *testing.T) {
	e := newBrandsEnv(t, smallBundleOrgs, 0)
	code, out, errOut := e.run(t, "brands", "--bundle", filepath.Join(brandsFixtures, "small.json"), "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r := decodeBrands(t, out)
	if r.Bundle.Organizations != 18 || r.Bundle.Endpoints != 11 || r.Bundle.Brands != 6 || r.Bundle.Unjoined != 2 || !r.Bundle.Imported ||
		r.Bundle.Date == nil || !r.Bundle.Date.Equal(time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("bundle = %+v", r.Bundle)
	}
	if r.Listed != 8 || r.WithEndpoint != 5 || r.Activated != 7 {
		t.Errorf("counts: listed %d, with endpoint %d, activated %d; want 8, 5, 7", r.Listed, r.WithEndpoint, r.Activated)
	}
	wantMissing := []brands.Missing{
		{OrgID: "16770", Name: "Children's National Hospital", ECMId: "1328", Status: 1, Brand: "Children's National Hospital", SubOrgs: 4},
		{OrgID: "31291", Name: "Reno Orthopaedic Clinic", ECMId: "1486", Status: 1},
	}
	if !reflect.DeepEqual(r.NoEndpoint, wantMissing) {
		t.Errorf("no endpoint = %+v, want %+v", r.NoEndpoint, wantMissing)
	}
	wantUnknown := []brands.Unknown{{OrgID: "856", Name: "Sansum Clinic", Address: "https://wavesurescripts.sansumclinic.org/FHIR/api/FHIR/R4"}}
	if !reflect.DeepEqual(r.Unknown, wantUnknown) {
		t.Errorf("unknown = %+v, want %+v", r.Unknown, wantUnknown)
	}
	wantRenamed := []brands.Rename{{OrgID: "392", ECMId: "1203", Name: "Brown University Health", Directory: "Lifespan", Source: "brand",
		Displays: []string{}, EndpointNames: []string{"Lifespan"}, Brand: "Lifespan"}}
	if !reflect.DeepEqual(r.Renamed, wantRenamed) {
		t.Errorf("renamed = %+v, want %+v", r.Renamed, wantRenamed)
	}
	if r.SmartConfig != nil {
		t.Errorf("smartConfig present without --smart-config: %+v", r.SmartConfig)
	}
	if !strings.Contains(errOut, "Read 18 organizations, 11 endpoints and 6 brands") {
		t.Errorf("stderr: %s", errOut)
	}

	// What was learned is stored for orgs list/show and the reports.
	s, err := store.Open(context.Background(), e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, _ := s.App(context.Background(), e.srv.URL, sim.DefaultAppID)
	eps, err := s.Endpoints(context.Background(), app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps["1696"]) != 2 || len(eps["525"]) != 1 || len(eps["16770"]) != 0 {
		t.Errorf("stored endpoints = %+v", eps)
	}

	// Without --bundle the stored import is used, and says so.
	code, out, errOut = e.run(t, "brands")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Brands bundle of 2026-02-10 (imported ",
		"18 organizations, 11 endpoints, 6 brands; 2 endpoints without an OrgId.",
		"Management page: 8 organizations listed, 5 with a public endpoint, 7 activated.",
		"Activated organizations with no public endpoint (2): patients cannot discover them",
		"Children's National Hospital (4 sub-organizations)",
		"Endpoints whose organization is not on the management page (1)",
		"https://wavesurescripts.sansumclinic.org/FHIR/api/FHIR/R4",
		"Names that differ between the two sources (1): likely renames.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "St. Luke") {
		t.Errorf("St. Luke's / Saint Luke's reported as a difference:\n%s", out)
	}

	// CSV: one row per finding.
	code, out, _ = e.run(t, "brands", "--output", "csv")
	if code != 0 {
		t.Fatal(code)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		{"finding", "orgId", "name", "ecmId", "status", "address", "detail"},
		{"no-endpoint", "16770", "Children's National Hospital", "1328", "enabled", "", "no endpoint in the directory; brand Children's National Hospital"},
		{"no-endpoint", "31291", "Reno Orthopaedic Clinic", "1486", "enabled", "", "no endpoint in the directory"},
		{"unknown-org", "856", "Sansum Clinic", "", "", "https://wavesurescripts.sansumclinic.org/FHIR/api/FHIR/R4", "not on the management page"},
		{"renamed", "392", "Brown University Health", "1203", "", "", "endpoints Lifespan; brand Lifespan"},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("csv:\n got %q\nwant %q", rows, wantRows)
	}
}

// TestBrandsBadInputKeepsStoredData runs every kind of bad bundle after a
// good import: each fails with its exit code and one line, and the stored
// directory is the good one still.
func TestBrandsBadInputKeepsStoredData(t *testing.T) {
	e := newBrandsEnv(t, smallBundleOrgs, 0)
	if code, _, errOut := e.run(t, "brands", "--bundle", filepath.Join(brandsFixtures, "small.json")); code != 0 {
		t.Fatalf("good import: exit %d: %s", code, errOut)
	}
	_, before, _ := e.run(t, "brands", "--output", "json")
	closed := httptest.NewServer(nil)
	closed.Close()
	tests := []struct {
		name     string
		bundle   string
		wantCode int
		wantErr  string
	}{
		{"truncated", filepath.Join(brandsFixtures, "truncated.json"), ExitUsage, "the bundle ends early"},
		{"not a bundle", filepath.Join(brandsFixtures, "not-bundle.json"), ExitUsage, "is a FHIR Patient, not a Bundle"},
		{"a key set", filepath.Join(brandsFixtures, "jwks.json"), ExitUsage, "not a FHIR Bundle"},
		{"html file", filepath.Join(brandsFixtures, "page.html"), ExitUsage, "is an HTML page"},
		{"missing file", filepath.Join(t.TempDir(), "brands.json"), ExitUsage, "no such file"},
		{"url answering html", e.srv.URL + "/Account/Login", ExitUsage, "answered an HTML page"},
		{"url answering 404", e.srv.URL + "/Endpoints/Nothing", ExitUsage, "answered HTTP 404"},
		{"unreachable url", closed.URL + "/Endpoints/Brands", ExitUnavailable, "cannot download the bundle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(t, "brands", "--bundle", tc.bundle)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			// Progress lines may come first; the error is one last line.
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "activator: ") || !strings.Contains(last, tc.wantErr) || strings.Count(errOut, "activator: ") != 1 {
				t.Errorf("stderr %q: want one error line naming %q", errOut, tc.wantErr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			_, after, _ := e.run(t, "brands", "--output", "json")
			if after != before {
				t.Errorf("stored directory changed:\nbefore %s\nafter %s", before, after)
			}
		})
	}
}

func TestBrandsUsage(t *testing.T) {
	e := newBrandsEnv(t, smallBundleOrgs, 0)
	empty := &brandsEnv{srv: e.srv, cookie: e.cookie, state: filepath.Join(t.TempDir(), "empty.db")}
	tests := []struct {
		name    string
		env     *brandsEnv
		args    []string
		wantErr string
	}{
		{"no import yet", e, []string{"brands"}, "no Brands bundle imported yet: pass --bundle"},
		{"no orgs synced", empty, []string{"brands", "--bundle", filepath.Join(brandsFixtures, "small.json")}, "run `activator orgs sync` first"},
		{"bad rate", e, []string{"brands", "--smart-config", "--rate", "0"}, "--rate must be above 0"},
		{"bad concurrency", e, []string{"brands", "--smart-config", "--concurrency", "0"}, "--concurrency 0 is out of range"},
		{"bad timeout", e, []string{"brands", "--smart-config", "--timeout", "0s"}, "--timeout must be above 0"},
		{"bad retries", e, []string{"brands", "--smart-config", "--retries", "-1"}, "--retries must be 0 or more"},
		{"other scheme", e, []string{"brands", "--bundle", "ftp://x/brands.json"}, "only files and http(s) URLs"},
		{"stray argument", e, []string{"brands", "brands.json"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := tc.env.run(t, tc.args...)
			if code != ExitUsage || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitUsage, tc.wantErr)
			}
		})
	}
}

// TestBrandsSmartConfig reads the simulator's bundle over HTTP and checks
// every listed organization's server: one slow, one failing, one without
// RS384, one with neither RSA algorithm nor private_key_jwt.
func TestBrandsSmartConfig(t *testing.T) {
	e := newBrandsEnv(t, nil, 30)
	roles := e.dir.Roles()
	code, out, errOut := e.run(t, "brands", "--bundle", e.srv.URL+sim.BrandsPath, "--smart-config",
		"--rate", "1000", "--concurrency", "8", "--timeout", "2s", "--retries", "1", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The slow server answers after 10s unless the client goes away first:
	// each of its two requests was given up (--timeout), none waited out.
	// The simulator records a request once its handler returns, which for
	// one given up may be a moment after the command returned.
	var slowCalls []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		slowCalls = slowCalls[:0]
		for _, c := range e.sim.Calls() {
			if strings.HasSuffix(c.Path, "/.well-known/smart-configuration") && strings.Contains(c.Path, "/"+roles.Slow+"/") {
				slowCalls = append(slowCalls, c.Answer)
			}
		}
		if len(slowCalls) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(slowCalls) != 2 || slowCalls[0] != sim.AnswerCanceled || slowCalls[1] != sim.AnswerCanceled {
		t.Errorf("the slow server's requests were answered %q, want 2 given up by the client (%q): --timeout did not bound them", slowCalls, sim.AnswerCanceled)
	}
	r := decodeBrands(t, out)
	if len(r.Unknown) != sim.DefaultBrandsUnknown || len(r.Renamed) != len(roles.Renamed) {
		t.Errorf("unknown %d, renamed %d; want %d and %d", len(r.Unknown), len(r.Renamed), sim.DefaultBrandsUnknown, len(roles.Renamed))
	}
	byOrg := map[string][]smartJSON{}
	for _, sc := range r.SmartConfig {
		byOrg[sc.OrgID] = append(byOrg[sc.OrgID], sc)
	}
	tests := []struct {
		role, org    string
		wantProblems []string
		wantNote     string
		wantAttempts int
	}{
		{role: "slow", org: roles.Slow, wantProblems: []string{brands.ProblemNoAnswer}, wantAttempts: 2},
		{role: "failing", org: roles.Failing, wantProblems: []string{brands.ProblemNoAnswer}, wantAttempts: 2},
		{role: "no RS384", org: roles.NoRS384, wantNote: "sign client assertions for this organization with RS256", wantAttempts: 1},
		{role: "unsupported", org: roles.Unsupported, wantProblems: []string{brands.ProblemNoPrivateKey, brands.ProblemNoRSAlg}, wantAttempts: 1},
	}
	flagged := map[string]bool{}
	for _, tc := range tests {
		scs := byOrg[tc.org]
		if len(scs) == 0 {
			t.Errorf("%s org %s was not checked", tc.role, tc.org)
			continue
		}
		for _, sc := range scs {
			var kinds []string
			for _, p := range sc.Problems {
				kinds = append(kinds, p.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tc.wantProblems, ",") || sc.Attempts != tc.wantAttempts {
				t.Errorf("%s org %s: problems %v after %d attempts, want %v after %d", tc.role, tc.org, kinds, sc.Attempts, tc.wantProblems, tc.wantAttempts)
			}
			if tc.wantNote != "" && !strings.Contains(strings.Join(sc.Notes, " "), tc.wantNote) {
				t.Errorf("%s org %s: notes %v", tc.role, tc.org, sc.Notes)
			}
		}
		flagged[tc.org] = true
	}
	checked := 0
	for org, scs := range byOrg {
		for _, sc := range scs {
			checked++
			if !flagged[org] && (len(sc.Problems) != 0 || !sc.Answered || !strings.HasSuffix(sc.TokenEndpoint, "/oauth2/token")) {
				t.Errorf("org %s: %+v", org, sc)
			}
		}
	}
	endpoints := 0
	for _, o := range e.sim.Orgs() {
		if !contains(roles.NoEndpoint, o.OrgID) {
			endpoints++
			if contains(roles.TwoEndpoints, o.OrgID) {
				endpoints++
			}
		}
	}
	if checked != endpoints {
		t.Errorf("%d endpoints checked, want the %d of listed organizations", checked, endpoints)
	}

	// Each answer is stored with its endpoint.
	s, err := store.Open(context.Background(), e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, _ := s.App(context.Background(), e.srv.URL, sim.DefaultAppID)
	eps, _ := s.Endpoints(context.Background(), app.ID)
	if sc := eps[roles.Unsupported][0].Smart; sc == nil || !sc.Answered || !reflect.DeepEqual(sc.SigningAlgs, []string{"ES384"}) {
		t.Errorf("stored check of %s = %+v", roles.Unsupported, sc)
	}
	if sc := eps[roles.Slow][0].Smart; sc == nil || sc.Answered || !strings.Contains(sc.Error, "no answer within 2s") {
		t.Errorf("stored check of %s = %+v", roles.Slow, sc)
	}

	// The table names each problem and the note.
	code, out, _ = e.run(t, "brands", "--smart-config", "--rate", "1000", "--concurrency", "8", "--timeout", "2s", "--retries", "0")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"SMART configuration problems (", "no answer within 2s", "HTTP 500",
		"lists neither RS384 nor RS256", "does not list private_key_jwt", "Notes (", "RS384 is not listed"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// TestBrandsNeverPrintsSecrets: the session cookie goes to the portal
// only, never to the output of a brands run.
func TestBrandsNeverPrintsSecrets(t *testing.T) {
	e := newBrandsEnv(t, smallBundleOrgs, 0)
	for _, format := range []string{"table", "json", "csv"} {
		_, out, errOut := e.run(t, "--verbose", "brands", "--bundle", filepath.Join(brandsFixtures, "small.json"), "--output", format)
		for _, part := range strings.Split(e.cookie, ";") {
			_, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if v != "" && (strings.Contains(out, v) || strings.Contains(errOut, v)) {
				t.Fatalf("--output %s printed a cookie value", format)
			}
		}
	}
	if _, err := os.Stat(e.state); err != nil {
		t.Fatal(err)
	}
}
