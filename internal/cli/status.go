package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// DefaultStatusLines is how many entries each list of `status` shows
// before "and N more": the command is one screen; --all, `orgs list` and
// `report` show everything.
const DefaultStatusLines = 10

// StatusOptions are `status`'s options.
type StatusOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Report gives the report's portal, app and clock: call it after
	// Store, which picks the database's only app when --app is not given.
	Report func() report.Options
	All    bool
	// Store opens the state database for reading, with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdStatus builds `status`.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Store: f.ReadHeldAppStore}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One screen on the app's activation, from the state database (no portal call)",
		Long: `Shows, from the state database and without calling the portal: the last sync (when,
how many organizations, what changed), the organizations per status, the last run
(when, outcome), the organizations needing attention (refused by the organization,
status mismatch after activation, failed calls, unknown statuses), the key sets
uploaded and how many organizations hold each, the organizations probably holding
them but unconfirmed (a run stopped during the call, and the portal then showed the
organization enabled), and the organizations with keys enabled that hold no keys
uploaded by activator: on the JWK Set URL where activator's last upload used it,
otherwise "JWK Set URL or keys entered by hand" (the portal's listing does not say which).
A call whose run stopped before its answer was recorded is listed as needing attention
("outcome unknown") until the next activate run settles it.
After ` + "`brands --smart-config`" + `, the survey of the activated organizations' servers: how
many answered, and which do not list private_key_jwt or RS384.

--output json prints one object:
  app, portal, generatedAt
  lastSync    {id, at, total, first, new, renamed, gone, statusChanged,
               changes: [{orgId, name, kind, old, new}]}, null before the first sync
  lastRun     {id, started, finished, durationSeconds, mode, split, nonProdKeys,
               prodKeys, planned, outcome, stopped, message, args, calls,
               results: {activated, refused, failed, mismatched, unknown, unconfirmed}},
               null before the first run
  counts      [{status, name, class, count}]: listed organizations per status
  listed, gone
  attention   [{orgId, name, status, statusName, reason (pending | refused | mismatch |
               failed | not-shown | unknown-status), message, since, lastTried, runId}]
  keySets     [{thumbprints, kids, firstUsed, nonProdOrgs, prodOrgs, orgs}]
  jwkSetUrl   [{orgId, name, status, statusName, reason (jku-upload | no-upload: JWK
               Set URL or keys entered by hand), nonProd, prod (jwks | jku | none; ""
               when not enabled), since, runId}]: enabled without keys uploaded by activator
  brands      {importedAt, bundleDate, source}, null when no Brands bundle was imported
  smartConfig {lastChecked, activated, withEndpoint, checked, answered,
               noPrivateKeyJwt, noRs384: [{orgId, name, address, authMethods,
               signingAlgs, checkedAt}]}: the smart-configuration survey of the
               activated organizations' servers (brands --smart-config), null before any
  probes      {lastAt, counts {live, not-known, inconclusive, unreachable, error},
               notKnown [{orgId, name, activatedAt, sinceActivationHours, probedAt,
               evidence}], partial, passProbed, passTargets}: each organization's newest
               probe (activator probe), null before any; partial when the newest probe
               pass has not probed every organization it set out to (still running,
               stopped, or cut off by --probe-time-limit): passProbed of passTargets
Times are RFC 3339. Lists are never null.`,
		Example: `  activator status
  activator status --all
  activator status --output json | jq '.attention[] | select(.reason == "refused")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.Report = f.IO, f.Output, f.reportOptions
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, fmt.Sprintf("show every entry of each list (default: the first %d)", DefaultStatusLines))
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	r, err := buildReport(ctx, opts.Store, opts.Report)
	if err != nil {
		return err
	}
	if opts.Output == OutputJSON {
		return writeJSON(opts.IO.Out, statusJSON{Report: r})
	}
	limit := DefaultStatusLines
	if opts.All {
		limit = 0
	}
	if err := printStatus(opts.IO.Out, r, limit); err != nil {
		return err
	}
	return nil
}

// statusJSON is the report without its history and rows: the outer
// fields, left nil, hide the embedded ones of the same name.
type statusJSON struct {
	*report.Report
	History []report.SyncPoint `json:"history,omitempty"`
	Orgs    []report.Org       `json:"orgs,omitempty"`
}

// reportOptions are the report package's options for this command line:
// the portal and app as resolved so far, and the clock's time.
func (f *Factory) reportOptions() report.Options {
	return report.Options{Portal: f.Portal, AppID: f.App, Now: f.Now(), Alive: processAlive}
}

// buildReport reads the app's whole state, writing nothing.
func buildReport(ctx context.Context, open func(context.Context) (*store.Store, store.App, error), ropts func() report.Options) (*report.Report, error) {
	s, app, err := open(ctx)
	if err != nil {
		return nil, err
	}
	return report.Build(ctx, s, app, ropts())
}

// processAlive reports whether pid still runs: a run marked running whose
// process is gone was killed or crashed.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// stamp is how times are printed: UTC, to the minute, like the portal's
// own messages.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// stampSec is stamp with seconds, for the timings of a run.
func stampSec(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// ago says how long before now t was, roughly.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future: check the clock"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

// seconds prints a duration given in seconds for a person.
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// modeLine describes a run's mode.
func modeLine(r report.RunSummary) string {
	switch {
	case r.Mode == report.ModeJKU:
		return "JWK Set URL, two calls per organization"
	case r.Split:
		return "direct JWKS, two calls per organization (--split)"
	}
	return "direct JWKS, one combined call per organization"
}

// resultsLine sums up a run's organizations.
func resultsLine(r report.RunResults) string {
	parts := []string{fmt.Sprintf("%d activated", r.Activated)}
	for _, p := range []struct {
		n    int
		word string
	}{{r.Refused, "refused"}, {r.Failed, "failed"}, {r.Mismatched, "mismatched"},
		{r.Unknown, "outcome unknown"}, {r.Unconfirmed, "probably activated (unconfirmed)"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	return strings.Join(parts, ", ")
}

// outcomeWord is a run's outcome, "stopped" when its process is gone.
func outcomeWord(r report.RunSummary) string {
	if r.Stopped {
		return "stopped"
	}
	return r.Outcome
}

// syncChangesLine sums up what a sync noticed.
func syncChangesLine(s *report.SyncSummary) string {
	if s.First {
		return "first sync: every organization was new"
	}
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{s.New, "new"}, {s.Renamed, "renamed"}, {s.Gone, "no longer listed"}, {s.StatusChanged, "changed status"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	if len(parts) == 0 {
		if s.Syncs > 1 {
			return "no changes"
		}
		return "no changes since the previous sync"
	}
	return strings.Join(parts, ", ")
}

// changeText describes one change of a sync.
func changeText(c report.Change) string {
	name := printable(c.Name)
	switch c.Kind {
	case store.EventNew:
		return "new: " + name
	case store.EventRenamed:
		return fmt.Sprintf("renamed: %q → %q", c.Old, c.New)
	case store.EventGone:
		return "no longer listed: " + name
	case store.EventReturned:
		return "listed again: " + name
	case store.EventStatus:
		return fmt.Sprintf("%s: %s → %s", name, printable(c.Old), printable(c.New))
	}
	return c.Kind + ": " + name
}

// attentionText says why an organization needs a person, and since when.
func attentionText(a report.Attention) string {
	switch a.Reason {
	case report.ReasonUnknown:
		return fmt.Sprintf("unknown status %d: never acted on; check it on the portal", a.Status)
	}
	why := map[string]string{report.ReasonRefused: "refused by the organization", report.ReasonMismatch: "status mismatch after activation",
		report.ReasonFailed: "call failed", report.ReasonNotShown: "not shown as enabled by the portal",
		report.ReasonPending: "outcome unknown"}[a.Reason]
	if why == "" {
		why = a.Reason
	}
	if a.Since != nil {
		why += " since " + stamp(*a.Since)
	}
	if a.RunID > 0 {
		why += fmt.Sprintf(" (last: run %d)", a.RunID)
	}
	return why + ": " + a.Message
}

// jkuLine says what is known of an organization enabled without keys
// uploaded by activator.
func jkuLine(j report.JKUOrg) string {
	if j.Reason == report.JKUUploaded {
		line := "last upload used the JWK Set URL"
		if j.Since != nil {
			line += fmt.Sprintf(" (run %d, %s)", j.RunID, stamp(*j.Since))
		}
		return line
	}
	return report.NoUploadText
}

// more prints "and N more" when a list was cut.
func more(w io.Writer, total, shown int, where string) {
	if total > shown {
		fmt.Fprintf(w, "  ... and %d more (%s)\n", total-shown, where)
	}
}

func cut(n, limit int) int {
	if limit > 0 && n > limit {
		return limit
	}
	return n
}

func printStatus(w io.Writer, r *report.Report, limit int) error {
	fmt.Fprintf(w, "App %s on %s\n\n", r.App, r.Portal)
	if r.LastSync == nil {
		fmt.Fprintln(w, "No sync yet: run `activator orgs sync` to list the organizations, or `activator activate`.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	printSyncStatus(tw, r, limit)
	printLastRun(tw, r)
	if err := tw.Flush(); err != nil {
		return err
	}
	printAttention(w, r, limit)
	printProbeStatus(w, r, limit)
	printSmartStatus(w, r, limit)
	printKeySets(w, r)
	printJKUOrgs(w, r, limit)
	return nil
}

// printSyncStatus prints the last sync, its changes and the counts.
func printSyncStatus(tw io.Writer, r *report.Report, limit int) {
	s := r.LastSync
	changes := syncChangesLine(s)
	if s.Syncs > 1 && !s.First {
		changes = fmt.Sprintf("since the last run began (%d syncs): %s", s.Syncs, changes)
	}
	fmt.Fprintf(tw, "Last sync\t%s (%s): %s; %s\n", stamp(s.At), ago(r.GeneratedAt, s.At), plural(s.Total, "organization"), changes)
	if !s.First {
		n := cut(len(s.Changes), limit)
		for _, c := range s.Changes[:n] {
			fmt.Fprintf(tw, "\t  %s %s\n", c.OrgID, changeText(c))
		}
		if len(s.Changes) > n {
			fmt.Fprintf(tw, "\t  ... and %d more (--all)\n", len(s.Changes)-n)
		}
	}
	var counts []string
	for _, c := range r.Counts {
		counts = append(counts, fmt.Sprintf("%d %s", c.Count, c.Name))
	}
	line := strings.Join(counts, ", ")
	if r.Gone > 0 {
		line += fmt.Sprintf(" (and %d no longer listed)", r.Gone)
	}
	fmt.Fprintf(tw, "Status\t%s\n", line)
}

// printLastRun prints the last run's lines.
func printLastRun(tw io.Writer, r *report.Report) {
	lr := r.LastRun
	if lr == nil {
		fmt.Fprintln(tw, "Last run\tnone yet: `activator activate --dry-run` shows what a run would do")
		return
	}
	took := "took " + seconds(lr.DurationSeconds)
	switch {
	case lr.Stopped:
		took = "stopped after " + seconds(lr.DurationSeconds)
	case lr.Finished == nil:
		took = "running for " + seconds(lr.DurationSeconds)
	}
	fmt.Fprintf(tw, "Last run\t#%d, %s (%s), %s, %s: %s\n", lr.ID, stamp(lr.Started), ago(r.GeneratedAt, lr.Started), modeLine(*lr), took, outcomeWord(*lr))
	fmt.Fprintf(tw, "\t%s of %s planned\n", resultsLine(lr.Results), plural(lr.Planned, "organization"))
	if lr.Stopped {
		fmt.Fprintln(tw, "\tits process is gone (killed or crashed): re-run the same command to resume")
	} else if lr.Message != "" {
		fmt.Fprintf(tw, "\t%s\n", printable(lr.Message))
	}
}

// printAttention prints the organizations needing attention.
func printAttention(w io.Writer, r *report.Report, limit int) {
	fmt.Fprintf(w, "\nNeeding attention (%d)\n", len(r.Attention))
	if len(r.Attention) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n := cut(len(r.Attention), limit)
	for _, a := range r.Attention[:n] {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.OrgID, printable(a.Name), printable(attentionText(a)))
	}
	tw.Flush()
	more(w, len(r.Attention), n, "--all, or `activator report`")
}

// printKeySets prints the key sets uploaded.
func printKeySets(w io.Writer, r *report.Report) {
	fmt.Fprintf(w, "\nKey sets uploaded (%d)\n", len(r.KeySets))
	if len(r.KeySets) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	for _, k := range r.KeySets {
		kids := strings.Join(k.Kids, ", ")
		if kids == "" {
			kids = "(no kid)"
		}
		fmt.Fprintf(w, "  %s: non-production %s, production %s (first used %s)\n", kids,
			plural(k.NonProdOrgs, "org"), plural(k.ProdOrgs, "org"), stamp(k.FirstUsed))
		for _, t := range k.Thumbprints {
			fmt.Fprintf(w, "    thumbprint %s\n", t)
		}
	}
}

// printJKUOrgs prints the organizations enabled without keys uploaded by
// activator (and, before them, those probably holding its keys).
func printJKUOrgs(w io.Writer, r *report.Report, limit int) {
	printUnconfirmed(w, r)
	fmt.Fprintf(w, "\nEnabled without keys uploaded by activator (%d)\n", len(r.JWKSetURL))
	if len(r.JWKSetURL) == 0 {
		fmt.Fprintln(w, "  none: every organization with keys enabled holds keys activator uploaded")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n := cut(len(r.JWKSetURL), limit)
	for _, j := range r.JWKSetURL[:n] {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", j.OrgID, printable(j.Name), printable(jkuLine(j)))
	}
	tw.Flush()
	more(w, len(r.JWKSetURL), n, "--all, or `activator report`")
	fmt.Fprintln(w, "  Upload the keys to them (direct JWKS): activator activate --jwks FILE|URL --reactivate")
}

// printUnconfirmed lists the organizations whose last upload's answer was
// never heard but which the portal then showed enabled.
func printUnconfirmed(w io.Writer, r *report.Report) {
	var rows []report.Org
	for _, o := range r.Orgs {
		if o.Listed && ((o.NonProd != nil && o.NonProd.Unconfirmed) || (o.Prod != nil && o.Prod.Unconfirmed)) {
			rows = append(rows, o)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nProbably ours, unconfirmed (%d): a run stopped during the call, and the portal then showed it enabled\n", len(rows))
	for _, o := range rows {
		u := o.NonProd
		if u == nil || !u.Unconfirmed {
			u = o.Prod
		}
		fmt.Fprintf(w, "  %s  %s  run %d, %s; `activator activate ... --reactivate --org %s` confirms it\n", o.OrgID, printable(o.Name), u.RunID, stamp(u.At), o.OrgID)
	}
}
