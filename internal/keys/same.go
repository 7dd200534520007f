package keys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// SameKeys reports whether two key sets hold the same public keys. The stored
// set may come back from the portal as .NET serializes it (PascalCase members
// such as "Kty" and "N", a top-level "Keys", framework members such as
// "CryptoProviderFactory" or "HasPrivateKey", even the whole document as a JSON
// string), so member names are compared without case and anything but the key
// material is ignored. Keys are compared by RFC 7638 thumbprint (kty, n, e for
// RSA), which makes the answer independent of kid, alg, use and member order.
func SameKeys(storedJSON, uploadedJSON string) (bool, error) {
	stored, err := foldedThumbprints(storedJSON)
	if err != nil {
		return false, fmt.Errorf("read stored key set: %w", err)
	}
	uploaded, err := foldedThumbprints(uploadedJSON)
	if err != nil {
		return false, fmt.Errorf("read uploaded key set: %w", err)
	}
	return slices.Equal(stored, uploaded), nil
}

// DefaultMaxUnwrap bounds how many times a key set given as a JSON string is
// unwrapped; one layer is what a double-encoding API produces.
const DefaultMaxUnwrap = 2

// foldedThumbprints returns the sorted, distinct thumbprints of a key set read
// without regard to member-name case.
func foldedThumbprints(doc string) ([]string, error) {
	pubs, err := PublicKeys([]byte(doc))
	if err != nil {
		return nil, err
	}
	thumbs := make([]string, 0, len(pubs))
	for i := range pubs {
		e := &entry{pub: &pubs[i]}
		fillKeyFacts(e)
		if e.thumb == "" {
			return nil, fmt.Errorf("key #%d has no thumbprint", i+1)
		}
		thumbs = append(thumbs, e.thumb)
	}
	return sortedUnique(thumbs), nil
}

// PublicKeys reads the public keys of a key set for verifying signatures, as
// forgivingly as SameKeys: member names in any case, extra and null members
// ignored, private members never read, a double-encoded document unwrapped.
// Each key keeps its kid and alg. Keys of a type go-jose cannot verify with
// (oct) are an error, like any unreadable key.
func PublicKeys(docBytes []byte) ([]jose.JSONWebKey, error) {
	data := bytes.TrimSpace(docBytes)
	var top any
	for range DefaultMaxUnwrap + 1 {
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, fmt.Errorf("not JSON: %s", oneLine(err.Error()))
		}
		s, ok := top.(string)
		if !ok {
			break
		}
		data = bytes.TrimSpace([]byte(s))
	}
	var list []any
	switch v := top.(type) {
	case []any:
		list = v
	case map[string]any:
		keysVal, ok := foldGet(v, "keys")
		if !ok {
			return nil, fmt.Errorf("no \"keys\" member")
		}
		if keysVal == nil {
			list = nil
			break
		}
		if list, ok = keysVal.([]any); !ok {
			return nil, fmt.Errorf("\"keys\" is a JSON %s, not an array", jsonKind(keysVal))
		}
	default:
		return nil, fmt.Errorf("a JSON %s, not a key set", jsonKind(top))
	}
	out := make([]jose.JSONWebKey, 0, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("key #%d is not an object", i+1)
		}
		members := map[string]json.RawMessage{}
		for name, v := range obj {
			lower := strings.ToLower(name)
			if v == nil {
				continue
			}
			if _, dup := members[lower]; dup {
				return nil, fmt.Errorf("key #%d has member %s twice in different case", i+1, quote(lower))
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("key #%d: %w", i+1, err)
			}
			members[lower] = raw
		}
		var kty string
		if v, ok := members["kty"]; ok {
			_ = json.Unmarshal(v, &kty)
		}
		if kty == "" {
			return nil, fmt.Errorf("key #%d has no kty", i+1)
		}
		trimPadding(members, publicMembers[kty])
		pub, err := publicJWK(kty, members)
		if err != nil {
			return nil, fmt.Errorf("key #%d (%s): %v", i+1, quote(kty), err)
		}
		var kid, alg string
		_ = json.Unmarshal(members["kid"], &kid)
		_ = json.Unmarshal(members["alg"], &alg)
		pub.KeyID, pub.Algorithm = kid, alg
		out = append(out, *pub)
	}
	return out, nil
}

// foldGet finds a member by name without regard to case, preferring an exact
// match.
func foldGet(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// trimPadding removes base64 '=' padding from the named members, which some
// serializers add and go-jose (rightly, for JWKs) refuses.
func trimPadding(members map[string]json.RawMessage, names []string) {
	for _, name := range names {
		var s string
		if json.Unmarshal(members[name], &s) != nil || !strings.HasSuffix(s, "=") {
			continue
		}
		raw, err := json.Marshal(strings.TrimRight(s, "="))
		if err == nil {
			members[name] = raw
		}
	}
}
