package keys

import (
	"strings"
	"testing"
)

// FuzzParseJWKS feeds arbitrary documents to every entry point that reads a
// key set. None may panic; every refusal must be a one-line *InputError, and
// an accepted upload must be accepted again unchanged.
func FuzzParseJWKS(f *testing.F) {
	for _, c := range loadGolden(f) {
		f.Add(c.doc)
	}
	f.Add([]byte(readFixture(f, "stored/dotnet-a.json")))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"x"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`"{\"Keys\":[]}"`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		findings := CheckDocument(doc)
		for _, fd := range findings {
			if strings.ContainsAny(fd.Message, "\n\r") {
				t.Fatalf("multi-line finding %q", fd.Message)
			}
		}
		_ = Summarize(doc)
		up, err := ForUpload(doc)
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("ForUpload error %T %v, want *InputError", err, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
		} else {
			again, err := ForUpload([]byte(up.JSON))
			if err != nil || again.JSON != up.JSON {
				t.Fatalf("upload not stable: %v", err)
			}
			same, err := SameKeys(string(doc), up.JSON)
			if err == nil && !same && len(up.Dropped) == 0 {
				t.Fatalf("an upload differs from its own source")
			}
		}
		_, _ = SameKeys(string(doc), string(doc))
	})
}
