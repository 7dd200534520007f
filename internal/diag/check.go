package diag

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/activator-dev/activator/internal/keys"
)

// Rule names of the assertion checks; each failure names one. The comment of
// each golden assertion in testdata names the rule it must trigger.
const (
	RuleMalformed      = "jwt.malformed"
	RuleAlg            = "jwt.alg"
	RuleAlgKey         = "jwt.alg-key"
	RuleTyp            = "jwt.typ"
	RuleKidMissing     = "jwt.kid-missing"
	RuleKidUnknown     = "jwt.kid-unknown"
	RuleKidAmbiguous   = "jwt.kid-ambiguous"
	RuleKidWrongKey    = "jwt.kid-wrong-key"
	RuleJKU            = "jwt.jku"
	RuleIss            = "jwt.iss"
	RuleSub            = "jwt.sub"
	RuleAud            = "jwt.aud"
	RuleExpMissing     = "jwt.exp-missing"
	RuleExpType        = "jwt.exp-type"
	RuleExpMillis      = "jwt.exp-milliseconds"
	RuleExpired        = "jwt.expired"
	RuleExpTooFar      = "jwt.exp-too-far"
	RuleExpWindow      = "jwt.exp-window"
	RuleIatFuture      = "jwt.iat-future"
	RuleNbfFuture      = "jwt.nbf-future"
	RuleTimeType       = "jwt.time-type"
	RuleJTIMissing     = "jwt.jti-missing"
	RuleJTITooLong     = "jwt.jti-too-long"
	RuleSignature      = "jwt.signature"
	RuleSigUnchecked   = "jwt.signature-unchecked"
	RuleKeyAlgMismatch = "jwt.key-alg-mismatch"
)

// DefaultMillisThreshold separates seconds from milliseconds in a time claim:
// 10^11 seconds is the year 5138, while 10^11 milliseconds is 1973.
const DefaultMillisThreshold = 1e11

// Expect is what an organization expects of an assertion.
type Expect struct {
	// ClientID is the expected iss and sub (not checked when empty).
	ClientID string
	// TokenURL is the expected aud (not checked when empty).
	TokenURL string
	// Keys are the public keys the organization holds; nil means the
	// signature and kid cannot be checked.
	Keys []jose.JSONWebKey
	// Now is the time the organization receives the assertion.
	Now time.Time
	// JWKSURL is the JWK Set URL registered for the app; a jku header
	// that differs from it is an error (servers refuse it). Empty means
	// unknown: a jku header is then only a warning.
	JWKSURL string
	// KeySetName names where Keys came from in messages (e.g. "--jwks",
	// or a config file's setting); empty means "the key set".
	KeySetName string
}

// keySetName is how messages name the key set.
func (e Expect) keySetName() string {
	if e.KeySetName == "" {
		return "the key set"
	}
	return "the key set of " + e.KeySetName
}

// AssertionReport is the outcome of checking an assertion.
type AssertionReport struct {
	// Header is the decoded header (nil when undecodable).
	Header map[string]any `json:"header"`
	// Claims are the decoded claims (nil when undecodable).
	Claims map[string]any `json:"claims"`
	// Findings lists every failure (and fact), each naming its rule.
	Findings []keys.Finding `json:"findings"`
	// SignatureChecked is set when keys were given and the alg is one a
	// signature can be verified for.
	SignatureChecked bool `json:"signature_checked"`
	// SignatureValid is set when a key of the set verified the signature.
	SignatureValid bool `json:"signature_valid"`
	// VerifiedBy is the kid (or thumbprint) of the key that verified it.
	VerifiedBy string `json:"verified_by,omitempty"`
	// ErrorCount is the number of error findings.
	ErrorCount int `json:"errors"`
}

// CheckAssertion decodes a client assertion and checks it against every rule
// Epic lists for invalid_client and those of SMART Backend Services. It never
// fails: an undecodable assertion is itself a finding.
func CheckAssertion(token string, exp Expect) *AssertionReport {
	c := &checker{exp: exp, rep: &AssertionReport{Findings: []keys.Finding{}}}
	c.run(strings.TrimSpace(token))
	c.rep.ErrorCount = keys.Errors(c.rep.Findings)
	return c.rep
}

type checker struct {
	exp Expect
	rep *AssertionReport
}

func (c *checker) add(sev keys.Severity, rule, fix, format string, args ...any) {
	c.rep.Findings = append(c.rep.Findings, keys.Finding{Severity: sev, Rule: rule,
		Message: oneLine(fmt.Sprintf(format, args...)), Fix: oneLine(fix)})
}

func (c *checker) fail(rule, fix, format string, args ...any) {
	c.add(keys.SeverityError, rule, fix, format, args...)
}

func (c *checker) run(token string) {
	parts := strings.Split(token, ".")
	switch {
	case token == "":
		c.fail(RuleMalformed, "pass the assertion (the value sent as client_assertion)", "the assertion is empty")
		return
	case len(parts) == 5:
		c.fail(RuleMalformed, "send a signed JWT (JWS), not an encrypted one", "the assertion is an encrypted JWT (JWE, 5 parts)")
		return
	case len(parts) != 3:
		c.fail(RuleMalformed, "send header.payload.signature, each part base64url without padding", "the assertion has %d dot-separated parts, not 3", len(parts))
		return
	}
	header, herr := decodePart(parts[0])
	claims, cerr := decodePart(parts[1])
	if herr != nil {
		c.fail(RuleMalformed, "encode the header as base64url (no padding) of a JSON object", "the header cannot be decoded: %v", herr)
	}
	if cerr != nil {
		c.fail(RuleMalformed, "encode the claims as base64url (no padding) of a JSON object", "the payload cannot be decoded: %v", cerr)
	}
	if strings.ContainsAny(parts[2], "+/=") {
		c.fail(RuleMalformed, "encode the signature as base64url without padding", "the signature uses standard base64 or padding")
	}
	if herr != nil || cerr != nil {
		return
	}
	c.rep.Header, c.rep.Claims = header, claims
	alg := c.checkHeader(header)
	c.checkIdentity(claims)
	c.checkTimes(claims)
	c.checkJTI(claims)
	c.checkSignature(token, header, alg)
}

// decodePart decodes a base64url JSON object, keeping numbers exact.
func decodePart(p string) (map[string]any, error) {
	if strings.ContainsAny(p, "+/=") {
		return nil, fmt.Errorf("standard base64 or padding: use base64url without '='")
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return m, nil
}

// checkHeader checks alg, typ, kid presence and jku; it returns the alg.
func (c *checker) checkHeader(h map[string]any) string {
	alg, _ := h["alg"].(string)
	switch {
	case alg == "":
		c.fail(RuleAlg, "sign with RS384 (preferred) or RS256 and say so in the header", "the header has no alg")
	case strings.EqualFold(alg, "none"):
		c.fail(RuleAlg, "sign the assertion with the app's private key, RS384", "the assertion is unsigned (alg none)")
	case strings.HasPrefix(alg, "HS"):
		c.fail(RuleAlg, "sign with the app's RSA private key using RS384; a client secret is not a key", "alg %s is a shared-secret (HMAC) algorithm, which organizations do not accept", alg)
	case alg == "RS512" || alg == "PS256" || alg == "PS384" || alg == "PS512":
		c.fail(RuleAlg, "sign with RS384 (preferred) or RS256", "alg %s is not supported; organizations verify RS256 and RS384", alg)
	case alg == "ES256" || alg == "ES384":
		c.add(keys.SeverityWarning, RuleAlg, "sign with an RSA key and RS384 wherever keys are uploaded", "alg %s works only where the organization fetches a JWK Set URL; uploaded keys must be RSA", alg)
	case alg != "RS256" && alg != "RS384":
		c.fail(RuleAlg, "sign with RS384 (preferred) or RS256", "alg %q is not supported; organizations verify RS256 and RS384", alg)
	}
	switch typ, ok := h["typ"]; {
	case !ok:
		c.fail(RuleTyp, "set the typ header to \"JWT\"", "the header has no typ: SMART Backend Services requires typ \"JWT\", and compliant servers refuse the assertion without it")
	case typ != "JWT":
		c.fail(RuleTyp, "set the typ header to \"JWT\"", "typ is %s, not \"JWT\"", jsonText(typ))
	}
	if kid, ok := h["kid"].(string); !ok || kid == "" {
		c.fail(RuleKidMissing, "put the kid of the signing key (as published in the JWKS) in the header", "the header has no kid: SMART Backend Services requires it, and an organization fetching a JWK Set URL cannot pick the key")
	}
	if jku, ok := h["jku"]; ok {
		s, _ := jku.(string)
		switch {
		case c.exp.JWKSURL != "" && s == c.exp.JWKSURL:
			// The registered URL: allowed by SMART, harmless.
		case c.exp.JWKSURL != "":
			c.fail(RuleJKU, "remove jku, or set it to the JWK Set URL registered for the app exactly",
				"the jku header (%s) is not the registered JWK Set URL %q: servers refuse it (invalid_request or invalid_client)", jsonText(jku), keys.RedactURL(c.exp.JWKSURL))
		default:
			c.add(keys.SeverityWarning, RuleJKU, "remove jku: the organization uses the keys registered for the app (pass --jwks-url to check it against the registered URL)",
				"the header names a jku (%s); organizations ignore it or refuse one that is not the registered JWK Set URL", jsonText(jku))
		}
	}
	if _, ok := h["x5u"]; ok {
		c.add(keys.SeverityWarning, RuleJKU, "remove x5u: the organization uses the keys registered for the app", "the header names an x5u certificate URL, which organizations do not fetch")
	}
	return alg
}

// checkIdentity checks iss, sub and aud.
func (c *checker) checkIdentity(cl map[string]any) {
	iss, issOK := cl["iss"].(string)
	sub, subOK := cl["sub"].(string)
	for _, p := range []struct {
		name, rule, val string
		ok              bool
	}{{"iss", RuleIss, iss, issOK}, {"sub", RuleSub, sub, subOK}} {
		switch {
		case !p.ok:
			c.fail(p.rule, "set iss and sub to the app's client ID", "%s is missing or not a string", p.name)
		case c.exp.ClientID != "" && p.val != c.exp.ClientID:
			hint := ""
			if strings.EqualFold(strings.TrimSpace(p.val), c.exp.ClientID) {
				hint = " (it differs only in case or spaces)"
			}
			c.fail(p.rule, "set iss and sub to the client ID of the environment you call (non-production client ID for non-production and sandbox)",
				"%s is %q, not the client ID %q%s", p.name, p.val, c.exp.ClientID, hint)
		}
	}
	if issOK && subOK && iss != sub && c.exp.ClientID == "" {
		c.fail(RuleSub, "set iss and sub to the same client ID", "iss %q and sub %q differ", iss, sub)
	}
	c.checkAud(cl["aud"])
}

// checkAud checks aud against the token URL, naming near misses.
func (c *checker) checkAud(v any) {
	const fix = "set aud to the token URL exactly as you POST to it"
	var aud string
	switch a := v.(type) {
	case nil:
		c.fail(RuleAud, fix, "aud is missing")
		return
	case string:
		aud = a
	case []any:
		for _, item := range a {
			if s, _ := item.(string); s == c.exp.TokenURL && s != "" {
				if len(a) > 1 {
					c.add(keys.SeverityWarning, RuleAud, "send aud as a single string", "aud is an array of %d values; organizations expect the token URL alone", len(a))
				}
				return
			}
		}
		if len(a) == 1 {
			if s, ok := a[0].(string); ok {
				aud = s
				break
			}
		}
		c.fail(RuleAud, fix, "aud is an array without the token URL")
		return
	default:
		c.fail(RuleAud, fix, "aud is %s, not a string", jsonText(v))
		return
	}
	want := c.exp.TokenURL
	if want == "" || aud == want {
		return
	}
	au, err1 := url.Parse(aud)
	wu, err2 := url.Parse(want)
	hint := ""
	switch {
	case err1 != nil || err2 != nil:
	case strings.TrimRight(aud, "/") == strings.TrimRight(want, "/"):
		hint = ": they differ only by a trailing slash"
	case strings.EqualFold(aud, want):
		hint = ": they differ only in letter case"
	case au.Host == wu.Host && au.Path == wu.Path && au.Scheme != wu.Scheme:
		hint = ": they differ in scheme (http vs https)"
	case strings.HasSuffix(strings.ToLower(au.Path), "/authorize"):
		hint = ": aud is the authorize endpoint"
	case au.Host != wu.Host:
		hint = ": another host (the token URL of another organization or environment?)"
	}
	c.fail(RuleAud, fix, "aud is %q, not the token URL %q%s", aud, want, hint)
}

// timeClaim reads a NumericDate claim and reports its shape problems.
func (c *checker) timeClaim(cl map[string]any, name string) (int64, bool) {
	v, ok := cl[name]
	if !ok {
		return 0, false
	}
	num, isNum := v.(json.Number)
	if !isNum {
		c.fail(RuleTimeType, "write "+name+" as a JSON number of whole seconds since 1970", "%s is %s, not a number", name, jsonText(v))
		return 0, false
	}
	n, err := num.Int64()
	if err != nil {
		f, ferr := num.Float64()
		if ferr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			c.fail(RuleTimeType, "write "+name+" as whole seconds since 1970", "%s %s is not a usable number", name, num)
			return 0, false
		}
		c.fail(RuleTimeType, "write "+name+" as whole seconds (no fraction)", "%s %s is not a whole number of seconds", name, num)
		if f > math.MaxInt64/2 || f < math.MinInt64/2 {
			return 0, false
		}
		n = int64(f)
	}
	if float64(n) >= DefaultMillisThreshold {
		rule := RuleTimeType
		if name == "exp" {
			rule = RuleExpMillis
		}
		c.fail(rule, "divide by 1000: JWT times are seconds, not milliseconds", "%s %d is in milliseconds (it would be %s in seconds)", name, n, time.UnixMilli(n).UTC().Format(time.RFC3339))
		return n / 1000, true
	}
	return n, true
}

// checkTimes checks exp, iat and nbf against the clock and each other.
func (c *checker) checkTimes(cl map[string]any) {
	now := c.exp.Now.Unix()
	exp, hasExp := c.timeClaim(cl, "exp")
	iat, hasIat := c.timeClaim(cl, "iat")
	nbf, hasNbf := c.timeClaim(cl, "nbf")
	if _, present := cl["exp"]; !present {
		c.fail(RuleExpMissing, "set exp to at most 5 minutes after iat (e.g. now + 240)", "exp is missing")
	}
	max := int64(MaxAssertionLifetime / time.Second)
	if hasExp {
		switch {
		case exp <= now:
			c.fail(RuleExpired, "sign a fresh assertion for every token request", "the assertion expired %s ago (exp %s)", secs(now-exp), stamp(exp))
		case exp-now > max:
			c.fail(RuleExpTooFar, "set exp to at most 5 minutes from now (4 minutes leaves room for clock skew)", "exp is %s from now, more than 5 minutes", secs(exp-now))
		}
		if hasIat && exp-iat > max {
			c.fail(RuleExpWindow, "set exp to at most iat + 300 (iat + 240 leaves room)", "exp is %s after iat, more than 5 minutes", secs(exp-iat))
		}
		if hasNbf && exp-nbf > max {
			c.fail(RuleExpWindow, "set exp to at most nbf + 300, or nbf to iat", "exp is %s after nbf, more than 5 minutes", secs(exp-nbf))
		}
		if hasIat && exp <= iat {
			c.fail(RuleExpWindow, "set exp after iat", "exp is not after iat")
		}
	}
	if hasIat && iat > now {
		c.fail(RuleIatFuture, "sync the signing host's clock (NTP) and set iat to the current time",
			"iat is %s in the future: the signing host's clock is %s ahead of this one (clock skew)", secs(iat-now), secs(iat-now))
	}
	if hasNbf && nbf > now {
		c.fail(RuleNbfFuture, "set nbf to iat (the current time), never later; sync clocks with NTP",
			"nbf is %s in the future (clock skew of %s, or nbf set late)", secs(nbf-now), secs(nbf-now))
	}
}

// checkJTI checks jti presence, type and length.
func (c *checker) checkJTI(cl map[string]any) {
	v, ok := cl["jti"]
	if !ok {
		c.fail(RuleJTIMissing, "add a unique jti (e.g. a random UUID) to every assertion", "jti is missing")
		return
	}
	s, isStr := v.(string)
	switch {
	case !isStr:
		c.fail(RuleJTIMissing, "make jti a string (e.g. a random UUID)", "jti is %s, not a string", jsonText(v))
	case s == "":
		c.fail(RuleJTIMissing, "add a unique jti (e.g. a random UUID)", "jti is empty")
	case len(s) > MaxJTILength:
		c.fail(RuleJTITooLong, "use a shorter unique jti (a UUID is 36 characters)", "jti is %d characters long, more than %d", len(s), MaxJTILength)
	}
}

// checkSignature verifies the signature with the organization's keys and
// relates the result to the kid header.
func (c *checker) checkSignature(token string, h map[string]any, alg string) {
	if c.exp.Keys == nil {
		c.add(keys.SeverityInfo, RuleSigUnchecked, "", "the signature was not checked: give --jwks with the public keys the organization holds")
		return
	}
	kid, _ := h["kid"].(string)
	var byKid []int
	for i, k := range c.exp.Keys {
		if kid != "" && k.KeyID == kid {
			byKid = append(byKid, i)
		}
	}
	switch {
	case kid == "":
	case len(byKid) == 0:
		c.fail(RuleKidUnknown, "publish the public key under this kid, or put the published kid in the header", "kid %q is not in %s", kid, c.exp.keySetName())
	case len(byKid) > 1:
		c.fail(RuleKidAmbiguous, "give every key of the key set a unique kid", "kid %q names %d keys of the key set", kid, len(byKid))
	}
	if !verifiableAlgs[alg] {
		return
	}
	c.rep.SignatureChecked = true
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		c.fail(RuleMalformed, "re-create the assertion with a JWT library", "the signature part cannot be parsed: %s", strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
		return
	}
	verifiedBy := -1
	for i, k := range c.exp.Keys {
		if !keyFitsAlg(k, alg) {
			continue
		}
		if _, err := jws.Verify(k.Key); err == nil {
			verifiedBy = i
			break
		}
	}
	if len(byKid) == 1 {
		k := c.exp.Keys[byKid[0]]
		if !keyFitsAlg(k, alg) {
			c.fail(RuleAlgKey, "sign with the algorithm of the key's type (RS384 for an RSA key)", "alg %s does not fit the %s key %q", alg, keyType(k), kid)
		} else if k.Algorithm != "" && k.Algorithm != alg {
			c.fail(RuleKeyAlgMismatch, fmt.Sprintf("sign with --alg %s, the key's published alg (or publish the key with alg %s)", k.Algorithm, alg),
				"the header says %s but the key %q is published with alg %s: servers that choose the key by kid and alg find no key", alg, kid, k.Algorithm)
		}
	} else if len(byKid) == 0 {
		c.checkAlgPublished(alg)
	}
	if verifiedBy < 0 {
		n := fmt.Sprintf("%d keys", len(c.exp.Keys))
		if len(c.exp.Keys) == 1 {
			n = "its only key"
		}
		c.fail(RuleSignature, "sign with the private key of a published public key; after changing keys, wait for them to sync",
			"the signature does not verify with %s (%s): the signing key is not the published one", c.exp.keySetName(), n)
		return
	}
	c.rep.SignatureValid = true
	k := c.exp.Keys[verifiedBy]
	c.rep.VerifiedBy = k.KeyID
	if c.rep.VerifiedBy == "" {
		c.rep.VerifiedBy = thumbprint(k)
	}
	if len(byKid) == 1 && byKid[0] != verifiedBy {
		c.fail(RuleKidWrongKey, fmt.Sprintf("put kid %q in the header", k.KeyID), "kid %q names another key than the one that signed (%q): an organization that picks keys by kid rejects it", kid, k.KeyID)
	}
}

// checkAlgPublished refuses an alg that no key of the set is published
// with, when every key names its alg: a server that filters keys by alg
// finds none ("no key with alg RS256").
func (c *checker) checkAlgPublished(alg string) {
	var published []string
	for _, k := range c.exp.Keys {
		if k.Algorithm == "" {
			return
		}
		if k.Algorithm == alg {
			return
		}
		if !slices.Contains(published, k.Algorithm) {
			published = append(published, k.Algorithm)
		}
	}
	if len(published) == 0 {
		return
	}
	c.fail(RuleKeyAlgMismatch, fmt.Sprintf("sign with --alg %s, the alg the keys are published with", published[0]),
		"the header says %s but every key of the key set is published with alg %s: servers that choose the key by alg find none", alg, strings.Join(published, ", "))
}

// verifiableAlgs are the asymmetric algorithms whose signatures are worth
// verifying to tell the user which key signed, even those organizations refuse.
var verifiableAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
}

// keyFitsAlg reports whether a public key can verify alg.
func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	switch keyType(k) {
	case "RSA":
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case "EC":
		return strings.HasPrefix(alg, "ES")
	}
	return false
}

// keyType names a public key's kty.
func keyType(k jose.JSONWebKey) string {
	switch fmt.Sprintf("%T", k.Key) {
	case "*rsa.PublicKey":
		return "RSA"
	case "*ecdsa.PublicKey":
		return "EC"
	}
	return "other"
}

// thumbprint is a key's RFC 7638 thumbprint, for keys without a kid.
func thumbprint(k jose.JSONWebKey) string {
	if tp := keys.Thumbprint(k); tp != "" {
		return tp
	}
	return "(no kid)"
}

// jsonText renders a decoded JSON value for a message.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// secs renders a number of seconds as a duration.
func secs(n int64) string {
	if n > math.MaxInt64/int64(time.Second) || n < -math.MaxInt64/int64(time.Second) {
		return fmt.Sprintf("%ds", n)
	}
	return (time.Duration(n) * time.Second).String()
}

// stamp renders a Unix time in UTC.
func stamp(n int64) string {
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// oneLine folds control characters into spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
