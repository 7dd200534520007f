package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/probe"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Tunables of what a probe's findings mean for the exit status.
const (
	// DefaultProbeWarnAfter: an organization still not knowing the app a
	// day after activation is the one thing the vendor must act on (an
	// email to that organization), so it is the run's warning.
	DefaultProbeWarnAfter = 24 * time.Hour
	// DefaultProbeFailAfter: three nights of warnings without a change
	// make it a failure (exit 1), for monitors that only watch the code.
	DefaultProbeFailAfter = 72 * time.Hour
	// probeMaxConcurrency caps --probe-concurrency: past it the per-host
	// pace decides anyway.
	probeMaxConcurrency = 64
)

// ProbeSettings are the probe's settings, shared by `probe` and the
// nightly `activate --probe`. Their flags carry a probe- prefix so that a
// config file key names one thing only.
type ProbeSettings struct {
	ClientID    string
	RedirectURI string
	Scope       string
	Window      time.Duration
	WarnAfter   time.Duration
	FailAfter   time.Duration
	HostRate    float64
	Concurrency int
	Timeout     time.Duration
	TimeLimit   time.Duration
}

// bindProbeFlags binds the probe settings' flags.
func bindProbeFlags(fl *pflag.FlagSet, s *ProbeSettings) {
	fl.StringVar(&s.ClientID, "probe-client-id", "", "the app's production client id (its page on the portal shows it)")
	fl.StringVar(&s.RedirectURI, "probe-redirect-uri", "", "a redirect URI registered for the app (never loaded)")
	fl.StringVar(&s.Scope, "probe-scope", probe.DefaultScope, "the scope the authorize requests ask for")
	fl.DurationVar(&s.Window, "probe-window", probe.DefaultWindow, "probe an organization only this long after its production activation (keys take up to 12h to propagate)")
	fl.DurationVar(&s.WarnAfter, "probe-warn-after", DefaultProbeWarnAfter, "name an organization still not knowing the app this long after activation as the warning")
	fl.DurationVar(&s.FailAfter, "probe-fail-after", DefaultProbeFailAfter, "exit 1 when an organization still does not know the app this long after activation")
	fl.Float64Var(&s.HostRate, "probe-host-rate", probe.DefaultHostRate, "requests per second to any one host")
	fl.IntVar(&s.Concurrency, "probe-concurrency", probe.DefaultConcurrency, "organizations probed at once")
	fl.DurationVar(&s.Timeout, "probe-timeout", probe.DefaultTimeout, "time limit of one request")
	fl.DurationVar(&s.TimeLimit, "probe-time-limit", probe.DefaultTimeLimit, "time limit of the whole probe; organizations not reached are probed next time")
}

// check validates the settings: every problem is named with its fix.
func (s *ProbeSettings) check() error {
	s.ClientID, s.RedirectURI, s.Scope = strings.TrimSpace(s.ClientID), strings.TrimSpace(s.RedirectURI), strings.TrimSpace(s.Scope)
	switch {
	case s.ClientID == "":
		return UsageErrorf("no client id to probe with: set probe-client-id in the config file (the app's production client id, on its page on the portal) or pass --probe-client-id")
	case s.RedirectURI == "":
		return UsageErrorf("no redirect URI: set probe-redirect-uri in the config file (one registered for the app) or pass --probe-redirect-uri")
	case s.Scope == "":
		return UsageErrorf("--probe-scope is empty: give the scopes the app asks for, e.g. %q", probe.DefaultScope)
	case s.Window < 0 || s.WarnAfter < 0 || s.FailAfter < 0:
		return UsageErrorf("--probe-window, --probe-warn-after and --probe-fail-after must not be negative: use durations such as 12h")
	case s.HostRate <= 0 || s.HostRate > 1000:
		return UsageErrorf("--probe-host-rate %g is out of range: use a value above 0 and at most 1000 requests a second", s.HostRate)
	case s.Concurrency < 1 || s.Concurrency > probeMaxConcurrency:
		return UsageErrorf("--probe-concurrency %d is out of range: use 1 to %d", s.Concurrency, probeMaxConcurrency)
	case s.Timeout <= 0 || s.TimeLimit <= 0:
		return UsageErrorf("--probe-timeout and --probe-time-limit must be above 0: use durations such as 15s and 30m")
	}
	if u, err := url.Parse(s.RedirectURI); err != nil || u.Scheme == "" || u.Host == "" {
		return UsageErrorf("--probe-redirect-uri %q is not an absolute URL: give the redirect URI registered for the app, e.g. https://app.example.com/callback", s.RedirectURI)
	}
	return nil
}

// ProbeOptions are `probe`'s options and dependencies.
type ProbeOptions struct {
	IO         *IOStreams
	Now        func() time.Time
	HTTPClient *http.Client
	// AppStore opens the state database with the app's row.
	AppStore func(context.Context) (*store.Store, store.App, error)
	Logf     func(format string, args ...any)
	// NewProgress reports the probe's progress on stderr.
	NewProgress func(total int, what, unit string) *progress
	Output      string

	Settings ProbeSettings
	Orgs     []string
}

// NewCmdProbe builds `probe`.
func NewCmdProbe(f *Factory, runF func(*ProbeOptions) error) *cobra.Command {
	opts := &ProbeOptions{}
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Ask each activated organization's server whether it knows the app (no patient sign-in)",
		Long: `For each organization whose production was activated at least --probe-window (12h) ago,
loads the organization's SMART authorize endpoint twice, as a browser starting a
standalone launch would: once with the app's client id and once with a random client id
that no server knows (the control). Nothing is submitted: GET page loads only, redirects
followed only within the organization's own hosts and never to the redirect URI, one
request a second per host. The two answers are compared (status, where the redirects end,
error parameters, page title, sign-in form) and the organization is classified:

  live           the app's answer differs from the control's the way a known client's does
  not-known      the same answer as the control: the server does not know the app (yet)
  inconclusive   both alike without an error (the server checks clients only after
                 sign-in, or hands both to a shared identity host), or unlike in a way
                 that says nothing
  unreachable    no answer within --probe-timeout
  error          the server failed, or refused the app's request itself (check the
                 redirect URI and scope)

What it tells: whether the organization's server knows the app's client id. What it
cannot tell: whether the uploaded keys are valid (checked only when a token is
requested), or anything decided after a patient signs in.

Inputs: the FHIR base URLs from the Brands directory and each one's authorize endpoint
from its smart-configuration (` + "`activator brands --bundle URL --smart-config`" + ` stores both);
the app's production client id and a registered redirect URI, best set once in the
config file (probe-client-id, probe-redirect-uri). Every probe is stored; ` + "`status`" + ` and
` + "`report`" + ` show them.

Exit status: 0 when the probe ran, whatever it found; 1 when an organization still does
not know the app --probe-fail-after (72h) after activation; 2 for missing or bad
settings. Organizations not knowing the app --probe-warn-after (24h) after activation
are named as the warning.

--output json prints one object: probed, notReached, timedOut, requests,
busiestHostRequests, tookSeconds, counts {class: n}, skipped [{orgId, name, reason
(window | no-endpoint | no-authorize-endpoint), until}], warning, notKnownPastWarn and
notKnownPastFail [{orgId, name, activatedAt, sinceActivationHours}], results [{orgId,
name, class, evidence, at, activatedAt, sinceActivationHours, baseUrl, authorizeUrl, app,
control}] where app and control are the answers (hops, status, final, stopped, error,
title, signInForm, failure) with client ids masked.`,
		Example: `  # config.toml: probe-client-id = "0f9e8d7c-...", probe-redirect-uri = "https://app.example.com/callback"
  activator brands --bundle https://open.epic.com/Endpoints/Brands --smart-config
  activator probe
  activator probe --org 16770 --probe-window 0s
  activator probe --output json | jq '.results[] | select(.class == "not-known")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Now, opts.HTTPClient, opts.Logf, opts.Output = f.IO, f.Now, f.HTTPClient, f.Logf, f.Output
			opts.AppStore = f.AppStore
			opts.NewProgress = f.newProgress
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return probeRun(cmd.Context(), opts)
		},
	}
	bindProbeFlags(cmd.Flags(), &opts.Settings)
	cmd.Flags().StringSliceVar(&opts.Orgs, "org", nil, "only these OrgIds (repeatable, or comma-separated)")
	return cmd
}

func (o *ProbeOptions) check() error {
	for _, id := range o.Orgs {
		if id == "" || strings.Trim(id, "0123456789") != "" {
			return UsageErrorf("--org %q is not an OrgId (a number, the part before the underscore of a download Id; not the ECMId)", id)
		}
	}
	return o.Settings.check()
}

func probeRun(ctx context.Context, o *ProbeOptions) error {
	s, app, err := o.AppStore(ctx)
	if err != nil {
		return err
	}
	pass, err := runProbePass(ctx, s, app, 0, o.Settings, o.Orgs, o.HTTPClient, o.Now, o.Logf, o.NewProgress)
	if err != nil {
		return err
	}
	v := newProbeVerdict(pass, o.Settings)
	if o.Output == OutputJSON {
		if err := writeJSON(o.IO.Out, probeJSON(pass, v)); err != nil {
			return err
		}
	} else {
		printProbe(o.IO.Out, pass, v, o.Settings, o.Now())
	}
	return v.err()
}

// runProbePass probes and stores; it says what it is about to do.
func runProbePass(ctx context.Context, s *store.Store, app store.App, runID int64, set ProbeSettings, only []string,
	hc *http.Client, now func() time.Time, logf func(string, ...any), newBar func(total int, what, unit string) *progress) (*probe.Pass, error) {
	window := set.Window
	if window == 0 {
		window = -1 // at once: probe.PassOptions reads zero as the default
	}
	var bar *progress
	defer func() { bar.close() }()
	starting := func(n int) {
		logf("Probing %s (%s per host, %d at a time, %s limit) ...",
			plural(n, "organization"), perSecond(set.HostRate, "request"), set.Concurrency, set.TimeLimit)
		bar = newBar(n, "probing", "orgs")
	}
	probed := func(done, n int, r probe.Result) {
		bar.item(done, n, fmt.Sprintf("%s %s: %s", r.OrgID, printable(r.Name), probeClassWords[r.Class]), false)
	}
	pass, err := probe.RunPass(ctx, probe.PassOptions{Store: s, App: app, RunID: runID,
		Window: window, Only: only, Starting: starting, Probed: probed, Probe: probe.Options{Client: hc, ClientID: set.ClientID, RedirectURI: set.RedirectURI,
			Scope: set.Scope, HostRate: set.HostRate, Concurrency: set.Concurrency, Timeout: set.Timeout, TimeLimit: set.TimeLimit,
			UserAgent: "activator/" + Version, Now: now}})
	if err != nil {
		return pass, fmt.Errorf("probe: %w", err)
	}
	return pass, nil
}

// probeVerdict is what a pass's findings mean: the organizations named as
// the warning, and those that fail the run.
type probeVerdict struct {
	warn, fail []probe.Result
	failAfter  time.Duration
	warnAfter  time.Duration
}

func newProbeVerdict(p *probe.Pass, s ProbeSettings) probeVerdict {
	return probeVerdict{warn: p.NotKnownFor(s.WarnAfter), fail: p.NotKnownFor(s.FailAfter), warnAfter: s.WarnAfter, failAfter: s.FailAfter}
}

// warning is the run's warning, empty when there is none.
func (v probeVerdict) warning() string {
	if len(v.warn) == 0 {
		return ""
	}
	return fmt.Sprintf("%s still not knowing the app %s after activation: email them (%s)",
		plural(len(v.warn), "organization"), roughly(v.warnAfter), orgList(v.warn))
}

// err is the failure exit for organizations past --probe-fail-after.
func (v probeVerdict) err() error {
	if len(v.fail) == 0 {
		return nil
	}
	return &ExitError{Code: ExitFailures, Err: fmt.Errorf("%s still not knowing the app %s after activation (--probe-fail-after): %s",
		plural(len(v.fail), "organization"), roughly(v.failAfter), orgList(v.fail))}
}

func orgList(rs []probe.Result) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.OrgID
	}
	return strings.Join(ids, ", ")
}

// roughly says a duration in hours or days.
func roughly(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d == 24*time.Hour:
		return "a day"
	case d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return d.String()
}

// ProbeOrgJSON is one organization's probe in --output json.
type ProbeOrgJSON struct {
	OrgID                string        `json:"orgId"`
	Name                 string        `json:"name"`
	Class                string        `json:"class,omitempty"`
	Evidence             string        `json:"evidence,omitempty"`
	At                   *time.Time    `json:"at,omitempty"`
	ActivatedAt          time.Time     `json:"activatedAt"`
	SinceActivationHours float64       `json:"sinceActivationHours"`
	BaseURL              string        `json:"baseUrl,omitempty"`
	AuthorizeURL         string        `json:"authorizeUrl,omitempty"`
	App                  *probe.Answer `json:"app,omitempty"`
	Control              *probe.Answer `json:"control,omitempty"`
}

// ProbeJSON is `probe --output json`.
type ProbeJSON struct {
	Probed           int            `json:"probed"`
	NotReached       int            `json:"notReached"`
	TimedOut         bool           `json:"timedOut"`
	Requests         int            `json:"requests"`
	BusiestHost      int            `json:"busiestHostRequests"`
	TookSeconds      float64        `json:"tookSeconds"`
	Counts           map[string]int `json:"counts"`
	Skipped          []probe.Skip   `json:"skipped"`
	Warning          string         `json:"warning,omitempty"`
	NotKnownPastWarn []ProbeOrgJSON `json:"notKnownPastWarn"`
	NotKnownPastFail []ProbeOrgJSON `json:"notKnownPastFail"`
	Results          []ProbeOrgJSON `json:"results"`
}

func probeOrgJSON(r probe.Result, full bool) ProbeOrgJSON {
	j := ProbeOrgJSON{OrgID: r.OrgID, Name: r.Name, ActivatedAt: r.ActivatedAt, SinceActivationHours: roundHours(r.At.Sub(r.ActivatedAt))}
	if full {
		at, app, control := r.At, r.App, r.Control
		j.Class, j.Evidence, j.At, j.BaseURL, j.AuthorizeURL, j.App, j.Control = r.Class, r.Evidence, &at, r.BaseURL, r.AuthorizeURL, &app, &control
	}
	return j
}

func roundHours(d time.Duration) float64 { return float64(d.Round(time.Minute)) / float64(time.Hour) }

func probeJSON(p *probe.Pass, v probeVerdict) ProbeJSON {
	total, busiest := p.Requests()
	j := ProbeJSON{Probed: len(p.Results), NotReached: p.NotReached, TimedOut: p.TimedOut, Requests: total, BusiestHost: busiest,
		TookSeconds: p.Took.Seconds(), Counts: p.Counts(), Skipped: nonNil(p.Skipped), Warning: v.warning(),
		NotKnownPastWarn: []ProbeOrgJSON{}, NotKnownPastFail: []ProbeOrgJSON{}, Results: []ProbeOrgJSON{}}
	for _, r := range v.warn {
		j.NotKnownPastWarn = append(j.NotKnownPastWarn, probeOrgJSON(r, false))
	}
	for _, r := range v.fail {
		j.NotKnownPastFail = append(j.NotKnownPastFail, probeOrgJSON(r, false))
	}
	for _, r := range p.Results {
		j.Results = append(j.Results, probeOrgJSON(r, true))
	}
	return j
}

// probeClassWords are the classes as a person reads them.
var probeClassWords = map[string]string{
	probe.Live: "live", probe.NotKnown: "not known yet", probe.Inconclusive: "inconclusive",
	probe.Unreachable: "unreachable", probe.Error: "error",
}

// skipWords say why organizations were not probed.
var probeSkipWords = map[string]string{
	probe.SkipWindow:      "activated less than the propagation window ago (--probe-window, probe-window in the config file; 0s probes at once)",
	probe.SkipNoEndpoint:  "no FHIR base URL in the Brands directory (`activator brands --bundle URL`)",
	probe.SkipNoAuthorize: "no authorize endpoint known (`activator brands --smart-config`)",
}

func printProbe(w io.Writer, p *probe.Pass, v probeVerdict, s ProbeSettings, now time.Time) {
	total, busiest := p.Requests()
	if len(p.Results) == 0 && p.NotReached == 0 {
		fmt.Fprintln(w, "No organization was probed.")
	} else {
		fmt.Fprintf(w, "Probed %s in %s: %s, at most %d to one host.\n", plural(len(p.Results), "organization"),
			p.Took.Round(time.Second), plural(total, "request"), busiest)
		for _, c := range probe.Classes {
			fmt.Fprintf(w, "  %-15s %d\n", probeClassWords[c]+":", p.Counts()[c])
		}
	}
	if p.NotReached > 0 {
		fmt.Fprintf(w, "  not reached:    %d (the --probe-time-limit of %s ran out; they are probed next time)\n", p.NotReached, s.TimeLimit)
	}
	skips := map[string]int{}
	for _, sk := range p.Skipped {
		skips[sk.Reason]++
	}
	for _, reason := range []string{probe.SkipWindow, probe.SkipNoEndpoint, probe.SkipNoAuthorize} {
		if skips[reason] > 0 {
			fmt.Fprintf(w, "Not probed: %d %s.\n", skips[reason], probeSkipWords[reason])
		}
	}
	// Live organizations need nothing: the table lists the others, by
	// class; --output json and `report` have every one.
	var rest []probe.Result
	for _, c := range probe.Classes[1:] {
		for _, r := range p.Results {
			if r.Class == c {
				rest = append(rest, r)
			}
		}
	}
	if len(rest) > 0 {
		t := newTable(w, false, "ORGID", "NAME", "PROBE", "ACTIVATED", "EVIDENCE")
		for _, r := range rest {
			t.add(r.OrgID, printable(r.Name), probeClassWords[r.Class], ago(r.At, r.ActivatedAt), printable(r.Evidence))
		}
		fmt.Fprintln(w)
		t.flush()
	}
	if msg := v.warning(); msg != "" {
		fmt.Fprintf(w, "\nWarning: %s.\n", msg)
		for _, r := range v.warn {
			fmt.Fprintf(w, "  %s %s: activated %s (%s)\n", r.OrgID, printable(r.Name), stamp(r.ActivatedAt), ago(now, r.ActivatedAt))
		}
	}
	fmt.Fprintln(w, "The probe tells whether each server knows the app's client id; whether the uploaded keys are valid is checked only when a token is requested.")
}
