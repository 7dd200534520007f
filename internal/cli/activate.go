package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/activator-dev/activator/internal/activate"
	"github.com/activator-dev/activator/internal/keys"
	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// PropagationNote is said at the end of every run that changed keys.
const PropagationNote = "Key changes take up to 12 hours to reach an organization's production system (15 to 60 minutes for non-production): a change is not working just because the portal says so."

// DefaultSettle is how long an upload the portal accepted is trusted while
// the portal's list does not show it yet. Long enough for a resume after a
// crash or a lapsed session never to call an org twice; shorter than a day,
// so the next nightly run calls an org whose activation the portal reset or
// never took.
const DefaultSettle = time.Hour

// ActivateOptions are `activate`'s options.
type ActivateOptions struct {
	F *Factory

	// JWKS is the key set for both environments, a file or a URL;
	// JWKSURL and JWKSFile are its older, hidden names.
	JWKS        string
	JWKSURL     string
	JWKSFile    string
	NonProdJWKS string
	ProdJWKS    string
	JKU         bool
	Split       bool
	// InsecureHTTP accepts a plain-http key set URL on a host other than
	// loopback.
	InsecureHTTP bool

	Reactivate  bool
	Force       bool
	Orgs        []string
	DryRun      bool
	Yes         bool
	Rate        float64
	Concurrency int
	MaxFailures int
	Retries     int
	PageSize    int
	Settle      time.Duration
	// FailOnRefusals makes every refusal exit 1, also those of
	// organizations an earlier run already saw refuse.
	FailOnRefusals bool

	// Store opens the state database with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
	// Client returns the portal client, not yet connected.
	Client func() (*portalhttp.Client, error)
	// Probe ends the run with a probe (activate_probe.go).
	Probe         bool
	ProbeSettings ProbeSettings

	// startRate is where the pace starts (Rate, or lower when an earlier
	// run found the portal's limit): the plan's estimate uses it.
	startRate float64
}

// NewCmdActivate builds `activate`.
func NewCmdActivate(f *Factory, runF func(*ActivateOptions) error) *cobra.Command {
	opts := &ActivateOptions{F: f, Store: f.AppStore, Client: f.PortalClient}
	cmd := &cobra.Command{
		Use:   "activate",
		Short: "Activate the app at every organization that needs it",
		Long: `Syncs the organization list, plans what each organization needs, shows the plan,
and (after confirmation, or with --yes) activates the app: by default by uploading the
app's RSA public keys to each organization (direct JWKS), which works at every
organization; with --jku by pointing it at the app's JWK Set URL, which fails silently
wherever the organization's servers may not fetch URLs.

Plan per organization: not responded -> both environments; non-production only ->
production (and non-production again, in direct mode, when its keys are not this run's);
keys enabled -> skipped unless --reactivate. An organization that already holds this
run's mode and keys is skipped unless --force, so re-running is a no-op; but when the
portal, --settle (1h) after the upload, still does not show it enabled, it is called
again. Unknown statuses are never acted on.

Every call's outcome is stored before the next starts: after Ctrl-C, a crash or a lapsed
session, run the same command again to resume.

Exit status: 0 when every planned organization was activated, and also when the only
failures are refusals ("Failed to register client for download.") of organizations an
earlier run already saw refuse (not provisioned yet on their side: the summary still
counts and names them, with the date each first refused); 1 for a new refusal or any
other failure, and for every refusal with --fail-on-refusals. With --output json the
one JSON line is all that is printed (stderr holds only errors and warnings, unless
--verbose).`,
		Example: `  # See what would happen, change nothing
  activator activate --jwks https://app.example.com/.well-known/jwks.json --dry-run

  # Activate every pending organization
  activator activate --jwks https://app.example.com/.well-known/jwks.json --yes

  # Switch every organization from the JWK Set URL to direct JWKS, or to new keys
  activator activate --jwks jwks.json --reactivate --yes

  # Different keys per environment, two calls per organization
  activator activate --nonprod-jwks nonprod.json --prod-jwks prod.json --split

  # Nightly (cron): new and pending organizations, one JSON line
  activator activate --jwks https://app.example.com/.well-known/jwks.json --yes --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return activateRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.JWKS, "jwks", "", "the app's public key set for both environments: a file or an http(s) URL (FILE|URL)")
	fl.StringVar(&opts.JWKSURL, "jwks-url", "", "old name of --jwks")
	fl.StringVar(&opts.JWKSFile, "jwks-file", "", "old name of --jwks")
	_ = fl.MarkHidden("jwks-url")
	_ = fl.MarkHidden("jwks-file")
	fl.StringVar(&opts.NonProdJWKS, "nonprod-jwks", "", "non-production key set, a file or an http(s) URL (FILE|URL), with --prod-jwks")
	fl.StringVar(&opts.ProdJWKS, "prod-jwks", "", "production key set, a file or an http(s) URL (FILE|URL), with --nonprod-jwks")
	fl.BoolVar(&opts.JKU, "jku", false, "JWK Set URL mode: upload no keys; enable each organization with the JWK Set URL registered for the app on the portal (this tool does not set that URL); two calls per organization, and it fails at organizations that cannot fetch URLs")
	fl.BoolVar(&opts.Split, "split", false, "direct mode: two calls per organization (non-production, then production) instead of one")
	fl.BoolVar(&opts.InsecureHTTP, "insecure-http", false, "accept a key set URL over plain http on a host other than this machine (anyone on the way could swap the keys)")
	fl.BoolVar(&opts.Reactivate, "reactivate", false, "also re-activate organizations whose keys are enabled (switch to direct JWKS, rotate keys)")
	fl.BoolVar(&opts.Force, "force", false, "call organizations that already hold this run's keys too")
	fl.StringSliceVar(&opts.Orgs, "org", nil, "only these OrgIds (repeatable, or comma-separated)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and exit without changing anything")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation (required when not running interactively)")
	fl.Float64Var(&opts.Rate, "rate", pace.DefaultRate, "portal calls per second at most, across all workers")
	fl.IntVar(&opts.Concurrency, "concurrency", activate.DefaultConcurrency, fmt.Sprintf("calls in flight at once (1 to %d)", activate.MaxConcurrency))
	fl.IntVar(&opts.MaxFailures, "max-failures", activate.DefaultMaxFailures, "stop after this many consecutive failed organizations")
	fl.IntVar(&opts.Retries, "retries", pace.DefaultRetries, "retries per call on 429, 5xx and network errors")
	fl.IntVar(&opts.PageSize, "page-size", portal.DefaultPageSize, "organizations per LoadDownloads call")
	fl.DurationVar(&opts.Settle, "settle", DefaultSettle, "how long an accepted upload is trusted while the portal does not show it; after that the organization is called again")
	fl.BoolVar(&opts.FailOnRefusals, "fail-on-refusals", false, "exit 1 on every refusal, also of organizations an earlier run already saw refuse (default: only a new refusal or another failure exits 1)")
	bindActivateProbeFlags(fl, opts)
	return cmd
}

// keySet is the key material of one run.
type keySet struct {
	mode                   string
	nonProd, prod          *keys.Upload
	nonProdJSON, prodJSON  string
	nonProdKeys, prodKeys  string
	nonProdSource, prodSrc string
}

// check validates the flags, before anything is read or called.
func (o *ActivateOptions) check() error {
	if err := o.checkProbe(); err != nil {
		return err
	}
	if err := checkRate(o.Rate); err != nil {
		return err
	}
	if o.Concurrency < 1 || o.Concurrency > activate.MaxConcurrency {
		return UsageErrorf("--concurrency %d is out of range: use 1 to %d", o.Concurrency, activate.MaxConcurrency)
	}
	if o.MaxFailures < 1 {
		return UsageErrorf("--max-failures must be at least 1")
	}
	if o.Retries < 0 || o.Retries > 20 {
		return UsageErrorf("--retries %d is out of range: use 0 to 20", o.Retries)
	}
	if o.Settle < 0 {
		return UsageErrorf("--settle %s is negative: use a duration such as 1h", o.Settle)
	}
	if err := checkPageSize(o.PageSize); err != nil {
		return err
	}
	for _, id := range o.Orgs {
		if strings.Trim(id, "0123456789") != "" || id == "" {
			return UsageErrorf("--org %q is not an OrgId (a number, the part before the underscore of a download Id; not the ECMId)", id)
		}
	}
	sources := 0
	for _, s := range []string{o.JWKS, o.JWKSURL, o.JWKSFile} {
		if s != "" {
			sources++
		}
	}
	perEnv := o.NonProdJWKS != "" || o.ProdJWKS != ""
	switch {
	case o.JKU && (sources > 0 || perEnv):
		return UsageErrorf("--jku uploads no keys: it enables each organization with the JWK Set URL registered for the app on the portal, which this tool does not set; drop --jwks/--nonprod-jwks/--prod-jwks, or drop --jku to upload those keys (direct JWKS)")
	case o.JKU && o.Split:
		return UsageErrorf("--split is for direct JWKS mode; JWK Set URL mode always makes two calls")
	case o.JKU:
		return nil
	case sources > 1 || (sources == 1 && perEnv):
		return UsageErrorf("give one key source: --jwks FILE|URL, or --nonprod-jwks with --prod-jwks")
	case perEnv && (o.NonProdJWKS == "" || o.ProdJWKS == ""):
		return UsageErrorf("--nonprod-jwks and --prod-jwks go together: give both (or --jwks FILE|URL for one key set)")
	case sources == 0 && !perEnv:
		return UsageErrorf("no keys: pass --jwks FILE|URL with the app's public keys (or --jku for JWK Set URL mode)")
	}
	return nil
}

// loadKeys loads and checks the key sets before any portal call.
func (o *ActivateOptions) loadKeys(ctx context.Context) (*keySet, error) {
	ks := &keySet{mode: plan.ModeJKU}
	if o.JKU {
		return ks, nil
	}
	ks.mode = plan.ModeJWKS
	np, p := o.NonProdJWKS, o.ProdJWKS
	for _, both := range []string{o.JWKS, o.JWKSURL, o.JWKSFile} {
		if both != "" {
			np, p = both, both
		}
	}
	load := func(src, env string) (*keys.Upload, error) {
		raw, _, err := (&keys.Fetcher{Client: o.F.HTTPClient, AllowInsecureHTTP: o.InsecureHTTP}).Load(ctx, src)
		if err != nil {
			return nil, UsageError(fmt.Errorf("%s keys: %w", env, err))
		}
		up, err := keys.ForUpload(raw)
		if err != nil {
			return nil, UsageError(fmt.Errorf("%s keys from %s: %w", env, keys.RedactURL(src), err))
		}
		return up, nil
	}
	var err error
	first := "non-production"
	if p == np {
		first = "both environments'" // one key set, not a per-environment one
	}
	if ks.nonProd, err = load(np, first); err != nil {
		return nil, err
	}
	if p == np {
		ks.prod = ks.nonProd
	} else if ks.prod, err = load(p, "production"); err != nil {
		return nil, err
	}
	ks.nonProdJSON, ks.prodJSON = ks.nonProd.JSON, ks.prod.JSON
	ks.nonProdKeys, ks.prodKeys = store.JoinKeys(ks.nonProd.Thumbprints()), store.JoinKeys(ks.prod.Thumbprints())
	ks.nonProdSource, ks.prodSrc = keys.RedactURL(np), keys.RedactURL(p)
	return ks, nil
}

func activateRun(ctx context.Context, o *ActivateOptions) error {
	f := o.F
	if _, err := f.CheckPortal(); err != nil {
		return err
	}
	if err := f.CheckApp(); err != nil {
		return err
	}
	if f.Output == OutputJSON && !f.Verbose {
		// One JSON line is the whole output: what cron mails and a
		// monitor parses. Errors and warnings still reach stderr.
		f.Quiet = true
	}
	ks, err := o.loadKeys(ctx)
	if err != nil {
		return err
	}
	if !f.Quiet {
		printKeys(f.IO.ErrOut, ks)
	}
	s, app, err := o.Store(ctx)
	if err != nil {
		return err
	}
	p, err := o.pacer(ctx, s, app)
	if err != nil {
		return err
	}
	var bar *progress
	var shown atomic.Pointer[progress] // bar, for the signal handler's goroutine
	inflight := &activate.InFlight{}
	intr := interruptsFrom(ctx)
	defer intr.OnFirst(func() { interruptNotice(f, shown.Load(), inflight.Orgs()) })()
	rr, err := activate.Run(ctx, plan.Input{Split: o.Split, Reactivate: o.Reactivate, Force: o.Force, Only: o.Orgs, Settle: o.Settle}, activate.RunOptions{
		Options: activate.Options{Store: s, App: app, Pacer: p, Concurrency: o.Concurrency, MaxFailures: o.MaxFailures,
			Mode: ks.mode, NonProdJWKS: ks.nonProdJSON, ProdJWKS: ks.prodJSON, NonProdKeys: ks.nonProdKeys, ProdKeys: ks.prodKeys,
			Now: f.Now, OnEvent: func(e activate.Event) { bar.event(e) },
			Abort: intr.Abort(), InFlight: inflight, OnWaiting: func(org string, d time.Duration) { bar.waiting(org, d) }},
		Connect: func(ctx context.Context) (*portalhttp.Client, error) { return connect(ctx, f, o.Client, p.Rate()) },
		Sync: func(ctx context.Context, c *portalhttp.Client) (*orgsync.Report, error) {
			return syncWith(ctx, f, s, app, c, p, o.PageSize)
		},
		KeySets: ks.keySets(),
		Args:    o.describe(),
		OnSynced: func(rep *orgsync.Report) {
			if !f.Quiet {
				printSyncLine(f.IO.ErrOut, rep)
			}
		},
		OnResolved: func(rs []activate.Resolved) {
			if !f.Quiet {
				printResolved(f.IO.ErrOut, rs)
			}
		},
		Confirm: func(pl *plan.Plan) (bool, error) {
			ok, err := o.confirmPlan(pl, ks)
			if ok {
				bar = newProgress(f, len(pl.Items), "activating", "orgs")
				shown.Store(bar)
			}
			return ok, err
		},
		OnExecuted: func(*activate.Result) { bar.close() },
	})
	if err != nil || !rr.Started {
		return err
	}
	return o.report(ctx, s, app, rr, ks, p)
}

// report prints the run's summary (table or one JSON line) and returns
// its exit code as an error.
func (o *ActivateOptions) report(ctx context.Context, s *store.Store, app store.App, rr *activate.RunResult, ks *keySet, p *pace.Pacer) error {
	f := o.F
	sum := newRunSummary(rr, ks.mode)
	sum.Throttled, sum.Pace = p.Throttled(), paceSummary(o.Rate, o.startRate, rr.Achieved, p.Stats())
	probeErr := o.probeAfterRun(ctx, s, app, rr, sum)
	if f.Output == OutputJSON {
		if err := writeJSONLine(f.IO.Out, sum); err != nil {
			return err
		}
	} else {
		printRunSummary(f.IO.Out, sum, rr.Plan)
		printNightlyProbe(f.IO.Out, sum)
	}
	if code := o.exitCode(rr); code != ExitOK {
		if rr.Message == "" {
			return SilentExit(code)
		}
		return &ExitError{Code: code, Err: errors.New(rr.Message)}
	}
	return probeErr
}

// exitCode is the run's exit code: a run whose only failures are refusals
// an earlier run already recorded ends 0 unless --fail-on-refusals.
func (o *ActivateOptions) exitCode(rr *activate.RunResult) int {
	code := outcomeCode(rr.Outcome)
	if code == ExitFailures && !o.FailOnRefusals && rr.NewRefusals == 0 && len(rr.Failed) == 0 && len(rr.Mismatched) == 0 {
		return ExitOK
	}
	return code
}

// printResolved says how the calls an earlier run never heard back from
// were settled.
func printResolved(w io.Writer, rs []activate.Resolved) {
	fmt.Fprintf(w, "Settled %s an earlier run made without recording the answer (the process stopped during the call):\n", plural(len(rs), "call"))
	for _, r := range rs {
		fmt.Fprintf(w, "  %s %s: %s\n", r.OrgID, printable(r.Name), printable(r.Message))
	}
}

// pacer is the run's pace: --rate, starting lower when an earlier run found
// the portal's limit below it (said on screen). A dry run changes nothing:
// its listing never waits on a --rate slower than the polite default.
func (o *ActivateOptions) pacer(ctx context.Context, s *store.Store, app store.App) (*pace.Pacer, error) {
	f := o.F
	rec, err := s.Pace(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	var note io.Writer
	if !f.Quiet {
		note = f.IO.ErrOut
	}
	o.startRate = startRate(note, o.Rate, rec)
	if o.DryRun && o.Rate < pace.DefaultRate {
		return f.newPacer(pace.DefaultRate, o.Retries), nil
	}
	return f.newPacerFrom(o.Rate, o.startRate, o.Retries), nil
}

// interruptNotice is what the first Ctrl-C says: which calls are
// finishing, and how to stop at once.
func interruptNotice(f *Factory, bar *progress, orgs []string) {
	if f.Quiet {
		return
	}
	what := "no new call starts"
	switch {
	case len(orgs) == 1:
		what = "finishing the call in flight (org " + orgs[0] + ") and recording it"
	case len(orgs) > 1:
		what = fmt.Sprintf("finishing the %d calls in flight (orgs %s) and recording them", len(orgs), strings.Join(orgs, ", "))
	}
	bar.say("Interrupted: " + what + "; press Ctrl-C again to stop now.")
}

// confirmPlan shows the plan and asks to go ahead: false after --dry-run,
// or when the person says no.
func (o *ActivateOptions) confirmPlan(pl *plan.Plan, ks *keySet) (bool, error) {
	f := o.F
	if len(pl.Missing) > 0 {
		return false, UsageErrorf("--org %s: not listed on the portal for app %s (OrgIds are the number before the underscore of a download Id)", strings.Join(pl.Missing, ","), f.App)
	}
	if o.DryRun {
		if f.Output == OutputJSON {
			return false, writeJSON(f.IO.Out, planJSON(pl, ks, o))
		}
		printPlan(f.IO.Out, pl, ks, o)
		return false, nil
	}
	if !f.Quiet {
		printPlan(f.IO.ErrOut, pl, ks, o)
	}
	if pl.Calls() == 0 || o.Yes {
		return true, nil
	}
	if !f.IO.InTTY || !f.IO.ErrTTY {
		return false, UsageErrorf("--yes required when not running interactively (nothing was changed; --dry-run shows the plan)")
	}
	ok, err := confirm(f.IO, fmt.Sprintf("Make %s to the portal?", plural(pl.Calls(), "call")))
	if err == nil && !ok {
		fmt.Fprintln(f.IO.ErrOut, "Nothing was changed.")
	}
	return ok, err
}

// keySets are the key sets a direct run uploads, as the state database
// records them.
func (ks *keySet) keySets() []store.KeySet {
	if ks.mode != plan.ModeJWKS {
		return nil
	}
	var out []store.KeySet
	for _, up := range []*keys.Upload{ks.nonProd, ks.prod} {
		out = append(out, store.KeySet{Thumbprints: store.JoinKeys(up.Thumbprints()), Kids: kidList(up), JWKS: up.JSON})
	}
	return out
}

// describe records the run's options without any secret.
func (o *ActivateOptions) describe() string {
	var parts []string
	add := func(flag, v string) {
		if v != "" {
			parts = append(parts, flag+" "+v)
		}
	}
	// Recorded and shown by `runs`: never a password or a signed query.
	add("--jwks", keys.RedactURL(o.JWKS))
	add("--jwks-url", keys.RedactURL(o.JWKSURL))
	add("--jwks-file", o.JWKSFile)
	add("--nonprod-jwks", keys.RedactURL(o.NonProdJWKS))
	add("--prod-jwks", keys.RedactURL(o.ProdJWKS))
	for flag, on := range map[string]bool{"--jku": o.JKU, "--split": o.Split, "--reactivate": o.Reactivate, "--force": o.Force, "--insecure-http": o.InsecureHTTP} {
		if on {
			parts = append(parts, flag)
		}
	}
	if len(o.Orgs) > 0 {
		add("--org", strings.Join(o.Orgs, ","))
	}
	parts = append(parts, fmt.Sprintf("--rate %g --concurrency %d", o.Rate, o.Concurrency))
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// syncWith lists the organizations with an already connected client,
// with a progress bar.
func syncWith(ctx context.Context, f *Factory, s *store.Store, app store.App, c *portalhttp.Client, p *pace.Pacer, pageSize int) (*orgsync.Report, error) {
	bar := newProgress(f, -1, "syncing", "orgs")
	defer bar.close()
	rep, err := orgsync.Run(ctx, orgsync.Options{Store: s, App: app, PageSize: pageSize, Now: f.Now, Load: orgsync.PacedLoad(c.LoadDownloads, p, func(page int, d time.Duration) {
		f.Logf("waiting for the portal: page %d of the organization list, %d s", page+1, int(d.Seconds()))
	}),
		OnPage: func(page, got, total int) {
			bar.add(got)
			f.Debugf("page %d: %d organizations (%d so far)", page, got, total)
		}})
	if err == nil {
		bar.close()
		for _, c := range rep.Cut {
			f.Logf("Warning: organization %s: %s (the portal's answer is over activator's limit).", c.OrgID, c.What)
		}
	}
	return rep, err
}

func kidList(up *keys.Upload) string {
	var kids []string
	for _, k := range up.Keys {
		kids = append(kids, k.Kid)
	}
	return strings.Join(kids, ",")
}

func printKeys(w io.Writer, ks *keySet) {
	if ks.mode == plan.ModeJKU {
		fmt.Fprintln(w, "Mode: JWK Set URL (no keys uploaded; organizations fetch the app's JWK Set URL themselves)")
		return
	}
	show := func(label string, up *keys.Upload, src string) {
		fmt.Fprintf(w, "%s keys from %s:\n", label, src)
		for _, k := range up.Keys {
			fmt.Fprintf(w, "  kid %-24s thumbprint %s  RSA %d%s\n", printable(k.Kid), k.Thumbprint, k.Bits, algSuffix(k.Alg))
		}
		for _, d := range up.Dropped {
			fmt.Fprintf(w, "  dropped kid %s (%s): %s\n", printable(d.Kid), printable(d.Kty), printable(d.Reason))
		}
	}
	if ks.nonProd == ks.prod {
		show("Direct JWKS: both environments'", ks.nonProd, ks.nonProdSource)
		return
	}
	show("Direct JWKS: non-production", ks.nonProd, ks.nonProdSource)
	show("Direct JWKS: production", ks.prod, ks.prodSrc)
}

func algSuffix(alg string) string {
	if alg == "" {
		return ""
	}
	return " " + alg
}

func printSyncLine(w io.Writer, r *orgsync.Report) {
	line := fmt.Sprintf("Synced %s", plural(r.Total, "organization"))
	var ch []string
	if !r.First {
		for _, c := range []struct {
			n    int
			word string
		}{{len(r.Added) + len(r.Returned), "new"}, {len(r.Renamed), "renamed"}, {len(r.Gone), "no longer listed"}, {len(r.Status), "changed status"}} {
			if c.n > 0 {
				ch = append(ch, fmt.Sprintf("%d %s", c.n, c.word))
			}
		}
	}
	if len(ch) > 0 {
		line += ": " + strings.Join(ch, ", ")
	}
	fmt.Fprintln(w, line+".")
	if r.First {
		return
	}
	for _, c := range r.Added {
		fmt.Fprintf(w, "  new: %s %s\n", c.OrgID, printable(c.Name))
	}
	for _, c := range r.Renamed {
		fmt.Fprintf(w, "  renamed: %s %q -> %q\n", c.OrgID, printable(c.Old), printable(c.New))
	}
}

var actionOrder = []string{plan.ActionActivate, plan.ActionProduction, plan.ActionNonProduction, plan.ActionComplete, plan.ActionReactivate}

var actionWords = map[string]string{
	plan.ActionActivate:      "activate both environments (not responded)",
	plan.ActionProduction:    "activate production (non-production only)",
	plan.ActionComplete:      "activate both environments (non-production only, keys changed)",
	plan.ActionNonProduction: "activate non-production (production already holds these keys)",
	plan.ActionReactivate:    "re-activate both environments (keys enabled)",
}

var skipWords = map[string]string{
	plan.SkipCurrent:  "already hold these keys (per the recorded outcomes)",
	plan.SkipEnabled:  "keys enabled (--reactivate to upload these keys)",
	plan.SkipUnknown:  "unknown status, never acted on",
	plan.SkipNotAsked: "not named by --org",
}

func printPlan(w io.Writer, pl *plan.Plan, ks *keySet, o *ActivateOptions) {
	mode := "direct JWKS, one combined call per organization"
	switch {
	case ks.mode == plan.ModeJKU:
		mode = "JWK Set URL, two calls per organization"
	case o.Split:
		mode = "direct JWKS, two calls per organization (--split)"
	}
	fmt.Fprintf(w, "Plan (%s):\n", mode)
	ac := pl.ActionCounts()
	for _, a := range actionOrder {
		if ac[a] > 0 {
			fmt.Fprintf(w, "  %5d  %s\n", ac[a], actionWords[a])
		}
	}
	sc := pl.SkipCounts()
	for _, k := range []string{plan.SkipCurrent, plan.SkipEnabled, plan.SkipUnknown, plan.SkipNotAsked} {
		if sc[k] > 0 {
			words := skipWords[k]
			if k == plan.SkipEnabled && ks.mode == plan.ModeJKU {
				words = "keys enabled (--reactivate to point them at the JWK Set URL)"
			}
			fmt.Fprintf(w, "  %5d  skipped: %s\n", sc[k], words)
		}
	}
	for _, it := range pl.Items {
		if it.Reset {
			fmt.Fprintf(w, "         %s %s: %s\n", it.OrgID, printable(it.Name), printable(it.Reason))
		}
	}
	for _, it := range pl.Skipped {
		if it.Skip == plan.SkipUnknown || (it.Skip == plan.SkipCurrent && it.Status != portal.StatusEnabled) {
			fmt.Fprintf(w, "         %s %s: %s\n", it.OrgID, printable(it.Name), printable(it.Reason))
		}
	}
	calls := pl.Calls()
	r := o.Rate
	if o.startRate > 0 {
		r = o.startRate
	}
	est := time.Duration(float64(calls) / r * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(w, "  %s to ApproveDownload at most %s a second: about %s.\n", plural(calls, "call"), rateString(r), est)
	if calls == 0 {
		fmt.Fprintln(w, "Nothing to do: every organization is current.")
	}
}

// PlanJSON is the plan in --dry-run --output json.
type PlanJSON struct {
	Mode    string         `json:"mode"`
	Split   bool           `json:"split"`
	Calls   int            `json:"calls"`
	Actions map[string]int `json:"actions"`
	Skipped map[string]int `json:"skipped"`
	Keys    *PlanKeys      `json:"keys,omitempty"`
	Orgs    []PlanOrgJSON  `json:"orgs"`
}

// PlanKeys are the key thumbprints a run uploads.
type PlanKeys struct {
	NonProd []keys.KeyInfo `json:"nonProd"`
	Prod    []keys.KeyInfo `json:"prod"`
}

// PlanOrgJSON is one organization's planned action.
type PlanOrgJSON struct {
	OrgID  string `json:"orgId"`
	Name   string `json:"name"`
	Status int    `json:"status"`
	Action string `json:"action"`
	Reason string `json:"reason"`
	Calls  int    `json:"calls"`
}

func planJSON(pl *plan.Plan, ks *keySet, o *ActivateOptions) PlanJSON {
	j := PlanJSON{Mode: pl.Mode, Split: o.Split, Calls: pl.Calls(), Actions: pl.ActionCounts(), Skipped: pl.SkipCounts(), Orgs: []PlanOrgJSON{}}
	if ks.mode == plan.ModeJWKS {
		j.Keys = &PlanKeys{NonProd: ks.nonProd.Keys, Prod: ks.prod.Keys}
	}
	for _, it := range pl.Items {
		j.Orgs = append(j.Orgs, PlanOrgJSON{OrgID: it.OrgID, Name: it.Name, Status: int(it.Status), Action: it.Action, Reason: it.Reason, Calls: len(it.Calls)})
	}
	return j
}

// confirm asks a yes/no question on the terminal.
func confirm(ios *IOStreams, q string) (bool, error) {
	fmt.Fprintf(ios.ErrOut, "%s [y/N] ", q)
	line, err := bufio.NewReader(ios.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
