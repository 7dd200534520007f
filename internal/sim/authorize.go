package sim

import (
	"bytes"
	"fmt"
	"html/template"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Simulated organizations' authorization servers (SMART standalone
// launch). Each organization answers at
//
//	{server}/fhir/{OrgId}/oauth2/authorize          (and /fhir/{OrgId}/altN/oauth2/authorize)
//	{server}/fhir/{OrgId}/oauth2/signin?request=ID  its sign-in page
//
// the authorization_endpoint its smart-configuration lists.
//
// Assumptions, since organizations document none of this:
//   - A client is known at an organization once production is enabled
//     there (any credential mode) and the organization's propagation delay
//     has passed since production last changed; a "never" organization
//     never picks it up.
//   - A known client with a registered redirect URI is redirected (302) to
//     the sign-in page, which holds a password field; with an unregistered
//     redirect URI it gets an error page (400) and is never redirected,
//     as OAuth requires; with no scope it is redirected to the redirect URI
//     with error=invalid_scope.
//   - An unknown client gets an error page (400) whose title names the
//     client id, so a client comparing answers must mask the ids.
//   - The sign-in page's address carries a fresh request id each time.
//   - Variants, one organization each as set: "late" redirects every
//     client to the sign-in page (it checks the client only after sign-in),
//     "failing" answers 500 to everything, "slow" answers after SlowDelay,
//     "identity" redirects every client to a shared identity host
//     (IdentityURL, which the simulator does not serve), "never" never
//     knows the client.
//   - Nothing here is rate limited; POSTs are not served (405).

// Authorize variants.
const (
	AuthorizeNormal   = ""
	AuthorizeLate     = "late"
	AuthorizeFailing  = "failing"
	AuthorizeSlow     = "slow"
	AuthorizeIdentity = "identity"
	AuthorizeNever    = "never"
)

// AuthorizeVariants lists the variants an organization can be given.
var AuthorizeVariants = []string{AuthorizeNormal, AuthorizeLate, AuthorizeFailing, AuthorizeSlow, AuthorizeIdentity, AuthorizeNever}

// Authorize endpoint defaults.
const (
	// DefaultRedirectURI is the app's registered redirect URI.
	DefaultRedirectURI = "https://app.example.com/callback"
	// DefaultIdentityURL is where the "identity" variant sends every
	// client: a host of its own, as shared identity providers have.
	DefaultIdentityURL = "https://identity.example.org/oauth2/authorize"
)

// AuthorizeConfig configures the simulated authorize endpoints. The zero
// value is usable.
type AuthorizeConfig struct {
	// ClientID is the app's production client id (DefaultProdClientID
	// when empty).
	ClientID string
	// RedirectURIs are the app's registered redirect URIs
	// (DefaultRedirectURI when empty).
	RedirectURIs []string
	// Delay is how long after production changed an organization knows
	// the client (DefaultProdSync when zero; Instant makes it none).
	Delay   time.Duration
	Instant bool
	// IdentityURL is the shared identity host's address
	// (DefaultIdentityURL when empty).
	IdentityURL string
	// SlowDelay is how long the "slow" variant takes
	// (DefaultBrandsSlowDelay when zero).
	SlowDelay time.Duration
}

// Authorize is the simulated organizations' authorize endpoints.
type Authorize struct {
	s   *Sim
	cfg AuthorizeConfig

	mu       sync.Mutex
	variants map[string]string
	delays   map[string]time.Duration
	requests int
}

// ServeAuthorize adds every organization's authorize endpoint and sign-in
// page to the simulator.
func (s *Sim) ServeAuthorize(cfg AuthorizeConfig) *Authorize {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultProdClientID
	}
	if len(cfg.RedirectURIs) == 0 {
		cfg.RedirectURIs = []string{DefaultRedirectURI}
	}
	if cfg.Delay == 0 {
		cfg.Delay = DefaultProdSync
	}
	if cfg.Instant {
		cfg.Delay = 0
	}
	if cfg.IdentityURL == "" {
		cfg.IdentityURL = DefaultIdentityURL
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = DefaultBrandsSlowDelay
	}
	a := &Authorize{s: s, cfg: cfg, variants: map[string]string{}, delays: map[string]time.Duration{}}
	s.Handle("GET "+BrandsFHIRPrefix+"{org}/oauth2/authorize", http.HandlerFunc(a.handleAuthorize))
	s.Handle("GET "+BrandsFHIRPrefix+"{org}/{alt}/oauth2/authorize", http.HandlerFunc(a.handleAuthorize))
	s.Handle("GET "+BrandsFHIRPrefix+"{org}/oauth2/signin", http.HandlerFunc(a.handleSignIn))
	s.Handle("GET "+BrandsFHIRPrefix+"{org}/{alt}/oauth2/signin", http.HandlerFunc(a.handleSignIn))
	s.Handle("POST /_sim/authorize", http.HandlerFunc(a.control))
	return a
}

// authorizeControl is the body of POST /_sim/authorize.
type authorizeControl struct {
	OrgID   string
	Variant *string
	Delay   string
}

// control sets one organization's variant and propagation delay.
func (a *Authorize) control(w http.ResponseWriter, r *http.Request) {
	var c authorizeControl
	if !readControl(w, r, &c) {
		return
	}
	if _, ok := a.s.Org(c.OrgID); !ok {
		a.s.controlResult(w, errNoOrg)
		return
	}
	if c.Variant != nil {
		if !slices.Contains(AuthorizeVariants, *c.Variant) {
			controlError(w, http.StatusBadRequest, fmt.Errorf("unknown Variant %q: use one of late, failing, slow, identity, never, or \"\" for normal", *c.Variant))
			return
		}
		a.SetVariant(c.OrgID, *c.Variant)
	}
	if c.Delay != "" {
		d, err := time.ParseDuration(c.Delay)
		if err != nil || d < 0 {
			controlError(w, http.StatusBadRequest, fmt.Errorf("Delay %q is not a duration of 0 or more, e.g. 1h", c.Delay))
			return
		}
		a.SetDelay(c.OrgID, d)
	}
	w.WriteHeader(http.StatusNoContent)
}

// AuthorizePath is the path of an organization's authorize endpoint.
func AuthorizePath(orgID string) string { return BrandsFHIRPrefix + orgID + "/oauth2/authorize" }

// SetVariant gives an organization's server one of AuthorizeVariants.
func (a *Authorize) SetVariant(orgID, variant string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.variants[orgID] = variant
}

// SetDelay sets one organization's propagation delay.
func (a *Authorize) SetDelay(orgID string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delays[orgID] = d
}

// Requests counts the authorize requests answered so far.
func (a *Authorize) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

// Known reports whether the organization knows the app's client id now.
func (a *Authorize) Known(orgID string) bool {
	o, ok := a.s.Org(orgID)
	if !ok {
		return false
	}
	a.mu.Lock()
	variant := a.variants[orgID]
	delay, set := a.delays[orgID]
	a.mu.Unlock()
	if !set {
		delay = a.cfg.Delay
	}
	if variant == AuthorizeNever || !o.Prod || o.ProdMode == ModeNone {
		return false
	}
	return a.s.now().Sub(o.ProdChanged) >= delay
}

func (a *Authorize) variant(orgID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	return a.variants[orgID]
}

func (a *Authorize) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	if alt := r.PathValue("alt"); alt != "" && !strings.HasPrefix(alt, "alt") {
		writeHTMLError(w, http.StatusNotFound, "Not found", "No authorization server here.")
		return
	}
	if _, ok := a.s.Org(orgID); !ok {
		writeHTMLError(w, http.StatusNotFound, "Not found", "No authorization server here.")
		return
	}
	q := r.URL.Query()
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	switch a.variant(orgID) {
	case AuthorizeFailing:
		SetAnswer(w, Answer5xx)
		writeHTMLError(w, http.StatusInternalServerError, "Server Error", "An unexpected error occurred.")
		return
	case AuthorizeSlow:
		if !wait(r, a.cfg.SlowDelay) {
			SetAnswer(w, AnswerCanceled)
			return
		}
	case AuthorizeIdentity:
		u, _ := url.Parse(a.cfg.IdentityURL)
		fwd := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "state": {q.Get("state")}, "org": {orgID}}
		u.RawQuery = fwd.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	case AuthorizeLate:
		if q.Get("response_type") == "code" && clientID != "" {
			a.toSignIn(w, r)
			return
		}
	}
	if q.Get("response_type") != "code" || clientID == "" || redirect == "" {
		writeHTMLError(w, http.StatusBadRequest, "Invalid request", "The request is missing a required parameter.")
		return
	}
	if clientID != a.cfg.ClientID || !a.Known(orgID) {
		SetAnswer(w, AnswerBad)
		writeHTMLError(w, http.StatusBadRequest, "Unknown client "+clientID, "The client "+clientID+" is not registered with this organization.")
		return
	}
	registered := false
	for _, u := range a.cfg.RedirectURIs {
		registered = registered || u == redirect
	}
	if !registered {
		SetAnswer(w, AnswerBad)
		writeHTMLError(w, http.StatusBadRequest, "Invalid redirect URI", "The redirect URI is not registered for this client.")
		return
	}
	if strings.TrimSpace(q.Get("scope")) == "" {
		u, _ := url.Parse(redirect)
		back := url.Values{"error": {"invalid_scope"}, "error_description": {"No scope was requested."}, "state": {q.Get("state")}}
		u.RawQuery = back.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	a.toSignIn(w, r)
}

// toSignIn redirects to the sign-in page with a fresh request id.
func (a *Authorize) toSignIn(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimSuffix(r.URL.Path, "/authorize")
	http.Redirect(w, r, base+"/signin?request="+strconv.FormatUint(rand.Uint64(), 36), http.StatusFound)
}

var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html><head><title>MyChart - Login</title></head>
<body><h1>Sign in to MyChart</h1>
<form method="post" action="signin">
<input type="hidden" name="request" value="{{.}}">
<label>Username <input type="text" name="username"></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Sign In</button>
</form></body></html>
`))

func (a *Authorize) handleSignIn(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("request")
	if id == "" {
		writeHTMLError(w, http.StatusBadRequest, "Invalid request", "The sign-in request has expired.")
		return
	}
	var buf bytes.Buffer
	_ = signInPage.Execute(&buf, id)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
