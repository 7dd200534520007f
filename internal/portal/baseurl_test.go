package portal

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"https://fhir.epic.com", "https://fhir.epic.com", ""},
		{"https://fhir.epic.com/", "https://fhir.epic.com", ""},
		{"  https://FHIR.Epic.COM:443/  ", "https://fhir.epic.com", ""},
		{"HTTPS://fhir.epic.com", "https://fhir.epic.com", ""},
		{"https://fhir.epic.com?x=1", "https://fhir.epic.com", ""},
		{"https://fhir.epic.com/#frag", "https://fhir.epic.com", ""},
		{"https://fhir.epic.com:8443", "https://fhir.epic.com:8443", ""},
		{"http://127.0.0.1:80", "http://127.0.0.1", ""},
		{"http://127.0.0.1:8089/", "http://127.0.0.1:8089", ""},
		{"http://[::1]:8089", "http://[::1]:8089", ""},
		{"https://[::1]:443", "https://[::1]", ""},
		{"https://portal.example/prefix/", "https://portal.example/prefix", ""},
		{"https://user:secret@fhir.epic.com", "", "must not carry a user name or password (https://user:xxxxx@fhir.epic.com)"},
		{"https://user@fhir.epic.com", "", "must not carry a user name"},
		{"fhir.epic.com", "", "not an http(s) URL"},
		{"ftp://fhir.epic.com", "", "not an http(s) URL"},
		{"https://", "", "not an http(s) URL"},
		{"https://%zz", "", "not a URL"},
	}
	for _, tt := range tests {
		got, err := NormalizeBaseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeBaseURL(%q) = %q, %v; want an error saying %q", tt.in, got, err, tt.err)
			}
			if strings.Contains(tt.in, "secret") && (err == nil || strings.Contains(err.Error(), "secret") || !errors.Is(err, ErrCredentialsInURL)) {
				t.Errorf("the password shows, or the error is not ErrCredentialsInURL: %v", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeBaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if again, _ := NormalizeBaseURL(got); again != got {
			t.Errorf("not stable: %q then %q", got, again)
		}
	}
}
