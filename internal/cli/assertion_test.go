package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	diagClientID = "6c12dff4-24e7-4475-a742-b08972c4ea27"
	diagTokenURL = "https://fhir.example.org/interconnect-fhir-oauth/oauth2/token"
)

func TestAssertionNewAndCheck(t *testing.T) {
	pem, err := os.ReadFile(keyFixture("test-rsa-a.pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EPIC_KEY": strings.ReplaceAll(strings.TrimSpace(string(pem)), "\n", `\n`)}
	base := []string{"--client-id", diagClientID, "--token-url", diagTokenURL}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantErrOut string
		wantKid    string
	}{
		{"PKCS#8 file with kid", []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a"}, ExitOK, "", "test-rsa-a"},
		{"environment variable with literal \\n", []string{"--key", "env:EPIC_KEY", "--kid", "test-rsa-a"}, ExitOK, `repaired the key: replaced literal \n sequences`, "test-rsa-a"},
		{"private JWK gives the kid", []string{"--key", keyFixture("test-rsa-a.private.jwk.json")}, ExitOK, "", "test-rsa-a"},
		{"no kid: the kid of --jwks", []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--jwks", keyFixture("test-rsa-a.jwks.json")}, ExitOK, `using kid "test-rsa-a", the key of --jwks that matches --key`, "test-rsa-a"},
		{"RS256", []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--alg", "RS256"}, ExitOK, "", "test-rsa-a"},
		{"RS256 against a key published RS384", []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--alg", "RS256"}, ExitOK, "", "alg-mismatch"},
		{"EC key for RS384", []string{"--key", keyFixture("test-ec-p256.pkcs8.pem")}, ExitUsage, "the key is EC P-256 but --alg RS384 needs an RSA key", ""},
		{"public key", []string{"--key", keyFixture("test-rsa-a.pub.pem")}, ExitUsage, "holds a PUBLIC KEY, not a private key", ""},
		{"lifetime over 5 minutes", []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--lifetime", "6m"}, ExitUsage, "--lifetime 6m0s is not a whole number of seconds between 1s and 5m", ""},
		{"empty environment variable", []string{"--key", "env:NOPE"}, ExitUsage, "environment variable NOPE is empty or unset", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"assertion", "new"}, base...), tt.args...)
			code, out, errOut := runCmd(t, testRun{env: env}, args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErrOut) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.wantCode, errOut, tt.wantErrOut)
			}
			if code != ExitOK {
				if strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
					t.Errorf("error is not one line: %q", errOut)
				}
				return
			}
			jwt := strings.TrimSpace(out)
			if strings.Count(jwt, ".") != 2 {
				t.Fatalf("stdout is not a JWT: %q", out)
			}
			// The assertion passes every check, signature included.
			// (Against the key published with the assertion's alg: RS256
			// against one published RS384 is an error servers answer with
			// "no key with alg RS256".)
			jwks := keyFixture("test-rsa-a.jwks.json")
			if tt.name == "RS256" {
				jwks = keyFixture("test-rsa-a-rs256.jwks.json")
			}
			checkArgs := append(append([]string{"assertion", "check", jwt}, base...), "--jwks", jwks, "-o", "json")
			code, out, errOut = runCmd(t, testRun{}, checkArgs...)
			var rep struct {
				Header         map[string]any
				SignatureValid bool `json:"signature_valid"`
				Errors         int
				Findings       []struct{ Rule string }
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("check output: %v\n%s%s", err, out, errOut)
			}
			wantCode := ExitOK
			if tt.wantKid == "alg-mismatch" {
				if code != ExitFailures || len(rep.Findings) != 1 || rep.Findings[0].Rule != "jwt.key-alg-mismatch" {
					t.Fatalf("check exit %d, findings %+v: want exit 1 for jwt.key-alg-mismatch", code, rep.Findings)
				}
				return
			}
			if tt.wantKid == "" {
				wantCode = ExitFailures // SMART requires a kid
			}
			if code != wantCode || !rep.SignatureValid {
				t.Fatalf("check exit %d, signature %v, findings %+v", code, rep.SignatureValid, rep.Findings)
			}
			if kid, _ := rep.Header["kid"].(string); kid != tt.wantKid {
				t.Errorf("kid %q, want %q", kid, tt.wantKid)
			}
		})
	}
}

func TestAssertionCheckCommand(t *testing.T) {
	// A JWT copied from a log line, with an assertion that expired. It is
	// checked at now, the same instant it was made 10 minutes before, so it
	// expired exactly 6m5s ago however long the two commands take.
	now := time.Now()
	code, jwt, _ := runCmd(t, testRun{now: func() time.Time { return now.Add(-10 * time.Minute) }},
		"assertion", "new", "--client-id", diagClientID, "--token-url", diagTokenURL, "--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a")
	if code != ExitOK {
		t.Fatal("assertion new failed")
	}
	jwt = strings.TrimSpace(jwt)
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{"expired assertion", []string{jwt}, "", ExitFailures, []string{"ERROR   jwt.expired  the assertion expired 6m5s ago", "Signature: verified with key test-rsa-a"}, ""},
		{"from stdin with the parameter name", []string{"-"}, "client_assertion=" + jwt + "\n", ExitFailures, []string{"jwt.expired"}, ""},
		{"wrong client ID", []string{jwt, "--client-id", "prod-id"}, "", ExitFailures, []string{"ERROR   jwt.iss", "ERROR   jwt.sub"}, ""},
		{"not a JWT", []string{"hello"}, "", ExitFailures, []string{"ERROR   jwt.malformed  the assertion has 1 dot-separated parts, not 3"}, ""},
		{"missing key set file", []string{jwt, "--jwks", "nope.json"}, "", ExitUsage, nil, `JWKS file "nope.json" does not exist`},
		{"missing flags", []string{jwt, "--client-id", ""}, "", ExitUsage, nil, "missing --client-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"assertion", "check"}, tt.args[0])
			args = append(args, "--client-id", diagClientID, "--token-url", diagTokenURL, "--jwks", keyFixture("test-rsa-a.jwks.json"))
			args = append(args, tt.args[1:]...)
			code, out, errOut := runCmd(t, testRun{stdin: tt.stdin, now: func() time.Time { return now }}, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantErr)
			}
		})
	}
}

// TestAssertionNewPipesIntoCheck: without --kid, `assertion new` names its
// key by the RFC 7638 thumbprint (and says so), so its output passes
// `assertion check` given the same inputs, with or without --jwks.
func TestAssertionNewPipesIntoCheck(t *testing.T) {
	base := []string{"--client-id", "c1", "--token-url", "https://ehr.example.org/oauth2/token"}
	pub := filepath.Join(t.TempDir(), "jwks.json")
	code, out, errOut := runCmd(t, testRun{}, "jwks", "from-pem", keyFixture("test-rsa-a.pkcs8.pem"))
	if code != ExitOK {
		t.Fatalf("jwks from-pem: exit %d\n%s", code, errOut)
	}
	if err := os.WriteFile(pub, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--jwks", pub}} {
		args := append(append([]string{"assertion", "new", "--key", keyFixture("test-rsa-a.pkcs8.pem")}, base...), extra...)
		code, jwt, errOut := runCmd(t, testRun{}, args...)
		if code != ExitOK || !strings.Contains(errOut, "using kid") {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		check := append(append([]string{"assertion", "check", "-"}, base...), extra...)
		code, out, errOut := runCmd(t, testRun{stdin: jwt}, check...)
		if code != ExitOK {
			t.Fatalf("%v | %v: exit %d\n%s%s", args, check, code, out, errOut)
		}
	}
}
