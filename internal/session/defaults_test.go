package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d, err := LoadDefaults(dir)
	if err != nil || d != (Defaults{}) {
		t.Fatalf("LoadDefaults(missing) = %+v, %v; want zero, nil", d, err)
	}
	want := Defaults{Portal: "https://fhir.example", App: "50741", SavedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := SaveDefaults(dir, want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, DefaultsFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("defaults file mode = %v, %v; want 0600", st.Mode(), err)
	}
	got, err := LoadDefaults(dir)
	if err != nil || got != want {
		t.Fatalf("LoadDefaults = %+v, %v; want %+v", got, err, want)
	}
	os.WriteFile(filepath.Join(dir, DefaultsFileName), []byte("{"), 0o600)
	if _, err := LoadDefaults(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("LoadDefaults(damaged) err = %v, want damaged", err)
	}
}
