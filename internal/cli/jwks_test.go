package cli

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// keyFixture is the path of a test key file of internal/keys/testdata.
func keyFixture(name string) string {
	return filepath.Join("..", "keys", "testdata", "keys", name)
}

// goldenJWKS writes the document of a golden key set case to a temporary file.
func goldenJWKS(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "keys", "testdata", "jwks", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(data), "-- jwks.json --\n")
	if !ok {
		t.Fatalf("%s has no jwks.json", name)
	}
	p := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJWKSCheckCommand(t *testing.T) {
	good, err := os.ReadFile(keyFixture("test-rsa-ab.jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(good)
	})
	mux.HandleFunc("/sleepy.json", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(good)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	de := testRun{client: srv.Client()}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErrOut string
	}{
		{"good file", []string{"jwks", "check", keyFixture("test-rsa-ab.jwks.json")}, ExitOK,
			[]string{"test-rsa-a  RSA  2048  RS384  sig", "0 errors, 0 warnings, 0 notes"}, ""},
		{"private members", []string{"jwks", "check", goldenJWKS(t, "private-rsa")}, ExitFailures,
			[]string{"ERROR   jwks.private-members  key \"test-rsa-a\": carries private members (d, p, q, dp, dq, qi)", "fix: publish the public key only"}, ""},
		{"EC beside RSA is a warning", []string{"jwks", "check", goldenJWKS(t, "mixed-rsa-ec")}, ExitOK,
			[]string{"WARNING jwks.kty-unusable", "0 errors, 1 warning"}, ""},
		{"not JSON", []string{"jwks", "check", goldenJWKS(t, "html")}, ExitFailures,
			[]string{"ERROR   jwks.not-json  the document is an HTML page"}, ""},
		{"missing file", []string{"jwks", "check", filepath.Join(t.TempDir(), "none.json")}, ExitUsage, nil, "does not exist"},
		{"no argument", []string{"jwks", "check"}, ExitUsage, nil, "`activator jwks check` needs a key set file or URL"},
		{"bad --tries", []string{"jwks", "check", "--tries", "0", keyFixture("test-rsa-ab.jwks.json")}, ExitUsage, nil, "--tries 0 is out of range"},
		{"good URL", []string{"jwks", "check", "--interval", "1ms", srv.URL + "/jwks.json"}, ExitOK,
			[]string{"Fetched " + srv.URL + "/jwks.json: 3 tries (200 in", "Cache-Control max-age=3600", "INFO    url.cache-max-age"}, ""},
		{"sleeping host", []string{"jwks", "check", "--interval", "1ms", srv.URL + "/sleepy.json"}, ExitFailures,
			[]string{"ERROR   url.unreliable  1 of 3 tries failed (answered 503 Service Unavailable)"}, ""},
		{"URL not found", []string{"jwks", "check", "--tries", "1", srv.URL + "/none.json"}, ExitFailures,
			[]string{"ERROR   url.status  the URL answers 404 Not Found"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, de, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErrOut, errOut)
			}
			if strings.Contains(out+errOut, "goroutine") {
				t.Errorf("a stack trace was printed")
			}
		})
	}
}

func TestJWKSCheckOutputFormats(t *testing.T) {
	path := goldenJWKS(t, "kid-duplicate")
	code, out, _ := runCmd(t, testRun{}, "jwks", "check", "--output", "json", path)
	if code != ExitFailures {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Source   string
		Keys     []struct{ Kid, Thumbprint string }
		Findings []struct{ Severity, Rule, Message, Fix string }
		Errors   int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, out)
	}
	if rep.Errors != 1 || len(rep.Keys) != 2 || rep.Findings[0].Rule != "jwks.kid-duplicate" {
		t.Errorf("report = %+v", rep)
	}
	code, out, _ = runCmd(t, testRun{}, "jwks", "check", "-o", "csv", path)
	if code != ExitFailures {
		t.Fatalf("exit %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][1] != "rule" || rows[1][1] != "jwks.kid-duplicate" {
		t.Fatalf("CSV output = %v, %v", rows, err)
	}
}
