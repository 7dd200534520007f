package keys

import (
	"fmt"
	"slices"
	"strings"
)

// Severity ranks a finding. Only errors make `jwks check` fail.
type Severity string

// Severities, from the most to the least serious.
const (
	// SeverityError: organizations will refuse the keys (or the document
	// must not be published at all).
	SeverityError Severity = "error"
	// SeverityWarning: it works today but is fragile or misleading.
	SeverityWarning Severity = "warning"
	// SeverityInfo: a fact worth knowing, nothing to fix.
	SeverityInfo Severity = "info"
)

// Finding is one problem (or fact) about a key set, a JWK Set URL or an
// assertion, with the rule it comes from and how to fix it.
type Finding struct {
	// Severity ranks the finding.
	Severity Severity `json:"severity"`
	// Rule is a stable identifier such as "jwks.kid-missing"; tests and
	// scripts match on it.
	Rule string `json:"rule"`
	// Subject names what the finding is about ("key \"a\"", "key #2", the
	// URL, a claim); empty for the whole document.
	Subject string `json:"subject,omitempty"`
	// Message states the problem in one line.
	Message string `json:"message"`
	// Fix says what to do, in one line; empty for facts.
	Fix string `json:"fix,omitempty"`
}

// Rule names of the key set checks. Together with RuleNotJSON and RuleNotJWKS
// they are the vocabulary of the golden tests in testdata/jwks.
const (
	RuleNoKeys         = "jwks.no-keys"
	RuleKeyNotObject   = "jwks.key-not-object"
	RuleKtyMissing     = "jwks.kty-missing"
	RuleKtyUnusable    = "jwks.kty-unusable"
	RuleNoRSAKey       = "jwks.no-rsa-key"
	RuleKeyInvalid     = "jwks.key-invalid"
	RuleMemberType     = "jwks.member-type"
	RulePrivateMembers = "jwks.private-members"
	RuleKidMissing     = "jwks.kid-missing"
	RuleKidDuplicate   = "jwks.kid-duplicate"
	RuleRSATooSmall    = "jwks.rsa-too-small"
	RuleRSAExponent    = "jwks.rsa-exponent"
	RuleAlgMissing     = "jwks.alg-missing"
	RuleAlgUnsupported = "jwks.alg-unsupported"
	RuleUseNotSig      = "jwks.use-not-sig"
	RuleKeyOps         = "jwks.key-ops"
	RuleSameKey        = "jwks.same-key"
)

// DefaultRSAExponent is the public exponent every mainstream tool uses;
// anything else is unusual enough to be a sign of a hand-built key.
const DefaultRSAExponent = 65537

// CheckDocument judges a key set document as organizations will: what they
// refuse is an error, what is fragile a warning. The findings are in document
// order, document-level findings first.
func CheckDocument(raw []byte) []Finding {
	entries, err := parseDocument(raw)
	if err != nil {
		de := err.(*docError)
		return []Finding{{Severity: SeverityError, Rule: de.rule, Message: de.problem, Fix: de.fix}}
	}
	if len(entries) == 0 {
		return []Finding{{Severity: SeverityError, Rule: RuleNoKeys, Message: "the key set has no keys",
			Fix: "add the app's RSA public key to \"keys\""}}
	}
	var out []Finding
	add := func(sev Severity, rule string, e *entry, msg, fix string, args ...any) {
		subject := ""
		if e != nil {
			subject = e.label()
		}
		out = append(out, Finding{Severity: sev, Rule: rule, Subject: subject,
			Message: sprintfOneLine(msg, args...), Fix: oneLine(fix)})
	}
	kids := map[string][]*entry{}
	thumbs := map[string][]*entry{}
	rsaUsable := 0
	for _, e := range entries {
		if !checkKey(e, add) {
			continue
		}
		if e.thumb != "" {
			thumbs[e.thumb] = append(thumbs[e.thumb], e)
		}
		if e.hasKid && e.kid != "" {
			kids[e.kid] = append(kids[e.kid], e)
		} else {
			add(SeverityError, RuleKidMissing, e, "has no kid: an organization fetching the key set cannot match the assertion's kid header to it",
				fmt.Sprintf("give every key a unique kid, e.g. its thumbprint %s", e.thumb))
		}
		checkUse(e, add)
		if e.kty == "RSA" && checkRSA(e, add) {
			rsaUsable++
		}
	}
	checkDuplicates(entries, kids, thumbs, add)
	if rsaUsable == 0 {
		add(SeverityError, RuleNoRSAKey, nil, "no usable RSA key of at least %d bits: organizations accept only RSA keys",
			"add the app's RSA public key (3072 bits recommended)", DefaultMinRSABits)
	}
	return out
}

// addFinding records a finding about a key (nil: the document).
type addFinding func(sev Severity, rule string, e *entry, msg, fix string, args ...any)

// checkKey judges a key's shape and type; false when it cannot be judged
// further.
func checkKey(e *entry, add addFinding) bool {
	if e.notObject {
		add(SeverityError, RuleKeyNotObject, e, "is not a JSON object", "make every member of \"keys\" a JWK object")
		return false
	}
	if len(e.private) > 0 {
		add(SeverityError, RulePrivateMembers, e, "carries private members (%s): publishing them is a breach",
			"publish the public key only, and replace this key pair: treat the private key as compromised", strings.Join(e.private, ", "))
	}
	if len(e.typeErrs) > 0 {
		add(SeverityError, RuleMemberType, e, "has %s of the wrong JSON type", "make kid, alg and use strings and key_ops an array of strings",
			strings.Join(e.typeErrs, ", "))
	}
	switch {
	case e.caseOnly:
		add(SeverityError, RuleKtyMissing, e, "has \"Kty\" but no \"kty\" (a .NET JsonWebKey export?)",
			"JWK member names are lower case: rename Kty, N, E, Kid to kty, n, e, kid")
		return false
	case e.kty == "":
		add(SeverityError, RuleKtyMissing, e, "has no \"kty\"", "give every key its type; RSA keys need \"kty\":\"RSA\"")
		return false
	case e.kty == "EC" || e.kty == "OKP":
		add(SeverityWarning, RuleKtyUnusable, e, "is an %s key: organizations accept only RSA keys when keys are uploaded to them",
			"keep it only for a JWK Set URL that organizations fetch; upload RSA keys", e.kty)
	case e.kty == "oct":
		add(SeverityError, RuleKtyUnusable, e, "is a symmetric (oct) key: it has no place in a published key set",
			"remove it; organizations accept only RSA public keys")
		return false
	case e.kty != "RSA":
		add(SeverityWarning, RuleKtyUnusable, e, "has key type %s, which organizations do not accept",
			"remove it; organizations accept only RSA keys", quote(e.kty))
		return false
	}
	if e.pubErr != nil {
		add(SeverityError, RuleKeyInvalid, e, "is not a usable %s public key: %s", "re-export the public key with a JWK library", e.kty, e.pubErr)
		return false
	}
	return true
}

// checkRSA judges an RSA key's size, exponent and alg; true when it is
// large enough to use.
func checkRSA(e *entry, add addFinding) bool {
	usable := e.bits >= DefaultMinRSABits
	if !usable {
		add(SeverityError, RuleRSATooSmall, e, "has a %d-bit modulus; organizations require at least %d bits",
			"generate a new key pair of 3072 bits (at least 2048)", e.bits, DefaultMinRSABits)
	}
	if e.exp != DefaultRSAExponent {
		add(SeverityWarning, RuleRSAExponent, e, "has the unusual public exponent %d (everyone uses 65537)",
			"generate the key pair with a standard tool (openssl genpkey -algorithm RSA)", e.exp)
	}
	switch {
	case !e.hasAlg:
		add(SeverityWarning, RuleAlgMissing, e, "has no alg", "set alg to the algorithm the app signs with: RS384 (preferred) or RS256")
	case e.alg == "RS256" || e.alg == "RS384":
	default:
		add(SeverityError, RuleAlgUnsupported, e, "has alg %s; organizations verify RS256 and RS384 only",
			"set alg to RS384 (preferred) or RS256 and sign with it", quote(e.alg))
	}
	return usable
}

// checkDuplicates flags kids used by several keys and keys published twice,
// once, at their first key.
func checkDuplicates(entries []*entry, kids, thumbs map[string][]*entry, add addFinding) {
	for _, e := range entries {
		if !e.hasKid || e.kid == "" {
			continue
		}
		group := kids[e.kid]
		if len(group) > 1 && group[0] == e {
			add(SeverityError, RuleKidDuplicate, e, "kid is used by %d keys: an organization cannot tell which one signed",
				"give every key a unique kid", len(group))
		}
	}
	for _, e := range entries {
		group := thumbs[e.thumb]
		if len(group) > 1 && group[0] == e {
			var names []string
			for _, g := range group {
				names = append(names, g.label())
			}
			add(SeverityWarning, RuleSameKey, e, "is the same key as %s (same RFC 7638 thumbprint)",
				"publish each key once, under one kid", strings.Join(names[1:], ", "))
		}
	}
}

// checkUse flags a key that is not meant for signatures.
func checkUse(e *entry, add addFinding) {
	if e.hasUse && e.use != "sig" {
		add(SeverityError, RuleUseNotSig, e, "has use %s; client assertions need a signing key",
			"set use to \"sig\" (or remove it) on the key the app signs with", quote(e.use))
	}
	if !e.hasKeyOps {
		return
	}
	if e.hasUse {
		add(SeverityWarning, RuleKeyOps, e, "has both use and key_ops, which RFC 7517 says not to combine",
			"keep \"use\":\"sig\" and remove key_ops")
	}
	if !slices.Contains(e.keyOps, "verify") {
		add(SeverityError, RuleKeyOps, e, "has key_ops %s without \"verify\": verifying the app's signatures is not allowed",
			"set key_ops to [\"verify\"] (or remove it)", quote(strings.Join(e.keyOps, ",")))
	} else if slices.Contains(e.keyOps, "sign") {
		add(SeverityWarning, RuleKeyOps, e, "has key_ops \"sign\", an operation of the private key",
			"set key_ops to [\"verify\"] in the published key")
	}
}

// Errors counts the error findings.
func Errors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}
