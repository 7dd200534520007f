package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/sim"
)

// tokenSim is a simulator with token endpoints and two organizations holding
// the test key A: one whose upload has synced, one just uploaded. Its clock
// stands still at now, a whole second (as its Date header says it), so a
// command given a clock at a fixed offset from now sees exactly that
// offset, however long the request takes on a loaded machine.
func tokenSim(t *testing.T) (srv *httptest.Server, tokens *sim.TokenEndpoints, now time.Time) {
	t.Helper()
	jwks, err := os.ReadFile(keyFixture("test-rsa-a.jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	now = time.Now().Truncate(time.Second)
	s := sim.New(sim.Config{Orgs: -1, Seed: 3, Now: func() time.Time { return now }})
	tokens = s.ServeTokens(sim.TokenConfig{})
	s.AddOrg(sim.Org{OrgID: "16770", Name: "Synced Health", Approved: sim.ApprovedBoth,
		NonProdMode: sim.ModeJWKS, ProdMode: sim.ModeJWKS, TestJWKS: string(jwks), ProdJWKS: string(jwks),
		NonProdChanged: now.Add(-24 * time.Hour), ProdChanged: now.Add(-24 * time.Hour)})
	s.AddOrg(sim.Org{OrgID: "392", Name: "Brown University Health", Approved: sim.ApprovedBoth,
		NonProdMode: sim.ModeJWKS, ProdMode: sim.ModeJWKS, TestJWKS: string(jwks), ProdJWKS: string(jwks),
		NonProdChanged: now, ProdChanged: now})
	srv = httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, tokens, now
}

func TestTokenCommand(t *testing.T) {
	srv, tokens, simNow := tokenSim(t)
	url16770 := srv.URL + sim.TokenPath("16770", sim.EnvNonProd)
	nonProdID := tokens.ClientID(sim.EnvNonProd)
	oauthErr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Client authentication failed: key not found"}`))
	}))
	defer oauthErr.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name     string
		args     []string
		clock    time.Duration // offset of this machine's clock from the server's
		wantCode int
		wantOut  []string
		notOut   []string
		wantErr  string
	}{
		{name: "granted", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--scope", "system/Patient.read"},
			wantCode: ExitOK, wantOut: []string{`Token granted: Bearer, expires in 1h0m0s, scope "system/Patient.read"`, "printed only with --show-token"}},
		{name: "kid taken from --jwks", args: []string{"--key", keyFixture("test-rsa-a.pkcs1.pem"), "--jwks", keyFixture("test-rsa-a.jwks.json")},
			wantCode: ExitOK, wantOut: []string{"Token granted"}, wantErr: `using kid "test-rsa-a"`},
		{name: "key set in the portal's stored form", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--jwks", filepath.Join("..", "keys", "testdata", "stored", "dotnet-a.json")},
			wantCode: ExitOK, wantOut: []string{"Token granted"}, wantErr: "in the portal's stored form"},
		{name: "signed with a key the organization does not hold", args: []string{"--key", keyFixture("test-rsa-b.pkcs8.pem"), "--kid", "test-rsa-a", "--jwks", keyFixture("test-rsa-a.jwks.json")},
			wantCode: ExitFailures, wantOut: []string{"Token refused: HTTP 400, invalid_client", "Server clock: agrees",
				"ERROR   jwt.signature", "1. [certain]", "the signing key's public key is not in the key set of --jwks", "up to 12 hours"}},
		{name: "this machine's clock runs ahead", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a"}, clock: 3 * time.Minute,
			wantCode: ExitFailures, wantOut: []string{"Server clock: 3m0s behind this machine's", "[likely] the server's clock is 3m0s behind this machine's: to the server, iat/nbf are 2m55s in the future"}},
		{name: "this machine's clock runs behind", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a"}, clock: -6 * time.Minute,
			wantCode: ExitFailures, wantOut: []string{"Server clock: 6m0s ahead", "[likely] the server's clock is 6m0s ahead of this machine's: to the server, the assertion expired 2m5s ago"}},
		{name: "a server a few seconds behind accepts the back-dated assertion", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a"}, clock: 3 * time.Second,
			wantCode: ExitOK, wantOut: []string{"Token granted"}},
		{name: "alg taken from --jwks", args: []string{"--key", keyFixture("test-rsa-a.pkcs1.pem"), "--jwks", keyFixture("test-rsa-a-rs256.jwks.json")},
			wantCode: ExitOK, wantOut: []string{"Token granted"}, wantErr: "using alg RS256"},
		{name: "production client ID against non-production", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--client-id", tokens.ClientID(sim.EnvProd)},
			wantCode: ExitFailures, wantOut: []string{"0 errors", "[possible] the client ID is the other environment's"}},
		{name: "keys uploaded moments ago", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--token-url", srv.URL + sim.TokenPath("392", sim.EnvNonProd)},
			wantCode: ExitFailures, wantOut: []string{"[possible] the public key has not reached the organization yet", "Key changes take up to 12 hours"}},
		{name: "error description comes first", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--token-url", oauthErr.URL + "/oauth2/token"},
			wantCode: ExitFailures, wantOut: []string{"Server says: Client authentication failed: key not found\nToken refused",
				`1. [server says] the server says "Client authentication failed: key not found"`}},
		{name: "not a token endpoint", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--kid", "test-rsa-a", "--token-url", srv.URL + "/fhir/16770/api/FHIR/R4/oauth2/token"},
			wantCode: ExitFailures, wantOut: []string{"Token refused: HTTP 404, no OAuth error", "without an OAuth error (not JSON)"}},
		{name: "no answer", args: []string{"--key", keyFixture("test-rsa-a.pkcs8.pem"), "--token-url", closed.URL + "/oauth2/token"},
			wantCode: ExitUnavailable, wantErr: "check --token-url and the network"},
		{name: "EC key", args: []string{"--key", keyFixture("test-ec-p256.pkcs8.pem")}, wantCode: ExitUsage, wantErr: "needs an RSA key"},
		{name: "missing --key", args: []string{"--key", ""}, wantCode: ExitUsage, wantErr: "missing --key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token", "--token-url", url16770, "--client-id", nonProdID}, tt.args...)
			now := func() time.Time { return simNow.Add(tt.clock) }
			code, out, errOut := runCmd(t, testRun{now: now}, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notOut {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q", w)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestTokenCommandShowsTokenOnlyWhenAsked(t *testing.T) {
	srv, tokens, simNow := tokenSim(t)
	args := []string{"token", "--token-url", srv.URL + sim.TokenPath("16770", sim.EnvProd), "--client-id", tokens.ClientID(sim.EnvProd),
		"--key", keyFixture("test-rsa-a.private.jwk.json"), "-o", "json"}
	for _, show := range []bool{false, true} {
		a := args
		if show {
			a = append(a, "--show-token")
		}
		code, out, errOut := runCmd(t, testRun{now: func() time.Time { return simNow }}, a...)
		if code != ExitOK {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		tok, has := res["access_token"].(string)
		if has != show || (show && len(tok) < 20) {
			t.Fatalf("--show-token=%v: access_token present %v in %s", show, has, out)
		}
		if res["ok"] != true || res["expires_in"] != float64(3600) {
			t.Errorf("result %v", res)
		}
	}
	atts := tokens.Attempts()
	if len(atts) != 2 || !atts[0].OK || !atts[1].OK {
		t.Fatalf("attempts = %+v", atts)
	}
}
