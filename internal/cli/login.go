package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/browser"
	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/session"
	"github.com/spf13/cobra"
)

// LoginOptions are `login`'s options.
type LoginOptions struct {
	F *Factory

	Headless      bool
	Renew         bool
	Check         bool
	Username      string
	PasswordStdin bool
	OTPStdin      bool
	Browser       string
	Profile       string
	Timeout       time.Duration
	Selectors     browser.Selectors

	// SessionGiven says --cookie or --cookie-file (or their environment
	// variables) gave a session: without --headless or --renew it is checked
	// and stored, and no browser starts.
	SessionGiven bool

	// timeoutSet says --timeout was given (--renew has its own default).
	timeoutSet bool
}

// Session sources named in messages and in --output json.
const (
	sourceBrowser = "browser"
	sourceRenew   = "browser profile"
)

// NewCmdLogin builds `login`.
func NewCmdLogin(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{F: f}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to the portal in a browser and keep the session for later commands",
		Long: `Signs in to the portal with a real Chromium (or Chrome) and stores the session's
cookies in the state directory (mode 0600), where every later command finds them
unless --cookie or --cookie-file is given. The sign-in counts as done when the portal
accepts the session, wherever it lands: on each page of the portal the browser shows
with new cookies, activator checks the session itself (the app's Review & Manage
Downloads page with its anti-forgery token, then a listing call), then opens the
app's page in the browser if it is elsewhere.

By default a browser window opens at the portal: sign in there, single sign-on on
another site, a second factor and a notice page with a Continue button included; the
terminal says what the window shows and what activator waits for, and the window
closes by itself. On a server, --headless fills the sign-in form with
ACTIVATOR_USERNAME (or --username) and ACTIVATOR_PASSWORD (or --password-stdin) on
whichever site it appears, and presses Continue on pages between the sign-in and the
portal; a one-time code comes from ACTIVATOR_OTP or --otp-stdin (with
--password-stdin too, stdin holds the password on its first line and the code on
its second). The selectors flags adapt it to a different sign-in page. A failed
sign-in names the page the browser showed (its title and visible error).

The browser keeps its own profile (--profile, mode 0700). A later
"activator login --renew" reuses that profile headlessly, with no credentials, and
succeeds while the portal still accepts it: a nightly job can renew the session that
way, and exits 3 asking for a new sign-in when it no longer can.

With --cookie or --cookie-file (and neither --headless nor --renew), no browser is
started: that session is checked and stored instead.

Every way of signing in (window, --headless, --renew, --cookie-file) remembers the
portal and the app as the defaults of the state directory: later commands use them
unless --portal/--app, ACTIVATOR_PORTAL/ACTIVATOR_APP or the config file say
otherwise. Without --portal or --app, login itself uses those defaults.`,
		Example: `  activator login --app 50741
  ACTIVATOR_USERNAME=me@example.com ACTIVATOR_PASSWORD=... activator login --headless
  pass show portal | activator login --headless --username me@example.com --password-stdin
  activator login --headless --renew      # nightly, from the browser profile
  activator login --cookie-file cookies.txt
  activator login --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.timeoutSet = cmd.Flags().Changed("timeout")
			opts.SessionGiven = f.Cookie != "" || f.CookieFile != ""
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Headless, "headless", false, "sign in without a window, filling the sign-in form (needs credentials)")
	fl.BoolVar(&opts.Renew, "renew", false, "renew the session from the browser profile alone, headless, without credentials (implies --headless)")
	fl.BoolVar(&opts.Check, "check", false, "only say whether the current session is accepted, like activator whoami")
	fl.StringVar(&opts.Username, "username", "", "user name for --headless (env ACTIVATOR_USERNAME)")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password for --headless from stdin (else ACTIVATOR_PASSWORD)")
	fl.BoolVar(&opts.OTPStdin, "otp-stdin", false, "read the one-time code for --headless from stdin (else ACTIVATOR_OTP)")
	fl.StringVar(&opts.Browser, "browser", "", "Chromium or Chrome to use, a path or a name on PATH (default: the first of "+strings.Join(browser.BrowserNames, ", ")+")")
	fl.StringVar(&opts.Profile, "profile", "", "browser profile directory (default: "+browser.ProfileDirName+" in the state directory)")
	fl.DurationVar(&opts.Timeout, "timeout", browser.DefaultTimeout, "give up when not signed in within this time (--renew: "+browser.DefaultRenewTimeout.String()+" unless given)")
	fl.StringVar(&opts.Selectors.Username, "username-selector", browser.DefaultSelectors.Username, "CSS selector of the sign-in form's user name input")
	fl.StringVar(&opts.Selectors.Password, "password-selector", browser.DefaultSelectors.Password, "CSS selector of the password input")
	fl.StringVar(&opts.Selectors.Submit, "submit-selector", browser.DefaultSelectors.Submit, "CSS selector of the sign-in button (without a match, Enter is pressed)")
	fl.StringVar(&opts.Selectors.Code, "code-selector", browser.DefaultSelectors.Code, "CSS selector of the one-time code input")
	fl.StringVar(&opts.Selectors.CodeSubmit, "code-submit-selector", browser.DefaultSelectors.CodeSubmit, "CSS selector of the one-time code's button")
	fl.StringVar(&opts.Selectors.Continue, "continue-selector", browser.DefaultSelectors.Continue, "CSS selector of the Continue button of a page between the sign-in and the portal (without a match, a button whose text starts with Continue)")
	fl.StringVar(&opts.Selectors.Error, "error-selector", browser.DefaultSelectors.Error, "CSS selector of the portal's sign-in error message")
	return cmd
}

// check validates the flags, before the portal, the app or the session
// (flag errors cost nothing to fix), and settles what they imply: --renew
// signs in headless, with its own default --timeout. --check takes none of
// the sign-in flags into account.
func (opts *LoginOptions) check() error {
	if opts.Check {
		return nil
	}
	if opts.Timeout <= 0 {
		return UsageErrorf("--timeout must be above 0, e.g. --timeout 10m")
	}
	if opts.Renew {
		opts.Headless = true
		if !opts.timeoutSet {
			opts.Timeout = browser.DefaultRenewTimeout
		}
		if opts.PasswordStdin || opts.OTPStdin {
			return UsageErrorf("--renew uses the browser profile alone: drop --password-stdin and --otp-stdin (or drop --renew to sign in with them)")
		}
	}
	if !opts.Headless && !opts.SessionGiven && (opts.PasswordStdin || opts.OTPStdin) {
		return UsageErrorf("--password-stdin and --otp-stdin are for --headless: in the browser window, type them there")
	}
	return nil
}

func loginRun(ctx context.Context, opts *LoginOptions) error {
	f := opts.F
	if opts.Check {
		return whoamiRun(ctx, f)
	}
	if _, err := f.CheckPortal(); err != nil {
		return err
	}
	if err := f.CheckApp(); err != nil {
		return err
	}
	if opts.SessionGiven && !opts.Headless {
		return importRun(ctx, f)
	}

	bo := browser.Options{
		Portal: f.Portal, AppID: f.App, Selectors: opts.Selectors, Timeout: opts.Timeout,
		Logf: f.Logf, Now: f.Now, Check: func(ctx context.Context, cookies string) error { return checkSession(ctx, f, cookies) },
	}
	switch {
	case opts.Renew:
		bo.Mode = browser.Renew
	case opts.Headless:
		bo.Mode = browser.Scripted
		creds, err := loginCredentials(f, opts)
		if err != nil {
			return err
		}
		bo.Credentials = creds
	default:
		bo.Mode = browser.Interactive
		if f.Getenv("DISPLAY") == "" && f.Getenv("WAYLAND_DISPLAY") == "" {
			return UsageError(&browser.NoDisplayError{})
		}
	}
	var err error
	if bo.Profile, err = profileDir(f.StateDir, opts.Profile); err != nil {
		return err
	}
	if bo.Mode == browser.Renew && !hasProfile(bo.Profile) {
		return &ExitError{Code: ExitSession, Err: fmt.Errorf("--renew needs an earlier browser sign-in, and there is no browser profile at %s "+
			"(a session from --cookie-file, --cookie or ACTIVATOR_COOKIE leaves none): sign in once with `activator login --headless` "+
			"(or `activator login` in a window), or keep passing the session with --cookie-file", bo.Profile)}
	}
	exe, err := browser.FindBrowser(opts.Browser, f.Getenv("PATH"))
	if err != nil {
		return UsageError(err)
	}
	bo.ExecPath = exe
	sessPath, err := f.SessionPath()
	if err != nil {
		return err
	}
	f.Debugf("browser %s, profile %s, %s sign-in", exe, bo.Profile, bo.Mode)

	res, err := browser.SignIn(ctx, bo)
	if err != nil {
		return loginError(err)
	}
	f.Debugf("captured %d cookies: %s", len(res.CookieNames), strings.Join(res.CookieNames, ", "))
	source := sourceBrowser
	if bo.Mode == browser.Renew {
		source = sourceRenew
	}
	// SignIn returned only after checkSession accepted the session.
	return saveSession(f, sessPath, res.Cookies, res.Expires, source)
}

// loginCredentials gathers a scripted sign-in's credentials: the user name
// from --username (ACTIVATOR_USERNAME), the password from ACTIVATOR_PASSWORD
// or stdin, the one-time code from ACTIVATOR_OTP or stdin.
func loginCredentials(f *Factory, opts *LoginOptions) (browser.Credentials, error) {
	c := browser.Credentials{
		Username: strings.TrimSpace(opts.Username),
		Password: f.Getenv("ACTIVATOR_PASSWORD"),
		Code:     strings.TrimSpace(f.Getenv("ACTIVATOR_OTP")),
	}
	if opts.PasswordStdin || opts.OTPStdin {
		if f.IO.InTTY {
			return c, UsageErrorf("--password-stdin and --otp-stdin read from a pipe or a file, not a terminal: e.g. `pass show portal | activator login --headless --password-stdin`, or set ACTIVATOR_PASSWORD")
		}
		n := 0
		if opts.PasswordStdin {
			n++
		}
		if opts.OTPStdin {
			n++
		}
		lines, err := readLines(f.IO.In, n)
		if err != nil {
			return c, err
		}
		if opts.PasswordStdin {
			c.Password, lines = lines[0], lines[1:]
			if c.Password == "" {
				return c, UsageErrorf("--password-stdin: the first line of stdin is empty: pipe the password in")
			}
		}
		if opts.OTPStdin {
			c.Code = strings.TrimSpace(lines[0])
			if c.Code == "" {
				return c, UsageErrorf("--otp-stdin: the one-time code line of stdin is empty")
			}
		}
	}
	switch {
	case c.Username == "" && c.Password == "":
		return c, UsageErrorf("--headless needs credentials: set ACTIVATOR_USERNAME and ACTIVATOR_PASSWORD (or pass --username and --password-stdin), or use --renew to reuse the browser profile")
	case c.Username == "":
		return c, UsageErrorf("--headless needs a user name: set ACTIVATOR_USERNAME or pass --username")
	case c.Password == "":
		return c, UsageErrorf("--headless needs a password: set ACTIVATOR_PASSWORD or pass --password-stdin")
	}
	return c, nil
}

// readLines reads n lines from r, without their line endings. A secret is
// never part of the error.
func readLines(r io.Reader, n int) ([]string, error) {
	br := bufio.NewReader(io.LimitReader(r, 64<<10))
	lines := make([]string, 0, n)
	for len(lines) < n {
		line, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			if err == io.EOF {
				return nil, UsageErrorf("stdin ended after %d of %d lines: with --password-stdin and --otp-stdin, give the password on the first line and the code on the second", len(lines), n)
			}
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		lines = append(lines, strings.TrimRight(line, "\r\n"))
	}
	return lines, nil
}

// loginError gives a browser sign-in error its exit code.
func loginError(err error) error {
	var (
		nb  *browser.NoBrowserError
		se  *browser.StartError
		nd  *browser.NoDisplayError
		pe  *browser.ProfileInUseError
		sie *browser.SignInError
		re  *browser.RenewError
		ie  *browser.InterruptedError
	)
	switch {
	case errors.As(err, &ie):
		// The message names the page the browser showed.
		return &ExitError{Code: ExitInterrupted, Err: err}
	case errors.As(err, &nb), errors.As(err, &se), errors.As(err, &nd):
		return UsageError(err)
	case errors.As(err, &sie), errors.As(err, &re):
		return &ExitError{Code: ExitSession, Err: err}
	case errors.As(err, &pe):
		return &ExitError{Code: ExitUnavailable, Err: err}
	}
	return err // network trouble (exit 4), interruption (130)
}

// importRun checks and stores the session given with --cookie or
// --cookie-file, for machines where no browser can run.
func importRun(ctx context.Context, f *Factory) error {
	cookies, source, err := f.SessionCookies()
	if err != nil {
		return err
	}
	path, err := f.SessionPath()
	if err != nil {
		return err
	}
	return verifyAndSave(ctx, f, path, cookies, nil, source)
}

// verifyAndSave proves the session (the management page, then a LoadDownloads
// call) and stores it; a session the portal refuses is never stored.
func verifyAndSave(ctx context.Context, f *Factory, path, cookies string, expires *time.Time, source string) error {
	if err := checkSession(ctx, f, cookies); err != nil {
		var se *portal.SessionError
		if errors.As(err, &se) {
			advice := "sign in again with `activator login`"
			if passedSession(source) {
				advice = sessionAdvice(source)
			}
			return &ExitError{Code: ExitSession, Err: fmt.Errorf("the portal does not accept the session from %s (%s); nothing was saved: %s", describeSource(source), se.Reason, advice)}
		}
		return err
	}
	return saveSession(f, path, cookies, expires, source)
}

// checkSession proves that the portal accepts cookies as a session for the
// app (orgsync.CheckSession), warning when only the confirming listing
// failed. The browser sign-in calls it on each page of the portal.
func checkSession(ctx context.Context, f *Factory, cookies string) error {
	c, err := portalhttp.New(f.portalOptions(cookies))
	if err != nil {
		return UsageError(err)
	}
	warn, err := orgsync.CheckSession(ctx, c, f.newPacer(pace.DefaultRate, orgsync.DefaultConnectRetries))
	if warn != nil {
		f.Logf("Warning: the portal did not confirm the session with a listing call (%v); it is saved anyway.", warn)
	}
	return err
}

// saveSession stores a session the portal accepted and says so.
func saveSession(f *Factory, path, cookies string, expires *time.Time, source string) error {
	st := &session.Stored{Portal: f.Portal, AppID: f.App, Cookies: cookies, SavedAt: f.Now().UTC(), Expires: expires}
	if err := session.Save(path, st); err != nil {
		return err
	}
	if err := f.saveStateDefaults(); err != nil {
		f.Logf("Warning: the session is saved, but not this portal and app as the defaults of later commands (%v): pass --portal and --app to them.", err)
	}
	if f.Output == OutputJSON || f.Output == OutputCSV {
		return writeStatus(f, statusFor(f, true, source, st, ""))
	}
	f.Logf("Signed in to %s for app %s; the session is saved in %s.", f.Portal, f.App, path)
	if expires != nil {
		f.Logf("The portal's cookies expire at %s at the latest.", expires.UTC().Format("2006-01-02 15:04 MST"))
	}
	f.Logf("Later commands use this session, portal and app unless --portal/--app, ACTIVATOR_PORTAL/ACTIVATOR_APP or the config file say otherwise; a run that stopped on a lapsed session resumes when run again.")
	return nil
}

// describeSource names where a session came from, in a sentence.
func describeSource(source string) string {
	switch source {
	case sourceBrowser, sourceRenew:
		return "the " + source
	}
	return source
}

// hasProfile reports whether dir is a browser profile a renewal can start
// from: a directory with something in it.
func hasProfile(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

// profileDir is --profile, or the profile in the state directory.
func profileDir(stateDir func() (string, error), flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	dir, err := stateDir()
	if err != nil {
		return "", UsageError(err)
	}
	return filepath.Abs(filepath.Join(dir, browser.ProfileDirName))
}

// SessionStatus is `whoami --output json`: whether the session is accepted
// and for what. It never holds a cookie or a token.
type SessionStatus struct {
	SignedIn bool       `json:"signedIn"`
	Portal   string     `json:"portal"`
	App      string     `json:"app"`
	SavedAt  *time.Time `json:"savedAt"`
	Expires  *time.Time `json:"expires,omitempty"`
	Source   string     `json:"source"`
	// Reason says why the session is not accepted.
	Reason string `json:"reason,omitempty"`
}

func statusFor(f *Factory, signedIn bool, source string, st *session.Stored, reason string) SessionStatus {
	s := SessionStatus{SignedIn: signedIn, Portal: f.Portal, App: f.App, Source: source, Reason: reason}
	if st != nil && !passedSession(source) {
		saved := st.SavedAt
		s.SavedAt, s.Expires = &saved, st.Expires
	}
	return s
}

// writeStatus prints a status in --output json or csv.
func writeStatus(f *Factory, s SessionStatus) error {
	if f.Output == OutputJSON {
		return writeJSON(f.IO.Out, s)
	}
	t := newTable(f.IO.Out, true, "signedIn", "portal", "app", "savedAt", "source")
	saved := ""
	if s.SavedAt != nil {
		saved = s.SavedAt.UTC().Format(time.RFC3339)
	}
	t.add(s.SignedIn, s.Portal, s.App, saved, s.Source)
	return t.flush()
}

// NewCmdWhoami builds `whoami`.
func NewCmdWhoami(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Say whether the portal still accepts the session, and for which app",
		Long: `Checks the session later commands would use (--cookie, --cookie-file, or the one
` + "`activator login`" + ` stored) against the app's management page. Exits 0 when the portal
accepts it and 3 when it does not (or there is none). Cookie values are never shown.`,
		Example: `  activator whoami
  activator whoami --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return whoamiRun(cmd.Context(), f)
		},
	}
}

func whoamiRun(ctx context.Context, f *Factory) error {
	if _, err := f.CheckPortal(); err != nil {
		return err
	}
	cookies, source, err := f.SessionCookies()
	if err != nil {
		if errors.Is(err, portal.ErrNotSignedIn) {
			return notSignedIn(f, "", nil, err)
		}
		return err
	}
	var stored *session.Stored
	if source == sourceStored {
		if path, err := f.SessionPath(); err == nil {
			stored, _ = session.Load(path)
		}
	}
	if err := f.CheckApp(); err != nil {
		return err
	}
	c, err := portalhttp.New(f.portalOptions(cookies))
	if err != nil {
		return UsageError(err)
	}
	if _, err := f.newPacer(pace.DefaultRate, orgsync.DefaultConnectRetries).Do(ctx, func() error { return c.Check(ctx) }); err != nil {
		if errors.Is(err, portal.ErrNotSignedIn) {
			return notSignedIn(f, source, stored, err)
		}
		return err
	}
	st := statusFor(f, true, source, stored, "")
	if f.Output != OutputTable {
		return writeStatus(f, st)
	}
	line := fmt.Sprintf("Signed in to %s for app %s (%s", f.Portal, f.App, source)
	if st.SavedAt != nil {
		line += ", saved " + st.SavedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	fmt.Fprintln(f.IO.ErrOut, line+").")
	return nil
}

// notSignedIn reports a missing or refused session: the status in --output
// json or csv, and exit 3 with the reason.
func notSignedIn(f *Factory, source string, stored *session.Stored, err error) error {
	if f.Output != OutputTable {
		if source == "" {
			source = "none"
		}
		reason := strings.TrimPrefix(err.Error(), portal.ErrNotSignedIn.Error()+": ")
		if werr := writeStatus(f, statusFor(f, false, source, stored, reason)); werr != nil {
			return werr
		}
	}
	msg := err.Error()
	if !strings.Contains(msg, "activator login") {
		if passedSession(source) {
			msg += ": the session from " + source + " is not accepted: " + sessionAdvice(source)
		} else {
			msg += ": sign in again with `activator login`"
		}
	}
	return &ExitError{Code: ExitSession, Err: errors.New(msg)}
}

// LogoutOptions are `logout`'s options.
type LogoutOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Logf prints a progress line (unless --quiet).
	Logf func(format string, args ...any)
	// StateDir is the directory holding the session and the profile.
	StateDir func() (string, error)

	Profile     string
	KeepProfile bool
}

// NewCmdLogout builds `logout`.
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{StateDir: f.StateDir}
	cmd := &cobra.Command{
		Use: "logout",
		Example: `  activator logout
  activator logout --keep-profile`,
		Short: "Forget the stored session and the browser profile's sign-in",
		Long: `Deletes the session ` + "`activator login`" + ` stored, and the browser profile with the portal's
cookies in it (so ` + "`login --renew`" + ` cannot bring the session back), unless --keep-profile.
The portal itself ends the session when it lapses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.Logf = f.IO, f.Output, f.Logf
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Profile, "profile", "", "browser profile directory (default: "+browser.ProfileDirName+" in the state directory)")
	cmd.Flags().BoolVar(&opts.KeepProfile, "keep-profile", false, "keep the browser profile (and the sign-in it may hold)")
	return cmd
}

// LogoutResult is `logout --output json`.
type LogoutResult struct {
	SessionDeleted bool `json:"sessionDeleted"`
	ProfileDeleted bool `json:"profileDeleted"`
}

func logoutRun(opts *LogoutOptions) error {
	dir, err := opts.StateDir()
	if err != nil {
		return UsageError(err)
	}
	path := filepath.Join(dir, session.FileName)
	var res LogoutResult
	if _, err := os.Lstat(path); err == nil {
		res.SessionDeleted = true
	}
	if err := session.Delete(path); err != nil {
		return fmt.Errorf("delete the stored session: %w", err)
	}
	if res.SessionDeleted {
		opts.Logf("Deleted the stored session %s.", path)
	} else {
		opts.Logf("No stored session at %s.", path)
	}
	if !opts.KeepProfile {
		dir, err := profileDir(opts.StateDir, opts.Profile)
		if err != nil {
			return err
		}
		removed, err := browser.RemoveProfile(dir)
		var pe *browser.ProfileInUseError
		switch {
		case errors.As(err, &pe):
			return &ExitError{Code: ExitUnavailable, Err: err}
		case err != nil:
			return UsageError(err)
		}
		res.ProfileDeleted = removed
		if removed {
			opts.Logf("Deleted the browser profile %s.", dir)
		}
	}
	if opts.Output == OutputJSON {
		return writeJSON(opts.IO.Out, res)
	}
	return nil
}
