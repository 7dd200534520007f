package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/activator-dev/activator/internal/activate"
	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/store"
)

// RunSummary is the end of an activation run; with --output json it is
// printed as one line, for cron and monitors.
type RunSummary struct {
	RunID     int64              `json:"runId"`
	Outcome   string             `json:"outcome"`
	Mode      string             `json:"mode"`
	Sync      SyncSummary        `json:"sync"`
	Planned   int                `json:"planned"`
	Calls     int                `json:"calls"`
	Activated int                `json:"activated"`
	Skipped   map[string]int     `json:"skipped"`
	Refused   []activate.Failure `json:"refused"`
	// NewRefusals counts the Refused no earlier run had recorded: only
	// those (and any other failure) make the exit status 1.
	NewRefusals int                `json:"newRefusals"`
	Failed      []activate.Failure `json:"failed"`
	Mismatched  []activate.Failure `json:"mismatched"`
	NotRun      int                `json:"notRun"`
	// Resolved are calls of earlier runs whose answer was never recorded,
	// settled by this run from the portal's listing.
	Resolved []activate.Resolved `json:"resolved"`
	// Unknown are calls a second Ctrl-C stopped before the portal
	// answered; the next run settles them.
	Unknown   []activate.Failure `json:"unknown"`
	Throttled int                `json:"throttled"`
	// Pace is the pace achieved and what the portal tolerated.
	Pace    *PaceSummary `json:"pace,omitempty"`
	Message string       `json:"message,omitempty"`
	// ShapeChanged says how the listing's shape changed since the run of
	// ShapeSince (new or missing fields, types, new Approved values): the
	// portal changed, and `activator doctor` tells what else did.
	ShapeChanged string     `json:"shapeChanged,omitempty"`
	ShapeSince   *time.Time `json:"shapeSince,omitempty"`
	// Probe and Warning come from --probe (activate_probe.go).
	Probe   *NightlyProbe `json:"probe,omitempty"`
	Warning string        `json:"warning,omitempty"`
}

// SyncSummary counts what the run's sync noticed.
type SyncSummary struct {
	Total   int `json:"total"`
	New     int `json:"new"`
	Renamed int `json:"renamed"`
	Gone    int `json:"gone"`
	Changed int `json:"statusChanged"`
}

func syncSummary(r *orgsync.Report) SyncSummary {
	return SyncSummary{Total: r.Total, New: len(r.Added) + len(r.Returned), Renamed: len(r.Renamed), Gone: len(r.Gone), Changed: len(r.Status)}
}

// newRunSummary is the summary of a run that started.
func newRunSummary(rr *activate.RunResult, mode string) *RunSummary {
	return &RunSummary{RunID: rr.RunID, Outcome: rr.Outcome, Mode: mode, Sync: syncSummary(rr.Sync),
		Planned: len(rr.Plan.Items), Calls: rr.Calls, Activated: len(rr.Activated) - len(rr.Mismatched),
		Skipped: rr.Plan.SkipCounts(), Refused: nonNil(rr.Refused), Failed: nonNil(rr.Failed), Mismatched: nonNil(rr.Mismatched),
		NotRun: rr.NotRun, Resolved: nonNil(rr.Resolved), Unknown: nonNil(rr.Unknown), ShapeChanged: rr.ShapeChange, ShapeSince: shapeSince(rr), NewRefusals: rr.NewRefusals}
}

func shapeSince(rr *activate.RunResult) *time.Time {
	if rr.ShapeChange == "" {
		return nil
	}
	t := rr.ShapeSince.UTC()
	return &t
}

// nonNil is s, or an empty list for nil: lists in JSON are never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// outcomeCode is the exit code of a run's outcome.
func outcomeCode(outcome string) int {
	switch outcome {
	case store.RunLapsed:
		return ExitSession
	case store.RunInterrupted:
		return ExitInterrupted
	case store.RunAborted:
		return ExitUnavailable
	case store.RunFailures:
		return ExitFailures
	}
	return ExitOK
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func printRunSummary(w io.Writer, s *RunSummary, pl *plan.Plan) {
	fmt.Fprintf(w, "Run %d: %s.\n", s.RunID, s.Outcome)
	fmt.Fprintf(w, "  activated:        %d\n", s.Activated)
	fmt.Fprintf(w, "  already current:  %d\n", s.Skipped[plan.SkipCurrent])
	if n := s.Skipped[plan.SkipEnabled]; n > 0 {
		fmt.Fprintf(w, "  enabled, skipped: %d (--reactivate to upload these keys there)\n", n)
	}
	if n := s.Skipped[plan.SkipUnknown]; n > 0 {
		fmt.Fprintf(w, "  unknown status:   %d (never acted on)\n", n)
	}
	list := func(label string, fs []activate.Failure) {
		count := fmt.Sprint(len(fs))
		if label == "refused by org" && len(fs) > 0 {
			count += fmt.Sprintf(" (%d new)", s.NewRefusals)
		}
		fmt.Fprintf(w, "  %-17s %s\n", label+":", count)
		for _, f := range fs {
			line := fmt.Sprintf("    %s %s: %s", f.OrgID, printable(f.Name), printable(f.Message))
			switch {
			case f.FirstRefused != nil && f.NewRefusal:
				line += " (first refusal)"
			case f.FirstRefused != nil:
				line += " (refusing since " + f.FirstRefused.UTC().Format("2006-01-02") + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	list("refused by org", s.Refused)
	list("failed", s.Failed)
	if len(s.Mismatched) > 0 {
		list("status mismatch", s.Mismatched)
	}
	if len(s.Unknown) > 0 {
		list("unknown", s.Unknown)
	}
	if s.NotRun > 0 {
		fmt.Fprintf(w, "  not reached:      %d\n", s.NotRun)
	}
	printPace(w, s)
	if len(s.Refused) > 0 {
		fmt.Fprintln(w, "Organizations that refused are likely not provisioned yet; the next run tries them again.")
		if s.NewRefusals == 0 && len(s.Failed) == 0 && len(s.Mismatched) == 0 && s.Outcome == store.RunFailures {
			fmt.Fprintln(w, "Each of them already refused in an earlier run, so this run exits 0 (--fail-on-refusals: exit 1).")
		}
	}
	if s.Calls > 0 {
		fmt.Fprintln(w, PropagationNote)
	}
	if s.ShapeChanged != "" && s.ShapeSince != nil {
		fmt.Fprintf(w, "Warning: the portal's listing changed shape since %s (%s): run `activator doctor` to see what else changed.\n",
			s.ShapeSince.Format("2006-01-02 15:04 MST"), s.ShapeChanged)
	}
}

// printPace is the summary's pace line: what was achieved, and what the
// portal tolerated.
func printPace(w io.Writer, s *RunSummary) {
	p := s.Pace
	if p == nil || p.Achieved <= 0 {
		return
	}
	line := fmt.Sprintf("  pace:             %s calls/s achieved (--rate %s", rateString(p.Achieved), rateString(p.Asked))
	if p.Started != p.Asked {
		line += fmt.Sprintf(", started at %s", rateString(p.Started))
	}
	line += ")"
	switch {
	case p.Limited && p.Tolerated > 0:
		line += fmt.Sprintf("; the portal tolerated %s/s without a 429, %s answered 429", rateString(p.Tolerated), plural(s.Throttled, "call"))
	case p.Limited:
		line += fmt.Sprintf("; %s answered 429", plural(s.Throttled, "call"))
	case p.Tolerated > 0:
		line += fmt.Sprintf("; no 429 up to %s/s", rateString(p.Tolerated))
	}
	fmt.Fprintln(w, line)
}
