package sim

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultAppID is the app whose downloads the simulator serves when
// Config.AppID is empty: the numeric id the portal's own examples use.
const DefaultAppID = "50741"

// DefaultAppName is the app name shown on the management page when
// Config.AppName is empty.
const DefaultAppName = "Sample Patient Access App"

// DefaultOrgs is the number of generated organizations when Config.Orgs is
// zero: about what a USCDI v3 app receives through auto-sync.
const DefaultOrgs = 500

// DefaultUsername and DefaultPassword are the developer credentials the
// sign-in form accepts when Config leaves them empty.
const (
	DefaultUsername = "developer"
	DefaultPassword = "correct horse"
)

// DefaultPageSize is the page length of LoadDownloads when the request has
// no usable PageSize parameter, as observed on the portal.
const DefaultPageSize = 20

// DefaultMaxFormBytes bounds a request body. A JWKS of a few RSA keys is a
// few kilobytes; one megabyte leaves room for any honest request while
// keeping a runaway client from exhausting memory.
const DefaultMaxFormBytes = 1 << 20

// Config describes one simulated portal. The zero value is usable: every
// empty field takes the Default... value named in its comment.
type Config struct {
	// AppID is the only app the simulated developer account owns
	// (DefaultAppID when empty).
	AppID string
	// AppName is shown on the management page (DefaultAppName when empty).
	AppName string
	// Orgs is the number of generated organizations (DefaultOrgs when zero,
	// none when negative).
	Orgs int
	// Seed makes the generated data and the injected faults reproducible.
	Seed int64
	// Username and Password are what the sign-in form accepts
	// (DefaultUsername / DefaultPassword when empty).
	Username, Password string
	// SecondFactor, when non-empty, is the one-time code a second sign-in
	// page asks for after a correct password.
	SecondFactor string
	// Latency is added to every portal request (not to /_sim/ routes or
	// extension routes). Requests sleep concurrently, never in turn.
	Latency time.Duration
	// Jitter varies Latency per request uniformly within ±Jitter, before
	// the rate limit counts it.
	Jitter time.Duration
	// RateLimit is the server-side limit, in requests per second, on the
	// JSON calls; 0 means unlimited. Excess requests answer 429 with a
	// Retry-After header in whole seconds.
	RateLimit float64
	// RateBurst is the limiter's burst (1 when RateLimit is set and this is
	// not positive).
	RateBurst int
	// ErrorRate is the probability that a JSON call answers a random 5xx
	// (500, 502 or 503), drawn from a source seeded by Seed.
	ErrorRate float64
	// SessionRequests makes a session lapse after this many JSON requests
	// (0 means never).
	SessionRequests int
	// LapseAsHTML makes a JSON call without a valid session answer
	// 200 text/html with the sign-in page instead of a 302 redirect to it:
	// both have been seen on the portal.
	LapseAsHTML bool
	// RequireAntiForgeryCookie makes the JSON calls also demand the
	// __RequestVerificationToken cookie that the management page sets, as
	// ASP.NET MVC's anti-forgery check does. Off by default because the
	// portal's notes do not record such a cookie; turn it on to prove a
	// client keeps every cookie the portal sets.
	RequireAntiForgeryCookie bool
	// PageSizeDefault is the LoadDownloads page length when PageSize is
	// absent (DefaultPageSize when zero).
	PageSizeDefault int
	// Landing is where a successful sign-in lands: LandingReturn (the
	// page that asked for it), LandingHome or LandingNotice.
	Landing string
	// SignInOrigin, when set, is the base URL (scheme://host:port) where
	// Sim.IdentityProvider is served: the portal's sign-in redirects there,
	// as single sign-on through another host does.
	SignInOrigin string
	// RenameFields renames members of every LoadDownloads download (old
	// name -> new name), as a portal update might: {"OrgName": "Name"}.
	RenameFields map[string]string
	// Declined is how many generated organizations carry the Approved
	// value 2, which the notes do not explain (DefaultDeclinedCount, scaled
	// down for small portals, when zero; none when negative).
	Declined int
	// IDWithoutApp makes each download's Id the OrgId alone ("16770"
	// instead of "16770_50741"), as a portal that changed its Ids might.
	IDWithoutApp bool
	// TokenInMeta moves the management page's anti-forgery token from its
	// hidden input to a <meta name="__RequestVerificationToken"> tag.
	TokenInMeta bool
	// PageSizeMax, when positive, caps the PageSize a LoadDownloads request
	// may ask for, the way many servers silently do. 0 means no cap.
	PageSizeMax int
	// Now is the simulator's clock (time.Now when nil); tests set it to make
	// success messages and recorded times predictable.
	Now func() time.Time
}

// withDefaults fills every empty field with its default so the rest of the
// simulator never has to.
func (c Config) withDefaults() Config {
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.AppName == "" {
		c.AppName = DefaultAppName
	}
	if c.Orgs == 0 {
		c.Orgs = DefaultOrgs
	}
	if c.Orgs < 0 {
		c.Orgs = 0
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.PageSizeDefault <= 0 {
		c.PageSizeDefault = DefaultPageSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Sim is a simulated vendor management portal. It is an http.Handler meant
// to run inside httptest.Server in tests or behind cmd/portalsim for demos.
// Every method is safe for concurrent use.
type Sim struct {
	cfg Config
	mux *http.ServeMux

	// mu guards the organizations and the sessions.
	mu       sync.RWMutex
	orgs     map[string]*org
	order    []*org // sorted by numeric OrgID: the LoadDownloads order
	ecmIDs   map[string]bool
	nextECM  int
	sessions map[string]*session // by .AspNet.Cookies value
	pending  map[string]*challenge
	tickets  map[string]*challenge // identity provider tickets, by value
	notices  map[string]*challenge // LandingNotice sign-ins waiting for Continue
	forms    map[string]time.Time  // sign-in anti-forgery values and when they expire

	// faultMu guards the runtime faults, the limiter and the fault source.
	faultMu sync.Mutex
	faults  Faults
	limiter *rate.Limiter
	rnd     *rand.Rand

	callsMu sync.Mutex
	calls   []Call

	jwksCache jwksCache

	// hold holds ApproveDownload calls for crash tests (HoldApprovals).
	hold holdState

	// sleeping counts requests currently inside the Latency delay; tests use
	// it to prove that delays overlap.
	sleeping atomic.Int64
}

// New builds a simulator with its generated organizations.
func New(cfg Config) *Sim {
	cfg = cfg.withDefaults()
	s := &Sim{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		orgs:     make(map[string]*org),
		ecmIDs:   make(map[string]bool),
		sessions: make(map[string]*session),
		pending:  make(map[string]*challenge),
		tickets:  make(map[string]*challenge),
		notices:  make(map[string]*challenge),
		forms:    make(map[string]time.Time),
		rnd:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed_fa17)),
	}
	s.setFaultsLocked(Faults{
		Latency:         cfg.Latency,
		Jitter:          cfg.Jitter,
		RateLimit:       cfg.RateLimit,
		RateBurst:       cfg.RateBurst,
		ErrorRate:       cfg.ErrorRate,
		SessionRequests: cfg.SessionRequests,
		LapseAsHTML:     cfg.LapseAsHTML,
	})
	s.generate()
	s.routes()
	return s
}

// routes registers the portal's pages and calls and the /_sim/ controls.
func (s *Sim) routes() {
	s.mux.HandleFunc("GET /{$}", s.portal(s.handleHome))
	s.mux.HandleFunc("/Account/Login", s.portal(s.handleLogin))
	s.mux.HandleFunc("/Account/VerifyCode", s.portal(s.handleVerifyCode))
	s.mux.HandleFunc("/Account/LogOff", s.portal(s.handleLogOff))
	s.mux.HandleFunc(CallbackPath, s.portal(s.handleCallback))
	s.mux.HandleFunc(NoticePath, s.portal(s.handleNotice))
	s.mux.HandleFunc(HomePath, s.portal(s.handleApps))
	s.mux.HandleFunc(ScriptPath, s.portal(s.handleScript))
	s.mux.HandleFunc("/Developer/Management", s.portal(s.handleManagement))
	s.mux.HandleFunc("/Developer/LoadDownloads", s.portal(s.handleLoadDownloads))
	s.mux.HandleFunc("/Developer/ApproveDownload", s.portal(s.handleApproveDownload))
	s.mux.HandleFunc("/", s.portal(s.handleNotFound))
	s.controlRoutes()
}

// Handle registers an extra route on the simulator, for simulated services
// that live in other files of this package or in tests (the token endpoint,
// the Brands bundle). Requests to it are recorded as Calls like any other;
// faults and Latency do not apply. It panics, like http.ServeMux.Handle,
// when the pattern conflicts with an existing route.
func (s *Sim) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// ServeHTTP answers one request as the portal would and records it.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isControlPath(r.URL.Path) {
		s.mux.ServeHTTP(w, r)
		return
	}
	rec := &recorder{ResponseWriter: w}
	if c, err := r.Cookie(authCookie); err == nil && c.Value != "" {
		rec.hasCookie = true
	}
	if err := parseBody(w, r); err != nil {
		rec.answer = AnswerBad
		writeHTMLError(rec, err.status, err.title, err.detail)
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	s.record(r, rec)
}

// portal wraps a handler of the portal itself (not an extension route) so
// that the configured Latency applies to it.
func (s *Sim) portal(h func(*recorder, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w}
		}
		if !s.delay(r) {
			rec.answer = AnswerCanceled
			return
		}
		h(rec, r)
	}
}

// now reads the simulator's clock.
func (s *Sim) now() time.Time { return s.cfg.Now() }

// AppID is the id of the simulated app.
func (s *Sim) AppID() string { return s.cfg.AppID }
