package cli

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/activator-dev/activator/internal/session"
	"github.com/activator-dev/activator/internal/sim"
	_ "modernc.org/sqlite"
)

// TestLoginRemembersPortalAndApp: after a sign-in, commands given no
// --portal or --app use the sign-in's, and say which app they speak for;
// a flag or the environment still wins.
func TestLoginRemembersPortalAndApp(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 5, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	state := t.TempDir()
	cookies := filepath.Join(t.TempDir(), "cookies.txt")
	if err := os.WriteFile(cookies, []byte("Cookie: "+s.NewSession()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bare := map[string]string{"ACTIVATOR_STATE": filepath.Join(state, "state.db")}

	code, _, stderr := runCmd(t, testRun{env: bare, stdin: ""}, "orgs", "sync")
	if code != ExitUsage || !strings.Contains(stderr, "no app id: pass --app") {
		t.Fatalf("orgs sync before any login: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCmd(t, testRun{env: bare, stdin: ""}, "login", "--portal", srv.URL, "--app", sim.DefaultAppID, "--cookie-file", cookies)
	if code != ExitOK {
		t.Fatalf("login --cookie-file: exit %d\n%s", code, stderr)
	}
	d, err := session.LoadDefaults(state)
	if err != nil || d.Portal != srv.URL || d.App != sim.DefaultAppID {
		t.Fatalf("defaults after login = %+v, %v", d, err)
	}
	code, stdout, stderr := runCmd(t, testRun{env: bare, stdin: ""}, "orgs", "sync")
	if code != ExitOK || !strings.Contains(stdout, "Synced 5 organizations") {
		t.Fatalf("orgs sync after login: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCmd(t, testRun{env: bare, stdin: ""}, "whoami")
	if code != ExitOK || !strings.Contains(stderr, "for app "+sim.DefaultAppID) {
		t.Fatalf("whoami: exit %d\n%s", code, stderr)
	}
	code, stdout, _ = runCmd(t, testRun{env: bare, stdin: ""}, "status")
	if code != ExitOK || !strings.HasPrefix(stdout, "App "+sim.DefaultAppID+" on "+srv.URL+"\n") {
		t.Fatalf("status: exit %d\n%s", code, stdout)
	}
	// The environment wins over the defaults.
	env := map[string]string{"ACTIVATOR_STATE": bare["ACTIVATOR_STATE"], "ACTIVATOR_APP": "777"}
	code, _, stderr = runCmd(t, testRun{env: env, stdin: ""}, "status")
	if code != ExitUsage || !strings.Contains(stderr, "holds no record of app 777 on "+srv.URL+"; it holds app "+sim.DefaultAppID) {
		t.Fatalf("status with ACTIVATOR_APP: exit %d\n%s", code, stderr)
	}
	// Another portal named: the defaults' app is not taken for it.
	code, _, stderr = runCmd(t, testRun{env: bare, stdin: ""}, "orgs", "sync", "--portal", "https://portal.invalid")
	if code != ExitUsage || !strings.Contains(stderr, "no app id") {
		t.Fatalf("orgs sync on another portal: exit %d\n%s", code, stderr)
	}
}

// TestReadCommandsWriteNothing: read-only commands pick the database's only
// app, name the apps when there are several, and never insert a row or
// create a file.
func TestReadCommandsWriteNothing(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return e.runBare(t, state, args...)
	}
	for _, args := range [][]string{{"status"}, {"runs"}, {"runs", "show", "2"}, {"orgs", "list"}, {"orgs", "show", "528"}, {"report", "--out", "-"}} {
		code, stdout, stderr := run(args...)
		if code != ExitOK || stdout == "" {
			t.Errorf("%v without --portal/--app: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	apps := func() int {
		db, err := sql.Open("sqlite", state)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM apps").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// An app the database does not hold is most likely a typo: every
	// reading command refuses it alike, in every output format.
	for _, args := range [][]string{{"status"}, {"runs"}, {"runs", "--output", "json"}, {"orgs", "list"}, {"orgs", "list", "--output", "csv"},
		{"orgs", "show", "528"}, {"report", "--out", "-"}} {
		args = append(args, "--portal", "https://portal.invalid", "--app", "1")
		code, stdout, stderr := run(args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "holds no record of app 1 on https://portal.invalid; it holds app "+sim.DefaultAppID+" on "+e.portal) {
			t.Errorf("%v for an unknown portal: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	if n := apps(); n != 1 {
		t.Fatalf("status for an unknown portal left %d apps in the database, want 1", n)
	}
	// A portal the database holds nothing for, and no --app: the error
	// names what it holds and the flags that name it.
	code, _, stderr := run("status", "--portal", "https://portal.invalid")
	if want := "the state database holds no app on https://portal.invalid; it holds app " + sim.DefaultAppID + " on " + e.portal +
		" (pass --portal " + e.portal + " --app " + sim.DefaultAppID + ")"; code != ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("status for another portal without --app: exit %d\n%s\nwant %s", code, stderr, want)
	}
	code, _, stderr = run("runs", "show", "2", "--portal", "https://portal.invalid", "--app", "1")
	if code != ExitUsage || !strings.Contains(stderr, "run 2 is not app 1's on https://portal.invalid: it belongs to app "+sim.DefaultAppID+" on "+e.portal) {
		t.Fatalf("runs show 2 for another app: exit %d\n%s", code, stderr)
	}

	// A second app: without --app, the error names both.
	code, _, stderr = e.run(t, state, "orgs", "sync", "--app", "2", "--cookie", "x=y")
	if n := apps(); n != 2 {
		t.Fatalf("orgs sync for app 2 (exit %d: %s) left %d apps, want 2", code, stderr, n)
	}
	code, _, stderr = run("status")
	if code != ExitUsage || !strings.Contains(stderr, "the state database holds app "+sim.DefaultAppID+" on "+e.portal+" and app 2 on "+e.portal+": pass --portal and --app") {
		t.Fatalf("status with two apps: exit %d\n%s", code, stderr)
	}

	missing := filepath.Join(t.TempDir(), "none", "state.db")
	code, _, stderr = e.runBare(t, missing, "status")
	if code != ExitUsage || !strings.Contains(stderr, "no app id") {
		t.Fatalf("status without a database: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Fatalf("status created %s", filepath.Dir(missing))
	}
}

// runBare runs a command against state at ReadAt with no --portal or --app.
func (e *historyEnv) runBare(t *testing.T, state string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := append([]string{"--config", e.config, "--state", state}, args...)
	return runCmd(t, testRun{now: func() time.Time { return ReadAt }}, full...)
}
