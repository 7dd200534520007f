// Package browser signs in to the vendor portal with a real Chromium driven
// by chromedp and hands back the session's cookies.
//
// The portal's sign-in is a browser application that may involve single
// sign-on through another origin, redirect chains, second factors and a
// notice page with a Continue button, and it may land anywhere on the
// portal, so it is not imitated over HTTP and no address is trusted: a real
// browser goes through it, and whenever the browser is on one of the
// portal's pages with cookies not yet checked, activator checks the session
// itself (Options.Check: the management page with its anti-forgery token,
// then a LoadDownloads call) and, once the portal accepts it, brings the
// browser to the app's management page. Three modes share that detection:
//
//   - Interactive opens a visible window and lets a person sign in.
//   - Scripted runs headless and fills the sign-in form (and a one-time code
//     page) with given credentials, for servers and tests.
//   - Renew runs headless with no credentials at all and succeeds only if the
//     persistent profile still holds a session the portal accepts, so a
//     nightly job can refresh the stored session without a person.
//
// The browser runs in its own profile directory (mode 0700) that keeps
// session cookies across restarts, like a browser set to continue where it
// left off. Cookie values, tokens, passwords and codes never reach an error
// or a log line; only cookie names do.
package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// Mode is how the sign-in is driven.
type Mode int

// The sign-in modes.
const (
	// Interactive opens a visible window in which a person signs in.
	Interactive Mode = iota
	// Scripted runs headless and fills the sign-in form with Credentials.
	Scripted
	// Renew runs headless without credentials and only reuses what the
	// profile holds.
	Renew
)

func (m Mode) String() string {
	switch m {
	case Interactive:
		return "interactive"
	case Scripted:
		return "scripted"
	case Renew:
		return "renew"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultTimeout bounds a whole sign-in: a person may need a while for
// single sign-on and a second factor, but a forgotten window must not keep
// the command waiting for ever.
const DefaultTimeout = 10 * time.Minute

// DefaultRenewTimeout bounds a renewal from the profile: no person is
// involved, so it either works within seconds or not at all.
const DefaultRenewTimeout = 2 * time.Minute

// DefaultPollInterval is how often the page is looked at: quick enough that
// the sign-in feels immediate, slow enough to cost nothing.
const DefaultPollInterval = 200 * time.Millisecond

// DefaultStepTimeout bounds one navigation, form fill or click, so a page
// that never loads fails with a message rather than at the overall timeout.
const DefaultStepTimeout = 30 * time.Second

// DefaultCloseTimeout bounds the browser's orderly shutdown, which writes
// the profile's cookies to disk; after it the process is killed.
const DefaultCloseTimeout = 10 * time.Second

// DefaultMaxSubmits is how many times a scripted sign-in submits a form
// before giving up: a username page, a password page and a code page fit,
// a form that keeps coming back without a message does not loop for ever.
const DefaultMaxSubmits = 4

// ManagementPath is the app's Review & Manage Downloads page below the
// portal's base URL; with ?id={AppId} it is the page that proves a session.
const ManagementPath = "/Developer/Management"

// MaxMessageLen bounds the portal's error text quoted in an error.
const MaxMessageLen = 300

// Selectors are the CSS selectors of the sign-in pages. Each may be a
// selector list; the first matching element in the page is used.
type Selectors struct {
	// Username and Password are the credential inputs; a page with only one
	// of them (a two-step single sign-on) is filled with that one.
	Username, Password string
	// Submit is the sign-in button; without a match, Enter is pressed in
	// the last filled input.
	Submit string
	// Code and CodeSubmit are the one-time code input and its button.
	Code, CodeSubmit string
	// Continue is the button that moves on from a page between the
	// sign-in and the portal (a notice, a consent page); without a match,
	// a visible button or link whose text starts with "Continue" is used.
	Continue string
	// Error is where the portal shows why it refused a sign-in.
	Error string
}

// DefaultSelectors match the portal's sign-in form (ASP.NET's Username and
// Password inputs) and fall back to what most sign-in pages use.
var DefaultSelectors = Selectors{
	Username:   `#Username, input[name="Username"], input[autocomplete="username"], input[type="email"]`,
	Password:   `#Password, input[type="password"]`,
	Submit:     `#login-submit, button[type="submit"], input[type="submit"]`,
	Code:       `#Code, input[name="Code"], input[autocomplete="one-time-code"]`,
	CodeSubmit: `#code-submit, button[type="submit"], input[type="submit"]`,
	Continue:   `#continue, #Continue, button[name="continue"], input[name="continue"]`,
	Error:      `.validation-summary-errors, .field-validation-error, [role="alert"], .alert-danger, .error-message`,
}

func (s Selectors) withDefaults() Selectors {
	pick := func(v, d string) string {
		if strings.TrimSpace(v) == "" {
			return d
		}
		return v
	}
	return Selectors{
		Username:   pick(s.Username, DefaultSelectors.Username),
		Password:   pick(s.Password, DefaultSelectors.Password),
		Submit:     pick(s.Submit, DefaultSelectors.Submit),
		Code:       pick(s.Code, DefaultSelectors.Code),
		CodeSubmit: pick(s.CodeSubmit, DefaultSelectors.CodeSubmit),
		Continue:   pick(s.Continue, DefaultSelectors.Continue),
		Error:      pick(s.Error, DefaultSelectors.Error),
	}
}

// Credentials fill a scripted sign-in. They print as a placeholder so a
// stray %v can never show them.
type Credentials struct {
	Username string
	Password string
	// Code is the one-time code for a second-factor page, if the portal
	// asks for one.
	Code string
}

// String hides the credentials.
func (Credentials) String() string { return "[credentials hidden]" }

// GoString hides the credentials from %#v too.
func (Credentials) GoString() string { return "[credentials hidden]" }

// Options configure SignIn.
type Options struct {
	// Portal is the portal's base URL; AppID the app whose management page
	// proves the session.
	Portal, AppID string
	// ExecPath is the browser executable (see FindBrowser).
	ExecPath string
	// Profile is the browser's user data directory.
	Profile string
	// Mode is how the sign-in is driven.
	Mode Mode
	// Credentials are used in Scripted mode only.
	Credentials Credentials
	// Selectors locate the sign-in form; empty fields take DefaultSelectors.
	Selectors Selectors
	// Timeout bounds the whole sign-in (DefaultTimeout when zero).
	Timeout time.Duration
	// Check proves that the portal accepts cookies (a Cookie header value)
	// as a session for the app; an error wrapping portal.ErrNotSignedIn
	// means not yet, any other error ends the sign-in. Nil checks with
	// portalhttp.Client.Check (the management page, then LoadDownloads).
	Check func(ctx context.Context, cookies string) error
	// Logf receives progress lines for a person; it is never given a
	// secret. Nil discards them.
	Logf func(format string, args ...any)
	// Now is the clock used to drop expired cookies (time.Now when nil).
	Now func() time.Time

	// windowless runs Interactive mode without a window, so the tests can
	// watch it on machines without a display.
	windowless bool
}

// Result is a signed-in session.
type Result struct {
	// Cookies is a Cookie header value with every cookie of the portal's
	// host. It is a secret.
	Cookies string
	// Expires is the earliest expiry among persistent cookies, nil when
	// all are session cookies.
	Expires *time.Time
	// CookieNames are the names of the cookies, safe to show.
	CookieNames []string
}

// String describes the result without its secret.
func (r *Result) String() string {
	return fmt.Sprintf("session of %d cookies (%s)", len(r.CookieNames), strings.Join(r.CookieNames, ", "))
}

// errTimedOut is the cause of the sign-in context's end at Options.Timeout.
var errTimedOut = errors.New("sign-in timed out")

// SignIn starts the browser in the profile, opens the app's management page
// and drives or waits for the sign-in until that page shows its
// anti-forgery token; then it collects the portal's cookies and closes the
// browser in an orderly way so the profile keeps them. The browser is
// always stopped when SignIn returns.
func SignIn(ctx context.Context, o Options) (*Result, error) {
	base, err := url.Parse(strings.TrimRight(o.Portal, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("portal URL %q is not an http(s) URL", o.Portal)
	}
	if o.AppID == "" {
		return nil, errors.New("no app id to sign in for")
	}
	if o.ExecPath == "" {
		return nil, &NoBrowserError{}
	}
	if o.Profile == "" {
		return nil, errors.New("no browser profile directory")
	}
	switch o.Mode {
	case Interactive:
		if !o.windowless && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return nil, &NoDisplayError{}
		}
	case Scripted:
		if o.Credentials.Username == "" || o.Credentials.Password == "" {
			return nil, errors.New("a scripted sign-in needs a username and a password")
		}
	case Renew:
	default:
		return nil, fmt.Errorf("unknown sign-in mode %v", o.Mode)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Check == nil {
		o.Check = portalCheck(o.Portal, o.AppID)
	}
	if err := PrepareProfile(o.Profile); err != nil {
		return nil, err
	}

	tctx, cancelT := context.WithTimeoutCause(ctx, o.Timeout, errTimedOut)
	defer cancelT()
	actx, cancelA := chromedp.NewExecAllocator(tctx, allocatorOptions(o)...)
	defer cancelA() // kills the browser if it is still running, and waits for it
	// chromedp's own log lines can quote protocol messages, which carry
	// cookies and form values: they are never printed.
	quiet := func(string, ...any) {}
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(quiet), chromedp.WithErrorf(quiet), chromedp.WithDebugf(quiet))
	defer cancelB()

	s := &signIn{o: o, sel: o.Selectors.withDefaults(), base: base, ctx: ctx, tctx: tctx, bctx: bctx}
	mgmt := *base
	mgmt.Path = strings.TrimRight(base.Path, "/") + ManagementPath
	mgmt.RawPath, mgmt.RawQuery, mgmt.Fragment = "", "id="+url.QueryEscape(o.AppID), ""
	s.mgmt = &mgmt

	if err := chromedp.Do(bctx); err != nil {
		return nil, s.ended(&StartError{Path: o.ExecPath, Err: err})
	}
	defer closeBrowser(bctx)

	if err := s.open(); err != nil {
		return nil, err
	}
	if err := s.wait(); err != nil {
		return nil, err
	}
	return s.collect()
}

// portalCheck is the default Options.Check: portalhttp.Client.Check with the
// cookies, unpaced (a sign-in checks a handful of times at most).
func portalCheck(base, app string) func(context.Context, string) error {
	return func(ctx context.Context, cookies string) error {
		c, err := portalhttp.New(portalhttp.Options{BaseURL: base, AppID: app, Cookies: cookies})
		if err != nil {
			return err
		}
		return c.Check(ctx)
	}
}

// allocatorOptions are the browser's command line: chromedp's defaults
// (headless, no extensions, no first-run pages) plus everything that stops
// background traffic, since these machines often have no internet and
// Chromium otherwise fills its log with refused connections.
func allocatorOptions(o Options) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(o.ExecPath),
		chromedp.UserDataDir(o.Profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,OptimizationHints,MediaRouter,"+
			"DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
		chromedp.DisableGPU,
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	if o.Mode == Interactive && !o.windowless {
		opts = append(opts, chromedp.VisibleWindow)
	}
	return opts
}

// closeBrowser asks the browser to quit, which writes the profile's
// cookies to disk, and waits a bounded time for it.
func closeBrowser(bctx context.Context) {
	if bctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(bctx, DefaultCloseTimeout)
	defer cancel()
	_ = chromedp.Cancel(ctx)
}

// signIn is one run of SignIn.
type signIn struct {
	o    Options
	sel  Selectors
	base *url.URL
	mgmt *url.URL
	// ctx is the caller's, tctx adds the timeout, bctx is the browser's.
	ctx, tctx, bctx context.Context

	// last is the page last seen (seen once there was one), told the page
	// last described in the terminal.
	last pageState
	seen bool
	told string
	// checkedCookies and checkedDoc are what the session was last checked
	// with; refusal is the portal's reason when it did not accept it.
	checkedCookies, checkedDoc string
	refusal                    string
}

// ended turns err into the error to report, given why the contexts ended:
// the caller's cancellation (Ctrl-C) wins, then the timeout, then a browser
// that went away (a person closed the window). Each names what the browser
// showed last, so a failed sign-in never says only "interrupted" or
// "timed out".
func (s *signIn) ended(err error) error {
	switch {
	case s.ctx.Err() != nil:
		return &InterruptedError{Showed: s.showed(), Err: s.ctx.Err()}
	case errors.Is(context.Cause(s.tctx), errTimedOut):
		if s.o.Mode == Renew {
			return &RenewError{Reason: fmt.Sprintf("not renewed within %s; %s", s.o.Timeout, s.showed())}
		}
		return &SignInError{Reason: fmt.Sprintf("not signed in within %s (--timeout); %s: run `activator login` again", s.o.Timeout, s.showed())}
	case s.bctx.Err() != nil:
		if s.o.Mode == Interactive {
			return &SignInError{Reason: "the browser window was closed before the sign-in finished; " + s.showed()}
		}
		return &SignInError{Reason: "the browser stopped before the sign-in finished; " + s.showed()}
	}
	return err
}

// showed describes the last page the browser showed, its visible error and
// the portal's last refusal of the session, for an error message.
func (s *signIn) showed() string {
	if !s.seen {
		return "the browser showed no page yet"
	}
	msg := "the browser showed " + s.last.where()
	if e := quote(s.last.Error); e != "" {
		msg += " with the message " + e
	}
	if s.refusal != "" {
		msg += "; the portal did not accept the session (" + s.refusal + ")"
	}
	return msg
}

// quote shortens a page's text to one quoted line.
func quote(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return ""
	}
	if len(text) > MaxMessageLen {
		text = text[:MaxMessageLen] + "..."
	}
	return fmt.Sprintf("%q", text)
}

// step runs actions with DefaultStepTimeout.
func (s *signIn) step(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(s.bctx, DefaultStepTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// open loads the management page; without a session the portal redirects
// to its sign-in page, which comes back there afterwards.
func (s *signIn) open() error {
	switch s.o.Mode {
	case Interactive:
		s.o.Logf("Opening a browser window at %s ...", s.base)
	case Scripted:
		s.o.Logf("Signing in to %s in a headless browser ...", s.base)
	case Renew:
		s.o.Logf("Renewing the session from the browser profile ...")
	}
	err := s.step(chromedp.Navigate(s.mgmt.String()))
	var le *chromedp.LoadError
	switch {
	case err == nil:
	case errors.As(err, &le):
		return &portal.NetworkError{Err: fmt.Errorf("the browser could not open %s: %s", s.base, le.ErrorText)}
	default:
		return s.ended(fmt.Errorf("open %s: %w", s.base, err))
	}
	if s.o.Mode == Interactive {
		s.o.Logf("Sign in to the portal in that window (single sign-on, a second factor and notice pages work as usual).")
		s.o.Logf("Waiting up to %s for a session the portal accepts: activator checks it on each page of the portal, then opens the app's page and closes the window by itself.", s.o.Timeout)
	}
	return nil
}

// wait looks at the page until the browser holds a session the portal
// accepts. Whenever a page of the portal's origin that is not a sign-in
// form has loaded with cookies for the portal that were not checked yet (or
// is a new page), activator checks the session itself with Options.Check;
// it never trusts an address or a page's content. On the way it fills forms
// and presses Continue in Scripted mode, gives up on a sign-in form in Renew
// mode, and says what it sees in Interactive mode.
func (s *signIn) wait() error {
	f := &formState{}
	tick := time.NewTicker(DefaultPollInterval)
	defer tick.Stop()
	for {
		st, err := s.probe()
		if err != nil && s.bctx.Err() != nil {
			return s.ended(err)
		}
		// Otherwise an error is a page being replaced mid-look: look again.
		if err == nil && !st.Loading {
			s.last, s.seen = st, true
			s.tell(st)
			done, err := s.checkPage(st)
			if err != nil || done {
				return err
			}
			switch s.o.Mode {
			case Renew:
				if st.signInForm() {
					return &RenewError{Reason: "the portal showed a sign-in page, " + st.where()}
				}
			case Scripted:
				if err := s.fillForms(st, f); err != nil {
					return err
				}
			}
		}
		select {
		case <-s.bctx.Done():
			return s.ended(s.bctx.Err())
		case <-tick.C:
		}
	}
}

// checkPage checks the session when the page is one of the portal's that
// is not a sign-in form and it has not been checked with these cookies on
// this page yet. done is true once the portal accepted the session and the
// browser shows the app's management page.
func (s *signIn) checkPage(st pageState) (done bool, err error) {
	if st.Origin != s.origin() || st.signInForm() {
		return false, nil
	}
	cookies, err := s.cookies()
	if err != nil {
		return false, err
	}
	if cookies == "" || (cookies == s.checkedCookies && st.Doc == s.checkedDoc) {
		return false, nil
	}
	s.checkedCookies, s.checkedDoc = cookies, st.Doc
	ctx, cancel := context.WithTimeout(s.tctx, DefaultStepTimeout)
	err = s.o.Check(ctx, cookies)
	cancel()
	if errors.Is(err, portal.ErrNotSignedIn) {
		s.refusal = strings.TrimPrefix(err.Error(), portal.ErrNotSignedIn.Error()+": ")
		if s.o.Mode == Interactive {
			s.o.Logf("Not signed in yet (%s); waiting.", s.refusal)
		}
		return false, nil
	}
	if err != nil {
		if s.tctx.Err() != nil {
			return false, s.ended(err)
		}
		return false, fmt.Errorf("check the session the browser holds: %w", err)
	}
	if st.Management {
		s.o.Logf("Signed in: the portal accepts the session.")
		return true, nil
	}
	s.o.Logf("Signed in; opening the app's page ...")
	if err := s.step(chromedp.Navigate(s.mgmt.String())); err != nil {
		if s.bctx.Err() != nil {
			return false, s.ended(err)
		}
		// The session is proven; the page only completes the profile.
		s.o.Logf("The browser could not open the app's page (%v); the session is kept anyway.", err)
	}
	return true, nil
}

// cookies reads the browser's cookies for the portal as a Cookie header.
func (s *signIn) cookies() (string, error) {
	ctx, cancel := context.WithTimeout(s.bctx, DefaultStepTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		if s.bctx.Err() != nil {
			return "", s.ended(err)
		}
		return "", nil // a browser busy navigating: look again
	}
	header, _, _ := portalCookies(res.Cookies, s.base.Host, s.o.Now())
	return header, nil
}

// collect reads the portal's cookies from the browser.
func (s *signIn) collect() (*Result, error) {
	ctx, cancel := context.WithTimeout(s.bctx, DefaultStepTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		return nil, s.ended(fmt.Errorf("read the browser's cookies: %w", err))
	}
	header, exp, names := portalCookies(res.Cookies, s.base.Host, s.o.Now())
	if header == "" {
		return nil, &SignInError{Reason: "the management page loaded but the browser holds no cookies for " + s.base.Host}
	}
	return &Result{Cookies: header, Expires: exp, CookieNames: names}, nil
}
