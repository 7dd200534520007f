package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/brands"
	"github.com/activator-dev/activator/internal/keys"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// DefaultBundleTimeout bounds the download of the Brands bundle: about
// 85 MB, which takes seconds on a good link and minutes on a poor one.
const DefaultBundleTimeout = 10 * time.Minute

// DefaultSmartMaxConcurrency caps --concurrency: past it a pass mostly
// queues behind --rate anyway.
const DefaultSmartMaxConcurrency = 64

// BrandsOptions are `brands`' options.
type BrandsOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// HTTPClient fetches a bundle URL and the smart-configurations; Now
	// dates the import and each answer.
	HTTPClient *http.Client
	Now        func() time.Time
	// Logf prints a progress line (unless --quiet); Debugf one with --verbose.
	Logf, Debugf func(format string, args ...any)
	// NewPacer paces the smart-configuration requests.
	NewPacer func(rate float64, retries int) *pace.Pacer
	// NewProgress reports the smart-configuration checks' progress on stderr.
	NewProgress func(total int, what, unit string) *progress

	Bundle      string
	SmartConfig bool
	Rate        float64
	Concurrency int
	Timeout     time.Duration
	Retries     int

	// backoff, when set, replaces the Pacer's first backoff (tests).
	backoff time.Duration
	// Store opens the state database with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdBrands builds `brands`.
func NewCmdBrands(f *Factory, runF func(*BrandsOptions) error) *cobra.Command {
	opts := &BrandsOptions{Store: f.AppStore, NewPacer: f.newPacer, NewProgress: f.newProgress}
	cmd := &cobra.Command{
		Use:   "brands",
		Short: "Cross-reference the organizations with Epic's public Brands directory",
		Long: `Reads Epic's public Brands bundle (a FHIR Bundle of Organization and Endpoint
resources, about 85 MB, streamed) and joins it with the organizations of the last
` + "`orgs sync`" + `: by OrgId (Endpoint.managingOrganization) for each organization's FHIR base
URLs, and by ECMId (the brand-identifier of parent Organizations) for its brand name
and sub-organizations. What was learned is stored, replacing the previous import only
once the whole bundle has been read.

It reports activated organizations with no public endpoint (patients cannot discover
them), endpoints whose organization is not on the management page, and organizations
whose names differ between the two sources (likely renames). An Endpoint's name is a
patient-facing brand name, often an affiliate's, and one OrgId has many: the
management name is compared first with Endpoint.managingOrganization.display (the
name of the organization the keys are registered with), then with every endpoint's
name (all the Endpoint resources on an address are kept) and the brand's. A name
difference is reported only when none of them matches, with all of them shown.

With --smart-config it also asks each organization's server for
{base}/.well-known/smart-configuration, paced, and flags servers that do not answer,
that do not list private_key_jwt, or that list neither RS384 nor RS256.

Without --bundle the report uses the bundle imported last. "Activated" means enabled
in both environments or in non-production only. The exit status is 0 whenever the
report was made, findings or not; 2 for a bundle that is not a Brands bundle; 4 when
its URL cannot be read.`,
		Example: `  activator brands --bundle ` + brands.DefaultBundleURL + `
  activator brands --bundle brands.json --output json
  activator brands --smart-config --timeout 5s --output csv > findings.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.HTTPClient, opts.Now, opts.Logf, opts.Debugf = f.IO, f.Output, f.HTTPClient, f.Now, f.Logf, f.Debugf
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return brandsRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Bundle, "bundle", "", "the Brands bundle: a file or an http(s) URL, e.g. "+brands.DefaultBundleURL+" (default: the last import)")
	fl.BoolVar(&opts.SmartConfig, "smart-config", false, "also check each listed organization's .well-known/smart-configuration")
	fl.Float64Var(&opts.Rate, "rate", brands.DefaultSmartRate, "smart-configuration requests per second, across all servers")
	fl.IntVar(&opts.Concurrency, "concurrency", brands.DefaultSmartConcurrency, "servers asked at once")
	fl.DurationVar(&opts.Timeout, "timeout", brands.DefaultSmartTimeout, "time limit of one smart-configuration request")
	fl.IntVar(&opts.Retries, "retries", brands.DefaultSmartRetries, "retries of a request that got no answer or a 5xx")
	return cmd
}

// bundleJSON describes the directory data a report used.
type bundleJSON struct {
	Source        string     `json:"source"`
	Date          *time.Time `json:"date,omitempty"`
	ImportedAt    time.Time  `json:"importedAt"`
	Imported      bool       `json:"importedNow"`
	Organizations int        `json:"organizations"`
	Endpoints     int        `json:"endpoints"`
	Brands        int        `json:"brands"`
	Unjoined      int        `json:"endpointsWithoutOrgId"`
}

// smartJSON is one checked endpoint of a listed organization.
type smartJSON struct {
	OrgID string `json:"orgId"`
	Name  string `json:"name"`
	brands.SmartResult
}

// brandsJSON is the whole report in --output json.
type brandsJSON struct {
	Bundle bundleJSON `json:"bundle"`
	*brands.Report
	SmartConfig []smartJSON `json:"smartConfig,omitempty"`
}

// check validates the flags; the SMART configuration flags count only
// with --smart-config.
func (opts *BrandsOptions) check() error {
	if !opts.SmartConfig {
		return nil
	}
	switch {
	case !(opts.Rate > 0) || math.IsInf(opts.Rate, 0):
		return UsageErrorf("--rate must be above 0 (requests per second, e.g. %g), not %v", brands.DefaultSmartRate, opts.Rate)
	case opts.Concurrency < 1 || opts.Concurrency > DefaultSmartMaxConcurrency:
		return UsageErrorf("--concurrency %d is out of range: use 1 to %d", opts.Concurrency, DefaultSmartMaxConcurrency)
	case opts.Timeout <= 0:
		return UsageErrorf("--timeout must be above 0, e.g. 10s")
	case opts.Retries < 0:
		return UsageErrorf("--retries must be 0 or more")
	}
	return nil
}

func brandsRun(ctx context.Context, opts *BrandsOptions) error {
	s, app, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		return err
	}
	if len(orgs) == 0 {
		return UsageErrorf("no organizations stored for app %s: run `activator orgs sync` first", app.AppID)
	}
	var im *store.BrandsImport
	imported := false
	if opts.Bundle != "" {
		if im, err = importBundle(ctx, opts, s, app.ID, opts.Bundle); err != nil {
			return err
		}
		imported = true
	} else {
		if im, err = s.LastBrandsImport(ctx, app.ID); err != nil {
			return err
		}
		if im == nil {
			return UsageErrorf("no Brands bundle imported yet: pass --bundle FILE|URL (Epic publishes it at %s)", brands.DefaultBundleURL)
		}
	}
	eps, err := s.Endpoints(ctx, app.ID)
	if err != nil {
		return err
	}
	brandsByECM, err := s.Brands(ctx, app.ID)
	if err != nil {
		return err
	}
	rep := brands.CrossReference(orgs, eps, brandsByECM)
	var smart []smartJSON
	if opts.SmartConfig {
		if smart, err = checkSmartConfigs(ctx, opts, s, app.ID, orgs, eps); err != nil {
			return err
		}
	}
	out := brandsJSON{Bundle: newBundleJSON(im, imported), Report: rep, SmartConfig: smart}
	switch opts.Output {
	case OutputJSON:
		if opts.SmartConfig && out.SmartConfig == nil {
			out.SmartConfig = []smartJSON{}
		}
		return writeJSON(opts.IO.Out, out)
	case OutputCSV:
		return writeBrandsCSV(opts.IO.Out, &out)
	}
	return writeBrandsTable(opts.IO.Out, &out, opts.SmartConfig)
}

// importBundle reads the whole bundle and only then replaces the stored
// directory, in one transaction: a bad or broken bundle leaves it as it was.
func importBundle(ctx context.Context, opts *BrandsOptions, s *store.Store, app int64, src string) (*store.BrandsImport, error) {
	hc := &http.Client{Timeout: DefaultBundleTimeout}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		c.Timeout = DefaultBundleTimeout
		hc = &c
	}
	start := time.Now()
	rc, info, err := brands.Open(ctx, src, brands.OpenOptions{Client: hc, UserAgent: "activator/" + Version})
	shown := keys.RedactURL(src) // shown and stored without credentials
	if err != nil {
		return nil, bundleError(src, err)
	}
	defer rc.Close()
	opts.Logf("Reading the Brands bundle from %s ...", shown)
	dir, err := brands.Parse(rc)
	if err != nil {
		return nil, bundleError(src, err)
	}
	if dir.Date.IsZero() && !info.LastModified.IsZero() {
		dir.Date = info.LastModified
	}
	data := dir.StoreData(shown, opts.Now())
	if _, err := s.ReplaceBrands(ctx, app, data); err != nil {
		return nil, err
	}
	opts.Logf("Read %s, %s and %s in %s.", plural(dir.Stats.Organizations, "organization"),
		plural(dir.Stats.Endpoints, "endpoint"), plural(len(dir.Brands), "brand"), time.Since(start).Round(time.Millisecond))
	if dir.Stats.Irregular > 0 {
		opts.Logf("Note: %s had values of an unexpected type; what could be read of them was used.", plural(dir.Stats.Irregular, "entry"))
	}
	im, err := s.LastBrandsImport(ctx, app)
	if err != nil {
		return nil, err
	}
	return im, nil
}

// bundleError maps a bundle failure to its exit code: bad input 2, an
// unreachable or failing host 4.
// A URL's credentials and query are redacted wherever the message names it.
func bundleError(src string, err error) error {
	var ie *brands.InputError
	var ue *brands.UnavailableError
	shown := keys.RedactURL(src)
	redact := func(msg string) string { return strings.ReplaceAll(msg, src, shown) }
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &ie):
		msg := redact(ie.Error())
		if !strings.HasPrefix(msg, "--bundle") {
			msg = "--bundle " + shown + ": " + msg
		}
		return UsageErrorf("%s", msg)
	case errors.As(err, &ue):
		return &ExitError{Code: ExitUnavailable, Err: fmt.Errorf("%s (try again later; check --bundle)", redact(ue.Error()))}
	}
	return errors.New(redact(err.Error()))
}

func newBundleJSON(im *store.BrandsImport, imported bool) bundleJSON {
	b := bundleJSON{Source: im.Source, ImportedAt: im.ImportedAt, Imported: imported, Organizations: im.Organizations,
		Endpoints: im.Endpoints, Brands: im.Brands, Unjoined: im.Unjoined}
	if !im.BundleDate.IsZero() {
		d := im.BundleDate
		b.Date = &d
	}
	return b
}

// checkSmartConfigs asks the servers of the listed organizations, stores
// each answer as it comes, and returns one row per organization endpoint.
func checkSmartConfigs(ctx context.Context, opts *BrandsOptions, s *store.Store, app int64, orgs []store.Org,
	eps map[string][]store.Endpoint) ([]smartJSON, error) {
	type row struct {
		org  store.Org
		addr string
	}
	var rows []row
	var addrs []string
	seen := make(map[string]bool)
	for _, o := range orgs {
		if o.GoneSince != nil {
			continue
		}
		for _, e := range eps[o.OrgID] {
			rows = append(rows, row{o, e.Address})
			if !seen[e.Address] {
				seen[e.Address] = true
				addrs = append(addrs, e.Address)
			}
		}
	}
	if len(addrs) == 0 {
		opts.Logf("No listed organization has an endpoint in the directory: no SMART configuration to check.")
		return []smartJSON{}, nil
	}
	p := opts.NewPacer(opts.Rate, opts.Retries)
	if opts.backoff > 0 {
		p.SetBackoff(opts.backoff)
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		c.Timeout = 0 // each request is bounded by --timeout instead
		hc = &c
	}
	opts.Logf("Checking the SMART configuration of %s (%s a second, %d at a time, %s limit each) ...",
		plural(len(addrs), "server"), strconv.FormatFloat(opts.Rate, 'f', -1, 64), opts.Concurrency, opts.Timeout)
	checked := 0
	bar := opts.NewProgress(len(addrs), "checking", "servers")
	defer bar.close()
	results, err := brands.CheckSmart(ctx, addrs, brands.SmartOptions{
		Client: hc, Pacer: p, Concurrency: opts.Concurrency, Timeout: opts.Timeout,
		UserAgent: "activator/" + Version, Now: opts.Now,
		OnResult: func(r brands.SmartResult) error {
			if err := s.RecordSmartConfig(ctx, app, store.SmartConfig{
				Address: r.Address, CheckedAt: r.CheckedAt, Answered: r.Answered, Error: r.Error,
				TokenEndpoint: r.TokenEndpoint, AuthorizationEndpoint: r.AuthorizationEndpoint,
				AuthMethods: r.AuthMethods, SigningAlgs: r.SigningAlgs,
			}); err != nil {
				return err
			}
			checked++
			bar.item(checked, len(addrs), printable(r.Address)+": "+printable(smartSummary(r)), false)
			return nil
		},
	})
	bar.close()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			opts.Logf("Stopped after %d of %d servers; their answers are stored.", len(results), len(addrs))
		}
		return nil, err
	}
	byAddr := make(map[string]brands.SmartResult, len(results))
	for _, r := range results {
		byAddr[r.Address] = r
	}
	out := make([]smartJSON, 0, len(rows))
	for _, r := range rows {
		out = append(out, smartJSON{OrgID: r.org.OrgID, Name: r.org.Name, SmartResult: byAddr[r.addr]})
	}
	return out, nil
}

func smartSummary(r brands.SmartResult) string {
	if len(r.Problems) == 0 {
		return "ok"
	}
	msgs := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, "; ")
}

// directoryNames lists every name the directory has for a renamed
// organization, the registered organization's own (display) first.
func directoryNames(r brands.Rename) string {
	var parts []string
	if len(r.Displays) > 0 {
		parts = append(parts, "registered as "+strings.Join(r.Displays, ", "))
	}
	if len(r.EndpointNames) > 0 {
		parts = append(parts, "endpoints "+strings.Join(r.EndpointNames, ", "))
	}
	if r.Brand != "" {
		parts = append(parts, "brand "+r.Brand)
	}
	if len(parts) == 0 {
		return r.Source + " " + r.Directory
	}
	return strings.Join(parts, "; ")
}

// CSV finding kinds, one row per finding.
const (
	findingNoEndpoint = "no-endpoint"
	findingUnknownOrg = "unknown-org"
	findingRenamed    = "renamed"
)

func writeBrandsCSV(w io.Writer, out *brandsJSON) error {
	t := newTable(w, true, "finding", "orgId", "name", "ecmId", "status", "address", "detail")
	for _, m := range out.NoEndpoint {
		detail := "no endpoint in the directory"
		if m.Brand != "" {
			detail += "; brand " + m.Brand
		}
		t.add(findingNoEndpoint, m.OrgID, m.Name, m.ECMId, StatusName(m.Status), "", detail)
	}
	for _, u := range out.Unknown {
		detail := "not on the management page"
		if u.Gone {
			detail = "no longer listed on the management page (was " + u.Former + ")"
		}
		t.add(findingUnknownOrg, u.OrgID, u.Name, u.ECMId, "", u.Address, detail)
	}
	for _, r := range out.Renamed {
		t.add(findingRenamed, r.OrgID, r.Name, r.ECMId, "", "", directoryNames(r))
	}
	for _, sc := range out.SmartConfig {
		for _, p := range sc.Problems {
			t.add(p.Kind, sc.OrgID, sc.Name, "", "", sc.Address, p.Message)
		}
	}
	return t.flush()
}

func writeBrandsTable(w io.Writer, out *brandsJSON, smart bool) error {
	writeBrandsHeader(w, out)
	t := newTable(w, false, "ORGID", "NAME", "ECMID", "STATUS", "DIRECTORY BRAND")
	for _, m := range out.NoEndpoint {
		brand := "-"
		if m.Brand != "" {
			brand = fmt.Sprintf("%s (%s)", m.Brand, plural(m.SubOrgs, "sub-organization"))
		}
		t.add(m.OrgID, m.Name, dash(m.ECMId), StatusName(m.Status), brand)
	}
	if err := brandsSection(w, "Activated organizations with no public endpoint", "patients cannot discover them in the directory.", len(out.NoEndpoint), t); err != nil {
		return err
	}
	t = newTable(w, false, "ORGID", "ENDPOINT NAME", "ADDRESS", "NOTE")
	for _, u := range out.Unknown {
		note := "not listed"
		if u.Gone {
			note = "no longer listed (was " + u.Former + ")"
		}
		t.add(u.OrgID, u.Name, u.Address, note)
	}
	if err := brandsSection(w, "Endpoints whose organization is not on the management page", "the app is not delivered there.", len(out.Unknown), t); err != nil {
		return err
	}
	t = newTable(w, false, "ORGID", "MANAGEMENT NAME", "DIRECTORY NAMES")
	for _, r := range out.Renamed {
		t.add(r.OrgID, r.Name, directoryNames(r))
	}
	if err := brandsSection(w, "Names that differ between the two sources", "likely renames.", len(out.Renamed), t); err != nil {
		return err
	}
	if !smart {
		return nil
	}
	return writeSmartTable(w, out)
}

// writeBrandsHeader says which bundle and which listing were compared.
func writeBrandsHeader(w io.Writer, out *brandsJSON) {
	b := out.Bundle
	date := "undated"
	if b.Date != nil {
		date = "of " + b.Date.UTC().Format("2006-01-02")
	}
	how := "read now"
	if !b.Imported {
		how = "imported " + b.ImportedAt.Local().Format("2006-01-02 15:04")
	}
	fmt.Fprintf(w, "Brands bundle %s (%s from %s): %s, %s, %s", date, how, b.Source,
		plural(b.Organizations, "organization"), plural(b.Endpoints, "endpoint"), plural(b.Brands, "brand"))
	if b.Unjoined > 0 {
		fmt.Fprintf(w, "; %s without an OrgId", plural(b.Unjoined, "endpoint"))
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintf(w, "Management page: %s listed, %d with a public endpoint, %d activated.\n",
		plural(out.Listed, "organization"), out.WithEndpoint, out.Activated)
}

// brandsSection prints a titled table, or "none".
func brandsSection(w io.Writer, title, why string, n int, t *table) error {
	fmt.Fprintln(w)
	if n == 0 {
		fmt.Fprintf(w, "%s: none.\n", title)
		return nil
	}
	fmt.Fprintf(w, "%s (%d): %s\n", title, n, why)
	return t.flush()
}

// writeSmartTable prints the SMART configuration problems and notes.
func writeSmartTable(w io.Writer, out *brandsJSON) error {
	t := newTable(w, false, "ORGID", "NAME", "ADDRESS", "PROBLEM")
	problems, notes := 0, 0
	for _, sc := range out.SmartConfig {
		for _, p := range sc.Problems {
			t.add(sc.OrgID, sc.Name, sc.Address, p.Message)
			problems++
		}
		notes += len(sc.Notes)
	}
	checked := len(out.SmartConfig)
	fmt.Fprintf(w, "\nChecked the SMART configuration of %s.\n", plural(checked, "endpoint"))
	if err := brandsSection(w, "SMART configuration problems", "these servers may refuse the app's token requests.", problems, t); err != nil {
		return err
	}
	if notes > 0 {
		var lines []string
		for _, sc := range out.SmartConfig {
			for _, n := range sc.Notes {
				lines = append(lines, fmt.Sprintf("  %-6s %s: %s", sc.OrgID, printable(sc.Name), printable(n)))
			}
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "\nNotes (%d):\n%s\n", len(lines), strings.Join(lines, "\n"))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
