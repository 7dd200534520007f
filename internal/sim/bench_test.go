package sim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// benchOrgs is the size of the largest portal the simulator must handle
// cheaply.
const benchOrgs = 50_000

// benchSetup builds a 50,000-organization portal and a signed-in session.
func benchSetup(b *testing.B) (*Sim, string, string, string) {
	b.Helper()
	s := New(Config{Orgs: benchOrgs, Seed: 1})
	cookie := s.NewSession()
	req := httptest.NewRequest(http.MethodGet, "/Developer/Management?id="+DefaultAppID, nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	m := tokenRE.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("no token")
	}
	return s, cookie, m[1], fixture(b, "rsa2048.json")
}

// BenchmarkLoadAndApprove50k measures one LoadDownloads page and one
// combined ApproveDownload on a 50,000-organization portal, in process.
func BenchmarkLoadAndApprove50k(b *testing.B) {
	s, cookie, token, jwks := benchSetup(b)
	send := func(path string, form url.Values) int {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		req.Header.Set(tokenHeader, token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	loadAndApprove(b, s, jwks, send)
}

// BenchmarkLoadAndApprove50kHTTP is the same over real loopback HTTP.
func BenchmarkLoadAndApprove50kHTTP(b *testing.B) {
	s, cookie, token, jwks := benchSetup(b)
	srv := httptest.NewServer(s)
	defer srv.Close()
	send := func(path string, form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		req.Header.Set(tokenHeader, token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	loadAndApprove(b, s, jwks, send)
}

// loadAndApprove is the loop of both LoadAndApprove benchmarks: one listing
// page and one combined activation per iteration, through send.
func loadAndApprove(b *testing.B, s *Sim, jwks string, send func(path string, form url.Values) int) {
	orgs := s.Orgs()
	pages := benchOrgs / 100
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if code := send("/Developer/LoadDownloads", loadForm("PageSize", "100", "page", strconv.Itoa(i%pages))); code != http.StatusOK {
			b.Fatalf("LoadDownloads: %d", code)
		}
		if code := send("/Developer/ApproveDownload", approveForm(orgs[i%len(orgs)].OrgID, false, false, jwks, jwks)); code != http.StatusOK {
			b.Fatalf("ApproveDownload: %d", code)
		}
		i++
		if i%10_000 == 0 {
			s.ResetCalls()
		}
	}
}

// BenchmarkNew50k measures generating a 50,000-organization portal.
func BenchmarkNew50k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New(Config{Orgs: benchOrgs, Seed: 1})
	}
}
