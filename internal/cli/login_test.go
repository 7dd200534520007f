package cli

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/activator-dev/activator/internal/browser"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/session"
	"github.com/activator-dev/activator/internal/sim"
)

// loginEnv is a command's environment: the simulator, the app and a state
// directory of the test's own; extra entries override or add.
func loginEnv(srvURL, stateDir string, extra ...string) map[string]string {
	env := map[string]string{
		"ACTIVATOR_PORTAL": srvURL,
		"ACTIVATOR_APP":    sim.DefaultAppID,
		"ACTIVATOR_STATE":  filepath.Join(stateDir, "state.db"),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// needBrowser returns the browser the tests drive; a machine without one
// skips the browser tests, except in CI (CI=true), where they fail. -short
// skips them too (make test-short).
func needBrowser(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium: run without -short (make test)")
	}
	p, err := browser.FindBrowser(os.Getenv("ACTIVATOR_TEST_BROWSER"), os.Getenv("PATH"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no browser to test with: %v", err)
		}
		t.Skipf("needs Chromium (apt-get install chromium) or ACTIVATOR_TEST_BROWSER: %v", err)
	}
	return p
}

// assertNoSecrets fails when any cookie value of the stored session, or
// any given secret, shows up in the command's output.
func assertNoSecrets(t *testing.T, stored *session.Stored, outputs string, secrets ...string) {
	t.Helper()
	if stored != nil {
		for _, c := range portalhttp.ParseCookieHeader(stored.Cookies) {
			secrets = append(secrets, c.Value)
		}
	}
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(outputs, s) {
			t.Fatalf("the output shows a secret value (%d characters)", len(s))
		}
	}
}

// loadSession reads the stored session and checks its file mode.
func loadSession(t *testing.T, stateDir string) *session.Stored {
	t.Helper()
	path := filepath.Join(stateDir, session.FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no stored session: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	s, err := session.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLoginHeadlessLifecycle signs in with headless Chromium, reuses the
// session for `orgs sync`, renews it from the profile, notices the lapse and
// refuses to renew once the portal no longer accepts the profile.
func TestLoginHeadlessLifecycle(t *testing.T) {
	exe := needBrowser(t)
	s := sim.New(sim.Config{Orgs: 12, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	state := t.TempDir()
	creds := []string{"ACTIVATOR_USERNAME", sim.DefaultUsername, "ACTIVATOR_PASSWORD", sim.DefaultPassword}
	env := loginEnv(srv.URL, state, creds...)

	code, stdout, stderr := runCmd(t, testRun{env: env, stdin: ""}, "login", "--headless", "--browser", exe, "--timeout", "30s", "--verbose")
	if code != ExitOK || !strings.Contains(stderr, "Signed in to "+srv.URL+" for app "+sim.DefaultAppID) {
		t.Fatalf("login --headless: exit %d\n%s", code, stderr)
	}
	stored := loadSession(t, state)
	if stored.Portal != srv.URL || stored.AppID != sim.DefaultAppID || !strings.Contains(stored.Cookies, ".AspNet.Cookies=") {
		t.Fatalf("stored session for %q app %q with cookies named %v", stored.Portal, stored.AppID, portalhttp.ParseCookieHeader(stored.Cookies))
	}
	if !strings.Contains(stderr, ".AspNet.Cookies") {
		t.Fatalf("--verbose does not name the captured cookies:\n%s", stderr)
	}
	assertNoSecrets(t, stored, stdout+stderr, sim.DefaultPassword)
	profile := filepath.Join(state, browser.ProfileDirName)
	if st, err := os.Stat(profile); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("browser profile %s: %v, %v", profile, err, st)
	}

	// Every portal command uses the stored session.
	if code, _, stderr := runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "orgs", "sync", "--rate", "50"); code != ExitOK {
		t.Fatalf("orgs sync with the stored session: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "whoami", "--output", "json")
	var st SessionStatus
	if code != ExitOK || json.Unmarshal([]byte(stdout), &st) != nil || !st.SignedIn || st.Source != "stored session" || st.SavedAt == nil || st.App != sim.DefaultAppID {
		t.Fatalf("whoami: exit %d %+v\n%s%s", code, st, stdout, stderr)
	}
	assertNoSecrets(t, stored, stdout+stderr)

	// A nightly renewal: no credentials at all, only the profile.
	code, stdout, stderr = runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "login", "--renew", "--browser", exe, "--output", "json")
	if code != ExitOK || json.Unmarshal([]byte(stdout), &st) != nil || !st.SignedIn || st.Source != "browser profile" {
		t.Fatalf("login --renew: exit %d %+v\n%s", code, st, stderr)
	}
	renewed := loadSession(t, state)
	assertNoSecrets(t, renewed, stdout+stderr)
	if !renewed.SavedAt.After(stored.SavedAt) {
		t.Fatalf("the renewed session was not saved: %v, then %v", stored.SavedAt, renewed.SavedAt)
	}

	// The portal ends every session: whoami and renew both say so.
	s.ExpireSessions()
	code, _, stderr = runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "whoami")
	if code != ExitSession || !strings.Contains(stderr, "not signed in") || !strings.Contains(stderr, "activator login") {
		t.Fatalf("whoami after the lapse: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "login", "--headless", "--renew", "--browser", exe)
	if code != ExitSession || !strings.Contains(stderr, "sign in again with `activator login`") {
		t.Fatalf("renew after the lapse: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "orgs", "sync", "--rate", "50"); code != ExitSession {
		t.Fatalf("orgs sync after the lapse: exit %d\n%s", code, stderr)
	}

	// The next sign-in lets the stopped command run again.
	if code, _, stderr := runCmd(t, testRun{env: env, stdin: ""}, "login", "--headless", "--browser", exe); code != ExitOK {
		t.Fatalf("login after the lapse: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCmd(t, testRun{env: loginEnv(srv.URL, state), stdin: ""}, "orgs", "sync", "--rate", "50"); code != ExitOK {
		t.Fatalf("orgs sync after signing in again: exit %d\n%s", code, stderr)
	}
}

// TestLoginScripted covers the scripted sign-in's credentials and its
// refusals: the portal's message, exit 3 and nothing saved.
func TestLoginScripted(t *testing.T) {
	exe := needBrowser(t)
	const code = "864209"
	user := []string{"ACTIVATOR_USERNAME", sim.DefaultUsername}
	tests := []struct {
		name   string
		factor string
		env    []string
		stdin  string
		args   []string
		want   int
		msg    string
	}{
		{"wrong password", "", append(user, "ACTIVATOR_PASSWORD", "not the password"), "", nil,
			ExitSession, "the portal said: The user name or password is incorrect."},
		{"password on stdin", "", user, sim.DefaultPassword + "\n", []string{"--password-stdin"}, ExitOK, "Signed in"},
		{"second factor from the environment", code, append(user, "ACTIVATOR_PASSWORD", sim.DefaultPassword, "ACTIVATOR_OTP", code), "", nil, ExitOK, "Signed in"},
		{"password and code on stdin", code, nil, sim.DefaultPassword + "\n" + code + "\n", []string{"--username", sim.DefaultUsername, "--password-stdin", "--otp-stdin"}, ExitOK, "Signed in"},
		{"second factor without a code", code, append(user, "ACTIVATOR_PASSWORD", sim.DefaultPassword), "", nil,
			ExitSession, "asks for a one-time code: set ACTIVATOR_OTP or pass --otp-stdin"},
		// The portal lands on its own home page, not on the page that asked.
		{"lands on the home page", "", append(user, "ACTIVATOR_PASSWORD", sim.DefaultPassword, "landing", sim.LandingHome), "", nil,
			ExitOK, "Signed in; opening the app's page ..."},
		// A notice page's Continue button, found by the selector flag.
		{"notice page", "", append(user, "ACTIVATOR_PASSWORD", sim.DefaultPassword, "landing", sim.LandingNotice), "",
			[]string{"--continue-selector", "#notice-form button"}, ExitOK, `Pressing Continue on "Before you continue"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := loginEnv("", "", tt.env...)
			s := sim.New(sim.Config{Orgs: 3, SecondFactor: tt.factor, Landing: env["landing"]})
			srv := httptest.NewServer(s)
			defer srv.Close()
			state := t.TempDir()
			args := append([]string{"login", "--headless", "--browser", exe, "--timeout", "30s"}, tt.args...)
			got, stdout, stderr := runCmd(t, testRun{env: loginEnv(srv.URL, state, tt.env...), stdin: tt.stdin}, args...)
			if got != tt.want || !strings.Contains(stderr, tt.msg) {
				t.Fatalf("exit %d, want %d with %q\n%s", got, tt.want, tt.msg, stderr)
			}
			var stored *session.Stored
			if tt.want == ExitOK {
				stored = loadSession(t, state)
			} else if _, err := os.Stat(filepath.Join(state, session.FileName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a failed sign-in left a session file: %v", err)
			}
			assertNoSecrets(t, stored, stdout+stderr, sim.DefaultPassword, "not the password", code)
		})
	}
}

// TestLoginBadInput refuses, with exit 2 and the fix, what cannot work,
// before any browser starts; a profile held by another browser is exit 4, and
// --renew with no browser profile to renew from is exit 3.
func TestLoginBadInput(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 3})
	srv := httptest.NewServer(s)
	defer srv.Close()
	creds := []string{"ACTIVATOR_USERNAME", "u", "ACTIVATOR_PASSWORD", "p"}
	dir := t.TempDir()
	held := filepath.Join(dir, "held-profile")
	os.MkdirAll(held, 0o700)
	empty := filepath.Join(dir, "empty-profile")
	os.MkdirAll(empty, 0o700)
	host, _ := os.Hostname()
	os.Symlink(host+"-"+strconv.Itoa(os.Getpid()), filepath.Join(held, "SingletonLock"))
	tests := []struct {
		name  string
		env   []string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"headless without credentials", nil, "", []string{"--headless"}, ExitUsage, "--headless needs credentials: set ACTIVATOR_USERNAME and ACTIVATOR_PASSWORD"},
		{"headless without password", []string{"ACTIVATOR_USERNAME", "u"}, "", []string{"--headless"}, ExitUsage, "needs a password: set ACTIVATOR_PASSWORD or pass --password-stdin"},
		{"headless without user name", []string{"ACTIVATOR_PASSWORD", "p"}, "", []string{"--headless"}, ExitUsage, "needs a user name"},
		{"empty stdin", []string{"ACTIVATOR_USERNAME", "u"}, "", []string{"--headless", "--password-stdin"}, ExitUsage, "stdin ended after 0 of 1 lines"},
		{"code line missing", []string{"ACTIVATOR_USERNAME", "u"}, "p\n", []string{"--headless", "--password-stdin", "--otp-stdin"}, ExitUsage, "stdin ended after 1 of 2 lines"},
		{"no browser on PATH", creds, "", []string{"--headless"}, ExitUsage, "apt-get install chromium"},
		{"browser missing", creds, "", []string{"--headless", "--browser", filepath.Join(dir, "chromium")}, ExitUsage, "no such file"},
		{"browser does not start", creds, "", []string{"--headless", "--browser", "/bin/false", "--profile", filepath.Join(dir, "p1")}, ExitUsage, "did not start"},
		{"no display", nil, "", nil, ExitUsage, "needs a display, but DISPLAY and WAYLAND_DISPLAY are not set: use `activator login --headless`"},
		{"stdin without headless", nil, "p\n", []string{"--password-stdin"}, ExitUsage, "are for --headless"},
		{"renew with stdin", nil, "p\n", []string{"--renew", "--password-stdin"}, ExitUsage, "--renew uses the browser profile alone"},
		{"renew without a profile", nil, "", []string{"--renew", "--browser", "/bin/true"}, ExitSession, "--renew needs an earlier browser sign-in, and there is no browser profile at "},
		{"renew from an empty profile", nil, "", []string{"--renew", "--browser", "/bin/true", "--profile", empty}, ExitSession, "sign in once with `activator login --headless`"},
		{"zero timeout", creds, "", []string{"--headless", "--timeout", "0s"}, ExitUsage, "--timeout must be above 0"},
		{"no app", []string{"ACTIVATOR_APP", ""}, "", []string{"--headless"}, ExitUsage, "no app id"},
		{"profile in use", creds, "", []string{"--headless", "--browser", "/bin/true", "--profile", held}, ExitUnavailable, "is in use by another running browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			code, _, stderr := runCmd(t, testRun{env: loginEnv(srv.URL, state, tt.env...), stdin: tt.stdin}, append([]string{"login"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Fatalf("exit %d, want %d with %q\n%s", code, tt.code, tt.msg, stderr)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Fatalf("the error is %d lines, want one:\n%s", n+1, stderr)
			}
			if _, err := os.Stat(filepath.Join(state, session.FileName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("bad input left a session file: %v", err)
			}
		})
	}
}

// TestWhoamiLogout checks a session without any browser: one imported with
// --cookie, then reported, lapsed and deleted.
func TestWhoamiLogout(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 3})
	srv := httptest.NewServer(s)
	defer srv.Close()
	state := t.TempDir()
	env := loginEnv(srv.URL, state)
	cookie := s.NewSession()

	code, _, stderr := runCmd(t, testRun{env: env, stdin: ""}, "whoami")
	if code != ExitSession || !strings.Contains(stderr, "no session: run `activator login`") {
		t.Fatalf("whoami without a session: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := runCmd(t, testRun{env: env, stdin: ""}, "whoami", "-o", "json")
	var st SessionStatus
	if code != ExitSession || json.Unmarshal([]byte(stdout), &st) != nil || st.SignedIn || st.Source != "none" || st.Reason == "" {
		t.Fatalf("whoami -o json without a session: exit %d %s", code, stdout)
	}

	// A refused --cookie is not stored.
	code, _, stderr = runCmd(t, testRun{env: env, stdin: ""}, "login", "--cookie", ".AspNet.Cookies=forged")
	if code != ExitSession || !strings.Contains(stderr, "nothing was saved") {
		t.Fatalf("login with a refused cookie: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(state, session.FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused session was saved")
	}
	code, stdout, stderr = runCmd(t, testRun{env: env, stdin: ""}, "login", "--cookie", cookie)
	if code != ExitOK {
		t.Fatalf("login --cookie: exit %d\n%s", code, stderr)
	}
	stored := loadSession(t, state)
	assertNoSecrets(t, stored, stdout+stderr)

	// Without --portal and --app, whoami and login --check use the stored session's.
	for _, args := range [][]string{{"whoami"}, {"login", "--check"}} {
		code, stdout, stderr = runCmd(t, testRun{env: map[string]string{"ACTIVATOR_STATE": env["ACTIVATOR_STATE"]}, stdin: ""}, args...)
		if code != ExitOK || !strings.Contains(stderr, "Signed in to "+srv.URL+" for app "+sim.DefaultAppID+" (stored session, saved ") {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		assertNoSecrets(t, stored, stdout+stderr)
	}
	code, stdout, _ = runCmd(t, testRun{env: env, stdin: ""}, "whoami", "--output", "csv")
	if code != ExitOK || !strings.HasPrefix(stdout, "signedIn,portal,app,savedAt,source\ntrue,"+srv.URL+","+sim.DefaultAppID+",") {
		t.Fatalf("whoami --output csv: exit %d\n%s", code, stdout)
	}

	s.ExpireSessions()
	code, stdout, stderr = runCmd(t, testRun{env: env, stdin: ""}, "whoami", "-o", "json")
	if code != ExitSession || json.Unmarshal([]byte(stdout), &st) != nil || st.SignedIn || st.Source != "stored session" || !strings.Contains(st.Reason, "redirected") {
		t.Fatalf("whoami after the lapse: exit %d %+v\n%s", code, st, stderr)
	}

	profile := filepath.Join(state, browser.ProfileDirName)
	os.MkdirAll(filepath.Join(profile, "Default"), 0o700)
	os.WriteFile(filepath.Join(profile, "Default", "Cookies"), []byte("x"), 0o600)
	code, stdout, stderr = runCmd(t, testRun{env: env, stdin: ""}, "logout", "-o", "json")
	var lr LogoutResult
	if code != ExitOK || json.Unmarshal([]byte(stdout), &lr) != nil || !lr.SessionDeleted || !lr.ProfileDeleted {
		t.Fatalf("logout: exit %d %s\n%s", code, stdout, stderr)
	}
	for _, p := range []string{filepath.Join(state, session.FileName), profile} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("logout left %s", p)
		}
	}
	code, _, stderr = runCmd(t, testRun{env: env, stdin: ""}, "logout")
	if code != ExitOK || !strings.Contains(stderr, "No stored session") {
		t.Fatalf("second logout: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCmd(t, testRun{env: env, stdin: ""}, "whoami")
	if code != ExitSession || !strings.Contains(stderr, "no session") {
		t.Fatalf("whoami after logout: exit %d\n%s", code, stderr)
	}
}

// TestLogoutRefusesOtherDirectories never deletes a --profile that is not a
// browser profile.
func TestLogoutRefusesOtherDirectories(t *testing.T) {
	state := t.TempDir()
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o700)
	os.WriteFile(filepath.Join(notes, "thesis.tex"), []byte("x"), 0o600)
	code, _, stderr := runCmd(t, testRun{env: loginEnv("http://127.0.0.1:1", state), stdin: ""}, "logout", "--profile", notes)
	if code != ExitUsage || !strings.Contains(stderr, "does not look like a browser profile") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(notes, "thesis.tex")); err != nil {
		t.Fatal("logout deleted an unrelated directory")
	}
}

// TestLoginKeepsASessionThroughAFailingListing: the management page accepts
// the session but every listing call answers 5xx. The session is saved with
// a warning rather than thrown away; a refused session never is.
func TestLoginKeepsASessionThroughAFailingListing(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 5, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	state := t.TempDir()
	env := loginEnv(srv.URL, state)
	s.SetFaults(sim.Faults{ErrorRate: 1})
	code, _, stderr := runCmd(t, testRun{env: env, stdin: ""}, "login", "--cookie", s.NewSession())
	if code != ExitOK || !strings.Contains(stderr, "did not confirm the session with a listing call") {
		t.Fatalf("login: exit %d\n%s", code, stderr)
	}
	loadSession(t, state)

	s.SetFaults(sim.Faults{})
	other := t.TempDir()
	code, _, stderr = runCmd(t, testRun{env: loginEnv(srv.URL, other), stdin: ""}, "login", "--cookie", ".AspNet.Cookies=stale")
	if code != ExitSession {
		t.Fatalf("stale session: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(other, session.FileName)); err == nil {
		t.Fatal("a refused session was saved")
	}
}
