package browser

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPrepareProfile creates the profile private, tightens a loose one,
// keeps Chromium's own preferences while asking it to keep session cookies,
// and forgets the last run's tabs.
func TestPrepareProfile(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state", ProfileDirName)
		if err := PrepareProfile(dir); err != nil {
			t.Fatal(err)
		}
		assertMode(t, dir, 0o700)
		prefs := readPrefs(t, dir)
		if got := prefs["session"].(map[string]any)["restore_on_startup"]; got != float64(restoreLastSession) {
			t.Fatalf("restore_on_startup = %v", got)
		}
	})
	t.Run("existing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "profile")
		os.MkdirAll(filepath.Join(dir, "Default", "Sessions"), 0o755)
		os.Chmod(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "Default", "Sessions", "Tabs_1"), []byte("x"), 0o600)
		os.WriteFile(filepath.Join(dir, "Default", "Preferences"),
			[]byte(`{"profile":{"name":"Person 1"},"session":{"restore_on_startup":5,"startup_urls":["https://x"]}}`), 0o600)
		if err := PrepareProfile(dir); err != nil {
			t.Fatal(err)
		}
		assertMode(t, dir, 0o700)
		if _, err := os.Stat(filepath.Join(dir, "Default", "Sessions")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the last run's tabs are still there: %v", err)
		}
		prefs := readPrefs(t, dir)
		sess := prefs["session"].(map[string]any)
		if sess["restore_on_startup"] != float64(restoreLastSession) || sess["startup_urls"] == nil {
			t.Fatalf("session prefs = %v", sess)
		}
		if prefs["profile"].(map[string]any)["name"] != "Person 1" {
			t.Fatalf("other prefs lost: %v", prefs)
		}
	})
	t.Run("damaged preferences", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "profile")
		os.MkdirAll(filepath.Join(dir, "Default"), 0o700)
		os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte("{not json"), 0o600)
		if err := PrepareProfile(dir); err != nil {
			t.Fatal(err)
		}
		if readPrefs(t, dir)["session"] == nil {
			t.Fatal("preferences not rewritten")
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		os.WriteFile(file, nil, 0o600)
		if err := PrepareProfile(file); err == nil {
			t.Fatal("PrepareProfile accepted a file")
		}
	})
}

func assertMode(t *testing.T, dir string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Fatalf("%s has mode %v, want %v", dir, st.Mode().Perm(), want)
	}
}

func readPrefs(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "Default", "Preferences"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCheckProfileLock reads Chromium's lock: a live owner on this host or
// any owner on another host holds the profile, a dead one does not.
func TestCheckProfileLock(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Skip(err)
	}
	deadPID := done.Process.Pid
	tests := []struct {
		name   string
		target string // "" means no lock
		inUse  bool
	}{
		{"no lock", "", false},
		{"live owner", host + "-" + strconv.Itoa(os.Getpid()), true},
		{"dead owner", host + "-" + strconv.Itoa(deadPID), false},
		{"other host", "build-server-7-4242", true},
		{"not a lock", "garbage", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.target != "" {
				if err := os.Symlink(tt.target, filepath.Join(dir, lockName)); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckProfileLock(dir)
			var pe *ProfileInUseError
			if got := errors.As(err, &pe); got != tt.inUse {
				t.Fatalf("err = %v, in use = %v, want %v", err, got, tt.inUse)
			}
			if tt.inUse && !strings.Contains(err.Error(), "close that browser, or pass another --profile") {
				t.Fatalf("message without the fix: %v", err)
			}
		})
	}
}

// TestProfileHeldByRunningBrowser starts a real Chromium on a profile and
// checks that a sign-in in the same profile is refused with a clear error
// instead of being handed to that browser.
func TestProfileHeldByRunningBrowser(t *testing.T) {
	exe := needBrowser(t)
	profile := filepath.Join(t.TempDir(), "profile")
	os.MkdirAll(profile, 0o700)
	cmd := exec.Command(exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--remote-debugging-port=0",
		"--user-data-dir="+profile, "about:blank")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		waitNoBrowser(t, profile)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Readlink(filepath.Join(profile, lockName)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the browser did not lock its profile within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err := SignIn(t.Context(), Options{Portal: "http://127.0.0.1:1", AppID: "1", ExecPath: exe, Profile: profile, Mode: Renew, Timeout: 10 * time.Second})
	var pe *ProfileInUseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), profile) {
		t.Fatalf("err = %v, want a *ProfileInUseError naming the profile", err)
	}
	if _, err := RemoveProfile(profile); !errors.As(err, &pe) {
		t.Fatalf("RemoveProfile of a profile in use: err = %v", err)
	}
}

// TestRemoveProfile deletes a browser profile and nothing else.
func TestRemoveProfile(t *testing.T) {
	mk := func(t *testing.T, files ...string) string {
		dir := filepath.Join(t.TempDir(), "p")
		os.MkdirAll(dir, 0o700)
		for _, f := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700)
			os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
		}
		return dir
	}
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		removed bool
		wantErr string
	}{
		{"profile", func(t *testing.T) string { return mk(t, "Local State", "Default/Cookies") }, true, ""},
		{"empty", func(t *testing.T) string { return mk(t) }, true, ""},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, false, ""},
		{"unrelated files", func(t *testing.T) string { return mk(t, "thesis.tex", "notes.txt") }, false, "does not look like a browser profile"},
		{"a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "f")
			os.WriteFile(p, nil, 0o600)
			return p
		}, false, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			removed, err := RemoveProfile(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, err := os.Stat(dir); err != nil {
					t.Fatalf("refused, but %s is gone", dir)
				}
				return
			}
			if err != nil || removed != tt.removed {
				t.Fatalf("RemoveProfile = %v, %v; want %v", removed, err, tt.removed)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s still exists", dir)
			}
		})
	}
}
