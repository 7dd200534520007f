package keys

import (
	"encoding/json"
	"errors"
	"github.com/rogpeppe/go-internal/txtar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goldenCase is one archive of testdata/jwks.
type goldenCase struct {
	name   string
	doc    []byte
	check  []string // rules that must be found; empty means "no errors"
	upload string   // "ok keys=N [dropped=M]" or "refused TEXT"
}

// loadGolden reads every golden key set document with its expectations.
func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "jwks", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	var out []goldenCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		comment, files := parseArchive(data)
		c := goldenCase{name: strings.TrimSuffix(filepath.Base(f), ".txtar"), doc: files["jwks.json"]}
		for _, line := range strings.Split(comment, "\n") {
			key, val, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			switch key {
			case "check":
				if val != "ok" {
					c.check = strings.Fields(val)
				}
			case "upload":
				c.upload = val
			}
		}
		if c.doc == nil || c.upload == "" {
			t.Fatalf("%s: needs a jwks.json file and an upload: line", f)
		}
		out = append(out, c)
	}
	return out
}

func TestForUploadGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			up, err := ForUpload(c.doc)
			if want, ok := strings.CutPrefix(c.upload, "refused "); ok {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("ForUpload = %v, %v; want an *InputError containing %q", up, err, want)
				}
				if !strings.Contains(ie.Msg, want) {
					t.Errorf("message %q does not contain %q", ie.Msg, want)
				}
				if strings.Contains(ie.Msg, "\n") {
					t.Errorf("message spans lines: %q", ie.Msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ForUpload: %v", err)
			}
			wantKeys, wantDropped := 0, 0
			for _, f := range strings.Fields(strings.TrimPrefix(c.upload, "ok")) {
				k, v, _ := strings.Cut(f, "=")
				n, _ := strconv.Atoi(v)
				switch k {
				case "keys":
					wantKeys = n
				case "dropped":
					wantDropped = n
				}
			}
			if len(up.Keys) != wantKeys || len(up.Dropped) != wantDropped {
				t.Errorf("got %d keys, %d dropped; want %d, %d", len(up.Keys), len(up.Dropped), wantKeys, wantDropped)
			}
			assertUploadJSON(t, up)
		})
	}
}

// assertUploadJSON checks the properties every upload document must have:
// 2-space indentation, only public RSA members, and keys that match Keys.
func assertUploadJSON(t *testing.T, up *Upload) {
	t.Helper()
	if !strings.HasPrefix(up.JSON, "{\n  \"keys\": [\n    {\n      \"kty\": \"RSA\",") {
		t.Errorf("upload JSON is not 2-space pretty-printed with kty first:\n%s", up.JSON)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(up.JSON), &doc); err != nil {
		t.Fatalf("upload JSON does not parse: %v", err)
	}
	if len(doc.Keys) != len(up.Keys) {
		t.Fatalf("upload JSON has %d keys, Keys has %d", len(doc.Keys), len(up.Keys))
	}
	allowed := map[string]bool{"kty": true, "n": true, "e": true, "kid": true, "alg": true, "use": true}
	for i, k := range doc.Keys {
		for name := range k {
			if !allowed[name] {
				t.Errorf("key %d has member %q in the upload", i, name)
			}
		}
		if k["kty"] != "RSA" {
			t.Errorf("key %d has kty %v", i, k["kty"])
		}
		if k["kid"] != up.Keys[i].Kid {
			t.Errorf("key %d kid %v, KeyInfo says %q", i, k["kid"], up.Keys[i].Kid)
		}
	}
	// The upload must itself be accepted, unchanged, by ForUpload.
	again, err := ForUpload([]byte(up.JSON))
	if err != nil {
		t.Fatalf("ForUpload refuses its own output: %v", err)
	}
	if again.JSON != up.JSON {
		t.Errorf("ForUpload is not idempotent:\n%s\n---\n%s", up.JSON, again.JSON)
	}
}

// parseArchive reads a golden file (txtar: a comment, then named files).
func parseArchive(data []byte) (comment string, files map[string][]byte) {
	a := txtar.Parse(data)
	files = make(map[string][]byte, len(a.Files))
	for _, f := range a.Files {
		files[f.Name] = f.Data
	}
	return string(a.Comment), files
}

func TestCheckDocumentGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			findings := CheckDocument(c.doc)
			found := map[string]bool{}
			for _, f := range findings {
				found[f.Rule] = true
				if f.Message == "" || strings.ContainsAny(f.Message+f.Fix, "\n\r") {
					t.Errorf("finding %+v is not a one-line message", f)
				}
				if f.Severity != SeverityInfo && f.Fix == "" {
					t.Errorf("finding %+v has no fix", f)
				}
			}
			if len(c.check) == 0 && Errors(findings) > 0 {
				t.Fatalf("want no errors, got %+v", findings)
			}
			for _, rule := range c.check {
				if !found[rule] {
					t.Errorf("rule %s not triggered; findings: %+v", rule, findings)
				}
			}
			// A document ForUpload accepts must not have error findings other
			// than the ones uploads tolerate (use/key_ops on a key whose use
			// organizations ignore).
			if _, err := ForUpload(c.doc); err == nil {
				for _, f := range findings {
					if f.Severity == SeverityError && f.Rule != RuleUseNotSig && f.Rule != RuleKeyOps {
						t.Errorf("ForUpload accepts a document with error %+v", f)
					}
				}
			}
		})
	}
}
