package browser

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ProfileDirName is the browser profile's directory inside the state
// directory, the default of --profile.
const ProfileDirName = "browser-profile"

// lockName is the symbolic link Chromium keeps in a profile while it runs;
// it points to "host-pid".
const lockName = "SingletonLock"

// restoreLastSession is Chromium's session.restore_on_startup value for
// "continue where you left off", the setting under which Chromium keeps
// session cookies (cookies without an expiry) across restarts. Portals that
// sign in with such cookies can then be revisited from the profile later.
const restoreLastSession = 1

// PrepareProfile makes dir ready for a browser run: it exists with mode
// 0700 (it holds cookies and the portal's local data), no other running
// browser holds it, Chromium keeps session cookies when it restarts, and the
// tabs of the last run are not reopened (they would call the portal at
// start-up for nothing).
func PrepareProfile(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create browser profile: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("browser profile: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("browser profile %s is not a directory: pass a directory to --profile", dir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("browser profile %s is readable by others and cannot be fixed: %w", dir, err)
		}
	}
	if err := CheckProfileLock(dir); err != nil {
		return err
	}
	if err := keepSessionCookies(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(dir, "Default", "Sessions")); err != nil {
		return fmt.Errorf("browser profile: forget the last run's tabs: %w", err)
	}
	return nil
}

// CheckProfileLock returns a *ProfileInUseError when a running browser
// holds dir. A lock left by a browser that died is not an error: Chromium
// takes such a lock over itself.
func CheckProfileLock(dir string) error {
	target, err := os.Readlink(filepath.Join(dir, lockName))
	if err != nil {
		return nil // no lock (or not a link Chromium made): free
	}
	i := strings.LastIndexByte(target, '-')
	if i < 0 {
		return nil
	}
	host, pidText := target[:i], target[i+1:]
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return nil
	}
	if me, err := os.Hostname(); err == nil && host != me {
		// Another machine (a shared home directory): Chromium refuses it
		// too, and nothing here can tell whether that browser still runs.
		return &ProfileInUseError{Dir: dir, Host: host, PID: pid}
	}
	if alive(pid) {
		return &ProfileInUseError{Dir: dir, Host: host, PID: pid}
	}
	return nil
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// keepSessionCookies sets "continue where you left off" in the profile's
// preferences, keeping every other preference Chromium wrote.
func keepSessionCookies(dir string) error {
	path := filepath.Join(dir, "Default", "Preferences")
	prefs := map[string]any{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if json.Unmarshal(b, &prefs) != nil {
			prefs = map[string]any{} // damaged: Chromium would reset it anyway
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fmt.Errorf("browser profile: read preferences: %w", err)
	}
	sess, _ := prefs["session"].(map[string]any)
	if sess == nil {
		sess = map[string]any{}
	}
	if v, ok := sess["restore_on_startup"].(float64); ok && v == restoreLastSession {
		return nil
	}
	sess["restore_on_startup"] = restoreLastSession
	prefs["session"] = sess
	out, err := json.Marshal(prefs)
	if err != nil {
		return fmt.Errorf("browser profile: write preferences: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("browser profile: %w", err)
	}
	tmp := path + ".activator-tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return fmt.Errorf("browser profile: write preferences: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("browser profile: write preferences: %w", err)
	}
	return nil
}

// RemoveProfile deletes a browser profile, and with it every cookie the
// portal set there. It refuses a directory in use by a running browser, and
// one that does not look like a browser profile, so a mistyped --profile
// cannot delete unrelated files. A missing directory is not an error.
func RemoveProfile(dir string) (removed bool, err error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("browser profile: %w", err)
	}
	if !st.IsDir() {
		return false, fmt.Errorf("browser profile %s is not a directory: check --profile", dir)
	}
	if err := CheckProfileLock(dir); err != nil {
		return false, err
	}
	if !looksLikeProfile(dir) {
		return false, fmt.Errorf("%s does not look like a browser profile (no Default or Local State inside): not deleting it; check --profile", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("delete browser profile: %w", err)
	}
	return true, nil
}

// looksLikeProfile reports whether dir is empty or holds what Chromium
// writes in a user data directory.
func looksLikeProfile(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	if len(entries) == 0 {
		return true
	}
	for _, e := range entries {
		if n := e.Name(); n == "Default" || n == "Local State" {
			return true
		}
	}
	return false
}
