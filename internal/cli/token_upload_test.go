package cli

import (
	"testing"

	"github.com/activator-dev/activator/internal/store"
)

func TestOrgOfTokenURL(t *testing.T) {
	eps := map[string][]store.Endpoint{
		"528":  {{Address: "https://fhir.example.org/fhir/528/api/FHIR/R4"}},
		"5280": {{Address: "https://fhir.example.org/fhir/5280/api/FHIR/R4/"}},
		"1":    {{Address: "https://epic.hospital.org/Interconnect-FHIR-OAuth/api/FHIR/R4"}},
		"2":    {{Address: "https://shared.example.org/EpicFHIR/api/FHIR/R4"}},
		"3":    {{Address: "https://shared.example.org/EpicFHIR/api/FHIR/DSTU2"}},
		"4":    {{Address: "https://nested.example.org/a/api/FHIR/R4"}},
		"5":    {{Address: "https://nested.example.org/a/b/api/FHIR/R4"}},
	}
	tests := []struct{ url, want string }{
		{"https://fhir.example.org/fhir/528/oauth2/token", "528"},
		{"https://fhir.example.org/fhir/528/nonprod/oauth2/token", "528"},
		{"https://fhir.example.org/fhir/5280/oauth2/token", "5280"},
		{"https://epic.hospital.org/interconnect-fhir-oauth/oauth2/token", "1"},
		{"https://shared.example.org/EpicFHIR/oauth2/token", ""}, // two organizations share the base URL
		{"https://nested.example.org/a/b/oauth2/token", "5"},     // the longest base URL wins
		{"https://nested.example.org/a/oauth2/token", "4"},
		{"https://other.example.org/oauth2/token", ""},
	}
	for _, tt := range tests {
		if got := orgOfTokenURL(eps, tt.url); got != tt.want {
			t.Errorf("orgOfTokenURL(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
