package sim

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSignInLandingAndOrigin walks the sign-in as a browser would (cookie
// jar, redirects followed) for every landing, with the form on the portal
// and on a second origin: the walk ends where Config.Landing says, and the
// portal accepts the session only once the sign-in (and a notice's
// Continue) is done.
func TestSignInLandingAndOrigin(t *testing.T) {
	const mgmt = "/Developer/Management"
	tests := []struct {
		landing  string
		wantPath string // after the sign-in form
	}{
		{LandingReturn, mgmt},
		{LandingHome, HomePath},
		{LandingNotice, NoticePath},
	}
	for _, tt := range tests {
		for _, sso := range []bool{false, true} {
			t.Run("landing="+tt.landing+"/sso="+strconv.FormatBool(sso), func(t *testing.T) {
				cfg := Config{Orgs: 3, Landing: tt.landing}
				var ln net.Listener
				if sso {
					var err error
					if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
						t.Fatal(err)
					}
					cfg.SignInOrigin = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
				}
				s := New(cfg)
				if sso {
					idp := httptest.NewUnstartedServer(s.IdentityProvider())
					idp.Listener.Close()
					idp.Listener = ln
					idp.Start()
					t.Cleanup(idp.Close)
				}
				srv := httptest.NewServer(s)
				t.Cleanup(srv.Close)
				jar, _ := cookiejar.New(nil)
				hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
				read := func(resp *http.Response, err error) (*http.Response, string) {
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					return resp, string(b)
				}
				get := func(u string) (*http.Response, string) { return read(hc.Get(u)) }
				post := func(base *url.URL, action string, form url.Values) (*http.Response, string) {
					u, err := base.Parse(action)
					if err != nil {
						t.Fatal(err)
					}
					return read(hc.PostForm(u.String(), form))
				}

				resp, body := get(srv.URL + mgmt + "?id=" + DefaultAppID)
				if resp.Request.URL.Path != "/Account/Login" {
					t.Fatalf("not signed in: landed on %s, want the sign-in form", resp.Request.URL)
				}
				if onIdP := cfg.SignInOrigin != "" && strings.HasPrefix(resp.Request.URL.String(), cfg.SignInOrigin+"/"); onIdP != sso {
					t.Fatalf("the sign-in form is at %s; sso=%v wants it on %q", resp.Request.URL, sso, cfg.SignInOrigin)
				}
				f := formFields(body)
				form := url.Values{"Username": {DefaultUsername}, "Password": {DefaultPassword}, antiForgeryName: {f[antiForgeryName]}}
				action := actionRE.FindStringSubmatch(body)[1]
				resp, body = post(resp.Request.URL, strings.ReplaceAll(action, "&amp;", "&"), form)
				if resp.Request.URL.Path != tt.wantPath || resp.StatusCode != http.StatusOK {
					t.Fatalf("after the sign-in: %d at %s, want %s", resp.StatusCode, resp.Request.URL, tt.wantPath)
				}
				if tt.landing == LandingNotice {
					s.mu.RLock()
					n := len(s.sessions)
					s.mu.RUnlock()
					if n != 0 {
						t.Fatal("a session began before the notice's Continue")
					}
					if !strings.Contains(body, ">Continue</button>") {
						t.Fatalf("the notice page has no Continue button:\n%s", body)
					}
					f := formFields(body)
					resp, _ = post(resp.Request.URL, NoticePath, url.Values{"n": {f["n"]}, antiForgeryName: {f[antiForgeryName]}})
					if resp.Request.URL.Path != mgmt {
						t.Fatalf("after Continue: at %s, want the management page", resp.Request.URL)
					}
				}
				resp, _ = get(srv.URL + mgmt + "?id=" + DefaultAppID)
				if resp.Request.URL.Path != mgmt || resp.StatusCode != http.StatusOK {
					t.Fatalf("the portal does not accept the session: %d at %s", resp.StatusCode, resp.Request.URL)
				}
			})
		}
	}
}

// actionRE finds a form's action.
var actionRE = regexp.MustCompile(`<form action="([^"]*)"`)
