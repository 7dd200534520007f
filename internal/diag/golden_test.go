package diag

import (
	"github.com/rogpeppe/go-internal/txtar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/keys"
)

// goldenAssertion is one archive of testdata/assertions.
type goldenAssertion struct {
	name     string
	jwt      string
	now      time.Time
	clientID string
	tokenURL string
	jwks     string   // fixture key set name, empty for none
	jwksURL  string   // the registered JWK Set URL, empty for unknown
	check    []string // rules that must be found; empty means "no errors"
	errors   []string // rules that must be found as errors
}

// loadGoldenAssertions reads the golden assertions with their expectations.
func loadGoldenAssertions(t testing.TB) []goldenAssertion {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "assertions", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden assertions: %v", err)
	}
	var out []goldenAssertion
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		comment, parts := parseArchive(data)
		g := goldenAssertion{name: strings.TrimSuffix(filepath.Base(f), ".txtar"), jwt: strings.TrimSpace(string(parts["assertion.jwt"]))}
		for _, line := range strings.Split(comment, "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "now":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("%s: now: %v", f, err)
				}
				g.now = time.Unix(n, 0)
			case "client-id":
				g.clientID = v
			case "token-url":
				g.tokenURL = v
			case "jwks":
				g.jwks = v
			case "jwks-url":
				g.jwksURL = v
			case "errors":
				g.errors = strings.Fields(v)
			case "check":
				if v != "ok" {
					g.check = strings.Fields(v)
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// publicKeys reads a fixture key set of testdata/keys.
func publicKeys(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "keys", name+".jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckAssertionGolden(t *testing.T) {
	for _, g := range loadGoldenAssertions(t) {
		t.Run(g.name, func(t *testing.T) {
			exp := Expect{ClientID: g.clientID, TokenURL: g.tokenURL, Now: g.now, JWKSURL: g.jwksURL}
			if g.jwks != "" {
				ks, err := keys.PublicKeys(publicKeys(t, g.jwks))
				if err != nil {
					t.Fatal(err)
				}
				exp.Keys = ks
			}
			rep := CheckAssertion(g.jwt, exp)
			found := map[string]bool{}
			asError := map[string]bool{}
			for _, f := range rep.Findings {
				found[f.Rule] = true
				asError[f.Rule] = asError[f.Rule] || f.Severity == keys.SeverityError
				if strings.ContainsAny(f.Message+f.Fix, "\n\r") || f.Message == "" {
					t.Errorf("finding %+v is not one line", f)
				}
				if f.Severity != keys.SeverityInfo && f.Fix == "" {
					t.Errorf("finding %+v has no fix", f)
				}
			}
			if len(g.check) == 0 {
				if rep.ErrorCount != 0 {
					t.Fatalf("want no errors, got %v", rep.Findings)
				}
				if g.jwks != "" && !rep.SignatureValid {
					t.Fatalf("good assertion's signature not valid")
				}
			}
			for _, rule := range g.check {
				if !found[rule] {
					t.Errorf("rule %s not triggered; findings %v", rule, rep.Findings)
				}
			}
			for _, rule := range g.errors {
				if !asError[rule] {
					t.Errorf("rule %s not an error; findings %v", rule, rep.Findings)
				}
			}
		})
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
