package keys

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// PrivateMembers lists the JWK members that carry secret key material
// (RFC 7518 sections 6.2.2, 6.3.2 and 6.4). None of them may ever leave the
// machine: a JWKS holding one of them publishes the private key.
var PrivateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Rule names of the document-level problems, shared by ForUpload and Check so
// that a refusal and a finding name the same rule.
const (
	RuleNotJSON = "jwks.not-json"
	RuleNotJWKS = "jwks.not-jwks"
)

// docError is a document that is not a JWKS at all, tagged with its rule.
type docError struct {
	rule    string
	problem string
	fix     string
}

// Error returns the problem and the fix on one line.
func (e *docError) Error() string { return e.problem + ": " + e.fix }

// newDocError splits a "problem: fix" message at its first ": ".
func newDocError(rule, msg string) *docError {
	problem, fix, _ := strings.Cut(msg, ": ")
	return &docError{rule: rule, problem: problem, fix: fix}
}

// entry is one member of the "keys" array, as written and as understood.
type entry struct {
	index     int
	notObject bool
	members   map[string]json.RawMessage
	kty       string
	kid       string
	hasKid    bool
	alg       string
	hasAlg    bool
	use       string
	hasUse    bool
	keyOps    []string
	hasKeyOps bool
	// typeErrs names members whose JSON type is wrong (kid is a number, ...).
	typeErrs []string
	// private lists the private members present, in PrivateMembers order.
	private []string
	// pub is the public key parsed by go-jose; nil when pubErr is set or the
	// key type is not one go-jose understands.
	pub    *jose.JSONWebKey
	pubErr error
	// thumb is the RFC 7638 SHA-256 thumbprint, base64url without padding.
	thumb string
	// bits is the RSA modulus length; exp the RSA public exponent.
	bits int
	exp  int
	// kidShared is set when another key of the document has the same kid,
	// so that messages name the key by position too.
	kidShared bool
	// caseOnly is set when the key has no "kty" but has a member spelled
	// "Kty" or similar: a .NET JsonWebKey export rather than a JWK.
	caseOnly bool
}

// label names the key in messages: by kid when it has one, else by position.
func (e *entry) label() string {
	if e.hasKid && e.kid != "" {
		if e.kidShared {
			return fmt.Sprintf("key %s (#%d)", quote(e.kid), e.index+1)
		}
		return "key " + quote(e.kid)
	}
	return fmt.Sprintf("key #%d", e.index+1)
}

// parseDocument reads a JWKS without judging it. Only a document that is not
// JSON, or not a JSON object with a "keys" array, is an error.
func parseDocument(raw []byte) ([]*entry, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, newDocError(RuleNotJSON, "the document is empty: give a JWKS such as {\"keys\":[{\"kty\":\"RSA\",...}]}")
	}
	var top any
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&top); err != nil || dec.More() {
		return nil, newDocError(RuleNotJSON, notJSONMessage(trimmed, err))
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, newDocError(RuleNotJWKS, fmt.Sprintf("the document is a JSON %s, not a JWKS: give an object {\"keys\":[...]}", jsonKind(top)))
	}
	keysVal, ok := obj["keys"]
	if !ok {
		if _, single := obj["kty"]; single {
			return nil, newDocError(RuleNotJWKS, "the document is a single JWK, not a JWKS: wrap it as {\"keys\":[ ...the key... ]}")
		}
		for name := range obj {
			if strings.EqualFold(name, "keys") {
				return nil, newDocError(RuleNotJWKS, fmt.Sprintf("the document has %s instead of \"keys\": JWK member names are case-sensitive; rename it to \"keys\"", quote(name)))
			}
		}
		return nil, newDocError(RuleNotJWKS, "the document has no \"keys\" member, so it is not a JWKS: give an object {\"keys\":[...]}")
	}
	list, ok := keysVal.([]any)
	if !ok {
		return nil, newDocError(RuleNotJWKS, fmt.Sprintf("\"keys\" is a JSON %s, not an array: give {\"keys\":[ ...keys... ]}", jsonKind(keysVal)))
	}
	// Decode a second time into raw members so that every value can be handed
	// to go-jose exactly as written.
	var rawTop struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(trimmed, &rawTop); err != nil {
		return nil, newDocError(RuleNotJWKS, fmt.Sprintf("the \"keys\" array cannot be read (%v): give {\"keys\":[ ...keys... ]}", err))
	}
	entries := make([]*entry, 0, len(list))
	kids := map[string]int{}
	for i, rk := range rawTop.Keys {
		e := parseEntry(i, rk)
		entries = append(entries, e)
		if e.hasKid {
			kids[e.kid]++
		}
	}
	for _, e := range entries {
		e.kidShared = e.hasKid && kids[e.kid] > 1
	}
	return entries, nil
}

// notJSONMessage explains what the non-JSON document most likely is.
func notJSONMessage(doc []byte, err error) string {
	lower := strings.ToLower(string(doc[:min(len(doc), 512)]))
	switch {
	case strings.HasPrefix(lower, "-----begin") && strings.Contains(lower, "private key-----"):
		return "the document is a PEM private key, not a JWKS: never upload or publish it; `activator jwks from-pem KEY.pem > jwks.json` writes its public half as a JWKS (kid and alg set)"
	case strings.HasPrefix(lower, "-----begin"):
		return "the document is PEM, not a JWKS: `activator jwks from-pem KEY.pem > jwks.json` converts a public key, certificate or private key to a public JWKS (kid and alg set)"
	case strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html") || strings.Contains(lower, "<html"):
		return "the document is an HTML page (a sign-in or error page?), not a JWKS: serve the JWKS itself as JSON"
	case strings.HasPrefix(lower, "<"):
		return "the document is XML or HTML, not a JWKS: serve the JWKS itself as JSON"
	}
	if err == nil {
		return "the document holds more than one JSON value: give a single object {\"keys\":[...]}"
	}
	return fmt.Sprintf("the document is not JSON (%s): give a JWKS such as {\"keys\":[{\"kty\":\"RSA\",...}]}", oneLine(err.Error()))
}

// jsonKind names the JSON type of a decoded value for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// parseEntry reads one key: its members, its private material, and its public
// key through go-jose.
func parseEntry(i int, rk json.RawMessage) *entry {
	e := &entry{index: i}
	if err := json.Unmarshal(rk, &e.members); err != nil || e.members == nil {
		e.notObject = true
		return e
	}
	e.kty, _ = stringMember(e, "kty", nil)
	if _, ok := e.members["kty"]; !ok {
		for name := range e.members {
			if strings.EqualFold(name, "kty") {
				e.caseOnly = true
			}
		}
	}
	e.kid, e.hasKid = stringMember(e, "kid", &e.typeErrs)
	e.alg, e.hasAlg = stringMember(e, "alg", &e.typeErrs)
	e.use, e.hasUse = stringMember(e, "use", &e.typeErrs)
	if v, ok := present(e.members, "key_ops"); ok {
		e.hasKeyOps = true
		if err := json.Unmarshal(v, &e.keyOps); err != nil {
			e.typeErrs = append(e.typeErrs, "key_ops")
		}
	}
	for _, name := range PrivateMembers {
		if _, ok := present(e.members, name); ok {
			e.private = append(e.private, name)
		}
	}
	e.pub, e.pubErr = publicJWK(e.kty, e.members)
	if e.pub != nil {
		fillKeyFacts(e)
	}
	return e
}

// present returns a member's raw value, treating an explicit null as absent
// (serializers such as .NET's write "D": null for public keys).
func present(members map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	v, ok := members[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

// stringMember reads a string member; a member of another JSON type is noted
// in typeErrs (when given) and read as absent.
func stringMember(e *entry, name string, typeErrs *[]string) (string, bool) {
	v, ok := present(e.members, name)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		if typeErrs != nil {
			*typeErrs = append(*typeErrs, name)
		}
		return "", false
	}
	return s, true
}

// publicMembers are, per key type, the members that make up the public key
// (RFC 7518 section 6); everything else is left out before go-jose reads it.
var publicMembers = map[string][]string{
	"RSA": {"n", "e"},
	"EC":  {"crv", "x", "y"},
	"OKP": {"crv", "x"},
}

// errUnsupportedKty marks a key type that this package does not parse (oct,
// AKP, unknown values): it is reported by type, never as a broken key.
var errUnsupportedKty = errors.New("unsupported key type")

// publicJWK parses the public part of a key with go-jose, after stripping
// every other member, so that private members and x5c chains can neither
// leak into the result nor make a usable public key fail to parse.
func publicJWK(kty string, members map[string]json.RawMessage) (*jose.JSONWebKey, error) {
	names, ok := publicMembers[kty]
	if !ok {
		return nil, errUnsupportedKty
	}
	pub := map[string]json.RawMessage{"kty": json.RawMessage(fmt.Sprintf("%q", kty))}
	var missing []string
	for _, name := range names {
		v, ok := present(members, name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		pub[name] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the %s key has no %s", kty, strings.Join(missing, ", no "))
	}
	if kty == "RSA" {
		if bits, ok := rawModulusBits(members["n"]); ok && bits > jose.MaxRSAModulusBits {
			return nil, fmt.Errorf("the RSA modulus has %d bits, more than the %d this tool reads", bits, jose.MaxRSAModulusBits)
		}
	}
	doc, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public members: %w", err)
	}
	var k jose.JSONWebKey
	if err := json.Unmarshal(doc, &k); err != nil {
		return nil, explainJoseError(kty, members, err)
	}
	if !k.Valid() {
		return nil, fmt.Errorf("the %s key is not valid", kty)
	}
	return &k, nil
}

// rawModulusBits measures an RSA modulus from its base64url text without
// building a key, so that an oversized key is named as such.
func rawModulusBits(v json.RawMessage) (int, bool) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return 0, false
	}
	return new(big.Int).SetBytes(b).BitLen(), true
}

// explainJoseError turns a go-jose parse error into a reason a person can act
// on: padded or standard base64 is the usual culprit.
func explainJoseError(kty string, members map[string]json.RawMessage, err error) error {
	for _, name := range publicMembers[kty] {
		var s string
		if json.Unmarshal(members[name], &s) != nil {
			if name == "crv" {
				return fmt.Errorf("%q must be a string", name)
			}
			return fmt.Errorf("%q must be a base64url string", name)
		}
		if name == "crv" {
			continue
		}
		switch {
		case strings.HasSuffix(s, "="):
			return fmt.Errorf("%q is padded with '='; base64url in a JWK has no padding, remove it", name)
		case strings.ContainsAny(s, "+/"):
			return fmt.Errorf("%q uses standard base64 ('+' or '/'); use base64url ('-' and '_')", name)
		}
	}
	msg := strings.TrimPrefix(err.Error(), "go-jose/go-jose: ")
	if errors.Is(err, jose.ErrUnsupportedKeyType) {
		msg = "unsupported key parameters (curve or size)"
	}
	return errors.New(oneLine(msg))
}

// fillKeyFacts computes the thumbprint, and for RSA the modulus size and
// exponent, of a parsed public key.
func fillKeyFacts(e *entry) {
	tp, err := e.pub.Thumbprint(crypto.SHA256)
	if err == nil {
		e.thumb = base64.RawURLEncoding.EncodeToString(tp)
	}
	if rk, ok := rsaPublic(e.pub); ok {
		e.bits = rk.N.BitLen()
		e.exp = rk.E
	}
}

// rsaPublic returns the RSA public key of a parsed JWK, if it is one.
func rsaPublic(k *jose.JSONWebKey) (*rsa.PublicKey, bool) {
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return key, true
	case *rsa.PrivateKey:
		return &key.PublicKey, true
	}
	return nil, false
}

// sortedUnique returns the distinct strings of in, sorted.
func sortedUnique(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of a key, base64url
// without padding (for a private key, that of its public half); empty when
// the key type has none.
func Thumbprint(k jose.JSONWebKey) string {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}
