package browser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindBrowser looks up --browser and the usual names on PATH, and says
// how to install a browser when there is none.
func TestFindBrowser(t *testing.T) {
	dir := t.TempDir()
	bin1, bin2 := filepath.Join(dir, "bin1"), filepath.Join(dir, "bin2")
	for _, d := range []string{bin1, bin2} {
		os.Mkdir(d, 0o755)
	}
	exe := func(path string) string {
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	chrome := exe(filepath.Join(bin2, "google-chrome"))
	chromiumBrowser := exe(filepath.Join(bin1, "chromium-browser"))
	custom := exe(filepath.Join(dir, "my-chrome"))
	plain := filepath.Join(dir, "not-executable")
	os.WriteFile(plain, []byte("x"), 0o644)
	path := bin1 + string(filepath.ListSeparator) + bin2

	tests := []struct {
		name, named, path string
		want              string
		wantErr           string
	}{
		{"first usual name on PATH", "", path, chromiumBrowser, ""},
		{"later directory", "", bin2, chrome, ""},
		{"explicit path", custom, "", custom, ""},
		{"explicit name on PATH", "google-chrome", path, chrome, ""},
		{"none on PATH", "", filepath.Join(dir, "empty"), "", "apt-get install chromium"},
		{"empty PATH", "", "", "", "no Chromium or Chrome found on PATH"},
		{"explicit missing", filepath.Join(dir, "nope"), path, "", "no such file"},
		{"explicit directory", bin1, path, "", "is a directory"},
		{"explicit not executable", plain, path, "", "not executable"},
		{"explicit name not on PATH", "brave", path, "", "not found on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindBrowser(tt.named, tt.path)
			if tt.wantErr != "" {
				var nb *NoBrowserError
				if !errors.As(err, &nb) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--browser") {
					t.Fatalf("err = %v, want a *NoBrowserError with %q and the --browser hint", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FindBrowser = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
