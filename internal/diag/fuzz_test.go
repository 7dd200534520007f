package diag

import (
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/keys"
)

// FuzzParseJWT feeds arbitrary assertions to CheckAssertion, with and without
// a key set. It must never panic, and every finding must be one line with a
// known severity.
func FuzzParseJWT(f *testing.F) {
	for _, g := range loadGoldenAssertions(f) {
		f.Add(g.jwt)
	}
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzM4NCJ9.eyJleHAiOjFlMzAwfQ.AA")
	ks, err := keys.PublicKeys(publicKeys(f, "test-rsa-ab"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1770827820, 0)
	f.Fuzz(func(t *testing.T, token string) {
		for _, exp := range []Expect{
			{ClientID: testClientID, TokenURL: testTokenURL, Now: now},
			{ClientID: testClientID, TokenURL: testTokenURL, Keys: ks, Now: now},
		} {
			rep := CheckAssertion(token, exp)
			if rep.ErrorCount != keys.Errors(rep.Findings) {
				t.Fatalf("error count %d for %v", rep.ErrorCount, rep.Findings)
			}
			for _, fd := range rep.Findings {
				if strings.ContainsAny(fd.Message+fd.Fix, "\n\r") {
					t.Fatalf("multi-line finding %q", fd.Message)
				}
				switch fd.Severity {
				case keys.SeverityError, keys.SeverityWarning, keys.SeverityInfo:
				default:
					t.Fatalf("severity %q", fd.Severity)
				}
			}
			if rep.SignatureValid && exp.Keys == nil {
				t.Fatalf("signature valid without keys")
			}
		}
	})
}
