package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/activator-dev/activator/internal/keys"
)

// Simulated organizations' token endpoints (SMART Backend Services). Each
// organization answers at two URLs on the simulator's host, next to the FHIR
// base URLs ServeBrands publishes:
//
//	{server}/fhir/{OrgId}/oauth2/token          production (what the smart-configuration lists)
//	{server}/fhir/{OrgId}/nonprod/oauth2/token  non-production
//
// Assumptions, since organizations document none of this:
//   - A refusal is the bare answer Epic gives: HTTP 400
//     {"error":"invalid_client","error_description":null}. With
//     TokenConfig.Compliant the endpoints answer as a SMART reference server
//     does instead (see Compliant). A malformed
//     request (GET, a body that is not form-encoded, parameters in the query
//     string) answers invalid_request; another grant_type answers
//     unsupported_grant_type.
//   - No clock leeway: iat and nbf may not be after the organization's clock,
//     exp must be after it, and exp may be at most 5 minutes after iat, nbf
//     and now.
//   - Uploaded keys (direct JWKS) are tried in turn whatever the kid, since
//     organizations keep only kty, n and e. Keys fetched from the JWK Set URL
//     are chosen by kid, as SMART Backend Services requires.
//   - A key change is not seen until the environment's sync delay has passed
//     since the change; until then the organization refuses every assertion
//     (keys from before the change are not modelled).
//   - An organization whose servers may not make outbound requests
//     (Org.OutboundBlocked) refuses every assertion in JWK Set URL mode.
//   - A jti may not be used twice before its exp.
//   - The scope granted is the scope asked for, or system/*.read without one.

// Token endpoint defaults.
const (
	// DefaultNonProdClientID and DefaultProdClientID are the app's client
	// IDs the simulated organizations expect in iss and sub.
	DefaultNonProdClientID = "6c12dff4-24e7-4475-a742-b08972c4ea27"
	DefaultProdClientID    = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
	// DefaultNonProdSync and DefaultProdSync are how long a key change takes
	// to reach an organization's systems: Epic documents up to 60 minutes
	// for the sandbox and up to 12 hours for production; non-production
	// systems of organizations are assumed to take as long as the sandbox.
	DefaultNonProdSync = 60 * time.Minute
	DefaultProdSync    = 12 * time.Hour
	// DefaultAccessTokenLifetime is the expires_in of issued tokens.
	DefaultAccessTokenLifetime = time.Hour
	// DefaultTokenScope is granted when the request names no scope.
	DefaultTokenScope = "system/*.read"
	// DefaultMaxTokenAttempts bounds the log of token attempts kept for tests.
	DefaultMaxTokenAttempts = 10000
	// maxAssertionLifetime is the 5-minute limit organizations enforce.
	maxAssertionLifetime = int64(5 * 60)
	// maxJTILength is the longest jti organizations accept.
	maxJTILength = 151
	// clientAssertionType is the only accepted client_assertion_type.
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Environments of an organization's token endpoint.
const (
	EnvNonProd = "nonprod"
	EnvProd    = "prod"
)

// TokenConfig configures the simulated token endpoints.
type TokenConfig struct {
	// NonProdClientID and ProdClientID are the expected iss and sub
	// (the Default... values when empty).
	NonProdClientID, ProdClientID string
	// NonProdSync and ProdSync are the key-change delays (the Default...
	// values when zero).
	NonProdSync, ProdSync time.Duration
	// Instant makes key changes effective at once (tests and demos).
	Instant bool
	// JWKSURL is the app-level JWK Set URL that organizations in JWK Set
	// URL mode fetch.
	JWKSURL string
	// HTTPClient fetches JWKSURL (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Compliant makes every endpoint answer as a SMART Backend Services
	// reference server does rather than as Epic does: every refusal says
	// why in error_description, in the reference server's words
	// ("Missing 'scope' parameter", "Invalid token 'typ' header. Must be
	// 'JWT'.", "None of the keys found in the JWKS have alg equal to
	// RS256", ...), and the rules SMART adds are applied: scope, typ JWT and
	// kid are required, a key published with an alg verifies only that
	// alg, and a jku header must be the registered JWK Set URL.
	Compliant bool
}

// TokenAttempt records one token request and why it was refused: the reason
// is never sent to the client, which gets a bare invalid_client, but tests
// need to know which rule the simulated organization applied.
type TokenAttempt struct {
	// At is the simulator's clock when the request came.
	At time.Time
	// OrgID is the organization whose endpoint was called.
	OrgID string
	// Env is EnvNonProd or EnvProd.
	Env string
	// OK is set when a token was issued.
	OK bool
	// Error is the OAuth error answered, empty on success.
	Error string
	// Reason is the organization's internal reason, never sent.
	Reason string
}

// TokenEndpoints are the simulated organizations' token endpoints.
type TokenEndpoints struct {
	s         *Sim
	cfg       TokenConfig
	compliant atomic.Bool // cfg.Compliant, switchable at run time

	mu       sync.Mutex
	seen     map[string]int64 // "org/env/jti" -> exp
	attempts []TokenAttempt
	// nonProdSync and prodSync are cfg's delays, changeable at run time
	// (SetPropagation, POST /_sim/propagation).
	nonProdSync, prodSync time.Duration
}

// ServeTokens adds every organization's token endpoint to the simulator.
func (s *Sim) ServeTokens(cfg TokenConfig) *TokenEndpoints {
	if cfg.NonProdClientID == "" {
		cfg.NonProdClientID = DefaultNonProdClientID
	}
	if cfg.ProdClientID == "" {
		cfg.ProdClientID = DefaultProdClientID
	}
	if cfg.NonProdSync == 0 {
		cfg.NonProdSync = DefaultNonProdSync
	}
	if cfg.ProdSync == 0 {
		cfg.ProdSync = DefaultProdSync
	}
	if cfg.Instant {
		cfg.NonProdSync, cfg.ProdSync = 0, 0
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	t := &TokenEndpoints{s: s, cfg: cfg, seen: map[string]int64{}, nonProdSync: cfg.NonProdSync, prodSync: cfg.ProdSync}
	t.compliant.Store(cfg.Compliant)
	s.Handle("GET /_sim/propagation", http.HandlerFunc(t.controlPropagation))
	s.Handle("POST /_sim/propagation", http.HandlerFunc(t.controlPropagation))
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		s.Handle(m+" "+BrandsFHIRPrefix+"{org}/oauth2/token", http.HandlerFunc(t.handle))
		s.Handle(m+" "+BrandsFHIRPrefix+"{org}/{env}/oauth2/token", http.HandlerFunc(t.handle))
	}
	return t
}

// TokenPath is the path of an organization's token endpoint.
func TokenPath(orgID, env string) string {
	if env == EnvProd {
		return BrandsFHIRPrefix + orgID + "/oauth2/token"
	}
	return BrandsFHIRPrefix + orgID + "/" + EnvNonProd + "/oauth2/token"
}

// ClientID is the client ID an environment's organizations expect.
func (t *TokenEndpoints) ClientID(env string) string {
	if env == EnvProd {
		return t.cfg.ProdClientID
	}
	return t.cfg.NonProdClientID
}

// SetPropagation sets how long a key change takes to reach the
// organizations' non-production and production systems, for the changes
// already made too (0: at once).
func (t *TokenEndpoints) SetPropagation(nonProd, prod time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nonProdSync, t.prodSync = nonProd, prod
}

// Propagation returns the key-change delays in effect.
func (t *TokenEndpoints) Propagation() (nonProd, prod time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nonProdSync, t.prodSync
}

// propagationJSON is the body of GET and POST /_sim/propagation.
type propagationJSON struct {
	NonProd string `json:"nonProd"`
	Prod    string `json:"prod"`
}

// controlPropagation answers GET /_sim/propagation with the delays in
// effect, and POST with new ones (fields left out keep their value).
func (t *TokenEndpoints) controlPropagation(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var req propagationJSON
		if !readControl(w, r, &req) {
			return
		}
		np, p := t.Propagation()
		for _, f := range []struct {
			v   string
			dst *time.Duration
		}{{req.NonProd, &np}, {req.Prod, &p}} {
			if f.v == "" {
				continue
			}
			d, err := time.ParseDuration(f.v)
			if err != nil || d < 0 {
				controlError(w, http.StatusBadRequest, fmt.Errorf("propagation %q is not a duration of 0 or more, e.g. \"0s\", \"90s\" or \"12h\"", f.v))
				return
			}
			*f.dst = d
		}
		t.SetPropagation(np, p)
	}
	np, p := t.Propagation()
	writeJSON(w, propagationJSON{NonProd: np.String(), Prod: p.String()})
}

// SetCompliant switches between Epic's bare answers and a SMART reference
// server's (TokenConfig.Compliant) for the requests that follow.
func (t *TokenEndpoints) SetCompliant(on bool) { t.compliant.Store(on) }

// Attempts returns a copy of the token requests received, oldest first.
func (t *TokenEndpoints) Attempts() []TokenAttempt {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TokenAttempt(nil), t.attempts...)
}

// tokenRefusal is a refused request: the OAuth error, the internal reason,
// and what a compliant server says (error_description).
type tokenRefusal struct {
	oauthErr string
	reason   string
	desc     string
}

func refuse(oauthErr, format string, args ...any) *tokenRefusal {
	return &tokenRefusal{oauthErr: oauthErr, reason: fmt.Sprintf(format, args...)}
}

// says sets what a compliant server answers as error_description.
func (r *tokenRefusal) says(format string, args ...any) *tokenRefusal {
	r.desc = fmt.Sprintf(format, args...)
	return r
}

func (t *TokenEndpoints) handle(w http.ResponseWriter, r *http.Request) {
	now := t.s.now()
	orgID := r.PathValue("org")
	env := r.PathValue("env")
	switch {
	case env == "":
		env = EnvProd
	case env == EnvNonProd:
	case strings.HasPrefix(env, "alt"):
		env = EnvProd // a further production endpoint of the organization
	default:
		writeHTMLError(w, http.StatusNotFound, "Not found", "No token endpoint here.")
		return
	}
	scope, ref := t.validate(r, orgID, env, now)
	att := TokenAttempt{At: now, OrgID: orgID, Env: env, OK: ref == nil}
	h := w.Header()
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if ref != nil {
		att.Error, att.Reason = ref.oauthErr, ref.reason
		t.log(att)
		SetAnswer(w, AnswerBad)
		w.WriteHeader(http.StatusBadRequest)
		var desc any // null, as Epic answers
		if t.compliant.Load() && ref.desc != "" {
			desc = ref.desc
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"error": ref.oauthErr, "error_description": desc})
		return
	}
	t.log(att)
	SetAnswer(w, AnswerOK)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": randomToken(),
		"token_type":   "Bearer",
		"expires_in":   int64(DefaultAccessTokenLifetime / time.Second),
		"scope":        scope,
	})
}

// log keeps an attempt, dropping the oldest past the bound.
func (t *TokenEndpoints) log(a TokenAttempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attempts = append(t.attempts, a)
	if len(t.attempts) > DefaultMaxTokenAttempts {
		t.attempts = append([]TokenAttempt(nil), t.attempts[len(t.attempts)-DefaultMaxTokenAttempts/2:]...)
	}
}

// validate applies the organization's rules; it returns the granted scope.
func (t *TokenEndpoints) validate(r *http.Request, orgID, env string, now time.Time) (string, *tokenRefusal) {
	if r.Method != http.MethodPost {
		return "", refuse("invalid_request", "method %s", r.Method)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return "", refuse("invalid_request", "content type %q", r.Header.Get("Content-Type"))
	}
	if len(r.URL.Query()) > 0 {
		return "", refuse("invalid_request", "parameters in the query string")
	}
	if r.PostForm == nil {
		if err := r.ParseForm(); err != nil {
			return "", refuse("invalid_request", "unreadable form: %v", err)
		}
	}
	form := r.PostForm
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return "", refuse("invalid_request", "no grant_type")
	default:
		return "", refuse("unsupported_grant_type", "grant_type %q", gt)
	}
	if t.compliant.Load() && strings.TrimSpace(form.Get("scope")) == "" {
		return "", refuse("invalid_client", "no scope").says("Missing 'scope' parameter")
	}
	if form.Get("client_secret") != "" {
		return "", refuse("invalid_client", "a client secret beside the assertion")
	}
	if got := form.Get("client_assertion_type"); got != clientAssertionType {
		return "", refuse("invalid_client", "client_assertion_type %q", got).says("Invalid 'client_assertion_type' parameter. Must be '%s'.", clientAssertionType)
	}
	assertion := form.Get("client_assertion")
	if assertion == "" {
		return "", refuse("invalid_client", "no client_assertion parameter").says("Missing 'client_assertion' parameter")
	}
	o, ok := t.s.Org(orgID)
	if !ok {
		return "", refuse("invalid_client", "no such organization").says("Invalid 'client_id' (as sub claim of the assertion JWT)")
	}
	pub, ref := t.orgKeys(r.Context(), o, env, now)
	if ref != nil {
		return "", ref
	}
	aud := "http://" + r.Host + r.URL.Path
	if r.TLS != nil {
		aud = "https://" + r.Host + r.URL.Path
	}
	if ref := t.checkAssertion(assertion, t.ClientID(env), aud, pub, now, orgID+"/"+env); ref != nil {
		return "", ref
	}
	scope := form.Get("scope")
	if scope == "" {
		scope = DefaultTokenScope
	}
	return scope, nil
}

// orgKeySet is the keys an organization holds for an environment; uploaded
// keys are tried whatever the kid.
type orgKeySet struct {
	keys     []jose.JSONWebKey
	uploaded bool
}

// orgKeys returns the keys an organization's environment holds now.
func (t *TokenEndpoints) orgKeys(ctx context.Context, o Org, env string, now time.Time) (*orgKeySet, *tokenRefusal) {
	npDelay, pDelay := t.Propagation()
	enabled, mode, stored, changed, delay := o.NonProd, o.NonProdMode, o.TestJWKS, o.NonProdChanged, npDelay
	if env == EnvProd {
		enabled, mode, stored, changed, delay = o.Prod, o.ProdMode, o.ProdJWKS, o.ProdChanged, pDelay
	}
	if !enabled || mode == ModeNone {
		return nil, refuse("invalid_client", "the app has no client credential in %s", env).says("No usable keys found")
	}
	if now.Sub(changed) < delay {
		return nil, refuse("invalid_client", "the key change of %s has not synced yet (%s left)", changed.UTC().Format(time.RFC3339), (delay - now.Sub(changed)).Round(time.Second)).
			says("Invalid token. invalid signature")
	}
	switch mode {
	case ModeJWKS:
		ks, err := keys.PublicKeys([]byte(stored))
		if err != nil {
			return nil, refuse("invalid_client", "stored keys unreadable: %v", err)
		}
		return &orgKeySet{keys: ks, uploaded: true}, nil
	case ModeJWKSURL:
		if o.OutboundBlocked {
			return nil, refuse("invalid_client", "the organization cannot fetch the JWK Set URL (outbound requests blocked)").
				says("Failed to fetch JWKS from %s. connect ETIMEDOUT", t.cfg.JWKSURL)
		}
		if t.cfg.JWKSURL == "" {
			return nil, refuse("invalid_client", "no JWK Set URL is registered for the app")
		}
		f := &keys.Fetcher{Client: t.cfg.HTTPClient, Tries: 1}
		raw, _, err := f.Load(ctx, t.cfg.JWKSURL)
		if err != nil {
			return nil, refuse("invalid_client", "the JWK Set URL could not be fetched: %v", err).says("Failed to fetch JWKS from %s. %v", t.cfg.JWKSURL, err)
		}
		ks, err := keys.PublicKeys(raw)
		if err != nil {
			return nil, refuse("invalid_client", "the JWK Set URL's keys are unreadable: %v", err)
		}
		return &orgKeySet{keys: ks}, nil
	}
	return nil, refuse("invalid_client", "unknown credential mode %q", mode)
}

// checkAssertion validates the client assertion as the organization does.
func (t *TokenEndpoints) checkAssertion(assertion, clientID, aud string, set *orgKeySet, now time.Time, replayScope string) *tokenRefusal {
	c, ref := t.verifiedClaims(assertion, set)
	if ref != nil {
		return ref
	}
	exp, ref := checkClaims(c, clientID, aud, now.Unix())
	if ref != nil {
		return ref
	}
	jti, _ := c["jti"].(string)
	if jti == "" || len(jti) > maxJTILength {
		return refuse("invalid_client", "jti missing or longer than %d", maxJTILength).says("Missing token 'jti' claim")
	}
	return t.checkReplay(replayScope+"/"+jti, exp, now.Unix())
}

// verifiedClaims parses the assertion, chooses the keys it may be signed
// with and returns its claims once the signature verifies with one.
func (t *TokenEndpoints) verifiedClaims(assertion string, set *orgKeySet) (map[string]any, *tokenRefusal) {
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.RS384}
	if !set.uploaded {
		algs = append(algs, jose.ES256, jose.ES384)
	}
	jws, err := jose.ParseSigned(assertion, algs)
	if err != nil {
		return nil, refuse("invalid_client", "assertion not parsed: %v", err).says("Invalid token. %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, refuse("invalid_client", "%d signatures", len(jws.Signatures))
	}
	hdr := jws.Signatures[0].Header
	var candidates []jose.JSONWebKey
	switch {
	case t.compliant.Load():
		var ref *tokenRefusal
		if candidates, ref = t.compliantKeys(hdr, set); ref != nil {
			return nil, ref
		}
	case set.uploaded:
		candidates = set.keys
	default:
		if hdr.KeyID == "" {
			return nil, refuse("invalid_client", "no kid header for a JWK Set URL")
		}
		for _, k := range set.keys {
			if k.KeyID == hdr.KeyID {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) != 1 {
			return nil, refuse("invalid_client", "kid %q matches %d keys", hdr.KeyID, len(candidates))
		}
	}
	var payload []byte
	for _, k := range candidates {
		if p, err := jws.Verify(k.Key); err == nil {
			payload = p
			break
		}
	}
	if payload == nil {
		return nil, refuse("invalid_client", "signature verifies with none of the %d keys", len(candidates)).says("Invalid token. invalid signature")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil {
		return nil, refuse("invalid_client", "claims not JSON").says("Could not decode the \"client_assertion\" parameter")
	}
	return c, nil
}

// checkClaims checks iss, sub, aud and the times, and returns exp.
func checkClaims(c map[string]any, clientID, aud string, nowS int64) (int64, *tokenRefusal) {
	if iss, _ := c["iss"].(string); iss != clientID {
		return 0, refuse("invalid_client", "iss %q is not the client ID", iss).says("Invalid 'client_id' (as iss claim of the assertion JWT)")
	}
	if sub, _ := c["sub"].(string); sub != clientID {
		return 0, refuse("invalid_client", "sub %q is not the client ID", sub).says("Invalid 'client_id' (as sub claim of the assertion JWT)")
	}
	if a, _ := c["aud"].(string); a != aud {
		return 0, refuse("invalid_client", "aud %q is not %q", a, aud).says("Invalid token 'aud' value (%s). Must be '%s'.", a, aud)
	}
	exp, ok := intClaim(c, "exp")
	if !ok {
		return 0, refuse("invalid_client", "exp missing or not whole seconds").says("Missing token 'exp' claim")
	}
	if exp <= nowS {
		return 0, refuse("invalid_client", "expired").says("Invalid token. jwt expired")
	}
	if exp-nowS > maxAssertionLifetime {
		return 0, refuse("invalid_client", "exp more than 5 minutes away").says("Invalid token. jwt lifetime over 5 minutes")
	}
	for _, name := range []string{"iat", "nbf"} {
		if _, present := c[name]; !present {
			continue
		}
		v, ok := intClaim(c, name)
		if !ok {
			return 0, refuse("invalid_client", "%s not whole seconds", name).says("Invalid token. %s is not a number of seconds", name)
		}
		if v > nowS {
			return 0, refuse("invalid_client", "%s in the future", name).says("Invalid token. jwt not active")
		}
		if exp-v > maxAssertionLifetime {
			return 0, refuse("invalid_client", "exp more than 5 minutes after %s", name).says("Invalid token. jwt lifetime over 5 minutes")
		}
	}
	return exp, nil
}

// checkReplay refuses a jti seen before while its assertion is still
// valid, and remembers this one until exp.
func (t *TokenEndpoints) checkReplay(key string, exp, nowS int64) *tokenRefusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.seen) > DefaultMaxTokenAttempts {
		for k, e := range t.seen {
			if e <= nowS {
				delete(t.seen, k)
			}
		}
	}
	if e, dup := t.seen[key]; dup && e > nowS {
		return refuse("invalid_client", "jti reused").says("Token reuse detected")
	}
	t.seen[key] = exp
	return nil
}

// compliantKeys applies the header rules of SMART Backend Services as a
// reference server does (typ JWT, kid required, a jku only when it is the
// registered JWK Set URL) and chooses the key the way it does: by alg
// (a key published without one fits any), then by kid.
func (t *TokenEndpoints) compliantKeys(hdr jose.Header, set *orgKeySet) ([]jose.JSONWebKey, *tokenRefusal) {
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return nil, refuse("invalid_client", "typ %q", typ).says("Invalid token 'typ' header. Must be 'JWT'.")
	}
	if hdr.KeyID == "" {
		return nil, refuse("invalid_client", "no kid header").says("Missing token 'kid' header")
	}
	if jku, ok := hdr.ExtraHeaders["jku"]; ok && jku != t.cfg.JWKSURL {
		return nil, refuse("invalid_request", "jku %v is not the registered JWK Set URL", jku).
			says("Invalid jku header of the assertion token token. must be '%s'", t.cfg.JWKSURL)
	}
	var byAlg []jose.JSONWebKey
	for _, k := range set.keys {
		if k.Algorithm == "" || k.Algorithm == hdr.Algorithm {
			byAlg = append(byAlg, k)
		}
	}
	if len(byAlg) == 0 {
		return nil, refuse("invalid_client", "no key with alg %s", hdr.Algorithm).says("None of the keys found in the JWKS have alg equal to %s", hdr.Algorithm)
	}
	var byKid []jose.JSONWebKey
	for _, k := range byAlg {
		if k.KeyID == hdr.KeyID {
			byKid = append(byKid, k)
		}
	}
	switch {
	case len(byKid) == 0:
		return nil, refuse("invalid_client", "no key with kid %q", hdr.KeyID).says("None of the keys found in the JWKS have kid equal to %s", hdr.KeyID)
	case len(byKid) > 1:
		return nil, refuse("invalid_client", "kid %q matches %d keys", hdr.KeyID, len(byKid)).says("Multiple usable public keys found in the JWKS")
	}
	return byKid, nil
}

// intClaim reads a claim that must be an integer number of seconds.
func intClaim(c map[string]any, name string) (int64, bool) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// randomToken is an opaque access token.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
