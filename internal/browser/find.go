package browser

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BrowserNames are the executables searched for on PATH, in order: the
// names Debian, Ubuntu and Google's packages install.
var BrowserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindBrowser returns the browser to drive. A non-empty named is a path or
// a command name (--browser) and must be usable; otherwise BrowserNames are
// looked up in pathEnv (the PATH value, passed in so the lookup follows the
// command's environment rather than the process's).
func FindBrowser(named, pathEnv string) (string, error) {
	if named != "" {
		if !strings.ContainsRune(named, filepath.Separator) {
			if p, ok := lookPath(named, pathEnv); ok {
				return p, nil
			}
			return "", &NoBrowserError{Named: named, Err: errors.New("not found on PATH")}
		}
		if err := executable(named); err != nil {
			return "", &NoBrowserError{Named: named, Err: err}
		}
		return named, nil
	}
	for _, name := range BrowserNames {
		if p, ok := lookPath(name, pathEnv); ok {
			return p, nil
		}
	}
	return "", &NoBrowserError{}
}

// lookPath finds an executable file called name in the directories of
// pathEnv.
func lookPath(name, pathEnv string) (string, bool) {
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, true
		}
	}
	return "", false
}

// executable checks that path is a regular file with an execute bit.
func executable(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file")
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read it: %w", err)
	}
	if st.IsDir() {
		return errors.New("it is a directory")
	}
	if st.Mode().Perm()&0o111 == 0 {
		return errors.New("it is not executable")
	}
	return nil
}
