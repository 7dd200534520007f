package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultsFileName is the file in the state directory that holds the
// portal and app of the last sign-in: later commands use them when neither
// a flag, the environment nor the config file names them.
const DefaultsFileName = "defaults.json"

// Defaults are a state directory's portal and app.
type Defaults struct {
	Portal  string    `json:"portal"`
	App     string    `json:"app"`
	SavedAt time.Time `json:"saved_at"`
}

// SaveDefaults writes the state directory's defaults atomically (mode 0600:
// the state directory holds secrets, and nothing in it is wider).
func SaveDefaults(dir string, d Defaults) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save defaults: %w", err)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("save defaults: %w", err)
	}
	return WriteSecret(filepath.Join(dir, DefaultsFileName), append(b, '\n'))
}

// LoadDefaults reads the state directory's defaults; none saved yet is the
// zero Defaults and no error.
func LoadDefaults(dir string) (Defaults, error) {
	var d Defaults
	path := filepath.Join(dir, DefaultsFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("read defaults: %w", err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return Defaults{}, fmt.Errorf("%s is damaged (%v): delete it, or run `activator login` again", path, err)
	}
	return d, nil
}
