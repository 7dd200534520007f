package portalhttp

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
)

func resp(status int, ctype string, hdr ...string) *http.Response {
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return &http.Response{StatusCode: status, Header: h}
}

func TestParseAnswerKinds(t *testing.T) {
	tests := []struct {
		name string
		resp *http.Response
		body string
		want func(error) bool
	}{
		{"ok", resp(200, "application/json"), `{"Success":true,"Data":{}}`, func(e error) bool { return e == nil }},
		{"outer failure", resp(200, "application/json"), `{"Success":false,"Message":"Download request could not be found."}`, func(e error) bool {
			var pe *portal.PortalError
			return errors.As(e, &pe) && pe.NotFound()
		}},
		{"redirect to sign-in", resp(302, "text/html", "Location", "/Account/Login?ReturnUrl=%2F"), ``, func(e error) bool { return errors.Is(e, portal.ErrNotSignedIn) }},
		{"html instead of json", resp(200, "text/html; charset=utf-8"), `<!DOCTYPE html><html>Sign in</html>`, func(e error) bool { return errors.Is(e, portal.ErrNotSignedIn) }},
		{"html without content type", resp(200, ""), "\n  <html><body>login</body></html>", func(e error) bool { return errors.Is(e, portal.ErrNotSignedIn) }},
		{"owin x-responded-json", resp(200, "", "X-Responded-JSON", `{"status":401,"headers":{"location":"https://fhir.epic.com/Account/Login"}}`), ``, func(e error) bool { return errors.Is(e, portal.ErrNotSignedIn) }},
		{"forbidden", resp(403, "text/html"), `Forbidden`, func(e error) bool { return errors.Is(e, portal.ErrNotSignedIn) }},
		{"429 with retry-after", resp(429, "text/plain", "Retry-After", "7"), ``, func(e error) bool {
			var rl *portal.RateLimitError
			return errors.As(e, &rl) && rl.RetryAfter == 7*time.Second && pace.Retryable(e)
		}},
		{"503", resp(503, "text/html"), `<html>busy</html>`, func(e error) bool {
			var se *portal.ServerError
			return errors.As(e, &se) && se.Status == 503 && pace.Retryable(e)
		}},
		{"not json", resp(200, "application/json"), `{"Success":tru`, func(e error) bool {
			var me *portal.MalformedError
			return errors.As(e, &me) && !pace.Retryable(e)
		}},
		{"no success member", resp(200, "application/json"), `{"Data":{}}`, func(e error) bool {
			var me *portal.MalformedError
			return errors.As(e, &me)
		}},
		{"teapot", resp(418, "application/json"), `{}`, func(e error) bool {
			var me *portal.MalformedError
			return errors.As(e, &me)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAnswer(tt.resp, []byte(tt.body))
			if !tt.want(err) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
		})
	}
}

func TestFindToken(t *testing.T) {
	tests := []struct{ page, want string }{
		{`<input name="__RequestVerificationToken" type="hidden" value="abc-123" />`, "abc-123"},
		{`<INPUT type='hidden' value='x&amp;y' name='__RequestVerificationToken'>`, "x&y"},
		{`<form><input name="Other" value="no"><input value=tok name=__RequestVerificationToken></form>`, "tok"},
		{`<input name="__RequestVerificationToken" value="">`, ""},
		{`<p>no token here</p>`, ""},
	}
	for _, tt := range tests {
		if got := FindToken(tt.page); got != tt.want {
			t.Errorf("FindToken(%q) = %q, want %q", tt.page, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.v, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestParseCookieHeader(t *testing.T) {
	cs := ParseCookieHeader("Cookie: a=1; .AspNet.Cookies=xyz; bad")
	if len(cs) != 2 || cs[0].Name != "a" || cs[1].Name != ".AspNet.Cookies" {
		t.Fatalf("cookies = %v", cs)
	}
}
