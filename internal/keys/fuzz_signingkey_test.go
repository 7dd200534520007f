package keys

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseSigningKey feeds arbitrary key files to the forgiving key reader:
// it must never panic, refuse only with a one-line *InputError, and return
// only keys that can sign.
func FuzzParseSigningKey(f *testing.F) {
	for _, name := range []string{"test-rsa-a.pkcs1.pem", "test-rsa-a.pkcs8.pem", "test-ec-p256.pkcs8.pem", "test-rsa-a.private.jwk.json", "test-rsa-a.pub.pem", "test-rsa-a.jwks.json"} {
		f.Add([]byte(readFixture(f, "keys/"+name)))
	}
	f.Add([]byte(strings.ReplaceAll(readFixture(f, "keys/test-rsa-a.pkcs1.pem"), "\n", `\n`)))
	f.Add([]byte("-----BEGIN PRIVATE KEY----- AAAA -----END PRIVATE KEY-----"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseSigningKey(data, "")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || strings.ContainsAny(ie.Msg, "\n\r") {
				t.Fatalf("error %T %q", err, err)
			}
			return
		}
		if k.Key == nil || k.Thumbprint() == "" {
			t.Fatalf("accepted a key that cannot sign: %+v", k)
		}
	})
}
