package sim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/activator-dev/activator/internal/diag"
	"github.com/activator-dev/activator/internal/keys"
)

// tokenTestKeys are two 2048-bit test key pairs, generated once per test
// binary (generation takes a moment).
var tokenTestKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// publicJWKS is the upload form of a key's public half.
func publicJWKS(t *testing.T, k *rsa.PrivateKey, kid string) string {
	t.Helper()
	doc, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS384", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := keys.ForUpload(doc)
	if err != nil {
		t.Fatal(err)
	}
	return up.JSON
}

// signClaims signs arbitrary claims, so that tests can build assertions
// that break any rule.
func signClaims(t *testing.T, k *rsa.PrivateKey, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	header := map[string]string{"typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	return signWithHeader(t, k, alg, header, claims)
}

// tokenSetup is a simulator with token endpoints, a movable clock and one
// organization activated with direct JWKS in both environments.
type tokenSetup struct {
	s      *Sim
	srv    *httptest.Server
	tokens *TokenEndpoints
	clock  *atomic.Int64 // Unix seconds
	org    Org
}

func newTokenSetup(t *testing.T, cfg TokenConfig) *tokenSetup {
	t.Helper()
	clock := &atomic.Int64{}
	clock.Store(fixedNow.Unix())
	scfg := testConfig()
	scfg.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
	s, srv := startSim(t, scfg)
	tokens := s.ServeTokens(cfg)
	c := signedInClient(t, s, srv)
	o := orgWith(t, s, fresh)
	jwks := publicJWKS(t, tokenTestKeys()[0], "key-a")
	if a := c.approve(approveForm(o.OrgID, false, false, jwks, jwks)); a.Data == nil || !a.Data.Success {
		t.Fatalf("activation failed: %+v", a)
	}
	o, _ = s.Org(o.OrgID)
	return &tokenSetup{s: s, srv: srv, tokens: tokens, clock: clock, org: o}
}

// claims are good claims for an environment's token URL at the clock.
func (ts *tokenSetup) claims(env string) map[string]any {
	now := ts.clock.Load()
	id := ts.tokens.ClientID(env)
	return map[string]any{"iss": id, "sub": id, "aud": ts.srv.URL + TokenPath(ts.org.OrgID, env),
		"jti": randomToken(), "iat": now, "nbf": now, "exp": now + 240}
}

// tokenAnswer is a decoded token endpoint answer.
type tokenAnswer struct {
	status int
	date   string
	body   map[string]any
	raw    string
}

// post sends a token request.
func (ts *tokenSetup) post(t *testing.T, method, path, contentType, body string) tokenAnswer {
	t.Helper()
	req, err := http.NewRequest(method, ts.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := tokenAnswer{status: resp.StatusCode, date: resp.Header.Get("Date"), raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// form is a correct token request body for an assertion.
func form(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {clientAssertionType}, "client_assertion": {assertion}}
}

func TestTokenEndpoint(t *testing.T) {
	ts := newTokenSetup(t, TokenConfig{Instant: true})
	keyA, keyB := tokenTestKeys()[0], tokenTestKeys()[1]
	path := TokenPath(ts.org.OrgID, EnvNonProd)
	reused := signClaims(t, keyA, jose.RS384, "key-a", ts.claims(EnvNonProd))
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        func() string
		wantErr     string // OAuth error, empty for success
		wantReason  string
	}{
		{name: "good non-production", body: func() string { return form(reused).Encode() }},
		{name: "jti reused", body: func() string { return form(reused).Encode() }, wantErr: "invalid_client", wantReason: "jti reused"},
		{name: "good production", path: TokenPath(ts.org.OrgID, EnvProd), body: func() string {
			return form(signClaims(t, keyA, jose.RS256, "", ts.claims(EnvProd))).Encode()
		}},
		{name: "kid is ignored for uploaded keys", body: func() string {
			return form(signClaims(t, keyA, jose.RS384, "another-kid", ts.claims(EnvNonProd))).Encode()
		}},
		{name: "GET", method: http.MethodGet, body: func() string { return "" }, wantErr: "invalid_request", wantReason: "method GET"},
		{name: "JSON body", contentType: "application/json", body: func() string { return `{"grant_type":"client_credentials"}` }, wantErr: "invalid_request", wantReason: "content type"},
		{name: "parameters in the query string", path: path + "?grant_type=client_credentials", body: func() string {
			return form(signClaims(t, keyA, jose.RS384, "key-a", ts.claims(EnvNonProd))).Encode()
		}, wantErr: "invalid_request", wantReason: "query string"},
		{name: "other grant type", body: func() string {
			f := form("x")
			f.Set("grant_type", "authorization_code")
			return f.Encode()
		}, wantErr: "unsupported_grant_type"},
		{name: "client-assertion with a dash", body: func() string {
			f := form("")
			f.Del("client_assertion")
			f.Set("client-assertion", signClaims(t, keyA, jose.RS384, "key-a", ts.claims(EnvNonProd)))
			return f.Encode()
		}, wantErr: "invalid_client", wantReason: "no client_assertion"},
		{name: "double-encoded assertion type", body: func() string {
			f := form(signClaims(t, keyA, jose.RS384, "key-a", ts.claims(EnvNonProd)))
			f.Set("client_assertion_type", url.QueryEscape(clientAssertionType))
			return f.Encode()
		}, wantErr: "invalid_client", wantReason: "client_assertion_type"},
		{name: "client secret beside the assertion", body: func() string {
			f := form(signClaims(t, keyA, jose.RS384, "key-a", ts.claims(EnvNonProd)))
			f.Set("client_secret", "s3cret")
			return f.Encode()
		}, wantErr: "invalid_client", wantReason: "client secret"},
		{name: "production client ID at non-production", body: func() string {
			c := ts.claims(EnvProd)
			c["aud"] = ts.srv.URL + path
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "iss"},
		{name: "wrong aud", body: func() string {
			c := ts.claims(EnvNonProd)
			c["aud"] = ts.srv.URL + path + "/"
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "aud"},
		{name: "expired", body: func() string {
			return form(signClaims(t, keyA, jose.RS384, "key-a", shift(ts.claims(EnvNonProd), -300))).Encode()
		}, wantErr: "invalid_client", wantReason: "expired"},
		{name: "exp too far", body: func() string {
			c := ts.claims(EnvNonProd)
			c["exp"] = c["iat"].(int64) + 301
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "more than 5 minutes"},
		{name: "exp in milliseconds", body: func() string {
			c := ts.claims(EnvNonProd)
			c["exp"] = c["exp"].(int64) * 1000
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "more than 5 minutes away"},
		{name: "exp with a fraction", body: func() string {
			c := ts.claims(EnvNonProd)
			c["exp"] = float64(c["exp"].(int64)) + 0.5
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "whole seconds"},
		{name: "iat in the future", body: func() string {
			c := ts.claims(EnvNonProd)
			c["iat"] = c["iat"].(int64) + 30
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "iat in the future"},
		{name: "nbf in the future", body: func() string {
			c := ts.claims(EnvNonProd)
			c["nbf"] = c["nbf"].(int64) + 30
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "nbf in the future"},
		{name: "jti too long", body: func() string {
			c := ts.claims(EnvNonProd)
			c["jti"] = strings.Repeat("j", 152)
			return form(signClaims(t, keyA, jose.RS384, "key-a", c)).Encode()
		}, wantErr: "invalid_client", wantReason: "jti"},
		{name: "RS512", body: func() string { return form(signClaims(t, keyA, jose.RS512, "key-a", ts.claims(EnvNonProd))).Encode() }, wantErr: "invalid_client", wantReason: "not parsed"},
		{name: "signed with another key", body: func() string { return form(signClaims(t, keyB, jose.RS384, "key-a", ts.claims(EnvNonProd))).Encode() }, wantErr: "invalid_client", wantReason: "signature"},
		{name: "unknown organization", path: TokenPath("999999", EnvNonProd), body: func() string {
			return form(signClaims(t, keyA, jose.RS384, "key-a", ts.claims(EnvNonProd))).Encode()
		}, wantErr: "invalid_client", wantReason: "no such organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, p, ct := tt.method, tt.path, tt.contentType
			if method == "" {
				method = http.MethodPost
			}
			if p == "" {
				p = path
			}
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			a := ts.post(t, method, p, ct, tt.body())
			if a.date != fixedNow.Format(http.TimeFormat) {
				t.Errorf("Date = %q, want the organization's clock", a.date)
			}
			atts := ts.tokens.Attempts()
			last := atts[len(atts)-1]
			if tt.wantErr == "" {
				if a.status != http.StatusOK || a.body["access_token"] == "" || a.body["expires_in"] != float64(3600) || a.body["token_type"] != "Bearer" {
					t.Fatalf("want a token, got %d %s (reason %q)", a.status, a.raw, last.Reason)
				}
				return
			}
			if a.status != http.StatusBadRequest || a.body["error"] != tt.wantErr {
				t.Fatalf("want 400 %s, got %d %s", tt.wantErr, a.status, a.raw)
			}
			if d, ok := a.body["error_description"]; !ok || d != nil {
				t.Errorf("error_description must be null: %s", a.raw)
			}
			if !strings.Contains(last.Reason, tt.wantReason) {
				t.Errorf("reason %q, want %q", last.Reason, tt.wantReason)
			}
		})
	}
	for _, c := range ts.s.Calls() {
		if strings.Contains(c.Path, "/oauth2/token") {
			if v := c.Form.Get("client_assertion"); v != "" && strings.HasPrefix(v, "eyJ") {
				t.Fatalf("the call log keeps an assertion")
			}
		}
	}
}

// shift moves every time claim by d seconds.
func shift(c map[string]any, d int64) map[string]any {
	for _, k := range []string{"iat", "nbf", "exp"} {
		c[k] = c[k].(int64) + d
	}
	return c
}

func TestTokenEndpointSyncDelay(t *testing.T) {
	ts := newTokenSetup(t, TokenConfig{})
	keyA := tokenTestKeys()[0]
	tests := []struct {
		name    string
		env     string
		advance time.Duration
		wantOK  bool
	}{
		{"non-production right after the upload", EnvNonProd, 0, false},
		{"non-production after 59 minutes", EnvNonProd, 59 * time.Minute, false},
		{"non-production after 60 minutes", EnvNonProd, time.Minute, true},
		{"production after 60 minutes", EnvProd, 0, false},
		{"production after 12 hours", EnvProd, 11 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.clock.Add(int64(tt.advance / time.Second))
			a := ts.post(t, http.MethodPost, TokenPath(ts.org.OrgID, tt.env), "application/x-www-form-urlencoded",
				form(signClaims(t, keyA, jose.RS384, "key-a", ts.claims(tt.env))).Encode())
			if ok := a.status == http.StatusOK; ok != tt.wantOK {
				atts := ts.tokens.Attempts()
				t.Fatalf("ok = %v, want %v (%s, reason %q)", ok, tt.wantOK, a.raw, atts[len(atts)-1].Reason)
			}
		})
	}
}

func TestTokenEndpointJWKSURLMode(t *testing.T) {
	keyA := tokenTestKeys()[0]
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, publicJWKS(t, keyA, "key-a"))
	}))
	t.Cleanup(jwksSrv.Close)
	clock := &atomic.Int64{}
	clock.Store(fixedNow.Unix())
	scfg := testConfig()
	scfg.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
	s, srv := startSim(t, scfg)
	tokens := s.ServeTokens(TokenConfig{Instant: true, JWKSURL: jwksSrv.URL})
	c := signedInClient(t, s, srv)
	blocked := orgWith(t, s, func(o Org) bool { return fresh(o) && o.OutboundBlocked })
	open := orgWith(t, s, func(o Org) bool { return fresh(o) && !o.OutboundBlocked })
	for _, o := range []Org{blocked, open} {
		if a := c.approve(approveForm(o.OrgID, true, false, "", "")); a.Data == nil || !a.Data.Success {
			t.Fatalf("JWK Set URL activation failed: %+v", a)
		}
	}
	tests := []struct {
		name       string
		org        Org
		kid        string
		wantOK     bool
		wantReason string
	}{
		{"reachable", open, "key-a", true, ""},
		{"outbound requests blocked", blocked, "key-a", false, "outbound requests blocked"},
		{"kid not published", open, "key-z", false, "matches 0 keys"},
		{"no kid", open, "", false, "no kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := clock.Load()
			aud := srv.URL + TokenPath(tt.org.OrgID, EnvNonProd)
			id := tokens.ClientID(EnvNonProd)
			assertion := signClaims(t, keyA, jose.RS384, tt.kid, map[string]any{"iss": id, "sub": id, "aud": aud, "jti": randomToken(), "iat": now, "exp": now + 60})
			resp, err := http.PostForm(aud, form(assertion))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ok := resp.StatusCode == http.StatusOK; ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			atts := tokens.Attempts()
			if last := atts[len(atts)-1]; !strings.Contains(last.Reason, tt.wantReason) {
				t.Errorf("reason %q, want %q", last.Reason, tt.wantReason)
			}
		})
	}
}

// signWithHeader signs claims with the header entries given (typ, kid, jku
// or none of them), so that tests can break the header rules.
func signWithHeader(t *testing.T, k *rsa.PrivateKey, alg jose.SignatureAlgorithm, header map[string]string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for name, v := range header {
		opts = opts.WithHeader(jose.HeaderKey(name), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTokenEndpointCompliant: a compliant endpoint says why in
// error_description, in the words of a SMART reference server, and
// applies the rules SMART adds; diag ranks each of its answers as the
// cause it is.
func TestTokenEndpointCompliant(t *testing.T) {
	ts := newTokenSetup(t, TokenConfig{Instant: true, Compliant: true, JWKSURL: "https://app.example.com/jwks.json"})
	keyA, keyB := tokenTestKeys()[0], tokenTestKeys()[1]
	path := TokenPath(ts.org.OrgID, EnvNonProd)
	good := map[string]string{"typ": "JWT", "kid": "key-a"}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range h {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	scoped := func(assertion string) string {
		f := form(assertion)
		f.Set("scope", "system/Patient.read")
		return f.Encode()
	}
	tests := []struct {
		name     string
		body     func() string
		wantErr  string
		wantDesc string
		wantKind string
	}{
		{name: "good, with a scope", body: func() string { return scoped(signWithHeader(t, keyA, jose.RS384, good, ts.claims(EnvNonProd))) }},
		{name: "no scope", body: func() string { return form(signWithHeader(t, keyA, jose.RS384, good, ts.claims(EnvNonProd))).Encode() },
			wantErr: "invalid_client", wantDesc: "Missing 'scope' parameter", wantKind: diag.ServerScopeMissing},
		{name: "no typ", body: func() string {
			return scoped(signWithHeader(t, keyA, jose.RS384, with(good, "typ", ""), ts.claims(EnvNonProd)))
		},
			wantErr: "invalid_client", wantDesc: "Invalid token 'typ' header. Must be 'JWT'.", wantKind: diag.ServerTyp},
		{name: "no kid", body: func() string {
			return scoped(signWithHeader(t, keyA, jose.RS384, with(good, "kid", ""), ts.claims(EnvNonProd)))
		},
			wantErr: "invalid_client", wantDesc: "Missing token 'kid' header", wantKind: diag.ServerKidMissing},
		{name: "RS256 with a key published RS384", body: func() string { return scoped(signWithHeader(t, keyA, jose.RS256, good, ts.claims(EnvNonProd))) },
			wantErr: "invalid_client", wantDesc: "None of the keys found in the JWKS have alg equal to RS256", wantKind: diag.ServerAlg},
		{name: "unknown kid", body: func() string {
			return scoped(signWithHeader(t, keyA, jose.RS384, with(good, "kid", "key-z"), ts.claims(EnvNonProd)))
		},
			wantErr: "invalid_client", wantDesc: "None of the keys found in the JWKS have kid equal to key-z", wantKind: diag.ServerKid},
		{name: "jku not registered", body: func() string {
			return scoped(signWithHeader(t, keyA, jose.RS384, with(good, "jku", "https://evil.example.com/jwks.json"), ts.claims(EnvNonProd)))
		}, wantErr: "invalid_request", wantDesc: "Invalid jku header of the assertion token token. must be 'https://app.example.com/jwks.json'", wantKind: diag.ServerJKU},
		{name: "jku registered", body: func() string {
			return scoped(signWithHeader(t, keyA, jose.RS384, with(good, "jku", "https://app.example.com/jwks.json"), ts.claims(EnvNonProd)))
		}},
		{name: "signed with another key", body: func() string { return scoped(signWithHeader(t, keyB, jose.RS384, good, ts.claims(EnvNonProd))) },
			wantErr: "invalid_client", wantDesc: "Invalid token. invalid signature", wantKind: diag.ServerSignature},
		{name: "wrong aud", body: func() string {
			c := ts.claims(EnvNonProd)
			c["aud"] = "https://proxy.example.org/token"
			return scoped(signWithHeader(t, keyA, jose.RS384, good, c))
		}, wantErr: "invalid_client", wantDesc: "Invalid token 'aud' value (https://proxy.example.org/token)", wantKind: diag.ServerAud},
		{name: "expired", body: func() string {
			return scoped(signWithHeader(t, keyA, jose.RS384, good, shift(ts.claims(EnvNonProd), -300)))
		},
			wantErr: "invalid_client", wantDesc: "Invalid token. jwt expired", wantKind: diag.ServerExpired},
		{name: "iat in the future", body: func() string {
			c := ts.claims(EnvNonProd)
			c["iat"] = c["iat"].(int64) + 3
			return scoped(signWithHeader(t, keyA, jose.RS384, good, c))
		}, wantErr: "invalid_client", wantDesc: "Invalid token. jwt not active", wantKind: diag.ServerNotActive},
		{name: "production client ID at non-production", body: func() string {
			c := ts.claims(EnvProd)
			c["aud"] = ts.srv.URL + path
			return scoped(signWithHeader(t, keyA, jose.RS384, good, c))
		}, wantErr: "invalid_client", wantDesc: "Invalid 'client_id'", wantKind: diag.ServerClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.post(t, http.MethodPost, path, "application/x-www-form-urlencoded", tt.body())
			if tt.wantErr == "" {
				if a.status != http.StatusOK {
					t.Fatalf("refused: %s", a.raw)
				}
				return
			}
			desc, _ := a.body["error_description"].(string)
			if a.status != http.StatusBadRequest || a.body["error"] != tt.wantErr || !strings.HasPrefix(desc, tt.wantDesc) {
				t.Fatalf("answer %d %s, want %s %q", a.status, a.raw, tt.wantErr, tt.wantDesc)
			}
			if _, kind, _ := diag.ServerCause(&diag.TokenResponse{Error: tt.wantErr, ErrorDescription: desc}); kind != tt.wantKind {
				t.Fatalf("diag ranks %q as %q, want %q", desc, kind, tt.wantKind)
			}
		})
	}
	// Switched back to Epic's behaviour: a bare refusal, no scope needed.
	ts.tokens.SetCompliant(false)
	a := ts.post(t, http.MethodPost, path, "application/x-www-form-urlencoded", form(signWithHeader(t, keyB, jose.RS384, good, ts.claims(EnvNonProd))).Encode())
	if v, has := a.body["error_description"]; a.body["error"] != "invalid_client" || !has || v != nil {
		t.Fatalf("Epic's answer is bare: %s", a.raw)
	}
}
