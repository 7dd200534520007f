package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// DefaultRunsLimit is how many runs `runs` lists: a nightly job makes one
// a day, so three weeks fit one screen; --limit 0 lists them all.
const DefaultRunsLimit = 20

// RunsOptions are `runs`'s options.
type RunsOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Report gives the report's portal, app and clock: call it after
	// Store, which picks the database's only app when --app is not given.
	Report func() report.Options
	Limit  int
	// Store opens the state database for reading, with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdRuns builds `runs` and `runs show`.
func NewCmdRuns(f *Factory, runF func(*RunsOptions) error) *cobra.Command {
	opts := &RunsOptions{Store: f.ReadHeldAppStore}
	long := `Lists the activation runs recorded in the state database, newest first: id, start,
duration, mode, organizations planned, outcome, and how the organizations ended.

--output json prints a list of {id, started, finished, durationSeconds, mode, split,
nonProdKeys, prodKeys, planned, outcome, stopped, message, args, calls,
results: {activated, refused, failed, mismatched}}; --output csv one row per run.`
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the activation runs (no portal call)",
		Long:  long,
		Example: `  activator runs
  activator runs --limit 0 --output csv > runs.csv
  activator runs show 12`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.Report = f.IO, f.Output, f.reportOptions
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Limit, "limit", DefaultRunsLimit, "list at most this many runs, newest first (0: all)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the activation runs (same as `runs`)",
		Long:  long,
		Example: `  activator runs list --limit 5
  activator runs list --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.Report = f.IO, f.Output, f.reportOptions
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runsRun(cmd.Context(), opts)
		},
	}
	list.Flags().IntVar(&opts.Limit, "limit", DefaultRunsLimit, "list at most this many runs, newest first (0: all)")
	cmd.AddCommand(list, NewCmdRunsShow(f, nil))
	return noSubcommandArgs(cmd)
}

// check validates the flags.
func (opts *RunsOptions) check() error {
	if opts.Limit < 0 {
		return UsageErrorf("--limit %d is negative: give a number of runs, or 0 for all", opts.Limit)
	}
	return nil
}

func runsRun(ctx context.Context, opts *RunsOptions) error {
	s, app, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	runs, err := report.Runs(ctx, s, app, opts.Limit, opts.Report())
	if err != nil {
		return err
	}
	switch opts.Output {
	case OutputJSON:
		return writeJSON(opts.IO.Out, runs)
	case OutputCSV:
		t := newTable(opts.IO.Out, true, "id", "started", "finished", "durationSeconds", "mode", "split", "planned", "outcome",
			"stopped", "calls", "activated", "refused", "failed", "mismatched", "message")
		for _, r := range runs {
			fin := ""
			if r.Finished != nil {
				fin = r.Finished.UTC().Format(time.RFC3339Nano)
			}
			t.add(r.ID, r.Started.UTC().Format(time.RFC3339Nano), fin, r.DurationSeconds, r.Mode, r.Split, r.Planned, r.Outcome,
				r.Stopped, r.Calls, r.Results.Activated, r.Results.Refused, r.Results.Failed, r.Results.Mismatched, r.Message)
		}
		return t.flush()
	}
	if len(runs) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No runs recorded for this app yet: `activator activate --dry-run` shows what a run would do.")
		return nil
	}
	t := newTable(opts.IO.Out, false, "ID", "STARTED", "DURATION", "MODE", "PLANNED", "OUTCOME", "ORGANIZATIONS")
	for _, r := range runs {
		mode := r.Mode
		if r.Split {
			mode += " (split)"
		}
		dur := seconds(r.DurationSeconds)
		if r.Finished == nil && !r.Stopped {
			dur += " so far"
		}
		t.add(r.ID, stamp(r.Started), dur, mode, r.Planned, outcomeWord(r), resultsLine(r.Results))
	}
	return t.flush()
}

// RunsShowOptions are `runs show`'s options.
type RunsShowOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Report gives the report's portal, app and clock: call it after
	// Store, which picks the database's only app when --app is not given.
	Report func() report.Options
	// Now is the clock, for how long ago the run was.
	Now func() time.Time
	ID  string

	id int64 // ID, checked
	// Store opens the state database for reading, with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdRunsShow builds `runs show ID`.
func NewCmdRunsShow(f *Factory, runF func(*RunsShowOptions) error) *cobra.Command {
	opts := &RunsShowOptions{Store: f.ReadAppStore}
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one run: its options and every organization's outcome",
		Long: `Shows one activation run: when, how long, mode and keys, options, outcome, and one
line per portal call in the order they were made: the organization, the action, the
environments set, the result, the portal's message, attempts and timings.

--output json prints {run: {as in ` + "`runs`" + `}, outcomes: [{id, runId, orgId, name, action,
envs, mode, nonProdKeys, prodKeys, result, message, attempts, started, finished,
durationSeconds}]}; --output csv one row per outcome.`,
		Example: `  activator runs show 12
  activator runs show 12 --output csv > run-12.csv`,
		Args: oneArg("a run id, from `activator runs`"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			opts.IO, opts.Output, opts.Report = f.IO, f.Output, f.reportOptions
			opts.Now = f.Now
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runsShowRun(cmd.Context(), opts)
		},
	}
}

// OutcomeJSON is one recorded portal call (or verification) in --output json.
type OutcomeJSON struct {
	ID    int64  `json:"id"`
	RunID int64  `json:"runId"`
	OrgID string `json:"orgId"`
	Name  string `json:"name"`
	// Action is activate, production, complete, reactivate or verify.
	Action string `json:"action"`
	// Envs is the environments the call set: both, nonprod or prod.
	Envs        string   `json:"envs"`
	Mode        string   `json:"mode"`
	NonProdKeys []string `json:"nonProdKeys"`
	ProdKeys    []string `json:"prodKeys"`
	// Result is ok, refused, failed, mismatch or verified.
	Result          string    `json:"result"`
	Message         string    `json:"message"`
	Attempts        int       `json:"attempts"`
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"durationSeconds"`
}

// RunShowJSON is `runs show` in --output json.
type RunShowJSON struct {
	Run      report.RunSummary `json:"run"`
	Outcomes []OutcomeJSON     `json:"outcomes"`
}

func outcomeJSON(o store.Outcome, names map[string]string) OutcomeJSON {
	split := func(s string) []string {
		if s == "" {
			return []string{}
		}
		return strings.Split(s, ",")
	}
	return OutcomeJSON{ID: o.ID, RunID: o.RunID, OrgID: o.OrgID, Name: names[o.OrgID], Action: o.Action, Envs: o.Envs, Mode: o.Mode,
		NonProdKeys: split(o.NonProdKeys), ProdKeys: split(o.ProdKeys), Result: o.Result, Message: o.Message, Attempts: o.Attempts,
		Started: o.Started, Finished: o.Finished, DurationSeconds: o.Finished.Sub(o.Started).Round(time.Millisecond).Seconds()}
}

// orgNames maps OrgIds to their last known names.
func orgNames(ctx context.Context, s *store.Store, app int64) (map[string]string, error) {
	orgs, err := s.Orgs(ctx, app)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(orgs))
	for _, o := range orgs {
		names[o.OrgID] = o.Name
	}
	return names, nil
}

// keyKids maps a stored thumbprint list to the key ids uploaded with it.
func keyKids(ctx context.Context, s *store.Store, app int64) (map[string]string, error) {
	sets, err := s.KeySets(ctx, app)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(sets))
	for _, k := range sets {
		m[k.Thumbprints] = strings.ReplaceAll(k.Kids, ",", ", ")
	}
	return m, nil
}

// check reads the run id.
func (opts *RunsShowOptions) check() error {
	id, err := strconv.ParseInt(strings.TrimPrefix(opts.ID, "#"), 10, 64)
	if err != nil || id <= 0 {
		return UsageErrorf("%q is not a run id: give the number `activator runs` lists", opts.ID)
	}
	opts.id = id
	return nil
}

func runsShowRun(ctx context.Context, opts *RunsShowOptions) error {
	id := opts.id
	s, app, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	run, err := s.GetRun(ctx, app.ID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return runNotFound(ctx, s, app, id)
	}
	if err != nil {
		return err
	}
	outs, err := s.RunOutcomes(ctx, id)
	if err != nil {
		return err
	}
	names, err := orgNames(ctx, s, app.ID)
	if err != nil {
		return err
	}
	sum := report.SummarizeRun(run, outs, opts.Report())
	js := RunShowJSON{Run: sum, Outcomes: make([]OutcomeJSON, 0, len(outs))}
	for _, o := range outs {
		js.Outcomes = append(js.Outcomes, outcomeJSON(o, names))
	}
	switch opts.Output {
	case OutputJSON:
		return writeJSON(opts.IO.Out, js)
	case OutputCSV:
		t := newTable(opts.IO.Out, true, "id", "runId", "orgId", "name", "action", "envs", "mode", "nonProdKeys", "prodKeys",
			"result", "message", "attempts", "started", "finished", "durationSeconds")
		for _, o := range js.Outcomes {
			t.add(o.ID, o.RunID, o.OrgID, o.Name, o.Action, o.Envs, o.Mode, strings.Join(o.NonProdKeys, " "), strings.Join(o.ProdKeys, " "),
				o.Result, o.Message, o.Attempts, o.Started.UTC().Format(time.RFC3339Nano), o.Finished.UTC().Format(time.RFC3339Nano), o.DurationSeconds)
		}
		return t.flush()
	}
	kids, err := keyKids(ctx, s, app.ID)
	if err != nil {
		return err
	}
	return printRun(opts.IO.Out, run, sum, js.Outcomes, kids, opts.Now())
}

// runNotFound says what the database holds when run id is not app's: the
// app the run belongs to, or the runs app does have.
func runNotFound(ctx context.Context, s *store.Store, app store.App, id int64) error {
	other, err := s.RunApp(ctx, id)
	if err == nil {
		return UsageErrorf("run %d is not app %s's on %s: it belongs to app %s on %s (pass --portal %s --app %s)",
			id, app.AppID, app.Portal, other.AppID, other.Portal, other.Portal, other.AppID)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	runs, err := s.Runs(ctx, app.ID, 0)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return UsageErrorf("run %d not found: the state database holds no run at all for app %s on %s", id, app.AppID, app.Portal)
	}
	return UsageErrorf("run %d not found: app %s on %s has runs %d to %d (`activator runs` lists them)", id, app.AppID, app.Portal, runs[len(runs)-1].ID, runs[0].ID)
}

func printRun(w io.Writer, run store.Run, sum report.RunSummary, outs []OutcomeJSON, kids map[string]string, now time.Time) error {
	fmt.Fprintf(w, "Run %d: %s\n", sum.ID, outcomeWord(sum))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  Started\t%s (%s)\n", stampSec(sum.Started), ago(now, sum.Started))
	switch {
	case sum.Finished != nil:
		fmt.Fprintf(tw, "  Finished\t%s, took %s\n", stampSec(*sum.Finished), seconds(sum.DurationSeconds))
	case sum.Stopped:
		fmt.Fprintf(tw, "  Finished\tno: process %d is gone (killed or crashed); re-run the same command to resume\n", run.PID)
	default:
		fmt.Fprintf(tw, "  Finished\tnot yet: running for %s (process %d)\n", seconds(sum.DurationSeconds), run.PID)
	}
	fmt.Fprintf(tw, "  Mode\t%s\n", modeLine(sum))
	keyLine := func(thumbs string) string {
		if k := kids[thumbs]; k != "" {
			return k + " (" + strings.ReplaceAll(thumbs, ",", ", ") + ")"
		}
		return strings.ReplaceAll(thumbs, ",", ", ")
	}
	switch {
	case sum.Mode == report.ModeJKU:
	case run.NonProdKeys == run.ProdKeys:
		fmt.Fprintf(tw, "  Keys\t%s, both environments\n", keyLine(run.NonProdKeys))
	default:
		fmt.Fprintf(tw, "  Keys\tnon-production %s\n", keyLine(run.NonProdKeys))
		fmt.Fprintf(tw, "  \tproduction %s\n", keyLine(run.ProdKeys))
	}
	fmt.Fprintf(tw, "  Planned\t%s, %s made\n", plural(sum.Planned, "organization"), plural(sum.Calls, "call"))
	fmt.Fprintf(tw, "  Results\t%s\n", resultsLine(sum.Results))
	if sum.Args != "" {
		fmt.Fprintf(tw, "  Options\t%s\n", sum.Args)
	}
	if sum.Message != "" {
		fmt.Fprintf(tw, "  Message\t%s\n", printable(sum.Message))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(outs) == 0 {
		fmt.Fprintln(w, "\nNo portal call recorded.")
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, false, "ORGID", "NAME", "ACTION", "ENVS", "RESULT", "ATTEMPTS", "AT", "TOOK", "MESSAGE")
	for _, o := range outs {
		t.add(o.OrgID, o.Name, o.Action, o.Envs, o.Result, o.Attempts, "+"+seconds(o.Started.Sub(sum.Started).Seconds()),
			seconds(o.DurationSeconds), tableMessage(o.Result, o.Message))
	}
	return t.flush()
}

// tableMessage is an outcome's message in a table: the portal answers a
// successful call with its own timestamp, which the AT column already
// says, so only the messages of calls that did not succeed are shown
// (--output json and csv keep every message).
func tableMessage(result, msg string) string {
	if result == store.ResultOK || result == store.ResultVerified {
		return ""
	}
	return msg
}
