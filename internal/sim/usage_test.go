package sim

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestUsageCommandsWork runs every curl line of `portalsim --help` against a
// simulator, in order, so the help cannot drift from the control routes.
func TestUsageCommandsWork(t *testing.T) {
	s := New(Config{Orgs: 20, Seed: 1})
	s.ServeBrands(BrandsConfig{})
	s.ServeTokens(TokenConfig{})
	s.ServeAuthorize(AuthorizeConfig{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	line := regexp.MustCompile(`curl -s (?:-X (POST) )?\$URL(\S+)(?: -d '([^']*)')?`)
	n := 0
	for _, l := range strings.Split(usageText, "\n") {
		for _, m := range line.FindAllStringSubmatch(l, -1) {
			method := m[1]
			if method == "" {
				method = http.MethodGet
			}
			path := strings.TrimSuffix(m[2], ";")
			req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(m[3]))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Errorf("%s %s %s: %d", method, path, m[3], resp.StatusCode)
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d curl commands found in the usage text", n)
	}
	if o, ok := s.Org("90001"); ok {
		t.Errorf("org 90001 still listed after the help's remove: %+v", o)
	}
	// The help made 90002's server one that checks clients only later:
	// any client is sent to its sign-in page.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + AuthorizePath("90002") + "?response_type=code&client_id=anyone&redirect_uri=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/oauth2/signin") {
		t.Errorf("org 90002's authorize endpoint: %d %q, want a redirect to its sign-in page", resp.StatusCode, loc)
	}
	if o, _ := s.Org("90003"); !o.Straggler {
		t.Errorf("org 90003 is not a straggler: %+v", o)
	}
}

func TestParsePropagation(t *testing.T) {
	tests := []struct {
		in       string
		np, p    string
		wantFail bool
	}{
		{in: "60m,12h", np: "1h0m0s", p: "12h0m0s"},
		{in: "0", np: "0s", p: "0s"},
		{in: "90s", np: "1m30s", p: "1m30s"},
		{in: "1m, 5m", np: "1m0s", p: "5m0s"},
		{in: "-1s", wantFail: true},
		{in: "soon", wantFail: true},
	}
	for _, tt := range tests {
		np, p, err := parsePropagation(tt.in)
		if (err != nil) != tt.wantFail || (err == nil && (np.String() != tt.np || p.String() != tt.p)) {
			t.Errorf("parsePropagation(%q) = %s, %s, %v", tt.in, np, p, err)
		}
	}
}
