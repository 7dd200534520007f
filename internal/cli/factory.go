package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/activator-dev/activator/internal/keys"
	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/session"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Factory carries the global options and builds each command's
// dependencies on first use.
type Factory struct {
	IO         *IOStreams
	Getenv     func(string) string
	Now        func() time.Time
	HTTPClient *http.Client

	// Global flags, after flags > environment resolution.
	Portal     string
	App        string
	StatePath  string
	Output     string
	Cookie     string
	CookieFile string
	Quiet      bool
	Verbose    bool
	ConfigPath string

	// PortalFrom and AppFrom say where --portal and --app came from: a
	// flag, ACTIVATOR_*, the config file ("given"), the state directory's
	// defaults that login saved ("login"), the only app in the state
	// database ("database"), or nowhere ("").
	PortalFrom, AppFrom string

	// portalErr is why --portal is not a usable portal address, returned
	// by CheckPortal (commands that do not use the portal ignore it).
	portalErr error

	// origin says, for each flag set from the environment or the config
	// file, which: "ACTIVATOR_COOKIE", "config file".
	origin map[string]string
	// session is where the session this command used came from (see
	// SessionCookies), for the advice when the portal refuses it.
	session string

	ran   bool
	logMu sync.Mutex // Logf and Debugf
	renew *renewal
	store *store.Store
	app   *store.App
}

// Output formats.
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputCSV   = "csv"
)

func (f *Factory) bindGlobalFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&f.Portal, "portal", portal.DefaultBaseURL, "portal base URL (env ACTIVATOR_PORTAL)")
	pf.StringVar(&f.App, "app", "", "the app's id on the portal, the number after ?id= on its Review & Manage Downloads page (env ACTIVATOR_APP)")
	pf.StringVar(&f.StatePath, "state", "", "state database file (env ACTIVATOR_STATE; default $XDG_STATE_HOME/activator/state.db)")
	pf.StringVarP(&f.Output, "output", "o", OutputTable, "output format: table, json or csv; a format the command does not have is refused")
	pf.StringVar(&f.Cookie, "cookie", "", "session as a Cookie header value (env ACTIVATOR_COOKIE); prefer --cookie-file or activator login")
	pf.StringVar(&f.CookieFile, "cookie-file", "", "session from a file: Netscape cookies.txt or one Cookie header line (env ACTIVATOR_COOKIE_FILE)")
	pf.BoolVarP(&f.Quiet, "quiet", "q", false, "print only errors and the final summary")
	pf.BoolVarP(&f.Verbose, "verbose", "v", false, "print every portal call")
	pf.StringVar(&f.ConfigPath, "config", "", "config file (env ACTIVATOR_CONFIG; default $XDG_CONFIG_HOME/activator/config.toml)")
}

// resolve fills unset flags from the environment and the config file, and
// checks the global ones.
func (f *Factory) resolve(cmd *cobra.Command) error {
	if err := f.applyConfig(cmd); err != nil {
		return err
	}
	f.normalizePortal()
	f.applyStateDefaults(cmd)
	switch f.Output {
	case OutputTable, OutputJSON, OutputCSV:
	default:
		return UsageErrorf("--output %q is not one of table, json, csv", f.Output)
	}
	if err := checkOutputFormat(cmd, f.Output); err != nil {
		return err
	}
	if f.Quiet && f.Verbose {
		return UsageErrorf("--quiet and --verbose cannot be used together")
	}
	return nil
}

// Where a setting came from (Factory.PortalFrom, Factory.AppFrom).
const (
	fromGiven    = "given"
	fromLogin    = "login"
	fromDatabase = "database"
)

// applyStateDefaults takes --portal and --app from the state directory when
// neither a flag, the environment nor the config file gave them: the
// defaults the last `activator login` saved there, else (a session stored
// before defaults were kept) the stored session's. The app is taken only
// for the portal it belongs to.
func (f *Factory) applyStateDefaults(cmd *cobra.Command) {
	changed := func(name string) bool {
		fl := cmd.Flags().Lookup(name)
		return fl != nil && fl.Changed
	}
	if changed("portal") {
		f.PortalFrom = fromGiven
	}
	if changed("app") && f.App != "" {
		f.AppFrom = fromGiven
	}
	if f.PortalFrom != "" && f.AppFrom != "" {
		return
	}
	dir, err := f.StateDir()
	if err != nil {
		return
	}
	d, err := session.LoadDefaults(dir)
	if err != nil {
		f.Logf("Warning: %v", err)
	}
	if d.Portal == "" {
		if st, err := session.Load(filepath.Join(dir, session.FileName)); err == nil {
			d = session.Defaults{Portal: st.Portal, App: st.AppID}
		}
	}
	if d.Portal == "" {
		return
	}
	if n, err := portal.NormalizeBaseURL(d.Portal); err == nil {
		d.Portal = n
	}
	if f.PortalFrom == "" {
		f.Portal, f.PortalFrom = d.Portal, fromLogin
	}
	if f.AppFrom == "" && d.App != "" && f.Portal == d.Portal {
		f.App, f.AppFrom = d.App, fromLogin
	}
}

// saveStateDefaults remembers --portal and --app as the state directory's
// defaults: every way of signing in calls it once the session is saved.
func (f *Factory) saveStateDefaults() error {
	dir, err := f.StateDir()
	if err != nil {
		return err
	}
	return session.SaveDefaults(dir, session.Defaults{Portal: f.Portal, App: f.App, SavedAt: f.Now().UTC()})
}

// normalizePortal puts --portal in its one stored form (see
// portal.NormalizeBaseURL). An address that cannot be used is kept for
// CheckPortal to refuse, with any password in it replaced by xxxxx so that
// nothing prints or stores it.
func (f *Factory) normalizePortal() {
	f.portalErr = nil
	n, err := portal.NormalizeBaseURL(f.Portal)
	if err != nil {
		f.portalErr = err
		if u, perr := url.Parse(strings.TrimSpace(f.Portal)); perr == nil && u.User != nil {
			f.Portal = u.Redacted()
		}
		return
	}
	f.Portal = n
}

// CheckPortal validates --portal.
func (f *Factory) CheckPortal() (*url.URL, error) {
	if f.portalErr != nil {
		return nil, UsageErrorf("--portal is refused: %v", f.portalErr)
	}
	u, err := url.Parse(f.Portal)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, UsageErrorf("--portal %q is not an http(s) URL: use the portal's address, e.g. %s", f.Portal, portal.DefaultBaseURL)
	}
	return u, nil
}

// CheckApp validates --app.
func (f *Factory) CheckApp() error {
	if f.App == "" {
		return UsageErrorf("no app id: pass --app (the number after ?id= on the app's Review & Manage Downloads page) once, with `activator login --app ID`, and later commands use it")
	}
	for _, r := range f.App {
		if r < '0' || r > '9' {
			return UsageErrorf("--app %q is not a number: pass the number after ?id= on the app's Review & Manage Downloads page", f.App)
		}
	}
	return nil
}

// StateDir is the directory holding the database, session and profile: the
// database's directory when --state is given.
func (f *Factory) StateDir() (string, error) {
	if f.StatePath != "" {
		return filepath.Dir(f.StatePath), nil
	}
	return store.StateDir()
}

// SessionPath is where `activator login` stores the session.
func (f *Factory) SessionPath() (string, error) {
	dir, err := f.StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, session.FileName), nil
}

// storePath is the state database's path: --state, or the default.
func (f *Factory) storePath() (string, error) {
	if f.StatePath != "" {
		return f.StatePath, nil
	}
	p, err := store.DefaultPath()
	if err != nil {
		return "", UsageError(err)
	}
	return p, nil
}

// statePath is storePath for messages: "state.db" when there is no
// default.
func (f *Factory) statePath() string {
	p, err := f.storePath()
	if err != nil {
		return "state.db"
	}
	return p
}

// Store opens the state database once.
func (f *Factory) Store(ctx context.Context) (*store.Store, error) {
	if f.store != nil {
		return f.store, nil
	}
	path, err := f.storePath()
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	f.store = s
	return s, nil
}

// AppRow is the state database's row for --portal and --app.
func (f *Factory) AppRow(ctx context.Context) (store.App, error) {
	if f.app != nil {
		return *f.app, nil
	}
	if _, err := f.CheckPortal(); err != nil {
		return store.App{}, err
	}
	if err := f.CheckApp(); err != nil {
		return store.App{}, err
	}
	s, err := f.Store(ctx)
	if err != nil {
		return store.App{}, err
	}
	if err := f.normalizeStoredPortal(ctx, s); err != nil {
		return store.App{}, err
	}
	a, err := s.App(ctx, f.Portal, f.App)
	if err != nil {
		return a, err
	}
	f.app = &a
	return a, nil
}

// sameApp finds the database's row for --portal and --app, also when an
// older activator stored the portal in another form (upper-case host,
// :443, a query); found is false when there is none.
func (f *Factory) sameApp(ctx context.Context, s *store.Store) (a store.App, found bool, err error) {
	if a, found, err = s.LookupApp(ctx, f.Portal, f.App); found || err != nil {
		return a, found, err
	}
	apps, err := s.Apps(ctx)
	if err != nil {
		return a, false, err
	}
	for _, o := range apps {
		if n, nerr := portal.NormalizeBaseURL(o.Portal); nerr == nil && n == f.Portal && o.AppID == f.App {
			return o, true, nil
		}
	}
	return a, false, nil
}

// normalizeStoredPortal rewrites an app row an older activator stored with
// the portal in another form to the normal form, so its history stays
// the app's (a command that writes does it; reading ones only match it).
func (f *Factory) normalizeStoredPortal(ctx context.Context, s *store.Store) error {
	a, found, err := f.sameApp(ctx, s)
	if err != nil || !found || a.Portal == f.Portal {
		return err
	}
	return s.SetAppPortal(ctx, a.ID, f.Portal)
}

// AppStore opens the state database and returns it with the row for
// --portal and --app: what every command reading the state starts with.
func (f *Factory) AppStore(ctx context.Context) (*store.Store, store.App, error) {
	app, err := f.AppRow(ctx)
	if err != nil {
		return nil, app, err
	}
	s, err := f.Store(ctx)
	return s, app, err
}

// ReadAppStore is AppStore for commands that only read the state (status,
// runs, orgs list/show, report): it never writes. A missing database is
// read as an empty one and not created; an app the database does not hold
// is returned with ID 0 (it has no rows) rather than inserted. Without
// --app, the database's only app on --portal (or on any portal when none
// was named) is used; with several, the error names them.
func (f *Factory) ReadAppStore(ctx context.Context) (*store.Store, store.App, error) {
	if _, err := f.CheckPortal(); err != nil {
		return nil, store.App{}, err
	}
	if f.store == nil {
		path, err := f.storePath()
		if err != nil {
			return nil, store.App{}, err
		}
		s, err := store.OpenRead(ctx, path)
		if err != nil {
			return nil, store.App{}, err
		}
		f.store = s
	}
	s := f.store
	if f.App == "" {
		apps, err := s.Apps(ctx)
		if err != nil {
			return nil, store.App{}, err
		}
		var on []store.App
		for _, a := range apps {
			if n, err := portal.NormalizeBaseURL(a.Portal); err == nil {
				a.Portal = n
			}
			if f.PortalFrom == "" || a.Portal == f.Portal {
				on = append(on, a)
			}
		}
		switch len(on) {
		case 0:
			if len(apps) > 0 && f.PortalFrom != "" {
				// --portal named one the database holds nothing for.
				return nil, store.App{}, UsageErrorf("the state database holds no app on %s; it holds %s (%s)", f.Portal, describeApps(apps), appAdvice(apps, f.Portal))
			}
			return nil, store.App{}, f.CheckApp()
		case 1:
			f.Portal, f.App, f.PortalFrom, f.AppFrom = on[0].Portal, on[0].AppID, fromDatabase, fromDatabase
			return s, on[0], nil
		default:
			return nil, store.App{}, UsageErrorf("no app id, and the state database holds %s: pass --portal and --app", describeApps(on))
		}
	}
	if err := f.CheckApp(); err != nil {
		return nil, store.App{}, err
	}
	a, _, err := f.sameApp(ctx, s)
	return s, a, err
}

// ReadHeldAppStore is ReadAppStore for the commands that show the app's
// history (status, runs, orgs list/show, report): an app the database
// holds no record of while it holds others is refused, naming them,
// rather than shown as an empty history, since the app or portal is most
// likely mistyped.
func (f *Factory) ReadHeldAppStore(ctx context.Context) (*store.Store, store.App, error) {
	s, app, err := f.ReadAppStore(ctx)
	if err != nil || app.ID != 0 {
		return s, app, err
	}
	apps, err := s.Apps(ctx)
	if err != nil || len(apps) == 0 {
		return s, app, nil
	}
	return nil, app, UsageErrorf("the state database holds no record of app %s on %s; it holds %s (%s)", app.AppID, app.Portal, describeApps(apps), appAdvice(apps, app.Portal))
}

// describeApps names apps in a sentence: "app 1 on https://a and app 2 on https://b".
func describeApps(apps []store.App) string {
	parts := make([]string, len(apps))
	for i, a := range apps {
		parts[i] = "app " + a.AppID + " on " + a.Portal
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// appAdvice is the flags that name the app the database holds, when it
// holds one: only --app when it is on portal.
func appAdvice(apps []store.App, portalURL string) string {
	if len(apps) != 1 {
		return "pass --portal and --app"
	}
	a := apps[0]
	held, err := portal.NormalizeBaseURL(a.Portal)
	if err != nil {
		held = a.Portal
	}
	if held == portalURL {
		return "pass --app " + a.AppID
	}
	return "pass --portal " + held + " --app " + a.AppID
}

// SessionCookies returns the session to use and where it came from:
// --cookie, ACTIVATOR_COOKIE, --cookie-file, or the stored session.
func (f *Factory) SessionCookies() (cookies, source string, err error) {
	u, err := f.CheckPortal()
	if err != nil {
		return "", "", err
	}
	if f.Cookie != "" {
		f.session = f.flagSource("cookie")
		return f.Cookie, f.session, nil
	}
	if f.CookieFile != "" {
		c, err := session.ReadCookieFile(f.CookieFile, u.Host)
		if err != nil {
			return "", "", UsageError(err)
		}
		f.session = f.flagSource("cookie-file")
		return c, f.session, nil
	}
	path, err := f.SessionPath()
	if err != nil {
		return "", "", err
	}
	st, err := session.LoadFor(path, f.Portal)
	var other *session.PortalMismatchError
	switch {
	case errors.Is(err, session.ErrNoSession):
		return "", "", &portal.SessionError{Reason: "no session: run `activator login`, or pass --cookie-file"}
	case errors.As(err, &other):
		return "", "", &portal.SessionError{Reason: fmt.Sprintf("%v: run `activator login --portal %s`", other, f.Portal)}
	case err != nil:
		return "", "", err
	}
	f.session = sourceStored
	return st.Cookies, sourceStored, nil
}

// flagSource names where a flag's value came from: "--NAME", its
// environment variable, or the config file.
func (f *Factory) flagSource(name string) string {
	if o := f.origin[name]; o != "" {
		return o
	}
	return "--" + name
}

// passedSession reports whether a session source is one given to this
// command (--cookie, --cookie-file or their environment variables) rather
// than the one `activator login` stored.
func passedSession(source string) bool {
	return source != "" && source != sourceStored && source != sourceBrowser && source != sourceRenew && source != "none"
}

// sessionAdvice is what to do when the portal refuses the session from
// source.
func sessionAdvice(source string) string {
	switch {
	case strings.Contains(source, "cookie-file") || strings.Contains(source, "COOKIE_FILE"):
		return fmt.Sprintf("export the cookies again from a browser signed in to the portal into the file %s names, or sign in with `activator login` (then drop %s)", source, source)
	case passedSession(source):
		return fmt.Sprintf("copy a fresh Cookie header from a browser signed in to the portal into %s, or sign in with `activator login` (then drop %s)", source, source)
	}
	return "sign in again with `activator login`, or pass a fresh --cookie-file"
}

// sourceStored is SessionCookies' source for the session `activator login` stored.
const sourceStored = "stored session"

// PortalClient returns a client for --portal and --app with the session,
// not yet connected.
func (f *Factory) PortalClient() (*portalhttp.Client, error) {
	if _, err := f.CheckPortal(); err != nil {
		return nil, err
	}
	if err := f.CheckApp(); err != nil {
		return nil, err
	}
	cookies, source, err := f.SessionCookies()
	if err != nil {
		return nil, err
	}
	c, err := portalhttp.New(f.portalOptions(cookies))
	if err != nil {
		return nil, UsageError(err)
	}
	if source == sourceStored {
		f.renew = &renewal{client: c, cookies: cookies}
	}
	return c, nil
}

// renewal remembers the stored session a client started from, so that
// cookies the portal renewed during the command (sliding expiration) are
// stored for the next one.
type renewal struct {
	client  *portalhttp.Client
	cookies string
}

// saveRenewedSession stores the client's cookies when the portal changed
// them. Best effort: the old session is still there if this fails.
func (f *Factory) saveRenewedSession() {
	if f.renew == nil {
		return
	}
	now := f.renew.client.Cookies()
	if now == "" || now == f.renew.cookies {
		return
	}
	path, err := f.SessionPath()
	if err != nil {
		return
	}
	if session.Renew(path, now, f.Now()) == nil {
		f.renew.cookies = now
	}
}

// Close releases what the Factory opened.
func (f *Factory) Close() {
	f.saveRenewedSession()
	if f.store != nil {
		f.store.Close()
		f.store = nil
	}
}

// portalOptions are the portal client's options for this invocation; with
// --verbose every request is printed (method, path, status, time: never a
// cookie, a token or a form value).
func (f *Factory) portalOptions(cookies string) portalhttp.Options {
	o := portalhttp.Options{BaseURL: f.Portal, AppID: f.App, Cookies: cookies, HTTPClient: f.HTTPClient, UserAgent: "activator/" + Version}
	if f.Verbose {
		o.Trace = func(method, path string, status int, took time.Duration) {
			answer := "no answer"
			if status != 0 {
				answer = strconv.Itoa(status)
			}
			f.Debugf("portal: %s %s -> %s (%s)", method, path, answer, took.Round(time.Millisecond))
		}
	}
	return o
}

// newPacer is pace.New, saying so when the portal asks for a pause.
func (f *Factory) newPacer(rate float64, retries int) *pace.Pacer {
	return f.newPacerFrom(rate, rate, retries)
}

// newPacerFrom is newPacer starting at start (at most rate).
func (f *Factory) newPacerFrom(rate, start float64, retries int) *pace.Pacer {
	p := pace.NewFrom(rate, start, retries)
	p.OnCut(func(from, to float64) {
		f.Logf("The portal answered 429: pace lowered from %s to %s calls a second.", rateString(from), rateString(to))
	})
	p.OnHold(func(d time.Duration) {
		f.Logf("The portal answered 429: waiting %s as its Retry-After asks (at most %s).", d.Round(time.Second), pace.DefaultMaxHold)
	})
	return p
}

// Logf prints a progress line to stderr unless --quiet. Workers log at the
// same time, so lines are written whole, one at a time.
func (f *Factory) Logf(format string, args ...any) {
	if f.Quiet {
		return
	}
	f.logMu.Lock()
	defer f.logMu.Unlock()
	fmt.Fprintf(f.IO.ErrOut, format+"\n", printableArgs(args)...)
}

// printableArgs makes every text argument printable on a terminal: log
// lines carry names, messages and errors from the portal.
func printableArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = printable(v)
		case error:
			out[i] = printable(v.Error())
		case fmt.Stringer:
			out[i] = printable(v.String())
		default:
			out[i] = a
		}
	}
	return out
}

// Debugf prints a line to stderr with --verbose.
func (f *Factory) Debugf(format string, args ...any) {
	if f.Verbose {
		f.logMu.Lock()
		defer f.logMu.Unlock()
		fmt.Fprintf(f.IO.ErrOut, format+"\n", printableArgs(args)...)
	}
}

func isTerminal(fh *os.File) bool { return term.IsTerminal(int(fh.Fd())) }

// classify maps an error to its exit code and the one line Main prints.
func classify(err error) (int, string) {
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err == nil {
			return ee.Code, ""
		}
		// A typed cause inside decides the message hint but not the code.
		return ee.Code, ee.Err.Error()
	}
	if errors.Is(err, ErrInterrupted) || errors.Is(err, context.Canceled) {
		return ExitInterrupted, "interrupted"
	}
	if errors.Is(err, portal.ErrNotSignedIn) {
		msg := err.Error()
		if !strings.Contains(msg, "activator login") {
			msg += ": " + sessionAdvice("")
		}
		return ExitSession, msg
	}
	var (
		appNF *portal.AppNotFoundError
		pe    *portal.PortalError
		ne    *portal.NetworkError
		se    *portal.ServerError
		rl    *portal.RateLimitError
		me    *portal.MalformedError
		le    *store.LockError
		ki    *keys.InputError
	)
	switch {
	case errors.As(err, &appNF), errors.As(err, &ki):
		return ExitUsage, err.Error()
	case errors.Is(err, store.ErrNotDatabase), errors.Is(err, store.ErrNewerSchema), errors.Is(err, store.ErrStateAccess),
		errors.Is(err, store.ErrCorrupt):
		return ExitUsage, err.Error()
	case errors.Is(err, store.ErrDiskFull):
		return ExitUnavailable, err.Error()
	case errors.As(err, &le), errors.As(err, new(*orgsync.EmptyListingError)):
		return ExitUnavailable, err.Error()
	case errors.As(err, &ne), errors.As(err, &se), errors.As(err, &rl):
		return ExitUnavailable, err.Error() + " (try again later; check --portal)"
	case errors.As(err, &me), errors.As(err, &pe), errors.As(err, new(*portal.ShapeError)):
		return ExitUnavailable, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return ExitUnavailable, err.Error()
	}
	return ExitFailures, err.Error()
}
