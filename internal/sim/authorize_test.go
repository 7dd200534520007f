package sim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuthorizeKnownOnlyAfterDelay(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Config{Orgs: 5, Seed: 1, Now: clock})
	a := s.ServeAuthorize(AuthorizeConfig{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	id := s.Orgs()[0].OrgID
	s.SetApproved(id, ApprovedBoth)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ask := func(clientID, redirect string) *http.Response {
		t.Helper()
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"openid"}, "state": {"s"}}
		resp, err := client.Get(srv.URL + AuthorizePath(id) + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		name     string
		after    time.Duration
		clientID string
		redirect string
		status   int
		location string
	}{
		{"just activated", 0, DefaultProdClientID, DefaultRedirectURI, http.StatusBadRequest, ""},
		{"an hour before the delay", DefaultProdSync - time.Hour, DefaultProdClientID, DefaultRedirectURI, http.StatusBadRequest, ""},
		{"after the delay", DefaultProdSync, DefaultProdClientID, DefaultRedirectURI, http.StatusFound, "/oauth2/signin?request="},
		{"another client", DefaultProdSync, "someone-else", DefaultRedirectURI, http.StatusBadRequest, ""},
		{"unregistered redirect URI", DefaultProdSync, DefaultProdClientID, "https://evil.example/cb", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		mu.Lock()
		now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(tt.after)
		mu.Unlock()
		resp := ask(tt.clientID, tt.redirect)
		if resp.StatusCode != tt.status || !strings.Contains(resp.Header.Get("Location"), tt.location) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
	}
	a.SetVariant(id, AuthorizeNever)
	if a.Known(id) {
		t.Error("a never organization knows the client")
	}
	a.SetVariant(id, AuthorizeIdentity)
	if resp := ask("anyone", DefaultRedirectURI); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), DefaultIdentityURL) {
		t.Errorf("identity: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
