package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/sim"
)

// updateGolden rewrites the golden files in testdata/golden instead of
// comparing with them: go test ./internal/cli -run Golden -update
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenDir holds the expected outputs of status, runs and orgs show.
const goldenDir = "../../testdata/golden"

// testClock is a clock the test sets; it moves only when told, so every
// recorded time, and so every golden file, is the same on every run.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// portalCallTime is how long each simulated portal request takes on the
// test clock: times move with the portal calls, whose number the protocol
// fixes, so the history reads like a real one and stays the same.
const portalCallTime = 250 * time.Millisecond

// historyEnv is an app with three days of history, built once with real
// commands against the simulator and a fixed clock:
//
//	day 1 09:00  orgs sync: 40 organizations
//	day 1 09:30  run 1: JWK Set URL for org 528
//	day 2        an org arrives already enabled, one is renamed, one is gone
//	day 2 02:00  run 2: direct JWKS (key-a) everywhere; one straggler refuses
//	day 3 02:00  run 3: orgs 1647 and 2249 get key-b for non-production (--split)
//
// Read-only commands then run at day 3 03:00 against a copy of the state.
type historyEnv struct {
	portal string
	keys   string
	config string // an empty config file: no setting comes from the machine
	state  string // the built database; tests work on copies
	clock  *testClock
	sim    *sim.Sim
}

var (
	historyOnce sync.Once
	history     *historyEnv
	historyErr  error
)

// Day1 is the history's first day; every time in the golden files follows.
var Day1 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// ReadAt is when the read-only commands run.
var ReadAt = Day1.Add(48*time.Hour - 6*time.Hour)

// historyState returns the shared history, building it on first use.
// -short skips the tests that read it: building it runs a dozen commands
// against the simulator (make test-short).
func historyState(t *testing.T) *historyEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a multi-day history of syncs and runs: run without -short (make test)")
	}
	historyOnce.Do(func() { history, historyErr = buildHistory() })
	if historyErr != nil {
		t.Fatalf("build the history: %v", historyErr)
	}
	return history
}

func buildHistory() (*historyEnv, error) {
	keys, err := filepath.Abs("../../testdata/keys")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "activator-history-")
	if err != nil {
		return nil, err
	}
	clock := &testClock{}
	s := sim.New(sim.Config{Orgs: 40, Seed: 1, Now: clock.Now})
	// The server lives as long as the test binary: every test of the
	// package may share the history.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clock.Advance(portalCallTime)
		s.ServeHTTP(w, r)
	}))
	e := &historyEnv{portal: srv.URL, keys: keys, state: filepath.Join(dir, "state.db"), clock: clock, sim: s,
		config: filepath.Join(dir, "config.toml")}
	if err := os.WriteFile(e.config, nil, 0o600); err != nil {
		return nil, err
	}
	cookie := s.NewSession()
	step := func(at time.Time, want int, args ...string) error {
		clock.Set(at)
		full := append([]string{"--config", e.config, "--portal", e.portal, "--app", sim.DefaultAppID, "--state", e.state, "--cookie", cookie}, args...)
		if code, out, errOut := runCmd(nil, testRun{now: clock.Now}, full...); code != want {
			return fmt.Errorf("%s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return nil
	}
	rsaA, rsaB := filepath.Join(keys, "rsa-a.jwks.json"), filepath.Join(keys, "rsa-b.jwks.json")
	rotation := filepath.Join(keys, "rotation.jwks.json")
	if err := step(Day1, ExitOK, "orgs", "sync"); err != nil {
		return nil, err
	}
	if err := step(Day1.Add(30*time.Minute), ExitOK, "activate", "--jku", "--org", "528", "--rate", "50", "--yes"); err != nil {
		return nil, err
	}
	s.AddOrg(sim.Org{OrgID: "32586", ECMId: "21001", Name: "eleHealth", Approved: 1})
	s.RenameOrg("754", "Summa Akron Health")
	s.RemoveOrg("36810")
	if err := step(Day1.Add(17*time.Hour), ExitFailures, "activate", "--jwks-file", rsaA, "--rate", "50", "--yes"); err != nil {
		return nil, err
	}
	if err := step(Day1.Add(41*time.Hour), ExitOK, "activate", "--nonprod-jwks", rsaB, "--prod-jwks", rotation, "--split",
		"--reactivate", "--org", "1647", "--org", "2249", "--rate", "50", "--yes"); err != nil {
		return nil, err
	}
	clock.Set(ReadAt)
	return e, nil
}

// copyState copies the built database into the test's own directory.
func (e *historyEnv) copyState(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "state.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(e.state + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// run runs a command against state at ReadAt.
func (e *historyEnv) run(t *testing.T, state string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := append([]string{"--config", e.config, "--portal", e.portal, "--app", sim.DefaultAppID, "--state", state}, args...)
	return runCmd(t, testRun{now: func() time.Time { return ReadAt }}, full...)
}

// normalize replaces what differs between machines and runs: the
// simulator's address and the keys directory.
func (e *historyEnv) normalize(s string) string {
	s = strings.ReplaceAll(s, e.portal, "$PORTAL")
	return strings.ReplaceAll(s, e.keys, "$KEYS")
}

// checkGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}

// TestGoldenOutputs snapshots the human outputs of the read-only commands.
func TestGoldenOutputs(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	tests := []struct {
		golden string
		args   []string
	}{
		{"status.txt", []string{"status"}},
		{"status-all.txt", []string{"status", "--all"}},
		{"status.json", []string{"status", "--output", "json"}},
		{"runs.txt", []string{"runs"}},
		{"runs.csv", []string{"runs", "--output", "csv"}},
		{"runs-show-1.txt", []string{"runs", "show", "1"}},
		{"runs-show-2.txt", []string{"runs", "show", "2"}},
		{"runs-show-3.txt", []string{"runs", "show", "3"}},
		{"runs-show-3.csv", []string{"runs", "show", "3", "--output", "csv"}},
		{"orgs-show-528.txt", []string{"orgs", "show", "528"}},
		{"orgs-show-754.txt", []string{"orgs", "show", "754"}},
		{"orgs-show-1647.txt", []string{"orgs", "show", "1647"}},
		{"orgs-show-28679.txt", []string{"orgs", "show", "28679"}},
		{"orgs-show-36810.txt", []string{"orgs", "show", "36810"}},
		{"report.csv", []string{"report", "--out", "-", "--format", "csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, errOut := e.run(t, state, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGolden(t, tt.golden, e.normalize(out))
		})
	}
}

// TestStatusJSONFields checks every field `status --help` documents, and
// that the values agree with the history.
func TestStatusJSONFields(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	code, out, errOut := e.run(t, state, "status", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("status --output json is not JSON: %v\n%s", err, out)
	}
	fields := map[string][]string{
		"":          {"app", "portal", "generatedAt", "lastSync", "lastRun", "counts", "listed", "gone", "attention", "keySets", "jwkSetUrl", "brands"},
		"lastSync":  {"id", "at", "total", "first", "new", "renamed", "gone", "statusChanged", "changes"},
		"lastRun":   {"id", "started", "finished", "durationSeconds", "mode", "split", "nonProdKeys", "prodKeys", "planned", "outcome", "args", "calls", "results"},
		"counts":    {"status", "name", "class", "count"},
		"attention": {"orgId", "name", "status", "statusName", "reason", "message"},
		"keySets":   {"thumbprints", "kids", "firstUsed", "nonProdOrgs", "prodOrgs", "orgs"},
		"jwkSetUrl": {"orgId", "name", "status", "statusName", "reason", "nonProd", "prod"},
	}
	for parent, keys := range fields {
		obj := m
		if parent != "" {
			switch v := m[parent].(type) {
			case map[string]any:
				obj = v
			case []any:
				if len(v) == 0 {
					t.Fatalf("%s is empty; the history should fill it", parent)
				}
				obj = v[0].(map[string]any)
			default:
				t.Fatalf("%s is %T, want an object or a list", parent, m[parent])
			}
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("status JSON: %s has no %q", parent, k)
			}
		}
	}
	for _, k := range []string{"history", "orgs"} {
		if _, ok := m[k]; ok {
			t.Errorf("status JSON carries %q: that is the report's", k)
		}
	}

	var st struct {
		Listed, Gone int
		Counts       []struct {
			Name  string
			Count int
		}
		Attention []struct{ OrgID, Reason string }
		KeySets   []struct {
			Kids                  []string
			NonProdOrgs, ProdOrgs int
		}
		JWKSetURL []struct{ OrgID, Reason string } `json:"jwkSetUrl"`
		LastRun   struct {
			ID      int64
			Outcome string
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, c := range st.Counts {
		sum += c.Count
	}
	if sum != st.Listed || st.Listed != 40 || st.Gone != 1 {
		t.Errorf("counts sum to %d, listed %d, gone %d; want 40 listed (40 - 1 gone + 1 new) and 1 gone", sum, st.Listed, st.Gone)
	}
	if st.LastRun.ID != 3 || st.LastRun.Outcome != "done" {
		t.Errorf("last run = %+v, want run 3 done", st.LastRun)
	}
	reasons := map[string]string{}
	for _, a := range st.Attention {
		reasons[a.OrgID] = a.Reason
	}
	straggler := e.sim.Stragglers()[0]
	if reasons[straggler] != "refused" {
		t.Errorf("attention = %v, want straggler %s refused", st.Attention, straggler)
	}
	jku := map[string]string{}
	for _, j := range st.JWKSetURL {
		jku[j.OrgID] = j.Reason
	}
	if jku["528"] != "jku-upload" {
		t.Errorf("528 got the JWK Set URL in run 1 (run 2 skipped it: enabled): jwkSetUrl = %v", jku)
	}
	if jku["32586"] != "no-upload" {
		t.Errorf("32586 arrived enabled with no upload: jwkSetUrl = %v", jku)
	}
	if _, ok := jku["36810"]; ok {
		t.Errorf("36810 is no longer listed but counted on the JWK Set URL")
	}
	holders := map[string][2]int{}
	for _, k := range st.KeySets {
		holders[strings.Join(k.Kids, ",")] = [2]int{k.NonProdOrgs, k.ProdOrgs}
	}
	if holders["key-b"] != [2]int{2, 0} {
		t.Errorf("key-b holders = %v, want 2 non-production, 0 production", holders["key-b"])
	}
	if a := holders["key-a"]; a[0] != a[1] || a[0] == 0 {
		t.Errorf("key-a holders = %v, want as many in production as in non-production", a)
	}
	if r := holders["key-a,key-b"]; r != [2]int{0, 2} {
		t.Errorf("rotation set holders = %v, want 0 non-production, 2 production", r)
	}
}

// TestStatusBeforeAnySync shows the empty state, not an error.
func TestStatusBeforeAnySync(t *testing.T) {
	e := historyState(t)
	state := filepath.Join(t.TempDir(), "state.db")
	code, out, errOut := e.run(t, state, "status")
	if code != ExitOK || !strings.Contains(out, "No sync yet: run `activator orgs sync`") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = e.run(t, state, "status", "--output", "json")
	var m map[string]any
	if code != ExitOK || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("exit %d: %s", code, out)
	}
	if m["lastSync"] != nil || m["lastRun"] != nil {
		t.Errorf("lastSync and lastRun should be null before the first sync: %s", out)
	}
	for _, k := range []string{"attention", "keySets", "jwkSetUrl", "counts"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s = %v, want a list (never null)", k, m[k])
		}
	}
}

// TestReadCommandsBadInput checks exit 2 and a one-line message naming the
// problem and the fix.
func TestReadCommandsBadInput(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"status csv", []string{"status", "--output", "csv"}, "`activator status` has no csv output: use --output table or json; or `activator report --format csv`"},
		{"unknown run", []string{"runs", "show", "99"}, "run 99 not found: app 50741 on "},
		{"run id not a number", []string{"runs", "show", "abc"}, `"abc" is not a run id`},
		{"run id missing", []string{"runs", "show"}, "`activator runs show` needs a run id, from `activator runs`"},
		{"negative limit", []string{"runs", "--limit", "-1"}, "--limit -1 is negative"},
		{"unknown org", []string{"orgs", "show", "99999"}, "organization 99999 is not in the state database for app 50741"},
		{"ECMId for OrgId", []string{"orgs", "show", "8582"}, "8582 is the ECMId of organization 528 (Upstate Regional Health), not an OrgId"},
		{"composite id", []string{"orgs", "show", "528_50741"}, `"528_50741" is not an OrgId`},
		{"report without out", []string{"report"}, "no --out: give the file to write"},
		{"report bad format", []string{"report", "--format", "pdf", "--out", "-"}, `--format "pdf" is not one of csv, json, html`},
		{"report into missing dir", []string{"report", "--out", filepath.Join(dir, "nope", "r.html")}, "the directory " + filepath.Join(dir, "nope") + " does not exist"},
		{"report onto a directory", []string{"report", "--out", dir}, "is a directory: give a file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := e.run(t, state, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not say %q", errOut, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(errOut), "\n"); n > 0 || strings.Contains(errOut, "goroutine") {
				t.Errorf("want one line, got:\n%s", errOut)
			}
		})
	}
}
