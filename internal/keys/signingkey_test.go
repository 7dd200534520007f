package keys

import (
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSigningKey(t *testing.T) {
	pkcs1 := readFixture(t, "keys/test-rsa-a.pkcs1.pem")
	pkcs8 := readFixture(t, "keys/test-rsa-a.pkcs8.pem")
	ec := readFixture(t, "keys/test-ec-p256.pkcs8.pem")
	block, _ := pem.Decode([]byte(pkcs8))
	up, err := ForUpload([]byte(readFixture(t, "keys/test-rsa-a.jwks.json")))
	if err != nil {
		t.Fatal(err)
	}
	wantThumb := up.Keys[0].Thumbprint
	body := strings.Join(strings.Split(strings.TrimSpace(pkcs1), "\n")[1:len(strings.Split(strings.TrimSpace(pkcs1), "\n"))-1], " ")

	tests := []struct {
		name        string
		data        string
		kid         string
		wantFormat  string
		wantRepairs []string
		wantRSA     bool
		wantErr     string
	}{
		{name: "PKCS#1 PEM", data: pkcs1, wantFormat: "PKCS#1 PEM", wantRSA: true},
		{name: "PKCS#8 PEM", data: pkcs8, wantFormat: "PKCS#8 PEM", wantRSA: true},
		{name: "CRLF line ends", data: strings.ReplaceAll(pkcs8, "\n", "\r\n"), wantFormat: "PKCS#8 PEM", wantRSA: true, wantRepairs: []string{"CRLF"}},
		{name: "environment variable with literal \\n", data: strings.ReplaceAll(strings.TrimSpace(pkcs1), "\n", `\n`), wantFormat: "PKCS#1 PEM", wantRSA: true, wantRepairs: []string{`literal \n`}},
		{name: "quoted .env value", data: `"` + strings.ReplaceAll(strings.TrimSpace(pkcs8), "\n", `\n`) + `"`, wantFormat: "PKCS#8 PEM", wantRSA: true, wantRepairs: []string{"quotes", `literal \n`}},
		{name: "indented YAML block", data: "    " + strings.ReplaceAll(pkcs8, "\n", "\n    "), wantFormat: "PKCS#8 PEM", wantRSA: true, wantRepairs: []string{"indentation"}},
		{name: "one line with spaces", data: "-----BEGIN RSA PRIVATE KEY----- " + body + " -----END RSA PRIVATE KEY-----", wantFormat: "PKCS#1 PEM", wantRSA: true, wantRepairs: []string{"one-line PEM"}},
		{name: "byte-order mark", data: "\ufeff" + pkcs8, wantFormat: "PKCS#8 PEM", wantRSA: true, wantRepairs: []string{"byte-order mark"}},
		{name: "PKCS#8 under an RSA label", data: strings.ReplaceAll(pkcs8, "PRIVATE KEY", "RSA PRIVATE KEY"), wantFormat: "PKCS#8 PEM", wantRSA: true, wantRepairs: []string{`"RSA PRIVATE KEY" label`}},
		{name: "certificate before the key", data: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" + pkcs8, wantFormat: "PKCS#8 PEM", wantRSA: true, wantRepairs: []string{"ignored a CERTIFICATE block"}},
		{name: "DER", data: string(block.Bytes), wantFormat: "PKCS#8 DER", wantRSA: true},
		{name: "private JWK", data: readFixture(t, "keys/test-rsa-a.private.jwk.json"), wantFormat: "private JWK", wantRSA: true},
		{name: "key set with one private key", data: `{"keys":[` + readFixture(t, "keys/test-rsa-a.private.jwk.json") + `]}`, wantFormat: "private JWK", wantRSA: true, wantRepairs: []string{"used the private key"}},
		{name: "key set, kid chooses", data: `{"keys":[` + readFixture(t, "keys/test-rsa-a.private.jwk.json") + `]}`, kid: "other", wantErr: `no private key with kid "other"`},
		{name: "EC key", data: ec, wantFormat: "PKCS#8 PEM"},
		{name: "public PEM", data: readFixture(t, "keys/test-rsa-a.pub.pem"), wantErr: "holds a PUBLIC KEY, not a private key"},
		{name: "public JWK", data: readFixture(t, "keys/test-rsa-a.jwks.json"), wantErr: "holds no private key"},
		{name: "public single JWK", data: `{"kty":"RSA","n":"` + modulusOf(t, readFixture(t, "keys/test-rsa-a.jwks.json")) + `","e":"AQAB"}`, wantErr: "is a public key"},
		{name: "encrypted PKCS#8", data: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n", wantErr: "is encrypted"},
		{name: "OpenSSH private key", data: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n", wantErr: "OpenSSH format"},
		{name: "OpenSSH public key", data: "ssh-rsa AAAAB3NzaC1yc2E test@example", wantErr: "OpenSSH public key"},
		{name: "damaged PEM", data: "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n", wantErr: "could not be read"},
		{name: "garbage", data: "hello", wantErr: "neither PEM, DER nor a JWK"},
		{name: "empty", data: "  \n", wantErr: "is empty"},
		{name: "symmetric JWK", data: `{"kty":"oct","k":"c2VjcmV0"}`, wantErr: "cannot sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseSigningKey([]byte(tt.data), tt.kid)
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want an *InputError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSigningKey: %v", err)
			}
			if k.Format != tt.wantFormat || k.IsRSA() != tt.wantRSA {
				t.Errorf("format %q rsa %v, want %q %v", k.Format, k.IsRSA(), tt.wantFormat, tt.wantRSA)
			}
			all := strings.Join(k.Repairs, "; ")
			for _, r := range tt.wantRepairs {
				if !strings.Contains(all, r) {
					t.Errorf("repairs %q lack %q", all, r)
				}
			}
			if len(tt.wantRepairs) == 0 && len(k.Repairs) > 0 {
				t.Errorf("unexpected repairs %q", all)
			}
			if tt.wantRSA && k.Thumbprint() != wantThumb {
				t.Errorf("thumbprint %s, want the fixture's %s", k.Thumbprint(), wantThumb)
			}
		})
	}
}

func TestLoadSigningKey(t *testing.T) {
	pem := readFixture(t, "keys/test-rsa-a.pkcs1.pem")
	env := map[string]string{"EPIC_KEY": strings.ReplaceAll(pem, "\n", `\n`), "EMPTY": ""}
	getenv := func(k string) string { return env[k] }
	dir := t.TempDir()
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{"file", filepath.Join("testdata", "keys", "test-rsa-a.pkcs1.pem"), ""},
		{"environment variable", "env:EPIC_KEY", ""},
		{"empty environment variable", "env:EMPTY", "EMPTY is empty or unset"},
		{"no variable name", "env:", "names no environment variable"},
		{"missing file", filepath.Join(dir, "nope.pem"), "does not exist"},
		{"directory", dir, "is not a key file"},
		{"nothing", "", "no signing key given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadSigningKey(tt.src, "", getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !k.IsRSA() || k.Type() != "RSA 2048-bit" {
				t.Fatalf("LoadSigningKey = %v, %v", k, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join("testdata", "keys", "test-rsa-a.pkcs1.pem")); err != nil {
		t.Fatal(err)
	}
}
