package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	stored "github.com/activator-dev/activator/internal/session"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// DefaultAddr is where portalsim listens unless told otherwise: loopback
// only, since the simulator hands out sessions to anyone who asks.
const DefaultAddr = "127.0.0.1:8089"

// DefaultShutdownTimeout is how long portalsim waits for requests in
// flight when asked to stop.
const DefaultShutdownTimeout = 5 * time.Second

// DefaultReadHeaderTimeout protects the demo server from clients that
// never finish their headers.
const DefaultReadHeaderTimeout = 10 * time.Second

// Exit codes of Main.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Main runs the portalsim command with its arguments (without the program
// name) and returns the process exit code: 0 after a clean shutdown on
// SIGINT or SIGTERM, 1 when the server cannot run, 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, stdout, stderr)
}

// options are portalsim's parsed flags.
type options struct {
	cfg         Config
	tokens      TokenConfig
	addr        string
	signInAddr  string
	landing     string
	sessionFile string
	propagation string
}

// usageText is the top of `portalsim --help`: everything a person needs to
// use the simulator without reading its source. The flags follow it.
const usageText = `usage: portalsim [flags]

Runs a simulated vendor management portal (the Epic on FHIR developer site) on
loopback, for demos of activator and for trying it without the real portal. It
holds --orgs generated organizations for app --app, and forgets everything when
it stops.

Start it and point activator at it:

  portalsim --session-file /tmp/sim-session.txt &      # prints: listening on http://127.0.0.1:8089
  activator login --portal http://127.0.0.1:8089 --app 50741 --cookie-file /tmp/sim-session.txt
  activator orgs sync
  activator activate --jwks testdata/keys/rsa-a.jwks.json --dry-run

Signing in: the sign-in form at /Account/Login accepts --username and --password
(default "developer" / "correct horse"; with --second-factor CODE a second page asks
for CODE). ` + "`activator login --portal URL --app 50741`" + ` in a browser window, or
--headless with ACTIVATOR_USERNAME and ACTIVATOR_PASSWORD, signs in there;
--session-file writes a ready session (a Cookie header value, mode 0600) for
--cookie-file, and POST /_sim/session answers a new one. --landing home ends a
sign-in on the portal's home page (/Developer/Apps), --landing notice on a notice
page whose Continue button begins the session; --signin-addr localhost:8090 moves
the sign-in form to a second origin, as single sign-on through another host does.

A changed portal, for activator doctor: --rename-field OrgName=Name, --declined 10
(organizations with the unknown status 2), --id-without-app, --token-in-meta,
--page-size-max 25.

Changing the portal while it runs (JSON over HTTP; the real portal has none of these):

  curl -s -X POST $URL/_sim/orgs -d '{"OrgID":"90001","Name":"New Clinic"}'             # an organization arrives
  curl -s -X POST $URL/_sim/orgs -d '{"OrgID":"90002","Name":"Early","Approved":1}'      # arrives already enabled
  curl -s -X POST $URL/_sim/orgs -d '{"OrgID":"90003","Name":"Refuses","Straggler":true}' # always refuses
  curl -s -X POST $URL/_sim/rename -d '{"OrgID":"90001","Name":"New Clinic Health"}'     # renamed, same OrgID
  curl -s -X POST $URL/_sim/approved -d '{"OrgID":"90001","Approved":2}'                 # an unknown status
  curl -s -X POST $URL/_sim/remove -d '{"OrgID":"90001"}'                                # no longer listed
  curl -s -X POST $URL/_sim/faults -d '{"Latency":"300ms","RateLimit":2,"ErrorRate":0.05}'    # break the portal
  curl -s -X POST $URL/_sim/faults -d '{"SessionRequests":10}'                         # sessions lapse
  curl -s -X POST $URL/_sim/expire                                                     # every session lapses now
  curl -s $URL/_sim/orgs; curl -s $URL/_sim/stragglers; curl -s $URL/_sim/calls        # look

Token endpoints (SMART Backend Services) of each organization:

  POST $URL/fhir/{OrgID}/nonprod/oauth2/token   client id ` + DefaultNonProdClientID + `
  POST $URL/fhir/{OrgID}/oauth2/token           client id ` + DefaultProdClientID + `

They accept assertions signed with the keys the organization holds once the key
change has propagated: --propagation (default 60m for non-production, 12h for
production, as on the real portal; 0 for at once), or at run time
  curl -s -X POST $URL/_sim/propagation -d '{"nonProd":"0s","prod":"0s"}'
e.g. activator token --token-url $URL/fhir/{OrgID}/oauth2/token --client-id ` + DefaultProdClientID + ` --key KEY.pem
The public Brands bundle is at $URL` + BrandsPath + ` (activator brands --bundle $URL` + BrandsPath + `).

Authorization servers (SMART standalone launch, what activator probe asks):

  GET $URL/fhir/{OrgID}/oauth2/authorize   the production client id above is known once production
                                           is enabled and --propagation has passed; redirect URI ` + DefaultRedirectURI + `
  curl -s -X POST $URL/_sim/authorize -d '{"OrgID":"90002","Variant":"late","Delay":"1h"}'
    Variant: late (checks clients only after sign-in), failing (500), slow (no answer), identity
    (hands every client to a shared identity host), never (never knows the app), "" (normal);
    Delay: that organization's propagation

Flags:
`

// parseArgs reads portalsim's flags into options.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("portalsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", DefaultAddr, "`host:port` to listen on (port 0 picks a free one)")
	fs.IntVar(&o.cfg.Orgs, "orgs", DefaultOrgs, "number of generated organizations")
	fs.StringVar(&o.cfg.AppID, "app", DefaultAppID, "the simulated app's `id`")
	fs.StringVar(&o.cfg.AppName, "app-name", DefaultAppName, "the simulated app's name")
	fs.Int64Var(&o.cfg.Seed, "seed", 1, "seed of the generated data and faults")
	fs.StringVar(&o.cfg.Username, "username", DefaultUsername, "user name the sign-in form accepts")
	fs.StringVar(&o.cfg.Password, "password", DefaultPassword, "password the sign-in form accepts")
	fs.StringVar(&o.cfg.SecondFactor, "second-factor", "", "one-time `code` a second sign-in page asks for (none when empty)")
	fs.DurationVar(&o.cfg.Latency, "latency", 0, "delay added to every portal request")
	fs.DurationVar(&o.cfg.Jitter, "jitter", 0, "vary --latency per request uniformly within ±this, before the rate limit counts it")
	fs.Float64Var(&o.cfg.RateLimit, "rate-limit", 0, "JSON requests per second allowed (0 = unlimited)")
	fs.IntVar(&o.cfg.RateBurst, "rate-burst", 0, "burst of the rate limit (0 = 1)")
	fs.Float64Var(&o.cfg.ErrorRate, "error-rate", 0, "probability (0..1) of a random 5xx on a JSON request")
	fs.IntVar(&o.cfg.SessionRequests, "session-requests", 0, "JSON requests after which a session lapses (0 = never)")
	fs.BoolVar(&o.cfg.LapseAsHTML, "lapse-as-html", false, "answer a lapsed session with the sign-in page instead of a redirect")
	fs.BoolVar(&o.cfg.RequireAntiForgeryCookie, "require-antiforgery-cookie", false, "also require the anti-forgery cookie on JSON requests")
	fs.IntVar(&o.cfg.PageSizeMax, "page-size-max", 0, "largest PageSize honoured (0 = no cap)")
	fs.BoolVar(&o.tokens.Compliant, "compliant-tokens", false, "token endpoints answer as a SMART reference server does (error_description says why; scope, typ JWT and kid required) instead of Epic's bare invalid_client")
	fs.StringVar(&o.landing, "landing", "return", "where a sign-in lands: return (the page that asked for it), home ("+HomePath+"), or notice (a page with a Continue button first)")
	fs.StringVar(&o.signInAddr, "signin-addr", "", "serve the sign-in on a second origin at `host:port` (an identity provider; use another host name than --addr, e.g. localhost:8090)")
	fs.Func("rename-field", "rename a LoadDownloads member, `OLD=NEW` (repeatable), as a portal update might", func(v string) error {
		from, to, ok := strings.Cut(v, "=")
		if !ok || from == "" || to == "" {
			return fmt.Errorf("want OLD=NEW, e.g. OrgName=Name")
		}
		if o.cfg.RenameFields == nil {
			o.cfg.RenameFields = map[string]string{}
		}
		o.cfg.RenameFields[from] = to
		return nil
	})
	fs.IntVar(&o.cfg.Declined, "declined", 0, "organizations with the unknown Approved value 2 (0 = a couple, -1 = none)")
	fs.BoolVar(&o.cfg.IDWithoutApp, "id-without-app", false, "send each download's Id as the OrgId alone, without _AppId")
	fs.BoolVar(&o.cfg.TokenInMeta, "token-in-meta", false, "put the management page's anti-forgery token in a <meta> tag instead of the hidden input")
	fs.StringVar(&o.sessionFile, "session-file", "", "write a ready Cookie header value for a new session to this `file` (mode 0600)")
	fs.StringVar(&o.propagation, "propagation", "60m,12h", "how long a key change takes to reach the organizations' token endpoints: `NONPROD,PROD` or one duration for both; 0 for at once")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; portalsim takes flags only", fs.Arg(0))
	}
	if o.cfg.Orgs < 0 {
		return o, fmt.Errorf("--orgs %d is negative; use 0 or more", o.cfg.Orgs)
	}
	if o.cfg.Orgs == 0 {
		o.cfg.Orgs = -1 // an empty portal, not the default size
	}
	if _, err := parseOrgID(o.cfg.AppID); err != nil {
		return o, fmt.Errorf("--app %q is not a positive whole number; use the app's numeric id", o.cfg.AppID)
	}
	f := Faults{Latency: o.cfg.Latency, Jitter: o.cfg.Jitter, RateLimit: o.cfg.RateLimit, RateBurst: o.cfg.RateBurst,
		ErrorRate: o.cfg.ErrorRate, SessionRequests: o.cfg.SessionRequests}
	if err := f.Validate(); err != nil {
		return o, err
	}
	landing, ok := ParseLanding(o.landing)
	if !ok {
		return o, fmt.Errorf("--landing %q is not one of %s", o.landing, strings.Join(Landings, ", "))
	}
	o.cfg.Landing = landing
	if o.cfg.PageSizeMax < 0 {
		return o, fmt.Errorf("--page-size-max %d is negative; use 0 for no cap", o.cfg.PageSizeMax)
	}
	np, p, err := parsePropagation(o.propagation)
	if err != nil {
		return o, err
	}
	o.tokens.NonProdSync, o.tokens.ProdSync = np, p
	return o, nil
}

// parsePropagation reads --propagation: "NONPROD,PROD" or one duration for
// both.
func parsePropagation(v string) (nonProd, prod time.Duration, err error) {
	a, b, two := strings.Cut(v, ",")
	if !two {
		b = a
	}
	for _, f := range []struct {
		s   string
		dst *time.Duration
	}{{a, &nonProd}, {b, &prod}} {
		s := strings.TrimSpace(f.s)
		if s == "0" {
			s = "0s"
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, 0, fmt.Errorf("--propagation %q: give NONPROD,PROD or one duration of 0 or more, e.g. 60m,12h or 0", v)
		}
		*f.dst = d
	}
	return nonProd, prod, nil
}

// listenerHost is the host:port a browser should use for a listener opened
// at addr: the host name as given (so localhost stays a separate cookie
// host from 127.0.0.1) with the port actually bound.
func listenerHost(addr string, ln net.Listener) string {
	host, _, err := net.SplitHostPort(addr)
	_, port, perr := net.SplitHostPort(ln.Addr().String())
	if err != nil || perr != nil || host == "" {
		return ln.Addr().String()
	}
	return net.JoinHostPort(host, port)
}

// run is Main with the stop signal given as ctx.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "portalsim: %v\n", err)
		return exitUsage
	}
	var idpLn net.Listener
	if o.signInAddr != "" {
		idpLn, err = net.Listen("tcp", o.signInAddr)
		if err != nil {
			fmt.Fprintf(stderr, "portalsim: listen on %s: %v; choose another --signin-addr\n", o.signInAddr, err)
			return exitError
		}
		defer idpLn.Close()
		o.cfg.SignInOrigin = "http://" + listenerHost(o.signInAddr, idpLn)
	}
	s := New(o.cfg)
	s.ServeBrands(BrandsConfig{})
	tokens := s.ServeTokens(o.tokens)
	tokens.SetPropagation(o.tokens.NonProdSync, o.tokens.ProdSync) // 0 means at once here, not the default
	s.ServeAuthorize(AuthorizeConfig{Delay: o.tokens.ProdSync, Instant: o.tokens.ProdSync == 0})
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "portalsim: listen on %s: %v; choose another --addr\n", o.addr, err)
		return exitError
	}
	if idpLn != nil {
		idp := &http.Server{Handler: s.IdentityProvider(), ReadHeaderTimeout: DefaultReadHeaderTimeout}
		go func() { _ = idp.Serve(idpLn) }()
		defer idp.Close()
		fmt.Fprintf(stdout, "portalsim: sign-in on %s\n", o.cfg.SignInOrigin)
	}
	if o.sessionFile != "" {
		if err := stored.WriteSecret(o.sessionFile, []byte(s.NewSession()+"\n")); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "portalsim: write session file: %v\n", err)
			return exitError
		}
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: DefaultReadHeaderTimeout}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "portalsim: listening on http://%s\n", ln.Addr())

	select {
	case err := <-done:
		fmt.Fprintf(stderr, "portalsim: serve: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "portalsim: shut down: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stderr, "portalsim: stopped")
	return exitOK
}
