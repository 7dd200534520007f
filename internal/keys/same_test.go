package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readFixture returns a file of testdata as a string.
func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSameKeys(t *testing.T) {
	jwksA := readFixture(t, "keys/test-rsa-a.jwks.json")
	jwksAB := readFixture(t, "keys/test-rsa-ab.jwks.json")
	jwksB := readFixture(t, "keys/test-rsa-b.jwks.json")
	upA, err := ForUpload([]byte(jwksA))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		stored, uploaded string
		want             bool
		wantErr          string
	}{
		{"identical", jwksA, jwksA, true, ""},
		{"upload form of the same set", jwksA, upA.JSON, true, ""},
		{"dotnet stored form", readFixture(t, "stored/dotnet-a.json"), upA.JSON, true, ""},
		{"dotnet stored form as a JSON string", readFixture(t, "stored/dotnet-a-string.json"), jwksA, true, ""},
		{"dotnet stored form, other order and kids", readFixture(t, "stored/dotnet-ba.json"), jwksAB, true, ""},
		{"different key", readFixture(t, "stored/dotnet-a.json"), jwksB, false, ""},
		{"subset is not the same", jwksA, jwksAB, false, ""},
		{"kid rename is the same key", strings.Replace(jwksA, `"test-rsa-a"`, `"renamed"`, 1), jwksA, true, ""},
		{"padded stored modulus", `{"Keys":[{"Kty":"RSA","E":"AQAB=","N":"` + modulusOf(t, jwksA) + `=="}]}`, jwksA, true, ""},
		{"empty stored set", `{"Keys":[]}`, jwksA, false, ""},
		{"null stored set", `{"Keys":null}`, `{"keys":[]}`, true, ""},
		{"stored not JSON", `<html>`, jwksA, false, "read stored key set: not JSON"},
		{"uploaded not JSON", jwksA, `nope`, false, "read uploaded key set: not JSON"},
		{"stored without keys", `{"Items":[]}`, jwksA, false, `no "keys" member`},
		{"stored key without kty", `{"Keys":[{"N":"AQAB","E":"AQAB"}]}`, jwksA, false, "has no kty"},
		{"stored key unreadable", `{"Keys":[{"Kty":"RSA","N":"!!","E":"AQAB"}]}`, jwksA, false, "key #1"},
		{"member twice in different case", `{"keys":[{"kty":"RSA","n":"AQAB","N":"AQAB","e":"AQAB"}]}`, jwksA, false, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SameKeys(tt.stored, tt.uploaded)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SameKeys error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SameKeys: %v", err)
			}
			if got != tt.want {
				t.Errorf("SameKeys = %v, want %v", got, tt.want)
			}
		})
	}
}

// modulusOf returns the n member of the first key of a JWKS.
func modulusOf(t *testing.T, doc string) string {
	t.Helper()
	entries, err := parseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := stringMember(entries[0], "n", nil)
	return n
}

func TestUploadThumbprintsSorted(t *testing.T) {
	up, err := ForUpload([]byte(readFixture(t, "keys/test-rsa-ab.jwks.json")))
	if err != nil {
		t.Fatal(err)
	}
	tps := up.Thumbprints()
	if len(tps) != 2 || tps[0] >= tps[1] {
		t.Fatalf("Thumbprints = %v, want two sorted distinct values", tps)
	}
	for _, k := range up.Keys {
		if len(k.Thumbprint) != 43 {
			t.Errorf("thumbprint %q is not a base64url SHA-256", k.Thumbprint)
		}
		if k.Bits != 2048 {
			t.Errorf("bits = %d", k.Bits)
		}
	}
}

// TestThumbprintRFC7638 checks the thumbprint against the worked example of
// RFC 7638 section 3.1.
func TestThumbprintRFC7638(t *testing.T) {
	up, err := ForUpload([]byte(readFixture(t, "rfc7638.json")))
	if err != nil {
		t.Fatal(err)
	}
	const want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	if got := up.Keys[0].Thumbprint; got != want {
		t.Fatalf("thumbprint = %s, want %s", got, want)
	}
}
