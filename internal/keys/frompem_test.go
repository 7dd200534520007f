package keys

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestFromPEM(t *testing.T) {
	want := Thumbprint(mustPublic(t, "testdata/keys/test-rsa-a.jwks.json"))
	tests := []struct {
		name, file, kid, alg string
		wantKid, wantAlg     string
		wantErr              string
	}{
		{name: "pkcs8 private", file: "testdata/keys/test-rsa-a.pkcs8.pem", wantKid: want, wantAlg: "RS384"},
		{name: "pkcs1 private", file: "testdata/keys/test-rsa-a.pkcs1.pem", wantKid: want, wantAlg: "RS384"},
		{name: "public", file: "testdata/keys/test-rsa-a.pub.pem", kid: "k1", alg: "RS256", wantKid: "k1", wantAlg: "RS256"},
		{name: "ec", file: "testdata/keys/test-ec-p256.pkcs8.pem", wantAlg: "ES256"},
		{name: "bad alg", file: "testdata/keys/test-rsa-a.pub.pem", alg: "HS256", wantErr: "RS384 or RS256"},
		{name: "not pem", file: "testdata/keys/test-rsa-a.jwks.json", wantErr: "no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := FromPEM(data, tt.kid, tt.alg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(out, &doc); err != nil || len(doc.Keys) != 1 {
				t.Fatalf("output %s: %v", out, err)
			}
			k := doc.Keys[0]
			for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[m]; ok {
					t.Fatalf("private member %q in %s", m, out)
				}
			}
			if tt.wantKid != "" && k["kid"] != tt.wantKid {
				t.Errorf("kid = %v, want %s", k["kid"], tt.wantKid)
			}
			if k["kid"] == nil || k["kid"] == "" || k["alg"] != tt.wantAlg || k["use"] != "sig" {
				t.Errorf("kid %v alg %v use %v, want a kid, %s, sig", k["kid"], k["alg"], k["use"], tt.wantAlg)
			}
			if tt.wantAlg != "ES256" {
				if _, err := ForUpload(out); err != nil {
					t.Errorf("ForUpload refuses the output: %v", err)
				}
			}
		})
	}
}

func mustPublic(t *testing.T, path string) jose.JSONWebKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := PublicKeys(b)
	if err != nil || len(ks) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return ks[0]
}
