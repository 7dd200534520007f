package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// OrgsShowOptions are `orgs show`'s options.
type OrgsShowOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Report gives the report's portal, app and clock: call it after
	// Store, which picks the database's only app when --app is not given.
	Report func() report.Options
	OrgID  string

	id string // OrgID, checked
	// Store opens the state database for reading, with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdOrgsShow builds `orgs show ORGID`.
func NewCmdOrgsShow(f *Factory, runF func(*OrgsShowOptions) error) *cobra.Command {
	opts := &OrgsShowOptions{Store: f.ReadHeldAppStore}
	return &cobra.Command{
		Use:   "show ORGID",
		Short: "Show one organization: what it holds and its whole history (no portal call)",
		Long: `Shows one organization from the state database: its name, ECMId, status, FHIR base
URLs (from the Brands bundle), what each environment last received (mode, keys, run),
its last error, and its history: everything syncs noticed (new, renamed, status
changes, no longer listed) and every portal call made for it, oldest first.

--output json prints {org: {as one row of ` + "`report --format json`" + `}, events: [{at, syncId,
kind, old, new, what}], outcomes: [{as in ` + "`runs show`" + `}]}; --output csv prints the
history, one row per event or outcome.`,
		Example: `  activator orgs show 16770
  activator orgs show 16770 --output json`,
		Args: oneArg("an OrgId, from `activator orgs list`"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.OrgID = args[0]
			opts.IO, opts.Output, opts.Report = f.IO, f.Output, f.reportOptions
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return orgsShowRun(cmd.Context(), opts)
		},
	}
}

// OrgEventJSON is one thing a sync noticed about the organization.
type OrgEventJSON struct {
	At     time.Time `json:"at"`
	SyncID int64     `json:"syncId"`
	// Kind is new, renamed, gone, returned or status.
	Kind string `json:"kind"`
	Old  string `json:"old"`
	New  string `json:"new"`
	// What says it for a person ("status not-responded → enabled").
	What string `json:"what"`
}

// OrgShowJSON is `orgs show` in --output json.
type OrgShowJSON struct {
	Org      report.Org     `json:"org"`
	Events   []OrgEventJSON `json:"events"`
	Outcomes []OutcomeJSON  `json:"outcomes"`
	// Probes are the organization's probes, oldest first.
	Probes []OrgProbeJSON `json:"probes"`
}

// historyLine is one line of an organization's history, from either source.
type historyLine struct {
	at       time.Time
	source   string // sync or run
	id       int64
	kind     string
	envs     string
	mode     string
	result   string
	attempts int
	seconds  float64
	detail   string
}

// check reads the OrgId.
func (opts *OrgsShowOptions) check() error {
	id := strings.TrimSpace(opts.OrgID)
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return UsageErrorf("%q is not an OrgId: give the number `activator orgs list` shows (the part before the underscore of a download Id)", opts.OrgID)
	}
	opts.id = id
	return nil
}

func orgsShowRun(ctx context.Context, opts *OrgsShowOptions) error {
	id := opts.id
	s, app, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	opt := opts.Report()
	r, err := report.Build(ctx, s, app, opt)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(r.Orgs, func(o report.Org) bool { return o.OrgID == id })
	if i < 0 {
		return orgNotFound(r, id, opt.AppID)
	}
	org := r.Orgs[i]
	evs, err := s.OrgEvents(ctx, app.ID, id)
	if err != nil {
		return err
	}
	outs, err := s.OrgOutcomes(ctx, app.ID, id)
	if err != nil {
		return err
	}
	js := OrgShowJSON{Org: org, Events: make([]OrgEventJSON, 0, len(evs)), Outcomes: make([]OutcomeJSON, 0, len(outs))}
	var lines []historyLine
	for _, e := range evs {
		what := report.EventText(e.Event, opt)
		js.Events = append(js.Events, OrgEventJSON{At: e.At, SyncID: e.SyncID, Kind: e.Kind, Old: e.Old, New: e.New, What: what})
		lines = append(lines, historyLine{at: e.At, source: "sync", id: e.SyncID, kind: e.Kind, detail: what})
	}
	names := map[string]string{id: org.Name}
	for _, o := range outs {
		oj := outcomeJSON(o, names)
		js.Outcomes = append(js.Outcomes, oj)
		lines = append(lines, historyLine{at: o.Started, source: "run", id: o.RunID, kind: o.Action, envs: o.Envs, mode: o.Mode,
			result: o.Result, attempts: o.Attempts, seconds: oj.DurationSeconds, detail: o.Message})
	}
	if lines, err = addProbeHistory(ctx, s, app, id, &js, lines); err != nil {
		return err
	}
	// Oldest first; at the same instant a sync's finding comes before the
	// calls it led to.
	slices.SortStableFunc(lines, func(a, b historyLine) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(b.source, a.source)
	})
	switch opts.Output {
	case OutputJSON:
		return writeJSON(opts.IO.Out, js)
	case OutputCSV:
		t := newTable(opts.IO.Out, true, "at", "source", "id", "kind", "envs", "mode", "result", "attempts", "durationSeconds", "detail")
		for _, l := range lines {
			attempts, secs := "", ""
			if l.source == "run" {
				attempts, secs = fmt.Sprint(l.attempts), fmt.Sprint(l.seconds)
			}
			t.add(l.at.UTC().Format(time.RFC3339Nano), l.source, l.id, l.kind, l.envs, l.mode, l.result, attempts, secs, l.detail)
		}
		return t.flush()
	}
	return printOrg(opts.IO.Out, r, org, lines)
}

// orgNotFound explains an OrgId the database does not know, spotting the
// usual mix-up with the ECMId.
func orgNotFound(r *report.Report, id, app string) error {
	for _, o := range r.Orgs {
		if o.ECMId == id {
			return UsageErrorf("%s is the ECMId of organization %s (%s), not an OrgId: run `activator orgs show %s`", id, o.OrgID, o.Name, o.OrgID)
		}
	}
	if len(r.Orgs) == 0 {
		return UsageErrorf("organization %s: no organizations stored for app %s yet: run `activator orgs sync`", id, app)
	}
	return UsageErrorf("organization %s is not in the state database for app %s: check the OrgId with `activator orgs list`, or run `activator orgs sync`", id, app)
}

// uploadLine describes what one environment last received.
func uploadLine(u *report.Upload) string {
	if u == nil {
		return "nothing recorded"
	}
	line := report.ModeText(u.Mode)
	if u.Mode == report.ModeJWKS {
		keys := strings.Join(u.Kids, ", ")
		if keys == "" {
			keys = "keys"
		}
		line += ": " + keys + " (" + strings.Join(u.Thumbprints, ", ") + ")"
	}
	return line + fmt.Sprintf(", run %d, %s", u.RunID, stamp(u.At))
}

func printOrg(w io.Writer, r *report.Report, o report.Org, lines []historyLine) error {
	fmt.Fprintf(w, "Organization %s: %s\n", o.OrgID, printable(o.Name))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  ECMId\t%s\n", o.ECMId)
	status := o.StatusName
	if !o.Listed && o.GoneSince != nil {
		status += " (as last listed; no longer listed since " + stamp(*o.GoneSince) + ")"
	}
	fmt.Fprintf(tw, "  Status\t%s\n", status)
	fmt.Fprintf(tw, "  First seen\t%s\n", stamp(o.FirstSeen))
	fmt.Fprintf(tw, "  Last seen\t%s\n", stamp(o.LastSeen))
	switch {
	case len(o.FHIRBaseURLs) > 0:
		for i, u := range o.FHIRBaseURLs {
			label := ""
			if i == 0 {
				label = "FHIR base URL"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", label, u)
		}
	case r.Brands == nil:
		fmt.Fprintln(tw, "  FHIR base URL\tunknown: no Brands bundle imported (`activator brands --bundle FILE`)")
	default:
		fmt.Fprintf(tw, "  FHIR base URL\tnone in the Brands bundle imported %s: patients cannot discover it there\n", stamp(r.Brands.ImportedAt))
	}
	fmt.Fprintf(tw, "  Non-production\t%s\n", uploadLine(o.NonProd))
	fmt.Fprintf(tw, "  Production\t%s\n", uploadLine(o.Prod))
	for _, a := range r.Attention {
		if a.OrgID == o.OrgID {
			fmt.Fprintf(tw, "  Attention\t%s\n", attentionText(a))
		}
	}
	if p := o.Probe; p != nil {
		fmt.Fprintf(tw, "  Probe\t%s (%s)\n", probeClassWords[p.Class], stamp(p.At))
	}
	for _, j := range r.JWKSetURL {
		if j.OrgID == o.OrgID {
			fmt.Fprintf(tw, "  Keys\t%s: upload them with `activator activate --jwks FILE|URL --reactivate --org %s`\n", jkuLine(j), o.OrgID)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w, false, "WHEN", "WHAT", "DETAIL")
	for _, l := range lines {
		switch l.source {
		case "sync":
			t.add(stampSec(l.at), fmt.Sprintf("sync %d", l.id), l.detail)
		case "probe":
			t.add(stampSec(l.at), "probe", l.result+": "+printable(l.detail))
		default:
			what := fmt.Sprintf("run %d: %s %s (%s)", l.id, l.kind, l.envs, report.ModeText(l.mode))
			res := fmt.Sprintf("%s, %s, %s", l.result, plural(l.attempts, "attempt"), seconds(l.seconds))
			if l.kind == report.ActionVerify {
				res = l.result
			}
			if d := tableMessage(l.result, l.detail); d != "" {
				res += ": " + d
			}
			t.add(stampSec(l.at), what, res)
		}
	}
	return t.flush()
}
