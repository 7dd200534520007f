package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/diag"
	"github.com/activator-dev/activator/internal/keys"
	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/session"
	"github.com/activator-dev/activator/internal/store"
)

// runDeps are the dependencies a run function takes in its options, made
// by hand: buffers for the streams, a clock that stands still, a real
// state database. No Factory and no cobra.
type runDeps struct {
	io       *IOStreams
	out, err *bytes.Buffer
	now      time.Time
	path     string
	s        *store.Store
	app      store.App
}

func newRunDeps(t *testing.T) *runDeps {
	t.Helper()
	ctx := context.Background()
	d := &runDeps{out: &bytes.Buffer{}, err: &bytes.Buffer{}, now: time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)}
	d.io = &IOStreams{In: strings.NewReader(""), Out: d.out, ErrOut: d.err}
	d.path = filepath.Join(t.TempDir(), "state.db")
	s, err := store.Open(ctx, d.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d.s = s
	if d.app, err = s.App(ctx, "https://portal.example.org", "50741"); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *runDeps) store(context.Context) (*store.Store, store.App, error) { return d.s, d.app, nil }

func (d *runDeps) report() report.Options {
	return report.Options{Portal: d.app.Portal, AppID: d.app.AppID, Now: d.now, Alive: processAlive}
}

// addRun records a run that started ago before the clock's time and took took.
func (d *runDeps) addRun(t *testing.T, ago, took time.Duration) int64 {
	t.Helper()
	ctx := context.Background()
	r := &store.Run{Started: d.now.Add(-ago), Mode: "jwks", Planned: 3, PID: 1}
	id, err := d.s.StartRun(ctx, d.app.ID, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.s.FinishRun(ctx, id, r.Started.Add(took), store.RunDone, ""); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRunFunctionsTakeTheirDependencies calls run functions directly with
// their dependencies in the options: what they print follows the injected
// clock and goes to the injected streams.
func TestRunFunctionsTakeTheirDependencies(t *testing.T) {
	ctx := context.Background()

	t.Run("runs", func(t *testing.T) {
		d := newRunDeps(t)
		d.addRun(t, 3*time.Hour, 90*time.Second)
		err := runsRun(ctx, &RunsOptions{IO: d.io, Output: OutputJSON, Store: d.store, Report: d.report, Limit: DefaultRunsLimit})
		if err != nil {
			t.Fatal(err)
		}
		var runs []report.RunSummary
		if err := json.Unmarshal(d.out.Bytes(), &runs); err != nil {
			t.Fatalf("%v\n%s", err, d.out)
		}
		if len(runs) != 1 || !runs[0].Started.Equal(d.now.Add(-3*time.Hour)) || runs[0].DurationSeconds != 90 || runs[0].Outcome != store.RunDone {
			t.Fatalf("runs %+v", runs)
		}
	})

	t.Run("runs show", func(t *testing.T) {
		d := newRunDeps(t)
		id := d.addRun(t, 5*time.Hour, 2*time.Minute)
		opts := &RunsShowOptions{IO: d.io, Output: OutputTable, Store: d.store, Report: d.report, Now: func() time.Time { return d.now }, id: id}
		if err := runsShowRun(ctx, opts); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"2026-03-04 07:00:00 UTC (5 hours ago)", "took 2m0s"} {
			if !strings.Contains(d.out.String(), want) {
				t.Errorf("no %q in\n%s", want, d.out)
			}
		}
		opts.id = id + 1
		if err := runsShowRun(ctx, opts); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("run %d: %v", opts.id, err)
		}
	})

	t.Run("status", func(t *testing.T) {
		d := newRunDeps(t)
		d.addRun(t, time.Hour, time.Minute)
		if err := statusRun(ctx, &StatusOptions{IO: d.io, Output: OutputJSON, Store: d.store, Report: d.report}); err != nil {
			t.Fatal(err)
		}
		var got struct {
			App         string    `json:"app"`
			GeneratedAt time.Time `json:"generatedAt"`
			LastRun     *struct {
				Outcome string `json:"outcome"`
			} `json:"lastRun"`
		}
		if err := json.Unmarshal(d.out.Bytes(), &got); err != nil {
			t.Fatalf("%v\n%s", err, d.out)
		}
		if got.App != "50741" || !got.GeneratedAt.Equal(d.now) || got.LastRun == nil || got.LastRun.Outcome != store.RunDone {
			t.Fatalf("status %+v\n%s", got, d.out)
		}
		if d.err.Len() != 0 {
			t.Fatalf("stderr %q", d.err)
		}
	})

	t.Run("state check", func(t *testing.T) {
		d := newRunDeps(t)
		if err := stateCheckRun(ctx, &StateCheckOptions{IO: d.io, Output: OutputTable, StatePath: d.path}); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d.out.String(), "ok: "+d.path+" passes SQLite's quick_check") {
			t.Fatalf("stdout %q", d.out)
		}
		d.out.Reset()
		missing := filepath.Join(t.TempDir(), "none.db")
		if err := stateCheckRun(ctx, &StateCheckOptions{IO: d.io, Output: OutputTable, StatePath: missing}); err != nil {
			t.Fatal(err)
		}
		if want := "No state database at " + missing + " yet: nothing to check.\n"; d.out.String() != want {
			t.Fatalf("stdout %q, want %q", d.out, want)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("state check created %s: %v", missing, err)
		}
	})

	t.Run("logout", func(t *testing.T) {
		d := newRunDeps(t)
		dir := t.TempDir()
		path := filepath.Join(dir, session.FileName)
		if err := session.Save(path, &session.Stored{Portal: "https://portal.example.org", AppID: "50741", Cookies: "a=b", SavedAt: d.now}); err != nil {
			t.Fatal(err)
		}
		var logged []string
		opts := &LogoutOptions{IO: d.io, Output: OutputJSON, KeepProfile: true,
			StateDir: func() (string, error) { return dir, nil },
			Logf:     func(format string, args ...any) { logged = append(logged, format) }}
		if err := logoutRun(opts); err != nil {
			t.Fatal(err)
		}
		var res LogoutResult
		if err := json.Unmarshal(d.out.Bytes(), &res); err != nil || !res.SessionDeleted || res.ProfileDeleted {
			t.Fatalf("stdout %q: %v", d.out, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the session is still there: %v", err)
		}
		if len(logged) != 1 || !strings.HasPrefix(logged[0], "Deleted the stored session") {
			t.Fatalf("logged %q", logged)
		}
	})

	t.Run("jwks from-pem", func(t *testing.T) {
		d := newRunDeps(t)
		if err := jwksFromPEMRun(&JWKSFromPEMOptions{IO: d.io, Path: keyFixture("test-rsa-a.pkcs8.pem"), Alg: "RS256", Kid: "k1"}); err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(d.out.Bytes(), &set); err != nil {
			t.Fatalf("%v\n%s", err, d.out)
		}
		if len(set.Keys) != 1 || set.Keys[0]["kid"] != "k1" || set.Keys[0]["alg"] != "RS256" || set.Keys[0]["d"] != nil {
			t.Fatalf("key set %v", set.Keys)
		}
	})

	t.Run("orgs list", func(t *testing.T) {
		d := newRunDeps(t)
		seen := []store.Org{{OrgID: "10", Name: "Ten", Status: 1}, {OrgID: "2", Name: "Two", Status: 3}}
		if _, err := d.s.RecordSync(ctx, d.app.ID, &store.Sync{Started: d.now, Finished: d.now, Seen: seen}); err != nil {
			t.Fatal(err)
		}
		if err := listRun(ctx, &ListOptions{IO: d.io, Output: OutputJSON, Store: d.store, keep: func(store.Org) bool { return true }}); err != nil {
			t.Fatal(err)
		}
		var orgs []OrgJSON
		if err := json.Unmarshal(d.out.Bytes(), &orgs); err != nil {
			t.Fatalf("%v\n%s", err, d.out)
		}
		if len(orgs) != 2 || orgs[0].OrgID != "2" || orgs[1].OrgID != "10" {
			t.Fatalf("orgs %+v", orgs)
		}
	})

	t.Run("jwks check", func(t *testing.T) {
		d := newRunDeps(t)
		doc, err := os.ReadFile(keyFixture("test-rsa-ab.jwks.json"))
		if err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write(doc)
		}))
		defer srv.Close()
		opts := &JWKSCheckOptions{IO: d.io, Output: OutputJSON, HTTPClient: srv.Client(), Now: func() time.Time { return d.now },
			Source: srv.URL + "/jwks.json", Tries: 2, Timeout: 5 * time.Second}
		err = jwksCheckRun(ctx, opts)
		var rep keys.Report
		if jerr := json.Unmarshal(d.out.Bytes(), &rep); jerr != nil {
			t.Fatalf("%v (run: %v)\n%s", jerr, err, d.out)
		}
		if calls.Load() != 2 || rep.Fetch == nil {
			t.Fatalf("%d GETs, fetch %+v", calls.Load(), rep.Fetch)
		}
		if code, _ := classify(err); err != nil && (code != ExitFailures || rep.ErrorCount == 0) {
			t.Fatalf("err %v with %d errors", err, rep.ErrorCount)
		}
	})

	t.Run("assertion new", func(t *testing.T) {
		d := newRunDeps(t)
		opts := &AssertionNewOptions{
			DiagEnv:  DiagEnv{IO: d.io, Output: OutputJSON, Now: func() time.Time { return d.now }, Getenv: func(string) string { return "" }},
			ClientID: "abc", TokenURL: "https://o.example/token", Key: keyFixture("test-rsa-a.pkcs8.pem"), Lifetime: 4 * time.Minute,
		}
		if err := assertionNewRun(ctx, opts); err != nil {
			t.Fatal(err)
		}
		var a struct {
			Claims struct {
				Iat, Exp int64
			} `json:"claims"`
		}
		if err := json.Unmarshal(d.out.Bytes(), &a); err != nil {
			t.Fatalf("%v\n%s", err, d.out)
		}
		if iat := d.now.Add(-diag.DefaultClockMargin).Unix(); a.Claims.Iat != iat || a.Claims.Exp != iat+240 {
			t.Fatalf("iat %d exp %d, want %d and %d", a.Claims.Iat, a.Claims.Exp, iat, iat+240)
		}
	})
}
