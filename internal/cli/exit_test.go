package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/sim"
)

// TestExitCodes checks the documented exit code and a one-line message for
// each kind of bad input or portal trouble.
func TestExitCodes(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 5, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	notPortal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Welcome to my blog</body></html>"))
	}))
	defer notPortal.Close()
	signInPortal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<form><input name="Password" type="password" /><input name="__RequestVerificationToken" type="hidden" value="t" /></form>`))
	}))
	defer signInPortal.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	os.WriteFile(corrupt, []byte("not a database at all"), 0o600)
	unreadable := filepath.Join(dir, "cookies-dir")
	os.Mkdir(unreadable, 0o700)
	garbage := filepath.Join(dir, "garbage.txt")
	os.WriteFile(garbage, []byte("hello world"), 0o600)

	cookie := s.NewSession()
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"ACTIVATOR_PORTAL": srv.URL, "ACTIVATOR_APP": sim.DefaultAppID, "ACTIVATOR_COOKIE": cookie,
			"ACTIVATOR_STATE": filepath.Join(t.TempDir(), "state.db"), "XDG_CONFIG_HOME": dir,
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"ok", base(nil), []string{"orgs", "sync", "--rate", "50"}, ExitOK, ""},
		{"unknown flag", base(nil), []string{"orgs", "sync", "--nope"}, ExitUsage, "unknown flag: --nope"},
		{"unknown command", base(nil), []string{"frobnicate"}, ExitUsage, "unknown command"},
		{"unknown command near two", base(nil), []string{"stauts"}, ExitUsage, `activator: unknown command "stauts" (did you mean status or state?)` + "\n"},
		{"unknown subcommand near one", base(nil), []string{"orgs", "lsit"}, ExitUsage, `activator: unknown command "lsit" (did you mean list?)` + "\n"},
		{"unknown subcommand near none", base(nil), []string{"state", "frobnicate"}, ExitUsage, "activator: unknown command \"frobnicate\" (see `activator state --help`)\n"},
		{"a group alone shows its help", base(nil), []string{"assertion"}, ExitOK, ""},
		{"unknown subcommand of a command that runs", base(nil), []string{"runs", "sho"}, ExitUsage, `activator: unknown command "sho" (did you mean show?)` + "\n"},
		{"missing argument", base(nil), []string{"orgs", "show"}, ExitUsage, "activator: `activator orgs show` needs an OrgId, from `activator orgs list` (see `activator orgs show --help`)\n"},
		{"unknown flag near one", base(nil), []string{"activate", "--jwsk", "x"}, ExitUsage, "activator: unknown flag: --jwsk (did you mean --jwks?)\n"},
		{"unknown flag near none", base(nil), []string{"activate", "--zzzzzz"}, ExitUsage, "activator: unknown flag: --zzzzzz (see `activator activate --help`)\n"},
		{"bad output", base(nil), []string{"orgs", "list", "--output", "xml"}, ExitUsage, `--output "xml" is not one of`},
		{"unknown app", base(map[string]string{"ACTIVATOR_APP": "12345"}), []string{"orgs", "sync"}, ExitUsage, `no management page for app "12345"`},
		{"app not a number", base(map[string]string{"ACTIVATOR_APP": "abc"}), []string{"orgs", "sync"}, ExitUsage, "is not a number"},
		{"no app", base(map[string]string{"ACTIVATOR_APP": ""}), []string{"orgs", "sync"}, ExitUsage, "no app id: pass --app"},
		{"portal not a URL", base(map[string]string{"ACTIVATOR_PORTAL": "fhir.epic.com"}), []string{"orgs", "sync"}, ExitUsage, "is not an http(s) URL"},
		{"portal is not the portal", base(map[string]string{"ACTIVATOR_PORTAL": notPortal.URL}), []string{"orgs", "sync"}, ExitUnavailable, "no anti-forgery token"},
		{"sign-in page with a token", base(map[string]string{"ACTIVATOR_PORTAL": signInPortal.URL}), []string{"whoami"}, ExitSession, "the portal showed its sign-in page"},
		{"portal down", base(map[string]string{"ACTIVATOR_PORTAL": downURL}), []string{"orgs", "sync", "--rate", "50"}, ExitUnavailable, "cannot reach the portal"},
		{"corrupt state", base(map[string]string{"ACTIVATOR_STATE": corrupt}), []string{"orgs", "list"}, ExitUsage, "not an activator state database"},
		{"state is a directory", base(map[string]string{"ACTIVATOR_STATE": dir}), []string{"orgs", "list"}, ExitUsage, "is a directory"},
		{"state under a file", base(map[string]string{"ACTIVATOR_STATE": filepath.Join(garbage, "state.db")}), []string{"orgs", "list"}, ExitUsage, "the state database is not writable (not a directory; choose another file with --state)"},
		{"cookie file is a directory", base(map[string]string{"ACTIVATOR_COOKIE": ""}), []string{"orgs", "sync", "--cookie-file", unreadable}, ExitUsage, "is a directory"},
		{"cookie file missing", base(map[string]string{"ACTIVATOR_COOKIE": ""}), []string{"orgs", "sync", "--cookie-file", filepath.Join(dir, "nope.txt")}, ExitUsage, "nope.txt"},
		{"cookie file garbage", base(map[string]string{"ACTIVATOR_COOKIE": ""}), []string{"orgs", "sync", "--cookie-file", garbage}, ExitUsage, "neither a Netscape cookies.txt file"},
		{"no session", base(map[string]string{"ACTIVATOR_COOKIE": "", "XDG_STATE_HOME": dir}), []string{"orgs", "sync"}, ExitSession, "activator login"},
		{"bad session", base(map[string]string{"ACTIVATOR_COOKIE": ".AspNet.Cookies=forged"}), []string{"orgs", "sync"}, ExitSession, "not signed in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, testRun{env: tt.env}, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if tt.msg == "" {
				return
			}
			if !strings.Contains(stderr, tt.msg) {
				t.Fatalf("stderr %q lacks %q", stderr, tt.msg)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("error is %d lines, want one: %q", n+1, stderr)
			}
			if strings.Contains(stderr, `\n`) || strings.Contains(stderr, `\t`) {
				t.Errorf("stderr carries escaped line breaks or tabs: %q", stderr)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, cookie) {
				t.Errorf("stderr leaks a stack trace or the cookie: %q", stderr)
			}
		})
	}
}

// panicWriter stands in for a bug: any write panics.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom\nsecond line") }

// TestInternalErrorIsOneLine: a panic reaches the user as one line naming
// a 0600 file with the details, exit 5, and no stack trace.
func TestInternalErrorIsOneLine(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	var errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: panicWriter{}, ErrOut: &errOut}, Getenv: func(string) string { return "" }, Now: time.Now}
	code := RunWith(context.Background(), []string{"version"}, f)
	if code != ExitInternal {
		t.Fatalf("exit %d, want %d", code, ExitInternal)
	}
	out := errOut.String()
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "activator: internal error: boom; details in ") || strings.Contains(out, "goroutine") {
		t.Fatalf("stderr = %q", out)
	}
	path := strings.TrimSuffix(out[strings.Index(out, "details in ")+len("details in "):], " (please attach it to a bug report)\n")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("details file %s: %v, mode %v", path, err, st.Mode())
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "panic: boom") || !strings.Contains(string(b), "goroutine") {
		t.Fatalf("details file lacks the panic and stack:\n%s", b)
	}
}
