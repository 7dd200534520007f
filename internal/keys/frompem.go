package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultRSAAlg is the alg FromPEM gives RSA keys: RS384, the algorithm
// organizations prefer.
const DefaultRSAAlg = "RS384"

// FromPEM turns the PEM blocks of data (public keys, certificates, or
// private keys, whose public half alone is kept) into a public JWKS, one key
// per block, each with kid (the RFC 7638 thumbprint unless kid is given),
// alg (alg for RSA keys, DefaultRSAAlg when empty; ES256/ES384 by curve for
// EC keys) and use "sig". No private member is ever written. The JWKS is
// indented with two spaces, like the portal's own form.
func FromPEM(data []byte, kid, alg string) ([]byte, error) {
	if alg == "" {
		alg = DefaultRSAAlg
	}
	if alg != "RS256" && alg != "RS384" {
		return nil, inputErrorf("--alg %s: organizations accept RS384 or RS256 for RSA keys", quote(alg))
	}
	var jwks []jose.JSONWebKey
	rest := bytes.TrimSpace(data)
	for n := 0; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if n == 0 {
				return nil, inputErrorf("no PEM block found: give a file holding -----BEGIN PUBLIC KEY-----, a certificate, or a private key")
			}
			break
		}
		pub, err := pemPublicKey(block)
		if err != nil {
			return nil, err
		}
		k := jose.JSONWebKey{Key: pub, Use: "sig"}
		switch key := pub.(type) {
		case *rsa.PublicKey:
			k.Algorithm = alg
		case *ecdsa.PublicKey:
			switch key.Curve.Params().Name {
			case "P-256":
				k.Algorithm = "ES256"
			case "P-384":
				k.Algorithm = "ES384"
			default:
				return nil, inputErrorf("EC key on curve %s: use an RSA key (organizations accept only RSA keys per organization)", key.Curve.Params().Name)
			}
		default:
			return nil, inputErrorf("%T key: use an RSA key (organizations accept only RSA keys per organization)", pub)
		}
		k.KeyID = Thumbprint(k)
		if kid != "" {
			k.KeyID = kid
			if n > 0 {
				return nil, inputErrorf("--kid names one key, but the file holds several PEM blocks: drop --kid (each key's kid is then its thumbprint)")
			}
		}
		jwks = append(jwks, k)
		if len(bytes.TrimSpace(rest)) == 0 {
			break
		}
	}
	b, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: jwks}, "", "  ")
	if err != nil {
		return nil, inputErrorf("cannot encode the key set: %v", err)
	}
	return append(b, '\n'), nil
}

// pemPublicKey is the public key a PEM block holds or implies.
func pemPublicKey(block *pem.Block) (any, error) {
	switch {
	case block.Type == "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, inputErrorf("the PUBLIC KEY block cannot be read (%v): export it again with `openssl pkey -pubout`", err)
		}
		return pub, nil
	case block.Type == "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, inputErrorf("the RSA PUBLIC KEY block cannot be read (%v): export it again with `openssl pkey -pubout`", err)
		}
		return pub, nil
	case block.Type == "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, inputErrorf("the CERTIFICATE block cannot be read (%v)", err)
		}
		return cert.PublicKey, nil
	case strings.HasSuffix(block.Type, "PRIVATE KEY"):
		k, err := ParseSigningKey(pem.EncodeToMemory(block), "")
		if err != nil {
			return nil, err
		}
		return k.Key.Public(), nil
	}
	return nil, inputErrorf("a %s PEM block is not a key: give a public key, a certificate or a private key", block.Type)
}
