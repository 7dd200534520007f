package cli

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/sim"
)

// blockingReader never returns: a stdin that a prompt would hang on.
type blockingReader struct{ ch chan struct{} }

func (b blockingReader) Read([]byte) (int, error) { <-b.ch; return 0, io.EOF }

// TestNightlyNeverPromptsOrHangs runs the documented cron line with a
// stdin that never answers and no terminal.
func TestNightlyNeverPromptsOrHangs(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 30, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	keys, _ := filepath.Abs("../../testdata/keys/rsa-a.jwks.json")
	env := map[string]string{
		"ACTIVATOR_PORTAL": srv.URL, "ACTIVATOR_APP": sim.DefaultAppID, "ACTIVATOR_COOKIE": s.NewSession(),
		"ACTIVATOR_STATE": filepath.Join(t.TempDir(), "state.db"), "XDG_CONFIG_HOME": t.TempDir(),
	}
	stdin := blockingReader{ch: make(chan struct{})}
	defer close(stdin.ch)
	run := func(args ...string) (int, string, string) {
		type result struct {
			code        int
			out, errOut string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errOut := runCmd(nil, testRun{env: env, in: stdin}, args...)
			done <- result{code, out, errOut}
		}()
		select {
		case r := <-done:
			return r.code, r.out, r.errOut
		case <-time.After(2 * time.Minute):
			t.Fatalf("activator %s hung", strings.Join(args, " "))
		}
		return 0, "", ""
	}

	// Without --yes: refused at once, nothing changed.
	code, _, stderr := run("activate", "--jwks-file", keys, "--rate", "50")
	if code != ExitUsage || !strings.Contains(stderr, "--yes required when not running interactively") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, c := range s.Calls() {
		if c.Path == "/Developer/ApproveDownload" {
			t.Fatal("a call was made without --yes")
		}
	}

	// The cron line: one JSON line with the documented fields, nothing else.
	// The simulator's straggler refuses every time: the first refusal exits
	// 1, the same refusal on later nights 0.
	for i, want := range []struct{ calls, code, newRefusals int }{{-1, ExitFailures, 1}, {1, ExitOK, 0}} {
		code, stdout, stderr := run("activate", "--jwks-file", keys, "--rate", "50", "--yes", "--output", "json")
		if code != want.code {
			t.Fatalf("run %d: exit %d, want %d", i, code, want.code)
		}
		if strings.Count(stdout, "\n") != 1 || stderr != "" {
			t.Fatalf("run %d: want one JSON line and nothing else, got %q and stderr %q", i, stdout, stderr)
		}
		var sum map[string]any
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{"runId", "outcome", "mode", "sync", "planned", "calls", "activated", "skipped", "refused", "failed", "mismatched", "notRun", "throttled"} {
			if _, ok := sum[field]; !ok {
				t.Errorf("run %d: summary lacks %q: %s", i, field, stdout)
			}
		}
		if want.calls >= 0 && int(sum["calls"].(float64)) != want.calls {
			t.Errorf("run %d: %v calls, want %d (a re-run is a no-op but for the straggler)", i, sum["calls"], want.calls)
		}
		if int(sum["newRefusals"].(float64)) != want.newRefusals {
			t.Errorf("run %d: newRefusals %v, want %d", i, sum["newRefusals"], want.newRefusals)
		}
		if sum["outcome"] != "failures" || len(sum["refused"].([]any)) != 1 {
			t.Errorf("run %d: %s", i, stdout)
		}
	}
}
