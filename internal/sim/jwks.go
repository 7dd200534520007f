package sim

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultMinRSABits is the smallest RSA modulus the portal accepts: Epic's
// documentation requires 2048-bit keys.
const DefaultMinRSABits = 2048

// DefaultJWKSCacheSize bounds the cache of checked key sets. A run uploads
// the same one or two sets to every organization, so a small cache turns
// thousands of parses into one.
const DefaultJWKSCacheSize = 256

// privateMembers are the JWK members that carry private key material; a
// key set holding any of them is refused.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// acceptedAlgs are the signature algorithms the portal accepts for a
// per-organization key; RS384 is Epic's preference.
var acceptedAlgs = map[string]bool{"RS256": true, "RS384": true}

// checkJWKS validates a key set the way the portal does for a direct
// upload and returns it re-serialised as the portal stores it. The error
// is the message the portal answers with.
//
// Accepted: a JSON object with a non-empty "keys" array of public RSA keys
// of at least DefaultMinRSABits, each with alg (when present) RS256 or
// RS384 and use (when present) "sig". Refused: anything else, and any key
// holding a private member, whatever its type.
func checkJWKS(raw string) (string, error) {
	var set map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return "", errors.New("The JWKS is not valid JSON.")
	}
	keysRaw, ok := set["keys"]
	var keys []json.RawMessage
	if !ok || json.Unmarshal(keysRaw, &keys) != nil {
		return "", errors.New("The JWKS must be a JSON object with a 'keys' array.")
	}
	if len(keys) == 0 {
		return "", errors.New("The JWKS does not contain any keys.")
	}
	stored := dotNetKeySet{AdditionalData: map[string]json.RawMessage{}, Keys: make([]dotNetKey, 0, len(keys)), SkipUnresolvedJsonWebKeys: true}
	for i, kr := range keys {
		k, err := checkKey(i+1, kr)
		if err != nil {
			return "", err
		}
		stored.Keys = append(stored.Keys, k)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(stored); err != nil {
		return "", errors.New("The JWKS could not be stored.")
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// checkKey validates one key of a set; n is its 1-based position, which the
// portal's messages use.
func checkKey(n int, raw json.RawMessage) (dotNetKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d is not a JSON object.", n)
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return dotNetKey{}, fmt.Errorf("JWKS key #%d contains private key material ('%s'). Upload public keys only.", n, m)
		}
	}
	kty, ok := stringMember(members, "kty")
	if !ok || kty == "" {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d is missing 'kty' property.", n)
	}
	if kty != "RSA" {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d uses an unsupported algorithm (kty '%s'). Only RSA keys are accepted.", n, kty)
	}
	alg, _ := stringMember(members, "alg")
	if alg != "" && !acceptedAlgs[alg] {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d uses an unsupported algorithm ('%s'). Use RS256 or RS384.", n, alg)
	}
	use, _ := stringMember(members, "use")
	if use != "" && use != "sig" {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d has use '%s'; only signing keys ('sig') are accepted.", n, use)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d is not a valid RSA public key.", n)
	}
	pub, ok := jwk.Key.(*rsa.PublicKey)
	if !ok {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d is not a valid RSA public key.", n)
	}
	if bits := pub.N.BitLen(); bits < DefaultMinRSABits {
		return dotNetKey{}, fmt.Errorf("JWKS key #%d is a %d-bit RSA key; at least %d bits are required.", n, bits, DefaultMinRSABits)
	}
	return toDotNetKey(members, pub), nil
}

// stringMember reads a string member; ok is false when it is absent or
// not a string.
func stringMember(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// dotNetKeySet is a key set as .NET's JsonWebKeySet serialises with its
// property names: PascalCase, framework members included.
type dotNetKeySet struct {
	AdditionalData            map[string]json.RawMessage `json:"AdditionalData"`
	Keys                      []dotNetKey                `json:"Keys"`
	SkipUnresolvedJsonWebKeys bool                       `json:"SkipUnresolvedJsonWebKeys"`
}

// dotNetKey is one key as .NET's JsonWebKey serialises: every public
// property in alphabetical order, nulls included, plus the SecurityKey
// members (CryptoProviderFactory, HasPrivateKey, KeyId, KeySize) that leak
// into the portal's stored form. Members .NET does not model go to
// AdditionalData.
type dotNetKey struct {
	AdditionalData        map[string]json.RawMessage `json:"AdditionalData"`
	Alg                   *string                    `json:"Alg"`
	CryptoProviderFactory cryptoProviderFactory      `json:"CryptoProviderFactory"`
	Crv                   *string                    `json:"Crv"`
	D                     *string                    `json:"D"`
	DP                    *string                    `json:"DP"`
	DQ                    *string                    `json:"DQ"`
	E                     string                     `json:"E"`
	HasPrivateKey         bool                       `json:"HasPrivateKey"`
	K                     *string                    `json:"K"`
	KeyID                 *string                    `json:"KeyId"`
	KeyOps                []string                   `json:"KeyOps"`
	KeySize               int                        `json:"KeySize"`
	Kid                   *string                    `json:"Kid"`
	Kty                   string                     `json:"Kty"`
	N                     string                     `json:"N"`
	Oth                   []string                   `json:"Oth"`
	P                     *string                    `json:"P"`
	Q                     *string                    `json:"Q"`
	QI                    *string                    `json:"QI"`
	Use                   *string                    `json:"Use"`
	X                     *string                    `json:"X"`
	X5c                   []string                   `json:"X5c"`
	X5t                   *string                    `json:"X5t"`
	X5tS256               *string                    `json:"X5tS256"`
	X5u                   *string                    `json:"X5u"`
	Y                     *string                    `json:"Y"`
}

// cryptoProviderFactory mirrors the framework object .NET serialises with
// every key.
type cryptoProviderFactory struct {
	CryptoProviderCache                  struct{} `json:"CryptoProviderCache"`
	CustomCryptoProvider                 *string  `json:"CustomCryptoProvider"`
	CacheSignatureProviders              bool     `json:"CacheSignatureProviders"`
	SignatureProviderObjectPoolCacheSize int      `json:"SignatureProviderObjectPoolCacheSize"`
}

// modelled are the JWK members .NET's JsonWebKey has properties for.
var modelled = map[string]bool{
	"kty": true, "n": true, "e": true, "kid": true, "alg": true, "use": true,
	"key_ops": true, "x5c": true, "x5t": true, "x5t#S256": true, "x5u": true,
	"crv": true, "x": true, "y": true,
}

// toDotNetKey converts a checked public RSA key to its stored form. N and E
// keep the uploaded base64url text, as .NET keeps the strings it read.
func toDotNetKey(m map[string]json.RawMessage, pub *rsa.PublicKey) dotNetKey {
	str := func(name string) *string {
		if v, ok := stringMember(m, name); ok {
			return &v
		}
		return nil
	}
	n, _ := stringMember(m, "n")
	e, _ := stringMember(m, "e")
	k := dotNetKey{
		AdditionalData: map[string]json.RawMessage{},
		Alg:            str("alg"),
		CryptoProviderFactory: cryptoProviderFactory{
			CacheSignatureProviders:              true,
			SignatureProviderObjectPoolCacheSize: 32,
		},
		E:       e,
		KeyID:   str("kid"),
		KeyOps:  []string{},
		KeySize: pub.N.BitLen(),
		Kid:     str("kid"),
		Kty:     "RSA",
		N:       n,
		Use:     str("use"),
		X5c:     []string{},
		X5t:     str("x5t"),
		X5tS256: str("x5t#S256"),
		X5u:     str("x5u"),
	}
	var ops []string
	if raw, ok := m["key_ops"]; ok && json.Unmarshal(raw, &ops) == nil && ops != nil {
		k.KeyOps = ops
	}
	var x5c []string
	if raw, ok := m["x5c"]; ok && json.Unmarshal(raw, &x5c) == nil && x5c != nil {
		k.X5c = x5c
	}
	extra := make([]string, 0, len(m))
	for name := range m {
		if !modelled[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		k.AdditionalData[name] = m[name]
	}
	return k
}

// jwksCache remembers the outcome of checking a key set, keyed by its
// exact text.
type jwksCache struct {
	mu sync.Mutex
	m  map[string]jwksResult
}

// jwksResult is a cached outcome: the stored form or the refusal.
type jwksResult struct {
	stored string
	err    error
}

// check returns checkJWKS(raw), from the cache when possible.
func (c *jwksCache) check(raw string) (string, error) {
	c.mu.Lock()
	if r, ok := c.m[raw]; ok {
		c.mu.Unlock()
		return r.stored, r.err
	}
	c.mu.Unlock()
	stored, err := checkJWKS(raw)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= DefaultJWKSCacheSize {
		c.m = make(map[string]jwksResult)
	}
	c.m[raw] = jwksResult{stored, err}
	c.mu.Unlock()
	return stored, err
}
