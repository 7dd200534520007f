package browser

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// needBrowser returns the browser the tests drive. A machine without one
// skips the browser tests, except in CI (CI=true), where a missing browser
// is a broken test environment and fails. -short skips them too: each
// starts a Chromium (make test-short).
func needBrowser(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium: run without -short (make test)")
	}
	p, err := FindBrowser(os.Getenv("ACTIVATOR_TEST_BROWSER"), os.Getenv("PATH"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no browser to test with: %v", err)
		}
		t.Skipf("needs Chromium (apt-get install chromium) or ACTIVATOR_TEST_BROWSER: %v", err)
	}
	return p
}

// browserProcesses counts the running processes started with dir as their
// user data directory: after SignIn returns there must be none.
func browserProcesses(t *testing.T, dir string) int {
	t.Helper()
	want := []byte("--user-data-dir=" + dir)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("cannot list processes: %v", err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(b, []byte{0}) {
			if bytes.Equal(arg, want) {
				n++
				break
			}
		}
	}
	return n
}
