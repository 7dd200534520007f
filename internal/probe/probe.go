package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// Tunables of a probe. The probe loads ordinary pages, one pair per
// organization: the defaults keep each host to one request a second and
// a whole 500-organization probe to a couple of minutes.
const (
	// DefaultHostRate is requests per second to any one host: a person
	// clicking through would not be faster, and hosts that serve many
	// organizations never see a burst.
	DefaultHostRate = 1.0
	// DefaultConcurrency is how many organizations are probed at once,
	// each on its own host as far as the order allows.
	DefaultConcurrency = 8
	// DefaultTimeout bounds one request: a sign-in page loads in well
	// under a second on a healthy server.
	DefaultTimeout = 15 * time.Second
	// DefaultTimeLimit bounds the whole probe, so that a nightly run
	// always ends; organizations not reached are probed the next time.
	DefaultTimeLimit = 30 * time.Minute
	// DefaultMaxRedirects is how many redirects a chain follows: sign-in
	// flows take two or three.
	DefaultMaxRedirects = 5
	// DefaultMaxPageBytes bounds what is read of a page: the title and
	// the form are near the top.
	DefaultMaxPageBytes = 1 << 20
	// DefaultWindow is how long after activation a probe is worth making:
	// key configuration takes up to 12 hours to reach an organization's
	// production system.
	DefaultWindow = 12 * time.Hour
	// DefaultScope is asked for when no scope is configured: what a
	// patient-facing standalone launch asks at the least.
	DefaultScope = "openid fhirUser launch/patient"
)

// ErrTimeLimit ends a probe that ran past its time limit.
var ErrTimeLimit = errors.New("the probe's time limit was reached")

// Target is one organization to probe.
type Target struct {
	OrgID string
	Name  string
	// BaseURL is the FHIR base URL (sent as aud); AuthorizeURL is its
	// smart-configuration's authorization_endpoint.
	BaseURL      string
	AuthorizeURL string
	// ActivatedAt is when production was activated, as far as known.
	ActivatedAt time.Time
}

// Result is one organization's probe.
type Result struct {
	Target
	At    time.Time `json:"at"`
	Class string    `json:"class"`
	// Evidence says in one line why.
	Evidence string `json:"evidence"`
	App      Answer `json:"app"`
	Control  Answer `json:"control"`
}

// Requests is the number of requests the probe of one organization made.
func (r Result) Requests() int { return r.App.Requests() + r.Control.Requests() }

// Options configure Run.
type Options struct {
	// Client makes the requests (http.DefaultClient when nil); the probe
	// follows redirects itself, and bounds each request by Timeout.
	Client *http.Client
	// ClientID is the app's production client id; RedirectURI one of its
	// registered redirect URIs; Scope what to ask (DefaultScope when
	// empty).
	ClientID    string
	RedirectURI string
	Scope       string

	HostRate     float64
	Concurrency  int
	Timeout      time.Duration
	TimeLimit    time.Duration
	MaxRedirects int
	UserAgent    string
	// Now stamps each result (time.Now when nil).
	Now func() time.Time
	// OnResult, when set, is called with each result as it completes, one
	// at a time, so that the caller can store it at once; an error stops
	// the probe.
	OnResult func(Result) error
}

// Summary is what a whole probe did.
type Summary struct {
	Results []Result
	// NotReached counts targets the time limit left unprobed.
	NotReached int
	// PerHost is the number of requests made to each host.
	PerHost map[string]int
	// TimedOut is set when the time limit ended the probe.
	TimedOut bool
}

// prober is one Run's shared state.
type prober struct {
	opts     Options
	client   *http.Client
	pace     *hostPacer
	redirect *url.URL
}

// Run probes every target: the app's request, then the control's, paced
// per host, with at most Concurrency organizations at once, within the
// time limit. It returns what it learned; the error is ctx's when it was
// cancelled, or OnResult's.
func Run(ctx context.Context, targets []Target, opts Options) (*Summary, error) {
	redirect, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base := opts.Client
	if base == nil {
		base = http.DefaultClient
	}
	client := *base
	client.Timeout = 0 // each request is bounded by Timeout instead
	client.Jar = nil
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := &prober{opts: opts, client: &client, pace: newHostPacer(opts.HostRate), redirect: redirect}

	limited, cancelLimit := context.WithTimeoutCause(ctx, opts.TimeLimit, ErrTimeLimit)
	defer cancelLimit()
	work, stop := context.WithCancelCause(limited)
	defer stop(nil)

	order := interleave(targets)
	sum := &Summary{}
	var mu sync.Mutex
	var stopErr error
	jobs := make(chan Target)
	var wg sync.WaitGroup
	for range min(opts.Concurrency, max(len(order), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				r, ok := p.probe(work, t)
				mu.Lock()
				if !ok {
					sum.NotReached++
					mu.Unlock()
					continue
				}
				sum.Results = append(sum.Results, r)
				var err error
				if opts.OnResult != nil {
					err = opts.OnResult(r)
				}
				if err != nil && stopErr == nil {
					stopErr = err
					stop(err)
				}
				mu.Unlock()
			}
		}()
	}
	sent := 0
feed:
	for _, t := range order {
		select {
		case jobs <- t:
			sent++
		case <-work.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	sum.NotReached += len(order) - sent
	sum.PerHost = p.pace.perHost()
	// Only the time limit leaves targets unprobed when neither ctx nor
	// OnResult stopped the probe (a wait that would outlast the limit
	// ends before it).
	sum.TimedOut = sum.NotReached > 0 && ctx.Err() == nil && stopErr == nil
	slices.SortFunc(sum.Results, func(a, b Result) int { return portal.CompareOrgID(a.OrgID, b.OrgID) })
	switch {
	case stopErr != nil:
		return sum, stopErr
	case ctx.Err() != nil:
		return sum, context.Cause(ctx)
	}
	return sum, nil
}

// probe sends the pair for one organization; ok is false when the time
// limit or an interruption cut it short (nothing learned).
func (p *prober) probe(ctx context.Context, t Target) (Result, bool) {
	control := randomClientID()
	masks := []string{p.opts.ClientID, control}
	r := Result{Target: t}
	appReq, err := newRequest(t, p.opts.ClientID, p.opts.RedirectURI, p.opts.Scope, masks)
	if err != nil {
		r.At, r.Class, r.Evidence = p.opts.Now(), Error, err.Error()
		return r, true
	}
	ctlReq, _ := newRequest(t, control, p.opts.RedirectURI, p.opts.Scope, masks)
	r.App = p.send(ctx, appReq)
	if r.App.cut {
		return r, false
	}
	r.Control = p.send(ctx, ctlReq)
	if r.Control.cut {
		return r, false
	}
	r.At = p.opts.Now()
	r.Class, r.Evidence = Classify(r.App, r.Control)
	return r, true
}

// interleave orders targets so that consecutive ones are on different
// hosts where possible, the busiest host first: workers then spread over
// the hosts instead of queueing at one.
func interleave(targets []Target) []Target {
	byHost := map[string][]Target{}
	var hosts []string
	for _, t := range targets {
		h := ""
		if u, err := url.Parse(t.AuthorizeURL); err == nil {
			h = strings.ToLower(u.Host)
		}
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], t)
	}
	slices.SortStableFunc(hosts, func(a, b string) int { return cmp.Compare(len(byHost[b]), len(byHost[a])) })
	out := make([]Target, 0, len(targets))
	for i := 0; len(out) < len(targets); i++ {
		for _, h := range hosts {
			if i < len(byHost[h]) {
				out = append(out, byHost[h][i])
			}
		}
	}
	return out
}

// withDefaults checks the options, fills the empty ones with their
// defaults and returns the parsed redirect URI.
func (o *Options) withDefaults() (*url.URL, error) {
	if o.ClientID == "" {
		return nil, errors.New("no client id to probe with")
	}
	redirect, err := url.Parse(o.RedirectURI)
	if err != nil || redirect.Scheme == "" || redirect.Host == "" {
		return nil, fmt.Errorf("the redirect URI %q is not an absolute URL", o.RedirectURI)
	}
	if o.Scope == "" {
		o.Scope = DefaultScope
	}
	if o.HostRate <= 0 {
		o.HostRate = DefaultHostRate
	}
	if o.Concurrency < 1 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TimeLimit <= 0 {
		o.TimeLimit = DefaultTimeLimit
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return redirect, nil
}
