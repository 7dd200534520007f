package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock of most tests: the afternoon of the activation run
// described in the portal notes.
var fixedNow = time.Date(2026, time.February, 11, 16, 37, 12, 0, time.UTC)

// testConfig is a small, fast portal with a fixed clock.
func testConfig() Config {
	return Config{Orgs: 60, Seed: 7, Now: func() time.Time { return fixedNow }}
}

// startSim serves a simulator over real HTTP for the test's lifetime.
func startSim(t *testing.T, cfg Config) (*Sim, *httptest.Server) {
	t.Helper()
	s := New(cfg)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// portalClient is a browser-like client of the simulator: a cookie jar,
// no automatic redirects, and the anti-forgery token once it has read the
// management page.
type portalClient struct {
	t     *testing.T
	base  string
	hc    *http.Client
	token string
}

// newClient returns a client with an empty cookie jar.
func newClient(t *testing.T, srv *httptest.Server) *portalClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	hc := &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &portalClient{t: t, base: srv.URL, hc: hc}
}

// signedInClient returns a client holding a fresh session and its token.
func signedInClient(t *testing.T, s *Sim, srv *httptest.Server) *portalClient {
	t.Helper()
	c := newClient(t, srv)
	c.setCookieHeader(s.NewSession())
	c.loadToken()
	return c
}

// setCookieHeader puts the cookies of a Cookie header value in the jar.
func (c *portalClient) setCookieHeader(v string) {
	c.t.Helper()
	cookies, err := http.ParseCookie(v)
	if err != nil {
		c.t.Fatalf("parse cookie header: %v", err)
	}
	u, _ := url.Parse(c.base)
	c.hc.Jar.SetCookies(u, cookies)
}

// tokenRE finds the management page's anti-forgery token.
var tokenRE = regexp.MustCompile(`<input name="__RequestVerificationToken" type="hidden" value="([^"]+)"`)

// hiddenRE finds any named hidden input.
var hiddenRE = regexp.MustCompile(`<input name="([^"]+)" type="hidden" value="([^"]*)"`)

// loadToken reads the management page and keeps its token.
func (c *portalClient) loadToken() {
	c.t.Helper()
	resp, body := c.get("/Developer/Management?id=" + DefaultAppID)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("management page: status %d", resp.StatusCode)
	}
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("management page has no anti-forgery token")
	}
	c.token = m[1]
}

// get fetches a path.
func (c *portalClient) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	return c.do(req)
}

// post sends a form with the client's token (when it has one) and any
// extra headers.
func (c *portalClient) post(path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.token != "" {
		req.Header.Set(tokenHeader, c.token)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// do sends a request and reads the whole body.
func (c *portalClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	return resp, string(b)
}

// loadPage asks LoadDownloads for a page and decodes a successful answer.
func (c *portalClient) loadPage(form url.Values) []map[string]any {
	c.t.Helper()
	resp, body := c.post("/Developer/LoadDownloads", form, nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("LoadDownloads: status %d: %s", resp.StatusCode, body)
	}
	var out struct {
		Success bool
		Data    struct{ Downloads []map[string]any }
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		c.t.Fatalf("LoadDownloads answer is not JSON: %v: %s", err, body)
	}
	if !out.Success {
		c.t.Fatalf("LoadDownloads failed: %s", body)
	}
	return out.Data.Downloads
}

// approveAnswer is a decoded ApproveDownload answer.
type approveAnswer struct {
	Success bool
	Message string
	Data    *struct {
		Success bool
		Message string
	}
}

// approve posts an ApproveDownload form and decodes the answer.
func (c *portalClient) approve(form url.Values) approveAnswer {
	c.t.Helper()
	resp, body := c.post("/Developer/ApproveDownload", form, nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("ApproveDownload: status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.t.Fatalf("ApproveDownload: content type %q", ct)
	}
	var a approveAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		c.t.Fatalf("ApproveDownload answer is not JSON: %v: %s", err, body)
	}
	return a
}

// approveForm builds the thirteen-field form a client sends.
func approveForm(orgID string, nonProdOnly, prodOnly bool, testJWKS, prodJWKS string) url.Values {
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	return url.Values{
		"OrgId": {orgID}, "AppId": {DefaultAppID},
		"Testhash": {""}, "Testhash256": {""}, "Prodhash": {""}, "Prodhash256": {""},
		"NonProdOnly": {b(nonProdOnly)}, "ProdOnly": {b(prodOnly)},
		"FhirIdGenerationScheme": {""}, "OverrideNonProdClientId": {""}, "OverrideProdClientId": {""},
		"TestJWKS": {testJWKS}, "ProdJWKS": {prodJWKS},
	}
}

// loadForm builds a LoadDownloads form.
func loadForm(pairs ...string) url.Values {
	v := url.Values{"appId": {DefaultAppID}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Set(pairs[i], pairs[i+1])
	}
	return v
}

// fixture reads a file of testdata/jwks.
func fixture(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "jwks", name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return string(b)
}

// orgWith returns the first organization, in listing order, that
// satisfies f.
func orgWith(t *testing.T, s *Sim, f func(Org) bool) Org {
	t.Helper()
	for _, o := range s.Orgs() {
		if f(o) {
			return o
		}
	}
	t.Fatalf("no organization matches")
	return Org{}
}

// fresh selects an organization that has never responded and is not a
// straggler.
func fresh(o Org) bool { return o.Approved == ApprovedNone && !o.Straggler && !o.NonProd && !o.Prod }

// lastCall returns the most recent recorded call.
func lastCall(t *testing.T, s *Sim) Call {
	t.Helper()
	calls := s.Calls()
	if len(calls) == 0 {
		t.Fatalf("no calls recorded")
	}
	return calls[len(calls)-1]
}

// newTestServer serves an existing simulator over real HTTP.
func newTestServer(t *testing.T, s *Sim) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}
