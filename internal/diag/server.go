package diag

import (
	"regexp"
	"strings"
)

// What an error_description can name. Servers that follow SMART Backend
// Services closely (the SMART reference servers, Keycloak, Microsoft
// Entra, most FHIR servers built on a JWT library) say why they refused;
// Epic answers a bare invalid_client. When the server says, its words are
// the first evidence and rank above every local guess.
const (
	ServerScopeMissing = "scope-missing" // "Missing 'scope' parameter"
	ServerScopeInvalid = "scope-invalid" // "Invalid scope(s) ... requested", "No scope(s) could be granted"
	ServerJKU          = "jku"           // "Invalid jku header ...", "jku_not_whitelisted"
	ServerJWKSFetch    = "jwks-fetch"    // "Failed to fetch JWKS from ...", "Requesting the remote JWKS returned an error"
	ServerClaimMissing = "claim-missing" // "Missing token 'exp' claim"
	ServerTyp          = "typ"           // "Invalid token 'typ' header. Must be 'JWT'."
	ServerKidMissing   = "kid-missing"   // "Missing token 'kid' header"
	ServerKid          = "kid"           // "None of the keys found in the JWKS have kid equal to ..."
	ServerAlg          = "alg"           // "None of the keys found in the JWKS have alg equal to RS256", "invalid algorithm"
	ServerAud          = "aud"           // "Invalid token 'aud' value", "jwt audience invalid"
	ServerExpired      = "expired"       // "jwt expired", "Token expired"
	ServerNotActive    = "not-active"    // "jwt not active", "Token is not active", "iat in the future"
	ServerTime         = "time"          // "Client assertion is not within its valid time range"
	ServerJTI          = "jti"           // "Missing token 'jti' claim", "Token reuse detected"
	ServerSignature    = "signature"     // "invalid signature", "Unable to verify the token with any of the public keys"
	ServerClient       = "client-id"     // "Invalid 'client_id' (as sub claim ...)", "The token sub does not match the token iss claim"
	ServerOther        = "other"         // a description none of the above matches: quoted as it is
)

// serverPhrase is one way servers word a cause. The phrases are tried in
// order, so a specific one ("typ header") comes before a general one
// ("invalid token").
type serverPhrase struct {
	kind  string
	re    *regexp.Regexp
	cause string
	fix   string
}

// keyFix is the fix of every "the server has no such key" cause.
const keyFix = "sign with a key the organization holds, with its published kid and alg (`activator token --jwks` takes both from the key set); " +
	"a key set fetched from a JWK Set URL may be cached for up to 29 hours"

var serverPhrases = []serverPhrase{
	{ServerScopeMissing, regexp.MustCompile(`(?i)(missing|no|without)\W+(the\W+)?scope\W*(param|$)|scope\W+(parameter\W+)?(is\W+)?(missing|required)`),
		"no scope was requested, and the server requires one (SMART Backend Services makes scope required)",
		"pass --scope with the system scopes the app is registered for, e.g. --scope system/Patient.read"},
	{ServerScopeInvalid, regexp.MustCompile(`(?i)scope`),
		"the requested scope is not granted to the client",
		"request only system scopes the app is registered for (system/Patient.read, ...), and only those"},
	{ServerJKU, regexp.MustCompile(`(?i)(^|[^a-z])jku([^a-z]|$)`),
		"the assertion's jku header is not the JWK Set URL registered for the app",
		"remove jku from the header, or make it the registered JWK Set URL exactly"},
	{ServerJWKSFetch, regexp.MustCompile(`(?i)(fetch|retriev|download|request|load|get)\w*\W+(the\W+)?(remote\W+|client\W+)?(jwks|jwk\W?set|key\W?set)|(jwks|jwk set|jwks_uri|jwks url)\b.{0,40}(unreachable|could not|cannot|failed|error|timed? ?out)`),
		"the organization's server could not fetch the app's JWK Set URL",
		"upload the public keys to the organization instead (activator activate --jwks FILE --reactivate), or make the JWK Set URL reachable from its network"},
	{ServerClaimMissing, regexp.MustCompile(`(?i)missing\W+(token\W+)?'?"?(iss|sub|aud|exp|jti|iat)'?"?\W+claim`),
		"the assertion lacks a claim the server requires",
		"sign with iss, sub, aud, exp and jti (activator's assertions carry all of them, and iat and nbf)"},
	{ServerTyp, regexp.MustCompile(`(?i)(^|[^a-z])typ([^a-z]|$)`),
		"the assertion's typ header is missing or not \"JWT\"",
		"sign with the header typ \"JWT\" (activator's assertions always carry it)"},
	{ServerKidMissing, regexp.MustCompile(`(?i)(missing|no)\W+(token\W+)?'?"?kid([^a-z]|$)`),
		"the assertion's header has no kid, and the server chooses the key by kid",
		"put the kid of the signing key, as published, in the header (--kid, or --jwks to take it from the key set)"},
	{ServerKid, regexp.MustCompile(`(?i)(^|[^a-z])kid([^a-z]|$)|key id`),
		"the server holds no key with the assertion's kid",
		keyFix},
	{ServerAlg, regexp.MustCompile(`(?i)(^|[^a-z])alg([^a-z]|$)|algorithm`),
		"the server holds no key published with the assertion's alg",
		keyFix},
	{ServerAud, regexp.MustCompile(`(?i)(^|[^a-z])aud([^a-z]|$)|audience`),
		"the assertion's aud is not the token URL as the server sees it",
		"set aud to the token URL exactly as the server sees it: the URL you POST to, or --aud when a proxy in between changes it"},
	{ServerExpired, regexp.MustCompile(`(?i)expired|(^|[^a-z])exp([^a-z]|$)`),
		"to the server, the assertion has expired (its clock is ahead of this machine's, or exp is too soon)",
		"sign a fresh assertion for every request and sync this machine's clock (NTP)"},
	{ServerNotActive, regexp.MustCompile(`(?i)not (yet )?(active|valid)|(^|[^a-z])nbf([^a-z]|$)|(^|[^a-z])iat([^a-z]|$)|in the future|before .{0,10}(nbf|iat)`),
		"to the server, the assertion is not valid yet: iat or nbf is in its future (its clock is behind this machine's)",
		"sync this machine's clock (NTP); activator back-dates iat and nbf by a few seconds, so a larger difference remains"},
	{ServerTime, regexp.MustCompile(`(?i)valid time|time range|clock|skew|lifetime`),
		"the server's clock is outside the assertion's time window (iat, nbf, exp)",
		"sync this machine's clock (NTP); keep exp at most 5 minutes after iat"},
	{ServerJTI, regexp.MustCompile(`(?i)(^|[^a-z])jti([^a-z]|$)|replay|reuse|already (been )?used`),
		"the assertion's jti is missing or was used before",
		"sign a fresh assertion, with a new random jti, for every request"},
	{ServerSignature, regexp.MustCompile(`(?i)signature|unable to verify|could not verify|verification failed|failed validation`),
		"the signature does not verify with the keys the organization holds",
		"sign with the private key whose public key was uploaded; after a key change, wait for it to reach the organization"},
	{ServerClient, regexp.MustCompile(`(?i)client[ _]?id|(^|[^a-z])sub([^a-z]|$)|(^|[^a-z])iss([^a-z]|$)|unknown client|client.{0,20}not (found|known|registered)|application with identifier`),
		"the server does not know the client ID (iss and sub)",
		"set iss and sub to the client ID of the environment you call (the non-production client ID for non-production and sandbox servers)"},
}

// ServerCause names the cause an error_description gives, with the
// server's words quoted. ok is false when there is no description.
func ServerCause(r *TokenResponse) (c Cause, kind string, ok bool) {
	if r == nil || strings.TrimSpace(r.ErrorDescription) == "" {
		return Cause{}, "", false
	}
	desc := strings.TrimSpace(r.ErrorDescription)
	quote := `the server says "` + desc + `"`
	for _, p := range serverPhrases {
		if p.re.MatchString(desc) {
			return Cause{Likelihood: LikelihoodServer, Cause: p.cause + " (" + quote + ")", Fix: p.fix, Server: desc}, p.kind, true
		}
	}
	return Cause{Likelihood: LikelihoodServer, Cause: quote, Fix: "act on the server's words; the causes below are ranked without them", Server: desc}, ServerOther, true
}
