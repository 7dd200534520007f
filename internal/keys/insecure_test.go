package keys

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPlainHTTPRefused: a key set URL over plain http on a host other than
// loopback is refused before any request (its keys would be uploaded to
// every organization), also when an https URL redirects there; loopback
// and AllowInsecureHTTP are fetched.
func TestPlainHTTPRefused(t *testing.T) {
	doc := readFixture(t, "keys/test-rsa-a.jwks.json")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			// 192.0.2.0/24 is reserved for documentation: never reached,
			// the redirect is refused before any connection.
			http.Redirect(w, r, "http://192.0.2.7/jwks.json", http.StatusFound)
			return
		}
		w.Write([]byte(doc))
	}))
	t.Cleanup(plain.Close)
	tests := []struct {
		name  string
		src   string
		allow bool
		err   string
	}{
		{"plain http, remote host", "http://keys.example.invalid/jwks.json", false, "is plain http on a host other than this machine"},
		{"plain http, remote address", "http://192.0.2.7:8080/jwks.json", false, "--insecure-http"},
		{"password not shown", "http://u:secret@keys.example.invalid/jwks.json", false, "http://u:xxxxx@keys.example.invalid"},
		{"loopback address", plain.URL + "/jwks.json", false, ""},
		{"localhost", strings.Replace(plain.URL, "127.0.0.1", "localhost", 1) + "/jwks.json", false, ""},
		{"redirect to plain http", plain.URL + "/moved", false, "refused a redirect to plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Fetcher{Client: &http.Client{}, Tries: 1, AllowInsecureHTTP: tt.allow}
			raw, _, err := f.Load(context.Background(), tt.src)
			if tt.err == "" {
				if err != nil || len(raw) == 0 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %v, want one saying %q", err, tt.err)
			}
			var ie *InputError
			var fe *FetchError
			if !errors.As(err, &ie) && !errors.As(err, &fe) {
				t.Errorf("error %T is neither an InputError nor a FetchError", err)
			}
		})
	}
}

// TestBodyOverLimit: an answer over the size limit says so, not "make the
// URL reachable from the internet".
func TestBodyOverLimit(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat(" ", DefaultMaxJWKSBytes+10)))
	}))
	t.Cleanup(big.Close)
	_, _, err := (&Fetcher{Client: &http.Client{}, Tries: 1}).Load(context.Background(), big.URL+"/jwks.json")
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes (the limit for a key set)") || strings.Contains(err.Error(), "reachable") {
		t.Fatalf("error %v", err)
	}
}
