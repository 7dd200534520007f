package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// missingKeys reports the documented keys an object lacks.
func missingKeys(obj map[string]any, keys ...string) []string {
	var out []string
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// runKeys are the fields `runs --help` documents for a run.
var runKeys = []string{"id", "started", "finished", "durationSeconds", "mode", "split", "nonProdKeys", "prodKeys", "planned",
	"outcome", "args", "calls", "results"}

// outcomeKeys are the fields `runs show --help` documents for an outcome.
var outcomeKeys = []string{"id", "runId", "orgId", "name", "action", "envs", "mode", "nonProdKeys", "prodKeys", "result",
	"message", "attempts", "started", "finished", "durationSeconds"}

// TestRunsJSON parses `runs` and `runs show` in JSON and checks their fields
// and numbers against the history.
func TestRunsJSON(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	code, out, errOut := e.run(t, state, "runs", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("runs JSON: %v\n%s", err, out)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	for i, r := range runs {
		if m := missingKeys(r, runKeys...); len(m) > 0 {
			t.Errorf("run %d lacks %v", i, m)
		}
		if m := missingKeys(r["results"].(map[string]any), "activated", "refused", "failed", "mismatched"); len(m) > 0 {
			t.Errorf("run %d results lack %v", i, m)
		}
	}
	want := []struct {
		id       float64
		outcome  string
		mode     string
		split    bool
		calls    float64
		refused  float64
		activate float64
	}{{3, "done", "jwks", true, 4, 0, 2}, {2, "failures", "jwks", false, 34, 1, 33}, {1, "done", "jku", false, 2, 0, 1}}
	for i, w := range want {
		r := runs[i]
		res := r["results"].(map[string]any)
		if r["id"] != w.id || r["outcome"] != w.outcome || r["mode"] != w.mode || r["split"] != w.split || r["calls"] != w.calls ||
			res["refused"] != w.refused || res["activated"] != w.activate {
			t.Errorf("run %d = %v, want %+v", i, r, w)
		}
	}

	code, out, errOut = e.run(t, state, "runs", "show", "3", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var show struct {
		Run      map[string]any   `json:"run"`
		Outcomes []map[string]any `json:"outcomes"`
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("runs show JSON: %v\n%s", err, out)
	}
	if m := missingKeys(show.Run, runKeys...); len(m) > 0 {
		t.Errorf("run lacks %v", m)
	}
	if len(show.Outcomes) != 4 {
		t.Fatalf("%d outcomes, want 4 (two split calls for each of two orgs)", len(show.Outcomes))
	}
	var envs []string
	for _, o := range show.Outcomes {
		if m := missingKeys(o, outcomeKeys...); len(m) > 0 {
			t.Errorf("outcome lacks %v", m)
		}
		envs = append(envs, o["orgId"].(string)+":"+o["envs"].(string))
	}
	if got := strings.Join(envs, " "); got != "1647:nonprod 1647:prod 2249:nonprod 2249:prod" {
		t.Errorf("outcomes %s", got)
	}
	if np := show.Outcomes[0]["nonProdKeys"].([]any); len(np) != 1 || np[0] != "83dzr0s2Bkh18eA94DcmwB2Zikn91TPCZbmyqdDmOKY" {
		t.Errorf("split non-production call sent %v, want key-b's thumbprint", np)
	}
}

// TestRunsCSV checks the CSV forms parse with one row per run or call.
func TestRunsCSV(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	tests := []struct {
		args []string
		rows int
		cols int
	}{
		{[]string{"runs", "--output", "csv"}, 3, 15},
		{[]string{"runs", "--output", "csv", "--limit", "2"}, 2, 15},
		{[]string{"runs", "list", "--output", "csv", "--limit", "0"}, 3, 15},
		{[]string{"runs", "show", "2", "--output", "csv"}, 34, 15},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := e.run(t, state, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			rows, err := csv.NewReader(bytes.NewReader([]byte(out))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tt.rows+1 || len(rows[0]) != tt.cols {
				t.Errorf("%d rows of %d columns, want %d + header of %d", len(rows), len(rows[0]), tt.rows, tt.cols)
			}
		})
	}
}

// TestRunsEmpty says there is no run yet, on stderr, with nothing on stdout.
func TestRunsEmpty(t *testing.T) {
	e := historyState(t)
	state := t.TempDir() + "/state.db"
	code, out, errOut := e.run(t, state, "runs")
	if code != ExitOK || out != "" || !strings.Contains(errOut, "No runs recorded for this app yet") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = e.run(t, state, "runs", "--output", "json")
	if code != ExitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("JSON with no runs: exit %d, %q; want []", code, out)
	}
}
