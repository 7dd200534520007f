// Package keys loads, validates and fingerprints JSON Web Key Sets.
//
// Organizations on the portal accept only RSA public keys in a per-organization
// JWKS, and they answer a bare invalid_client when anything about the keys is
// wrong. This package turns a JWKS (a file or a JWK Set URL) into exactly what
// may be uploaded, explains every problem it finds, and compares key sets by
// their RFC 7638 thumbprints so that kid renames and the portal's .NET
// re-serialization do not look like key changes.
package keys
