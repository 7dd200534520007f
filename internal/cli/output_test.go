package cli

import "testing"

func TestPluralAndRate(t *testing.T) {
	tests := []struct{ got, want string }{
		{plural(1, "sub-organization"), "1 sub-organization"},
		{plural(4, "sub-organization"), "4 sub-organizations"},
		{plural(0, "organization"), "0 organizations"},
		{perSecond(1, "request"), "1 request a second"},
		{perSecond(2, "request"), "2 requests a second"},
		{perSecond(0.5, "request"), "0.5 requests a second"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
