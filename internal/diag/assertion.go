// Package diag turns an opaque invalid_client from an organization's token
// endpoint into a named cause. It builds correct client assertions (SMART
// Backend Services, private_key_jwt), checks any assertion against every rule
// Epic lists for invalid_client, requests tokens the way a Backend Services
// client must, and ranks the likely causes when the server will not say.
package diag

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/activator-dev/activator/internal/keys"
)

// Limits and defaults of client assertions.
const (
	// MaxAssertionLifetime is the longest exp - iat (and exp - nbf) an
	// organization accepts.
	MaxAssertionLifetime = 5 * time.Minute
	// DefaultAssertionLifetime leaves a minute of the 5-minute limit for
	// clock differences between the signer and the organization.
	DefaultAssertionLifetime = 4 * time.Minute
	// MaxJTILength is the longest jti an organization accepts.
	MaxJTILength = 151
	// DefaultJTIBytes is the entropy of a generated jti: 32 random bytes
	// make 43 base64url characters, far under MaxJTILength.
	DefaultJTIBytes = 32
	// DefaultClockMargin back-dates iat and nbf: a server whose clock is a
	// few seconds behind the signer's would otherwise see them in the
	// future and refuse the assertion (servers allow no leeway). exp is
	// counted from the back-dated iat, so exp - iat stays the lifetime.
	DefaultClockMargin = 5 * time.Second
	// DefaultAlg is the signature algorithm Epic prefers.
	DefaultAlg = "RS384"
	// ClientAssertionType is the exact client_assertion_type value.
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// SupportedAlgs are the signature algorithms organizations verify: RS256 and
// RS384 for RSA keys; ES256 and ES384 only for EC keys published at a JWK Set
// URL (uploaded keys must be RSA).
var SupportedAlgs = []string{"RS256", "RS384", "ES256", "ES384"}

// AssertionParams describe a client assertion to sign.
type AssertionParams struct {
	// ClientID goes into iss and sub.
	ClientID string
	// TokenURL goes into aud, exactly as given, unless Aud is set.
	TokenURL string
	// Aud overrides aud, for a server that sees another token URL than the
	// one requested (a proxy in between); empty means TokenURL.
	Aud string
	// Key signs the assertion.
	Key *keys.SigningKey
	// Kid is the kid header; empty means the key's own kid, if any.
	Kid string
	// Alg is the signature algorithm (DefaultAlg when empty).
	Alg string
	// Lifetime is exp - iat (DefaultAssertionLifetime when zero).
	Lifetime time.Duration
	// Now is the signing time; iat and nbf are its whole seconds less
	// DefaultClockMargin.
	Now time.Time
	// Rand is the source of the jti (crypto/rand when nil).
	Rand io.Reader
}

// Claims are the claims of a client assertion, in the order they are written.
type Claims struct {
	// Iss and Sub are both the client ID.
	Iss string `json:"iss"`
	// Sub is the client ID.
	Sub string `json:"sub"`
	// Aud is the token URL, a single string.
	Aud string `json:"aud"`
	// Jti is random and unique per assertion.
	Jti string `json:"jti"`
	// Iat and Nbf are the signing time less DefaultClockMargin, whole
	// seconds since 1970.
	Iat int64 `json:"iat"`
	// Nbf equals Iat.
	Nbf int64 `json:"nbf"`
	// Exp is the lifetime after Iat, at most 5 minutes.
	Exp int64 `json:"exp"`
}

// Assertion is a signed client assertion and what it says.
type Assertion struct {
	// JWT is the compact serialization to send as client_assertion.
	JWT string `json:"jwt"`
	// Alg is the alg header.
	Alg string `json:"alg"`
	// Kid is the kid header, empty when there is none.
	Kid string `json:"kid,omitempty"`
	// Typ is the typ header, always "JWT".
	Typ string `json:"typ"`
	// Claims are the signed claims.
	Claims Claims `json:"claims"`
}

// NewAssertion signs a client assertion that satisfies every rule organizations
// apply: iss = sub = client id, aud = token URL, a fresh random jti, iat = nbf =
// now less DefaultClockMargin in whole seconds, exp the lifetime later (at most
// 5 minutes). Bad parameters (a lifetime
// over 5 minutes, an algorithm that does not fit the key) are an
// *keys.InputError naming the fix.
func NewAssertion(p AssertionParams) (*Assertion, error) {
	if strings.TrimSpace(p.ClientID) == "" {
		return nil, &keys.InputError{Msg: "no client id: pass --client-id (the app's non-production or production client ID)"}
	}
	if p.ClientID != strings.TrimSpace(p.ClientID) {
		return nil, &keys.InputError{Msg: "the client id has leading or trailing spaces: pass it exactly as the portal shows it"}
	}
	if err := checkTokenURL(p.TokenURL); err != nil {
		return nil, err
	}
	aud := p.TokenURL
	if p.Aud != "" {
		if err := checkAud(p.Aud); err != nil {
			return nil, err
		}
		aud = p.Aud
	}
	if p.Key == nil {
		return nil, &keys.InputError{Msg: "no signing key: pass --key with the private key file"}
	}
	alg := p.Alg
	if alg == "" {
		alg = DefaultAlg
	}
	if err := algFitsKey(alg, p.Key); err != nil {
		return nil, err
	}
	life := p.Lifetime
	if life == 0 {
		life = DefaultAssertionLifetime
	}
	if life < time.Second || life > MaxAssertionLifetime || life%time.Second != 0 {
		return nil, &keys.InputError{Msg: fmt.Sprintf("--lifetime %s is not a whole number of seconds between 1s and 5m: organizations refuse an exp more than 5 minutes after iat; use 4m", life)}
	}
	kid := p.Kid
	if kid == "" {
		kid = p.Key.Kid
	}
	jti, err := newJTI(p.Rand)
	if err != nil {
		return nil, err
	}
	iat := p.Now.Add(-DefaultClockMargin).Unix()
	claims := Claims{Iss: p.ClientID, Sub: p.ClientID, Aud: aud, Jti: jti, Iat: iat, Nbf: iat, Exp: iat + int64(life/time.Second)}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: p.Key.Key}, opts)
	if err != nil {
		return nil, fmt.Errorf("create %s signer: %w", alg, err)
	}
	payload, err := marshalClaims(claims)
	if err != nil {
		return nil, err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign the assertion: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("serialize the assertion: %w", err)
	}
	return &Assertion{JWT: compact, Alg: alg, Kid: kid, Typ: "JWT", Claims: claims}, nil
}

// checkTokenURL refuses a token URL that cannot be an organization's token
// endpoint, before it is signed into aud.
func checkTokenURL(u string) error {
	switch {
	case strings.TrimSpace(u) == "":
		return &keys.InputError{Msg: "no token URL: pass --token-url (the organization's token endpoint, from its .well-known/smart-configuration)"}
	case !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://"):
		return &keys.InputError{Msg: fmt.Sprintf("--token-url %q is not an http(s) URL: pass the token endpoint, e.g. https://host/oauth2/token", u)}
	case strings.Contains(strings.ToLower(u), "/authorize"):
		return &keys.InputError{Msg: fmt.Sprintf("--token-url %q is the authorize endpoint: pass the token endpoint (it ends in /token)", u)}
	}
	return nil
}

// checkAud refuses an --aud that cannot be a token URL.
func checkAud(u string) error {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return &keys.InputError{Msg: fmt.Sprintf("--aud %q is not an http(s) URL: pass the token URL as the server sees it, e.g. https://host/oauth2/token", u)}
	}
	return nil
}

// algFitsKey refuses an algorithm the key cannot produce.
func algFitsKey(alg string, k *keys.SigningKey) error {
	if !slices.Contains(SupportedAlgs, alg) {
		return &keys.InputError{Msg: fmt.Sprintf("--alg %s is not supported by organizations: use RS384 (preferred) or RS256", alg)}
	}
	rsaAlg := strings.HasPrefix(alg, "RS")
	switch {
	case rsaAlg && !k.IsRSA():
		return &keys.InputError{Msg: fmt.Sprintf("the key is %s but --alg %s needs an RSA key: give the RSA private key (organizations accept only RSA keys when keys are uploaded)", k.Type(), alg)}
	case !rsaAlg && k.IsRSA():
		return &keys.InputError{Msg: fmt.Sprintf("the key is %s but --alg %s needs an EC key: use --alg RS384", k.Type(), alg)}
	case !rsaAlg:
		ec := k.Key.(*ecdsa.PrivateKey)
		want := map[string]string{"ES256": "P-256", "ES384": "P-384"}[alg]
		if ec.Curve.Params().Name != want {
			return &keys.InputError{Msg: fmt.Sprintf("the key is %s but --alg %s needs a %s key: use the matching --alg", k.Type(), alg, want)}
		}
	}
	return nil
}

// newJTI returns a random base64url jti.
func newJTI(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, DefaultJTIBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// marshalClaims encodes the claims as the JWT payload.
func marshalClaims(c Claims) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	return b, nil
}
