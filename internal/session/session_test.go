package session

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseCookieFile(t *testing.T) {
	future := time.Now().Add(time.Hour).Unix()
	netscape := "# Netscape HTTP Cookie File\n" +
		"#HttpOnly_.fhir.epic.com\tTRUE\t/\tTRUE\t0\t.AspNet.Cookies\tsecret1\n" +
		"fhir.epic.com\tFALSE\t/\tTRUE\t" + strconv.FormatInt(future, 10) + "\tASP.NET_SessionId\tsecret2\n" +
		"fhir.epic.com\tFALSE\t/\tTRUE\t1000\told\texpired\n" +
		".example.com\tTRUE\t/\tFALSE\t0\tother\tnope\n"
	tests := []struct {
		name, in, host, want, err string
	}{
		{name: "netscape", in: netscape, host: "fhir.epic.com", want: ".AspNet.Cookies=secret1; ASP.NET_SessionId=secret2"},
		{name: "netscape with port", in: netscape, host: "fhir.epic.com:443", want: ".AspNet.Cookies=secret1; ASP.NET_SessionId=secret2"},
		{name: "header line", in: "Cookie: a=1; b=2\n", host: "x", want: "a=1; b=2"},
		{name: "bare header value", in: "a=1; b=2", host: "x", want: "a=1; b=2"},
		{name: "empty", in: "  \n", err: "empty"},
		{name: "not cookies", in: "hello world", err: "neither"},
		{name: "no cookie for host", in: netscape, host: "other.org", err: "no unexpired cookies"},
		{name: "short netscape line", in: "# Netscape HTTP Cookie File\nfoo\tbar\n", host: "x", err: "fewer than 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCookieFile([]byte(tt.in), tt.host)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatal("error leaks a cookie value")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSaveLoadDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, FileName)
	if _, err := Load(path); err != ErrNoSession {
		t.Fatalf("Load of missing = %v", err)
	}
	s := &Stored{Portal: "https://fhir.epic.com", AppID: "50741", Cookies: "a=b", SavedAt: time.Now().UTC()}
	if err := Save(path, s); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", st.Mode().Perm())
	}
	os.Chmod(path, 0o644)
	got, err := Load(path)
	if err != nil || got.Cookies != "a=b" || got.AppID != "50741" {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatal("Load did not tighten a world-readable session file")
	}
	os.WriteFile(path, []byte("{broken"), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "activator login") {
		t.Fatalf("damaged file: %v", err)
	}
	if err := Delete(path); err != nil {
		t.Fatal(err)
	}
	if err := Delete(path); err != nil {
		t.Fatal("deleting twice failed")
	}
}

func TestReadCookieFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadCookieFile(filepath.Join(dir, "missing.txt"), "h"); err == nil || !strings.Contains(err.Error(), "--cookie-file") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := ReadCookieFile(dir, "h"); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("directory: %v", err)
	}
	if os.Getuid() != 0 {
		p := filepath.Join(dir, "unreadable")
		os.WriteFile(p, []byte("a=b"), 0o000)
		if _, err := ReadCookieFile(p, "h"); err == nil {
			t.Fatal("unreadable file was read")
		}
	}
}

// TestLoadForAndRenew: a stored session is found for its own portal only,
// and renewed cookies replace the old ones, keeping portal, app and expiry.
func TestLoadForAndRenew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", FileName)
	if _, err := LoadFor(path, "https://fhir.epic.com"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("nothing stored: %v", err)
	}
	exp := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if err := Save(path, &Stored{Portal: "https://fhir.epic.com/", AppID: "50741", Cookies: "a=1", Expires: &exp}); err != nil {
		t.Fatal(err)
	}
	var other *PortalMismatchError
	if _, err := LoadFor(path, "https://vendorservices.epic.com"); !errors.As(err, &other) || other.Want != "https://vendorservices.epic.com" {
		t.Fatalf("another portal: %v", err)
	}
	at := time.Date(2026, 12, 1, 15, 0, 0, 0, time.FixedZone("x", 3600))
	if err := Renew(path, "a=2", at); err != nil {
		t.Fatal(err)
	}
	st, err := LoadFor(path, "https://fhir.epic.com")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cookies != "a=2" || st.AppID != "50741" || !st.SavedAt.Equal(at) || st.SavedAt.Location() != time.UTC || st.Expires == nil || !st.Expires.Equal(exp) {
		t.Fatalf("renewed session %+v", st)
	}
	if err := Renew(filepath.Join(t.TempDir(), FileName), "b=1", at); !errors.Is(err, ErrNoSession) {
		t.Fatalf("renewing nothing: %v", err)
	}
}
