package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// EnvPrefix marks a signing key source held in an environment variable, as in
// --key env:EPIC_PRIVATE_KEY: deployments often keep the PEM there.
const EnvPrefix = "env:"

// DefaultMaxKeyBytes bounds a signing key file: a 4096-bit PEM is about 3 KB,
// so anything far larger is not a key.
const DefaultMaxKeyBytes = 64 << 10

// SigningKey is a private key ready to sign client assertions, with what had
// to be repaired to read it.
type SigningKey struct {
	// Key is an *rsa.PrivateKey or an *ecdsa.PrivateKey.
	Key crypto.Signer
	// Kid is the kid of a private JWK, empty for PEM and DER keys.
	Kid string
	// Format names what was read: "PKCS#1 PEM", "PKCS#8 PEM", "SEC 1 PEM",
	// "PKCS#8 DER", "private JWK".
	Format string
	// Repairs lists, in order, what was fixed in the input to read it.
	Repairs []string
}

// Type describes the key for messages: "RSA 2048-bit" or "EC P-256".
func (k *SigningKey) Type() string {
	switch key := k.Key.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA %d-bit", key.N.BitLen())
	case *ecdsa.PrivateKey:
		return "EC " + key.Curve.Params().Name
	}
	return fmt.Sprintf("%T", k.Key)
}

// IsRSA reports whether the key can sign RS256/RS384/RS512.
func (k *SigningKey) IsRSA() bool {
	_, ok := k.Key.(*rsa.PrivateKey)
	return ok
}

// PublicJWK is the public half as a JWK, for thumbprints and verification.
func (k *SigningKey) PublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Key.Public(), KeyID: k.Kid}
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key: the same
// value ForUpload and Check report for the matching public key.
func (k *SigningKey) Thumbprint() string {
	return Thumbprint(k.PublicJWK())
}

// LoadSigningKey reads a private key from a file, or from an environment
// variable when src is "env:NAME" (getenv reads it). kid chooses among the
// private keys of a JWKS; it may be empty otherwise.
func LoadSigningKey(src, kid string, getenv func(string) string) (*SigningKey, error) {
	var data []byte
	if name, ok := strings.CutPrefix(src, EnvPrefix); ok {
		if name == "" || getenv == nil {
			return nil, inputErrorf("--key %s names no environment variable: use env:NAME", quote(src))
		}
		v := getenv(name)
		if strings.TrimSpace(v) == "" {
			return nil, inputErrorf("environment variable %s is empty or unset: export the private key PEM in it, or give --key a file", name)
		}
		data = []byte(v)
	} else {
		if src == "" {
			return nil, inputErrorf("no signing key given: pass --key with the private key file (PEM or JWK)")
		}
		st, err := os.Stat(src)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, inputErrorf("key file %s does not exist: give the path of the private key (PEM or JWK)", quote(src))
			}
			return nil, inputErrorf("cannot read key file %s: check its permissions", quote(src))
		}
		if st.IsDir() || st.Size() > DefaultMaxKeyBytes {
			return nil, inputErrorf("%s is not a key file: give the path of the private key (PEM or JWK)", quote(src))
		}
		data, err = os.ReadFile(src)
		if err != nil {
			return nil, inputErrorf("cannot read key file %s: check its permissions", quote(src))
		}
	}
	return ParseSigningKey(data, kid)
}

// ParseSigningKey reads a private key forgivingly: PEM (PKCS#1, PKCS#8 or
// SEC 1) even with CRLF line ends, literal "\n" sequences, surrounding quotes
// or indentation; DER; or a private JWK (or a JWKS holding one, chosen by kid).
// Each repair is listed in the result. A public key, an encrypted key or an
// unknown format is refused with an *InputError saying what to give instead.
func ParseSigningKey(data []byte, kid string) (*SigningKey, error) {
	if len(data) > 1 && data[0] == 0x30 && data[1] >= 0x80 {
		// A DER SEQUENCE with a long-form length: binary, not text to repair.
		return parseDERKey(data)
	}
	text, repairs := normalizeKeyText(data)
	trimmed := strings.TrimSpace(text)
	var (
		k   *SigningKey
		err error
	)
	switch {
	case strings.HasPrefix(trimmed, "{"):
		k, err = parseJWKKey([]byte(trimmed), kid)
	case strings.Contains(trimmed, "-----BEGIN"):
		k, err = parsePEMKey(trimmed)
	case strings.HasPrefix(trimmed, "ssh-rsa ") || strings.HasPrefix(trimmed, "ecdsa-sha2-"):
		err = inputErrorf("the key is an OpenSSH public key: --key needs the private key (PEM), not a public one")
	default:
		k, err = parseDERKey(data)
	}
	if err != nil {
		return nil, err
	}
	k.Repairs = append(repairs, k.Repairs...)
	return k, nil
}

// literalNewline matches the two-character sequence \n (and \r\n) that a PEM
// stored in an environment variable or a .env file often carries.
var literalNewline = regexp.MustCompile(`\\r\\n|\\n`)

// normalizeKeyText undoes the usual damage to a PEM in transit and says what
// it undid.
func normalizeKeyText(data []byte) (string, []string) {
	var repairs []string
	s := string(data)
	if b, ok := strings.CutPrefix(s, "\ufeff"); ok {
		s = b
		repairs = append(repairs, "removed a byte-order mark")
	}
	t := strings.TrimSpace(s)
	if len(t) >= 2 && (t[0] == '"' && t[len(t)-1] == '"' || t[0] == '\'' && t[len(t)-1] == '\'') {
		s = t[1 : len(t)-1]
		repairs = append(repairs, "removed the quotes around the key")
	}
	if literalNewline.MatchString(s) && strings.Contains(s, "-----BEGIN") {
		s = literalNewline.ReplaceAllString(s, "\n")
		repairs = append(repairs, `replaced literal \n sequences with line breaks`)
	}
	if strings.Contains(s, "\r\n") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		repairs = append(repairs, "converted CRLF line ends to LF")
	}
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(s, "\r", "\n")
		repairs = append(repairs, "converted CR line ends to LF")
	}
	if strings.Contains(s, "-----BEGIN") {
		lines := strings.Split(s, "\n")
		indented := false
		for i, l := range lines {
			if tl := strings.TrimSpace(l); tl != l && tl != "" {
				lines[i] = tl
				indented = true
			}
		}
		if indented {
			s = strings.Join(lines, "\n")
			repairs = append(repairs, "removed indentation from the PEM lines")
		}
		if fixed, ok := rebuildOneLinePEM(s); ok {
			s = fixed
			repairs = append(repairs, "rebuilt the line breaks of a one-line PEM")
		}
	}
	return s, repairs
}

// oneLinePEM matches a PEM block whose line breaks were turned into spaces.
var oneLinePEM = regexp.MustCompile(`^(-----BEGIN [A-Z0-9 ]+-----) +([A-Za-z0-9+/= ]+?) *(-----END [A-Z0-9 ]+-----)$`)

// rebuildOneLinePEM restores a PEM that arrived on a single line.
func rebuildOneLinePEM(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "\n") {
		return s, false
	}
	m := oneLinePEM.FindStringSubmatch(t)
	if m == nil {
		return s, false
	}
	body := strings.ReplaceAll(m[2], " ", "")
	var b strings.Builder
	b.WriteString(m[1] + "\n")
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(body + "\n" + m[3] + "\n")
	return b.String(), true
}

// parsePEMKey reads the private key block of a PEM document.
func parsePEMKey(text string) (*SigningKey, error) {
	rest := []byte(text)
	var skipped []string
	var publicOnly string
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = r
		switch block.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, inputErrorf("the private key is encrypted: decrypt it first (openssl pkcs8 -in key.pem -out key-plain.pem) and keep the result in a 0600 file")
		case "OPENSSH PRIVATE KEY":
			return nil, inputErrorf("the key is in OpenSSH format: convert a copy to PKCS#8 (ssh-keygen -p -m PKCS8 -f COPY) and give that")
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE", "EC PUBLIC KEY":
			publicOnly = block.Type
			skipped = append(skipped, block.Type)
			continue
		case "RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY":
		default:
			skipped = append(skipped, block.Type)
			continue
		}
		if block.Headers["Proc-Type"] != "" && strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, inputErrorf("the private key is encrypted: decrypt it first (openssl rsa -in key.pem -out key-plain.pem) and keep the result in a 0600 file")
		}
		k, err := parsePrivateDER(block.Bytes, block.Type)
		if err != nil {
			return nil, err
		}
		for _, s := range skipped {
			k.Repairs = append(k.Repairs, "ignored a "+s+" block")
		}
		return k, nil
	}
	if publicOnly != "" {
		return nil, inputErrorf("the PEM holds a %s, not a private key: --key needs the private key that signs the assertions", publicOnly)
	}
	return nil, inputErrorf("the PEM could not be read (damaged base64 or BEGIN/END lines?): export the private key again as PKCS#8 PEM")
}

// parsePrivateDER reads PKCS#1, PKCS#8 or SEC 1 DER, whatever the PEM label
// claims, and notes a label that lied.
func parsePrivateDER(der []byte, label string) (*SigningKey, error) {
	try := []struct {
		format string
		label  string
		parse  func([]byte) (any, error)
	}{
		{"PKCS#8", "PRIVATE KEY", x509.ParsePKCS8PrivateKey},
		{"PKCS#1", "RSA PRIVATE KEY", func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) }},
		{"SEC 1", "EC PRIVATE KEY", func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) }},
	}
	for _, t := range try {
		key, err := t.parse(der)
		if err != nil {
			continue
		}
		k, err := signingKeyFrom(key)
		if err != nil {
			return nil, err
		}
		k.Format = t.format
		if label != "" {
			k.Format += " PEM"
			if label != t.label {
				k.Repairs = append(k.Repairs, fmt.Sprintf("read %s content under a %q label", t.format, label))
			}
		} else {
			k.Format += " DER"
		}
		return k, nil
	}
	if _, err := x509.ParsePKIXPublicKey(der); err == nil {
		return nil, inputErrorf("the key is a public key: --key needs the private key that signs the assertions")
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		return nil, inputErrorf("the file is a certificate: --key needs the private key that signs the assertions")
	}
	return nil, inputErrorf("the private key could not be read as PKCS#1, PKCS#8 or SEC 1: export it again as PKCS#8 PEM")
}

// parseDERKey reads a binary key file.
func parseDERKey(data []byte) (*SigningKey, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, inputErrorf("the key is empty: give the private key (PEM or JWK)")
	}
	k, err := parsePrivateDER(data, "")
	if err != nil {
		return nil, inputErrorf("the key is neither PEM, DER nor a JWK: give the private key as PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)")
	}
	return k, nil
}

// signingKeyFrom accepts the key types that can sign a client assertion.
func signingKeyFrom(key any) (*SigningKey, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if err := k.Validate(); err != nil {
			return nil, inputErrorf("the RSA private key is inconsistent (%s): export it again", oneLine(err.Error()))
		}
		return &SigningKey{Key: k}, nil
	case *ecdsa.PrivateKey:
		return &SigningKey{Key: k}, nil
	case ed25519.PrivateKey:
		return nil, inputErrorf("the key is Ed25519: client assertions for organizations need an RSA key (RS384 preferred)")
	}
	return nil, inputErrorf("the key type %T cannot sign client assertions: use an RSA key", key)
}

// parseJWKKey reads a private JWK, or picks the private key of a JWKS.
func parseJWKKey(doc []byte, kid string) (*SigningKey, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(doc, &probe); err != nil {
		return nil, inputErrorf("the key looks like JSON but does not parse (%s): give a private JWK or PEM", oneLine(err.Error()))
	}
	if list, ok := probe["keys"]; ok {
		var set []json.RawMessage
		if err := json.Unmarshal(list, &set); err != nil {
			return nil, inputErrorf("the key set's \"keys\" is not an array: give a private JWK or PEM")
		}
		var private []*SigningKey
		for _, item := range set {
			k, err := parseOneJWK(item)
			if err != nil {
				continue
			}
			if kid == "" || k.Kid == kid {
				private = append(private, k)
			}
		}
		switch {
		case len(private) == 1:
			private[0].Repairs = append(private[0].Repairs, "used the private key "+quote(private[0].Kid)+" of the key set")
			return private[0], nil
		case len(private) == 0 && kid != "":
			return nil, inputErrorf("the key set has no private key with kid %s: check --kid", quote(kid))
		case len(private) == 0:
			return nil, inputErrorf("the key set holds no private key (a published JWKS?): --key needs the private key")
		default:
			return nil, inputErrorf("the key set holds %d private keys: choose one with --kid", len(private))
		}
	}
	return parseOneJWK(doc)
}

// parseOneJWK reads a single private JWK with go-jose.
func parseOneJWK(doc []byte) (*SigningKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(doc); err != nil {
		return nil, inputErrorf("the JWK cannot be read (%s): give a private JWK or PEM", strings.TrimPrefix(oneLine(err.Error()), "go-jose/go-jose: "))
	}
	if jwk.IsPublic() {
		return nil, inputErrorf("the JWK is a public key (no \"d\"): --key needs the private key that signs the assertions")
	}
	k, err := signingKeyFrom(jwk.Key)
	if err != nil {
		return nil, err
	}
	k.Kid = jwk.KeyID
	k.Format = "private JWK"
	return k, nil
}
