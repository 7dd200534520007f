package diag

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/activator-dev/activator/internal/keys"
)

const (
	testClientID = "6c12dff4-24e7-4475-a742-b08972c4ea27"
	testTokenURL = "https://fhir.example.org/interconnect-fhir-oauth/oauth2/token"
)

// signingKey loads a fixture private key.
func signingKey(t testing.TB, name string) *keys.SigningKey {
	t.Helper()
	k, err := keys.LoadSigningKey(filepath.Join("testdata", "keys", name), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewAssertion(t *testing.T) {
	rsaKey := signingKey(t, "test-rsa-a.pkcs8.pem")
	jwkKey := signingKey(t, "test-rsa-a.private.jwk.json")
	ecKey := signingKey(t, "test-ec-p256.pkcs8.pem")
	now := time.Date(2026, 2, 11, 16, 37, 0, 500e6, time.UTC)
	published, err := keys.PublicKeys(publicKeys(t, "test-rsa-a"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		p        AssertionParams
		wantErr  string
		wantAlg  string
		wantKid  string
		wantLife int64
	}{
		{name: "defaults", p: AssertionParams{Key: rsaKey, Kid: "test-rsa-a"}, wantAlg: "RS384", wantKid: "test-rsa-a", wantLife: 240},
		{name: "RS256 and a 5 minute lifetime", p: AssertionParams{Key: rsaKey, Kid: "test-rsa-a", Alg: "RS256", Lifetime: 5 * time.Minute}, wantAlg: "RS256", wantKid: "test-rsa-a", wantLife: 300},
		{name: "kid from the private JWK", p: AssertionParams{Key: jwkKey}, wantAlg: "RS384", wantKid: "test-rsa-a", wantLife: 240},
		{name: "ES256 with an EC key", p: AssertionParams{Key: ecKey, Kid: "test-ec", Alg: "ES256"}, wantAlg: "ES256", wantKid: "test-ec", wantLife: 240},
		{name: "lifetime over 5 minutes", p: AssertionParams{Key: rsaKey, Lifetime: 6 * time.Minute}, wantErr: "between 1s and 5m"},
		{name: "lifetime with a fraction", p: AssertionParams{Key: rsaKey, Lifetime: 1500 * time.Millisecond}, wantErr: "whole number of seconds"},
		{name: "EC key for RS384", p: AssertionParams{Key: ecKey}, wantErr: "needs an RSA key"},
		{name: "RSA key for ES256", p: AssertionParams{Key: rsaKey, Alg: "ES256"}, wantErr: "needs an EC key"},
		{name: "EC key for ES384", p: AssertionParams{Key: ecKey, Alg: "ES384"}, wantErr: "needs a P-384 key"},
		{name: "unsupported alg", p: AssertionParams{Key: rsaKey, Alg: "HS256"}, wantErr: "not supported by organizations"},
		{name: "no client id", p: AssertionParams{Key: rsaKey, ClientID: " "}, wantErr: "no client id"},
		{name: "client id with spaces", p: AssertionParams{Key: rsaKey, ClientID: testClientID + " "}, wantErr: "leading or trailing spaces"},
		{name: "authorize endpoint", p: AssertionParams{Key: rsaKey, TokenURL: "https://h/oauth2/authorize"}, wantErr: "authorize endpoint"},
		{name: "token URL not a URL", p: AssertionParams{Key: rsaKey, TokenURL: "fhir.example.org/token"}, wantErr: "not an http(s) URL"},
		{name: "no key", p: AssertionParams{}, wantErr: "no signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if p.ClientID == "" {
				p.ClientID = testClientID
			}
			if p.TokenURL == "" {
				p.TokenURL = testTokenURL
			}
			p.Now = now
			a, err := NewAssertion(p)
			if tt.wantErr != "" {
				var ie *keys.InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want an *InputError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := a.Claims
			if c.Iss != testClientID || c.Sub != testClientID || c.Aud != testTokenURL || c.Iat != now.Add(-DefaultClockMargin).Unix() || c.Nbf != c.Iat || c.Exp-c.Iat != tt.wantLife {
				t.Errorf("claims = %+v", c)
			}
			if len(c.Jti) == 0 || len(c.Jti) > MaxJTILength {
				t.Errorf("jti %q", c.Jti)
			}
			if a.Alg != tt.wantAlg || a.Kid != tt.wantKid {
				t.Errorf("header alg %s kid %s", a.Alg, a.Kid)
			}
			// The signature verifies with the public half through go-jose.
			jws, err := jose.ParseSigned(a.JWT, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.wantAlg)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(p.Key.Key.Public()); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if !p.Key.IsRSA() {
				return
			}
			// Every check passes at signing time, at a server a few seconds
			// behind (the clock margin), and at the last second; against
			// the keys published with the assertion's alg.
			pub := slices.Clone(published)
			for i := range pub {
				pub[i].Algorithm = a.Alg
			}
			for _, at := range []time.Time{now, now.Add(-DefaultClockMargin + time.Second), time.Unix(c.Exp-1, 0)} {
				rep := CheckAssertion(a.JWT, Expect{ClientID: testClientID, TokenURL: testTokenURL, Keys: pub, Now: at})
				if rep.ErrorCount != 0 || !rep.SignatureValid {
					t.Fatalf("own assertion fails at %v: %v", at, rep.Findings)
				}
			}
			rep := CheckAssertion(a.JWT, Expect{ClientID: testClientID, TokenURL: testTokenURL, Keys: pub, Now: time.Unix(c.Exp, 0)})
			if !hasRule(rep.Findings, RuleExpired) {
				t.Fatalf("assertion not expired at exp: %v", rep.Findings)
			}
		})
	}
}

func TestNewAssertionJTI(t *testing.T) {
	k := signingKey(t, "test-rsa-a.pkcs1.pem")
	p := AssertionParams{ClientID: testClientID, TokenURL: testTokenURL, Key: k, Now: time.Now()}
	a1, err := NewAssertion(p)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := NewAssertion(p)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Claims.Jti == a2.Claims.Jti {
		t.Fatal("two assertions share a jti")
	}
	p.Rand = bytes.NewReader(make([]byte, 8))
	if _, err := NewAssertion(p); err == nil || !strings.Contains(err.Error(), "generate jti") {
		t.Fatalf("a failing random source must fail the assertion: %v", err)
	}
}

// hasRule reports whether a finding of the rule is present.
func hasRule(fs []keys.Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}
