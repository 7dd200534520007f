package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/session"
	"github.com/activator-dev/activator/internal/sim"
)

// TestStoredSessionUsedAndKept: with no --cookie, commands use the stored
// session, and cookies the portal sets during a command are stored back
// (0600) for the next one.
func TestStoredSessionUsedAndKept(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 5, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state", "state.db")
	path := filepath.Join(dir, "state", session.FileName)
	cookie := s.NewSession()
	if err := session.Save(path, &session.Stored{Portal: srv.URL, AppID: sim.DefaultAppID, Cookies: cookie, SavedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACTIVATOR_PORTAL": srv.URL, "ACTIVATOR_APP": sim.DefaultAppID, "ACTIVATOR_STATE": state, "XDG_CONFIG_HOME": dir}
	code, stdout, stderr := runCmd(t, testRun{env: env}, "orgs", "sync", "--rate", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout+stderr, strings.SplitN(cookie, "=", 2)[1]) {
		t.Fatal("the session was printed")
	}
	st, err := session.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(cookie, "; ") {
		if !strings.Contains(st.Cookies, part) {
			t.Errorf("stored session lost %q", strings.SplitN(part, "=", 2)[0])
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v", fi.Mode().Perm())
	}

	// A session stored for another portal is not sent elsewhere.
	env["ACTIVATOR_PORTAL"] = "https://fhir.example.org"
	code, _, stderr = runCmd(t, testRun{env: env}, "orgs", "sync")
	if code != ExitSession || !strings.Contains(stderr, "the stored session is for") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
