package browser

import (
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
)

// TestPortalCookies keeps exactly the cookies a browser would send to the
// portal's host, and finds the earliest expiry among the persistent ones.
func TestPortalCookies(t *testing.T) {
	now := time.Date(2026, 2, 11, 16, 37, 0, 0, time.UTC)
	in := func(d time.Duration) float64 { return float64(now.Add(d).Unix()) }
	all := []*network.Cookie{
		{Name: ".AspNet.Cookies", Value: "a", Domain: "fhir.epic.com", Session: true, Expires: -1},
		{Name: "ASP.NET_SessionId", Value: "b", Domain: "fhir.epic.com", Session: true, Expires: -1},
		{Name: "wide", Value: "c", Domain: ".epic.com", Expires: in(2 * time.Hour)},
		{Name: "soon", Value: "d", Domain: "fhir.epic.com", Expires: in(time.Hour)},
		{Name: "gone", Value: "e", Domain: "fhir.epic.com", Expires: in(-time.Minute)},
		{Name: "other", Value: "f", Domain: "open.epic.com", Session: true},
		{Name: "sso", Value: "g", Domain: "login.example.org", Session: true},
		{Name: "suffix", Value: "h", Domain: "epic.com.evil", Session: true},
		nil,
	}
	tests := []struct {
		name    string
		host    string
		header  string
		names   []string
		expires *time.Time
	}{
		{"portal host", "fhir.epic.com", ".AspNet.Cookies=a; ASP.NET_SessionId=b; wide=c; soon=d",
			[]string{".AspNet.Cookies", "ASP.NET_SessionId", "wide", "soon"}, new(now.Add(time.Hour))},
		{"port and case ignored", "FHIR.epic.com:443", ".AspNet.Cookies=a; ASP.NET_SessionId=b; wide=c; soon=d",
			[]string{".AspNet.Cookies", "ASP.NET_SessionId", "wide", "soon"}, new(now.Add(time.Hour))},
		{"sibling host", "open.epic.com", "wide=c; other=f", []string{"wide", "other"}, new(now.Add(2 * time.Hour))},
		{"no cookies", "127.0.0.1:8080", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, exp, names := portalCookies(all, tt.host, now)
			if header != tt.header || !reflect.DeepEqual(names, tt.names) {
				t.Fatalf("got %q %v, want %q %v", header, names, tt.header, tt.names)
			}
			if (exp == nil) != (tt.expires == nil) || (exp != nil && !exp.Equal(*tt.expires)) {
				t.Fatalf("expires = %v, want %v", exp, tt.expires)
			}
		})
	}
}
