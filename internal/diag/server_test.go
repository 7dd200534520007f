package diag

import (
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/keys"
)

// TestServerCause matches the error_description of real servers: the SMART
// reference servers (launcher and bulk data server), Keycloak, Microsoft
// Entra, and JWT libraries' own messages that servers pass on.
func TestServerCause(t *testing.T) {
	tests := []struct {
		desc string
		kind string
	}{
		{"Missing 'scope' parameter", ServerScopeMissing},
		{"scope is required", ServerScopeMissing},
		{`Invalid scope(s) "patient/*.read" requested. Only system scopes are allowed.`, ServerScopeInvalid},
		{"No scope(s) could be granted", ServerScopeInvalid},
		{"Invalid jku header of the assertion token token. must be 'https://app.example.com/jwks.json'", ServerJKU},
		{"jku_not_whitelisted", ServerJKU},
		{"Failed to fetch JWKS from https://app.example.com/jwks.json. 503 Service Unavailable", ServerJWKSFetch},
		{"Requesting the remote JWKS returned an error.", ServerJWKSFetch},
		{"Missing token 'exp' claim", ServerClaimMissing},
		{"Missing token 'jti' claim", ServerClaimMissing},
		{"Invalid token 'typ' header. Must be 'JWT'.", ServerTyp},
		{"Missing token 'kid' header", ServerKidMissing},
		{"None of the keys found in the JWKS have kid equal to np-2026-02", ServerKid},
		{`No public keys found in the JWKS with "kid" equal to "np-2026-02"`, ServerKid},
		{"None of the keys found in the JWKS have alg equal to RS256", ServerAlg},
		{"no key with alg RS256", ServerAlg},
		{"Invalid token. invalid algorithm", ServerAlg},
		{"Invalid token 'aud' value (https://proxy.example.org/token). Must be 'https://ehr.example.org/token'.", ServerAud},
		{"Invalid token. jwt audience invalid. expected: https://ehr.example.org/token", ServerAud},
		{"Invalid token. jwt expired", ServerExpired},
		{"Unable to verify the token with any of the public keys found in the JWKS: jwt expired", ServerExpired},
		{"Invalid token. jwt not active", ServerNotActive},
		{"Token is not active", ServerNotActive},
		{"AADSTS700024: Client assertion is not within its valid time range.", ServerTime},
		{"Token reuse detected", ServerJTI},
		{"Invalid token. invalid signature", ServerSignature},
		{"AADSTS700027: Client assertion contains an invalid signature.", ServerSignature},
		{"Client authentication with signed JWT failed: Signature on JWT token by client 6c12 failed validation", ServerSignature},
		{"Invalid 'client_id' (as sub claim of the assertion JWT)", ServerClient},
		{"The token sub does not match the token iss claim", ServerClient},
		{"Missing token 'iss' claim", ServerClaimMissing},
		{"AADSTS700016: Application with identifier '6c12' was not found in the directory", ServerClient},
		{"Multiple usable public keys found in the JWKS", ServerOther},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, kind, ok := ServerCause(&TokenResponse{StatusCode: 400, Error: "invalid_client", ErrorDescription: tt.desc, HasDescription: true})
			if !ok || kind != tt.kind {
				t.Fatalf("kind %q (%v), want %q", kind, ok, tt.kind)
			}
			if c.Likelihood != LikelihoodServer || c.Server != tt.desc || !strings.Contains(c.Cause, tt.desc) || c.Fix == "" {
				t.Fatalf("cause %+v does not quote the server", c)
			}
		})
	}
	for _, r := range []*TokenResponse{nil, {Error: "invalid_client"}, {Error: "invalid_client", ErrorDescription: "  "}} {
		if _, _, ok := ServerCause(r); ok {
			t.Fatalf("%+v has no description to match", r)
		}
	}
}

// TestDiagnoseServerFirst: the server's cause leads; a bare refusal's
// guesses (propagation, the listing) are left out unless they explain
// the same refusal.
func TestDiagnoseServerFirst(t *testing.T) {
	local := time.Date(2026, 2, 11, 16, 37, 0, 0, time.UTC)
	resp := func(oauthErr, desc string, offset time.Duration) *TokenResponse {
		return &TokenResponse{StatusCode: 400, Error: oauthErr, ErrorDescription: desc, HasDescription: true, Sent: local, Received: local, ServerDate: local.Add(offset)}
	}
	kidFinding := &AssertionReport{Findings: []keys.Finding{{Severity: keys.SeverityError, Rule: RuleKidUnknown, Message: "kid \"x\" is not in the key set", Fix: "fix kid"}}}
	tests := []struct {
		name    string
		in      DiagnosisInput
		first   string
		want    []string
		notWant []string
	}{
		{"missing scope without --scope", DiagnosisInput{Response: resp("invalid_client", "Missing 'scope' parameter", 0)},
			"no scope was requested", []string{"--scope", "sends no scope unless --scope"}, []string{"kid", "not reached", "listing"}},
		{"missing scope is ranked over a kid finding", DiagnosisInput{Response: resp("invalid_client", "Missing 'scope' parameter", 0), Assertion: kidFinding},
			"no scope was requested", []string{"kid \"x\" is not in the key set"}, []string{"not reached"}},
		{"invalid_scope with a description", DiagnosisInput{Response: resp("invalid_scope", "Invalid scope(s) \"patient/*.read\" requested.", 0), Scope: "patient/*.read"},
			"the requested scope is not granted", nil, []string{"sends no scope"}},
		{"alg mismatch names propagation as possible", DiagnosisInput{Response: resp("invalid_client", "None of the keys found in the JWKS have alg equal to RS256", 0)},
			"the server holds no key published with the assertion's alg", []string{"has not reached"}, []string{"listing"}},
		{"not active with a server behind", DiagnosisInput{Response: resp("invalid_client", "Invalid token. jwt not active", -8*time.Second)},
			"to the server, the assertion is not valid yet", []string{"the server's clock is 8s behind this machine's: to the server, iat/nbf are 3s in the future"}, nil},
		{"expired with a server ahead names the skew as likely", DiagnosisInput{Response: resp("invalid_client", "Invalid token. jwt expired", 2*time.Second)},
			"to the server, the assertion has expired", []string{"the server's clock is 2s ahead of this machine's"}, nil},
		{"jku refused as invalid_request", DiagnosisInput{Response: resp("invalid_request", "Invalid jku header of the assertion token token. must be 'https://a/jwks'", 0)},
			"the assertion's jku header is not the JWK Set URL", nil, []string{"malformed"}},
		{"an unknown description is quoted first, then the guesses", DiagnosisInput{Response: resp("invalid_client", "Multiple usable public keys found in the JWKS", 0)},
			"the server says \"Multiple usable public keys found in the JWKS\"", []string{"JWK Set URL", "has not reached"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			causes, err := Diagnose(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(causes) == 0 || causes[0].Likelihood != LikelihoodServer || !strings.HasPrefix(causes[0].Cause, tt.first) {
				t.Fatalf("first cause %+v, want %q from the server; all %+v", causes[0], tt.first, causes)
			}
			var all strings.Builder
			for _, c := range causes {
				all.WriteString(c.Cause + " / " + c.Fix + "\n")
			}
			for _, w := range tt.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("causes lack %q:\n%s", w, all.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all.String(), w) {
					t.Errorf("causes have %q:\n%s", w, all.String())
				}
			}
		})
	}
}
