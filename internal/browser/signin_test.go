package browser

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/sim"
)

// testTimeout bounds one sign-in in the tests: a few seconds is plenty
// against a local simulator, and a hang fails fast.
const testTimeout = 20 * time.Second

// failTimeout bounds a sign-in that a test expects to time out, naming the
// page the browser showed: long enough for Chromium to start and show the
// page on a busy machine (several seconds on two loaded cores), since the
// test waits it out every time.
const failTimeout = 10 * time.Second

// signIn runs SignIn against url with a fresh profile (unless o names one)
// and checks that no browser process outlives it.
func signInTest(t *testing.T, o Options) (*Result, error) {
	t.Helper()
	if o.Profile == "" {
		o.Profile = t.TempDir() + "/profile"
	}
	if o.AppID == "" {
		o.AppID = sim.DefaultAppID
	}
	if o.Timeout == 0 {
		o.Timeout = testTimeout
	}
	o.Logf = t.Logf
	start := time.Now()
	res, err := SignIn(context.Background(), o)
	t.Logf("%s sign-in took %s", o.Mode, time.Since(start).Round(time.Millisecond))
	waitNoBrowser(t, o.Profile)
	return res, err
}

// waitNoBrowser fails the test when a browser process of profile is still
// running a moment after SignIn returned: Chromium's helper processes exit
// after the browser's, which a loaded machine may take seconds to schedule,
// so it waits up to 15s (and returns as soon as none is left).
func waitNoBrowser(t *testing.T, profile string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for browserProcesses(t, profile) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d browser processes still use %s after SignIn returned", browserProcesses(t, profile), profile)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connect checks the captured session the way `activator login` does.
func connect(t *testing.T, base, cookies string) error {
	t.Helper()
	c, err := portalhttp.New(portalhttp.Options{BaseURL: base, AppID: sim.DefaultAppID, Cookies: cookies})
	if err != nil {
		t.Fatal(err)
	}
	return c.Connect(context.Background())
}

// TestSignInScripted fills the simulator's sign-in pages in headless
// Chromium: the session is captured only from the management page, and
// every refusal is reported with the portal's own words.
func TestSignInScripted(t *testing.T) {
	exe := needBrowser(t)
	const code = "864209"
	good := Credentials{Username: sim.DefaultUsername, Password: sim.DefaultPassword}
	tests := []struct {
		name    string
		factor  string
		creds   Credentials
		wantErr string // empty: signed in
	}{
		{"form", "", good, ""},
		{"wrong password", "", Credentials{Username: sim.DefaultUsername, Password: "wrong"}, "the portal said: The user name or password is incorrect."},
		{"second factor", code, Credentials{Username: good.Username, Password: good.Password, Code: code}, ""},
		{"second factor without code", code, good, "asks for a one-time code: set ACTIVATOR_OTP"},
		{"second factor wrong code", code, Credentials{Username: good.Username, Password: good.Password, Code: "000000"}, "the portal said: The code is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Orgs: 3, SecondFactor: tt.factor})
			srv := httptest.NewServer(s)
			defer srv.Close()
			res, err := signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Mode: Scripted, Credentials: tt.creds})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSignInFailed) {
					t.Fatalf("err = %v, want a sign-in failure containing %q", err, tt.wantErr)
				}
				for _, secret := range []string{tt.creds.Password, tt.creds.Code} {
					if secret != "" && strings.Contains(err.Error(), secret) {
						t.Fatalf("the error shows a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("SignIn: %v", err)
			}
			if !strings.Contains(res.Cookies, ".AspNet.Cookies=") {
				t.Fatalf("captured cookies named %v, want the sign-in cookie among them", res.CookieNames)
			}
			if strings.Contains(res.String(), "=") {
				t.Fatalf("Result.String shows values: %s", res)
			}
			if err := connect(t, srv.URL, res.Cookies); err != nil {
				t.Fatalf("the portal refuses the captured session: %v", err)
			}
		})
	}
}

// TestSignedInDetection proves that a page is never proof of a session:
// with cookies for the portal, activator checks them itself, and a page
// elsewhere with a token, another app's page or the management page with an
// empty token never count. A failure names the page the browser showed.
func TestSignedInDetection(t *testing.T) {
	exe := needBrowser(t)
	page := func(token string) string {
		return `<!DOCTYPE html><html><head><title>Review &amp; Manage Downloads</title></head><body><form><input name="__RequestVerificationToken" type="hidden" value="` + token + `"></form><h1>Review &amp; Manage Downloads</h1></body></html>`
	}
	serve := func(w http.ResponseWriter, token string) {
		http.SetCookie(w, &http.Cookie{Name: ".AspNet.Cookies", Value: "not-a-session", Path: "/"})
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page(token)))
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"empty token", func(w http.ResponseWriter, r *http.Request) { serve(w, "") },
			[]string{"check the session the browser holds", "no anti-forgery token"}},
		{"token on another page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/Developer/Management" {
				http.Redirect(w, r, "/Developer/Other?id="+sim.DefaultAppID, http.StatusFound)
				return
			}
			serve(w, "a-real-looking-token")
		}, []string{"not signed in within " + failTimeout.String(), `the browser showed "Review & Manage Downloads" at 127.0.0.1:`, "/Developer/Other", "the portal did not accept the session (the management page redirected to"}},
		{"another app's page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("id") == sim.DefaultAppID {
				http.Redirect(w, r, "/Developer/Management?id=1", http.StatusFound)
				return
			}
			serve(w, "a-real-looking-token")
		}, []string{"not signed in within " + failTimeout.String(), `the browser showed "Review & Manage Downloads" at 127.0.0.1:`, "/Developer/Management; the portal did not accept the session"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			creds := Credentials{Username: "u", Password: "p"}
			_, err := signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Mode: Scripted, Credentials: creds, Timeout: failTimeout})
			if err == nil {
				t.Fatal("signed in, want a failure: this page is not a session the portal accepts")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

// startSim serves a simulator for a sign-in test, with its sign-in on a
// second origin (localhost beside the portal's 127.0.0.1, so the two hold
// separate cookies) when sso is set. wrap, when not nil, wraps both.
func startSim(t *testing.T, cfg sim.Config, sso bool, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	if wrap == nil {
		wrap = func(h http.Handler) http.Handler { return h }
	}
	var ln net.Listener
	if sso {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		cfg.SignInOrigin = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	s := sim.New(cfg)
	if sso {
		idp := httptest.NewUnstartedServer(wrap(s.IdentityProvider()))
		idp.Listener.Close()
		idp.Listener = ln
		idp.Start()
		t.Cleanup(idp.Close)
	}
	srv := httptest.NewServer(wrap(s))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSignInLandings signs in wherever the portal lands after the sign-in:
// back on the management page, on the portal's home page, or on a notice
// page whose Continue button begins the session; each also with the sign-in
// on another origin (single sign-on through an identity provider and a
// redirect chain back), headless and in a window (a person played by a
// script in the page). Every time the portal accepts the captured session
// and the terminal said what the browser showed.
func TestSignInLandings(t *testing.T) {
	exe := needBrowser(t)
	good := Credentials{Username: sim.DefaultUsername, Password: sim.DefaultPassword}
	for _, mode := range []Mode{Scripted, Interactive} {
		for _, landing := range []string{sim.LandingReturn, sim.LandingHome, sim.LandingNotice} {
			for _, sso := range []bool{false, true} {
				name := fmt.Sprintf("%s/landing=%q/sso=%v", mode, landing, sso)
				t.Run(name, func(t *testing.T) {
					var wrap func(http.Handler) http.Handler
					p := &person{}
					if mode == Interactive {
						wrap = p.wrap
					}
					base := startSim(t, sim.Config{Orgs: 3, Landing: landing}, sso, wrap)
					o := Options{Portal: base, AppID: sim.DefaultAppID, ExecPath: exe, Profile: t.TempDir() + "/profile",
						Mode: mode, Credentials: good, Timeout: testTimeout, windowless: true, Logf: p.Logf}
					if mode == Interactive {
						o.Credentials = Credentials{}
					}
					res, err := SignIn(context.Background(), o)
					waitNoBrowser(t, o.Profile)
					log := p.log()
					t.Log(log)
					if err != nil {
						t.Fatalf("SignIn: %v", err)
					}
					if err := connect(t, base, res.Cookies); err != nil {
						t.Fatalf("the portal refuses the captured session: %v", err)
					}
					var want []string
					switch {
					case landing == sim.LandingHome:
						want = append(want, `The browser shows "My Apps - Epic on FHIR" at 127.0.0.1:`, "Signed in; opening the app's page ...")
					case landing == sim.LandingNotice && mode == Interactive:
						want = append(want, `The browser shows "Before you continue" at 127.0.0.1:`, "/Account/Notice: a page with a Continue button; waiting for you to press it.")
					case landing == sim.LandingNotice:
						want = append(want, `Pressing Continue on "Before you continue" at 127.0.0.1:`)
					default:
						want = append(want, "Signed in: the portal accepts the session.")
					}
					if sso {
						want = append(want, `The browser shows "Log in" at localhost:`)
					}
					for _, w := range want {
						if !strings.Contains(log, w) {
							t.Fatalf("the terminal was not told %q:\n%s", w, log)
						}
					}
				})
			}
		}
	}
}

// TestSignInFailureNamesPage reports a sign-in that never completes with
// the page's title and its visible error, not only "timed out".
func TestSignInFailureNamesPage(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!DOCTYPE html><html><head><title>Access denied</title></head><body>
<div class="alert-danger">Your account is locked.   Contact your administrator.</div></body></html>`))
	}))
	defer srv.Close()
	_, err := signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Mode: Interactive, windowless: true, Timeout: failTimeout})
	want := `sign-in failed: not signed in within ` + failTimeout.String() + ` (--timeout); the browser showed "Access denied" at ` + strings.TrimPrefix(srv.URL, "http://") +
		`/Developer/Management with the message "Your account is locked. Contact your administrator.": run ` + "`activator login`" + ` again`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// TestRenew renews from the profile a first sign-in left: it works while
// the portal accepts the profile's cookies, and says "sign in again" once
// it does not.
func TestRenew(t *testing.T) {
	exe := needBrowser(t)
	s := sim.New(sim.Config{Orgs: 3})
	srv := httptest.NewServer(s)
	defer srv.Close()
	profile := t.TempDir() + "/profile"

	if _, err := signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Profile: profile, Mode: Renew}); !errors.Is(err, ErrRenewImpossible) {
		t.Fatalf("renew from an empty profile: err = %v, want ErrRenewImpossible", err)
	}
	creds := Credentials{Username: sim.DefaultUsername, Password: sim.DefaultPassword}
	first, err := signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Profile: profile, Mode: Scripted, Credentials: creds})
	if err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	renewed, err := signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Profile: profile, Mode: Renew})
	if err != nil {
		t.Fatalf("renew while the session is valid: %v", err)
	}
	if err := connect(t, srv.URL, renewed.Cookies); err != nil {
		t.Fatalf("the portal refuses the renewed session: %v", err)
	}
	if !strings.Contains(renewed.Cookies, strings.SplitN(first.Cookies, ";", 2)[0]) && !strings.Contains(first.Cookies, strings.SplitN(renewed.Cookies, ";", 2)[0]) {
		t.Logf("the renewed session differs from the first (the portal rotated a cookie)")
	}

	s.ExpireSessions()
	_, err = signInTest(t, Options{Portal: srv.URL, ExecPath: exe, Profile: profile, Mode: Renew})
	if !errors.Is(err, ErrRenewImpossible) || !strings.Contains(err.Error(), "sign in again") {
		t.Fatalf("renew after the sessions lapsed: err = %v, want a 'sign in again' RenewError", err)
	}
}

// TestSignInUnreachable reports a portal the browser cannot reach as a
// network error (exit 4), not as a failed sign-in.
func TestSignInUnreachable(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := signInTest(t, Options{Portal: url, ExecPath: exe, Mode: Renew})
	var ne *portal.NetworkError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "ERR_CONNECTION_REFUSED") {
		t.Fatalf("err = %v, want a *portal.NetworkError naming the refused connection", err)
	}
}

// TestSignInCancelled stops a sign-in that waits (here on a page that never
// becomes the management page) when the caller's context ends, and leaves
// no browser running. The context ends once activator has said what the
// browser shows, however long Chromium took to start.
func TestSignInCancelled(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><p>Redirecting to your identity provider...</p>"))
	}))
	defer srv.Close()
	profile := t.TempDir() + "/profile"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := SignIn(ctx, Options{Portal: srv.URL, AppID: sim.DefaultAppID, ExecPath: exe, Profile: profile,
		Mode: Scripted, Credentials: Credentials{Username: "u", Password: "p"}, Timeout: time.Minute,
		Logf: func(format string, args ...any) {
			line := fmt.Sprintf(format, args...)
			t.Log(line)
			if strings.HasPrefix(line, "The browser shows ") {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's context error", err)
	}
	// It names the page the browser showed, not only "interrupted".
	want := "sign-in interrupted: the browser showed a page without a title at " + strings.TrimPrefix(srv.URL, "http://") + "/Developer/Management"
	if err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	waitNoBrowser(t, profile)
}

// TestSignInBadOptions refuses what cannot work before starting anything.
func TestSignInBadOptions(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	dir := t.TempDir()
	base := Options{Portal: "http://127.0.0.1:1", AppID: "1", ExecPath: "/bin/true", Profile: dir}
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no display", func(o *Options) { o.Mode = Interactive }, "needs a display"},
		{"no credentials", func(o *Options) { o.Mode = Scripted }, "needs a username and a password"},
		{"no password", func(o *Options) { o.Mode = Scripted; o.Credentials.Username = "u" }, "needs a username and a password"},
		{"bad portal", func(o *Options) { o.Mode = Renew; o.Portal = "fhir.epic.com" }, "not an http(s) URL"},
		{"no app", func(o *Options) { o.Mode = Renew; o.AppID = "" }, "no app id"},
		{"no browser", func(o *Options) { o.Mode = Renew; o.ExecPath = "" }, "no Chromium or Chrome found"},
		{"no profile", func(o *Options) { o.Mode = Renew; o.Profile = "" }, "no browser profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(&o)
			_, err := SignIn(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestStartError reports a browser that does not start.
func TestStartError(t *testing.T) {
	_, err := SignIn(context.Background(), Options{Portal: "http://127.0.0.1:1", AppID: "1", ExecPath: "/bin/false",
		Profile: t.TempDir(), Mode: Renew, Timeout: 10 * time.Second})
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "did not start") {
		t.Fatalf("err = %v, want a *StartError", err)
	}
}

// TestCredentialsHidden keeps credentials out of formatted output.
func TestCredentialsHidden(t *testing.T) {
	o := Options{Credentials: Credentials{Username: "someone", Password: "hunter2", Code: "123456"}}
	for _, s := range []string{fmtV(o), fmtPlusV(o), fmtSharpV(o)} {
		for _, secret := range []string{"hunter2", "123456"} {
			if strings.Contains(s, secret) {
				t.Fatalf("formatted options show a secret: %s", s)
			}
		}
	}
}

func fmtV(v any) string      { return fmt.Sprintf("%v", v) }
func fmtPlusV(v any) string  { return fmt.Sprintf("%+v", v) }
func fmtSharpV(v any) string { return fmt.Sprintf("%#v", v) }

// person plays the person at the window, by a script in every HTML page
// the simulator serves: on a sign-in, code or notice page it first waits
// until the terminal has said what the page is (as a person reads the
// terminal, then acts), then types into the page and presses its button.
// Acting only once activator has told the page makes the test's outcome
// independent of how fast the machine is: a person acting on a fixed delay
// could act before activator's first look at a page on a loaded machine,
// and the page would go by untold. It is also the Logf of the sign-in.
type person struct {
	mu    sync.Mutex
	lines []string
}

// Logf records what activator tells the person.
func (p *person) Logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, fmt.Sprintf(format, args...))
}

// log is everything activator told the person, one line each.
func (p *person) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// personTold is what activator says of each kind of page the person acts on.
var personTold = map[string]string{
	"signin":   ": a sign-in page; waiting for you to sign in.",
	"code":     "The portal asks for a second factor: enter it in the browser window (",
	"continue": ": a page with a Continue button; waiting for you to press it.",
}

// told reports whether activator has told the page at hostPath (host and
// path, as where() names it) as a page of the kind what.
func (p *person) told(what, hostPath string) bool {
	phrase, ok := personTold[what]
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.Contains(l, phrase) && strings.Contains(l, " at "+hostPath) {
			return true
		}
	}
	return false
}

// personPath answers the person's script whether activator has told its
// page yet.
const personPath = "/_test/person/told"

// personJS is the person's script: it asks personPath until activator has
// told the page, then acts.
const personJS = `<script>
(() => {
  const el = (id) => document.getElementById(id);
  const act = () => {
    if (el('Username') && el('Password')) {
      el('Username').value = 'developer'; el('Password').value = 'correct horse'; el('login-submit').click(); return;
    }
    if (el('Code')) { el('Code').value = '864209'; el('code-submit').click(); return; }
    for (const b of document.querySelectorAll('button')) { if (b.textContent.trim() === 'Continue') { b.click(); return; } }
  };
  const what = () => {
    if (el('Username') && el('Password')) return 'signin';
    if (el('Code')) return 'code';
    for (const b of document.querySelectorAll('button')) { if (b.textContent.trim() === 'Continue') return 'continue'; }
    return '';
  };
  const wait = () => {
    const w = what();
    if (!w) return;
    fetch('` + personPath + `?what=' + w + '&at=' + encodeURIComponent(location.host + location.pathname))
      .then((r) => r.text())
      .then((t) => { if (t === 'yes') { act(); } else { setTimeout(wait, 50); } })
      .catch(() => setTimeout(wait, 50));
  };
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', wait); } else { wait(); }
})();
</script>`

// wrap adds personJS to every HTML page h serves, and serves personPath.
func (p *person) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == personPath {
			w.Header().Set("Content-Type", "text/plain")
			if p.told(r.URL.Query().Get("what"), r.URL.Query().Get("at")) {
				w.Write([]byte("yes"))
			} else {
				w.Write([]byte("no"))
			}
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		body := rec.Body.String()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			body = strings.Replace(body, "</body>", personJS+"</body>", 1)
		}
		w.WriteHeader(rec.Code)
		w.Write([]byte(body))
	})
}

// TestSignInInteractive waits, without filling anything, while a person
// signs in (here a script in the page), second factor included, and takes
// the session once the management page shows its token.
func TestSignInInteractive(t *testing.T) {
	exe := needBrowser(t)
	s := sim.New(sim.Config{Orgs: 3, SecondFactor: "864209"})
	p := &person{}
	srv := httptest.NewServer(p.wrap(s))
	defer srv.Close()
	o := Options{Portal: srv.URL, AppID: sim.DefaultAppID, ExecPath: exe, Profile: t.TempDir() + "/profile",
		Mode: Interactive, Timeout: testTimeout, windowless: true, Logf: p.Logf}
	res, err := SignIn(context.Background(), o)
	waitNoBrowser(t, o.Profile)
	log := p.log()
	if err != nil {
		t.Fatalf("SignIn: %v\n%s", err, log)
	}
	for _, want := range []string{"Sign in to the portal in that window", "Waiting up to 20s", "asks for a second factor", "a sign-in page; waiting for you to sign in", "Signed in: the portal accepts the session."} {
		if !strings.Contains(log, want) {
			t.Fatalf("the person was not told %q:\n%s", want, log)
		}
	}
	if err := connect(t, srv.URL, res.Cookies); err != nil {
		t.Fatalf("the portal refuses the captured session: %v", err)
	}
}
