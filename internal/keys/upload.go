package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultMinRSABits is the smallest RSA modulus organizations accept (Epic's
// OAuth 2.0 documentation requires at least 2048 bits).
const DefaultMinRSABits = 2048

// UploadAlgs are the alg values an uploaded RSA key may carry: the two the
// portal lists as supported. Organizations drop alg from uploaded keys, but a
// key labelled for another algorithm (RS512, PS256, RSA-OAEP) was exported for
// something organizations do not verify, and the portal may refuse it.
var UploadAlgs = []string{"RS256", "RS384"}

// Upload is the RSA-only public JWKS ready to send to the portal, together with
// what identifies it and what was left out of it.
type Upload struct {
	// JSON is {"keys":[...]} pretty-printed with a 2-space indent, as the
	// portal's own form sends it; it holds only kty, n, e, kid, alg and use.
	JSON string
	// Keys describes each uploaded key, in document order.
	Keys []KeyInfo
	// Dropped lists the keys that are not uploaded, with the reason.
	Dropped []Dropped
}

// KeyInfo identifies one public key without repeating its modulus.
type KeyInfo struct {
	// Kid is the key's kid (organizations do not keep it for uploaded keys).
	Kid string `json:"kid"`
	// Thumbprint is the RFC 7638 SHA-256 thumbprint, base64url: the identity
	// of the key that survives kid renames and re-serialization.
	Thumbprint string `json:"thumbprint"`
	// Bits is the RSA modulus length.
	Bits int `json:"bits"`
	// Alg is the alg member, empty when absent.
	Alg string `json:"alg,omitempty"`
}

// Dropped is a key that was left out of an upload, and why.
type Dropped struct {
	// Kid is the key's kid, empty when it has none.
	Kid string `json:"kid,omitempty"`
	// Kty is the key's type.
	Kty string `json:"kty"`
	// Reason says why the key is not uploaded.
	Reason string `json:"reason"`
}

// Thumbprints returns the sorted thumbprints of the uploaded keys: two uploads
// with the same thumbprints carry the same keys, whatever their kids.
func (u *Upload) Thumbprints() []string {
	out := make([]string, 0, len(u.Keys))
	for _, k := range u.Keys {
		out = append(out, k.Thumbprint)
	}
	sort.Strings(out)
	return out
}

// uploadKey is the member layout of an uploaded key; the field order is the
// order of the members in Upload.JSON.
type uploadKey struct {
	Kty string `json:"kty"`
	N   string `json:"n"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// ForUpload turns a JWKS into the public RSA key set that may be uploaded to an
// organization. Keys of other types are dropped (organizations accept only RSA),
// and the document is refused with an *InputError when uploading it would be
// unsafe or would not work: it is not a JWKS, a key carries private members,
// a kid is missing or repeated, a modulus is under 2048 bits, an alg is not an
// RSA signing algorithm, or no RSA key is left.
func ForUpload(raw []byte) (*Upload, error) {
	entries, err := parseDocument(raw)
	if err != nil {
		return nil, &InputError{Msg: err.Error()}
	}
	if len(entries) == 0 {
		return nil, inputErrorf("the JWKS has no keys: add the app's RSA public key to \"keys\"")
	}
	// Private material anywhere is refused before anything else, whatever the
	// key type: the document must not be uploaded, or even kept as it is.
	for _, e := range entries {
		if len(e.private) > 0 {
			return nil, inputErrorf("%s carries private members (%s): publishing them is a breach; export the public key only, and replace the key if this document was ever shared", e.label(), strings.Join(e.private, ", "))
		}
	}
	up := &Upload{}
	var keep []uploadKey
	seenKid := map[string]bool{}
	for _, e := range entries {
		switch {
		case e.notObject:
			return nil, inputErrorf("key #%d is not a JSON object: each member of \"keys\" must be a JWK object", e.index+1)
		case e.caseOnly:
			return nil, inputErrorf("%s has \"Kty\" but no \"kty\" (a .NET JsonWebKey export?): JWK member names are lower case; rename Kty, N, E, Kid to kty, n, e, kid", e.label())
		case e.kty == "":
			return nil, inputErrorf("%s has no \"kty\": every JWK needs one; RSA keys need \"kty\":\"RSA\"", e.label())
		case e.kty != "RSA":
			up.Dropped = append(up.Dropped, Dropped{Kid: e.kid, Kty: e.kty, Reason: droppedReason(e.kty)})
			continue
		}
		if len(e.typeErrs) > 0 {
			return nil, inputErrorf("%s has %s of the wrong JSON type: kid, alg and use must be strings, key_ops an array of strings", e.label(), strings.Join(e.typeErrs, ", "))
		}
		if e.pubErr != nil {
			return nil, inputErrorf("%s is not a usable RSA public key: %s", e.label(), e.pubErr)
		}
		if !e.hasKid || e.kid == "" {
			return nil, inputErrorf("RSA key #%d has no kid: give every key a unique kid (its RFC 7638 thumbprint %s is a good choice)", e.index+1, e.thumb)
		}
		if seenKid[e.kid] {
			return nil, inputErrorf("kid %s is used by more than one RSA key: give every key a unique kid", quote(e.kid))
		}
		seenKid[e.kid] = true
		if e.bits < DefaultMinRSABits {
			return nil, inputErrorf("%s has a %d-bit modulus, under the %d bits organizations require: generate a new key of at least %d bits (3072 recommended)", e.label(), e.bits, DefaultMinRSABits, DefaultMinRSABits)
		}
		if e.hasAlg && !slices.Contains(UploadAlgs, e.alg) {
			return nil, inputErrorf("%s has alg %s, which organizations do not verify (RS256 and RS384 only): set alg to RS384 (preferred) or RS256, or remove it", e.label(), quote(e.alg))
		}
		if e.hasUse && e.use != "sig" {
			return nil, inputErrorf("%s has use %s, not a signing key: set use to \"sig\" (or remove it) on the key the app signs with, or leave this key out", e.label(), quote(e.use))
		}
		n, ex, err := canonicalRSA(e.pub)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.label(), err)
		}
		keep = append(keep, uploadKey{Kty: "RSA", N: n, E: ex, Kid: e.kid, Alg: e.alg, Use: e.use})
		up.Keys = append(up.Keys, KeyInfo{Kid: e.kid, Thumbprint: e.thumb, Bits: e.bits, Alg: e.alg})
	}
	if len(keep) == 0 {
		var types []string
		for _, d := range up.Dropped {
			types = append(types, d.Kty)
		}
		return nil, inputErrorf("the JWKS has no RSA key (only %s): organizations accept only RSA keys; add an RSA public key of at least %d bits", strings.Join(sortedUnique(types), ", "), DefaultMinRSABits)
	}
	doc, err := json.MarshalIndent(struct {
		Keys []uploadKey `json:"keys"`
	}{keep}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode upload JWKS: %w", err)
	}
	up.JSON = string(doc)
	return up, nil
}

// droppedReason says why a key of this type is left out of an upload.
func droppedReason(kty string) string {
	switch kty {
	case "EC":
		return "EC keys are not accepted per organization"
	case "OKP":
		return "OKP (Ed25519) keys are not accepted per organization"
	case "oct":
		return "symmetric keys are not accepted per organization"
	default:
		return fmt.Sprintf("%s keys are not accepted per organization", quote(kty))
	}
}

// canonicalRSA returns n and e as go-jose encodes them: base64url, no padding,
// no leading zero bytes.
func canonicalRSA(k *jose.JSONWebKey) (n, e string, err error) {
	pub, ok := rsaPublic(k)
	if !ok {
		return "", "", errors.New("not an RSA key")
	}
	doc, err := json.Marshal(jose.JSONWebKey{Key: pub})
	if err != nil {
		return "", "", err
	}
	var m struct {
		N string `json:"n"`
		E string `json:"e"`
	}
	if err := json.Unmarshal(doc, &m); err != nil {
		return "", "", err
	}
	return m.N, m.E, nil
}
