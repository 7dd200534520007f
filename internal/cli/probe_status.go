package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/activator-dev/activator/internal/probe"
	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/store"
)

// printProbeStatus is status's section on the newest probes: the counts
// per class and each organization not knowing the app yet, with how long
// after activation. Nothing when no probe was ever made.
func printProbeStatus(w io.Writer, r *report.Report, limit int) {
	p := r.Probes
	if p == nil {
		return
	}
	var parts []string
	for _, c := range probe.Classes {
		parts = append(parts, fmt.Sprintf("%d %s", p.Counts[c], probeClassWords[c]))
	}
	partial := ""
	if p.Partial {
		partial = fmt.Sprintf(", partial: %d of %d organizations probed, still running or stopped before the end", p.Probed, p.Targets)
	}
	fmt.Fprintf(w, "\nProbe (%s, %s%s): %s\n", stamp(p.LastAt), ago(r.GeneratedAt, p.LastAt), partial, strings.Join(parts, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n := cut(len(p.NotKnown), limit)
	for _, o := range p.NotKnown[:n] {
		since := "activation time unknown"
		if o.ActivatedAt != nil {
			since = span(o.SinceActivation()) + " after activation"
		}
		fmt.Fprintf(tw, "  %s\t%s\tnot known yet %s (probed %s)\n", o.OrgID, printable(o.Name), since, stamp(o.ProbedAt))
	}
	tw.Flush()
	more(w, len(p.NotKnown), n, "--all, or `activator report`")
}

// span says a duration for a person: minutes, hours, or days past two.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

// hoursDuration turns a number of hours back into a duration.
func hoursDuration(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

// OrgProbeJSON is one probe in `orgs show --output json`.
type OrgProbeJSON struct {
	At           time.Time  `json:"at"`
	RunID        int64      `json:"runId,omitempty"`
	Class        string     `json:"class"`
	Evidence     string     `json:"evidence"`
	ActivatedAt  *time.Time `json:"activatedAt,omitempty"`
	AuthorizeURL string     `json:"authorizeUrl"`
	Requests     int        `json:"requests"`
}

// addProbeHistory adds an organization's probes to `orgs show`.
func addProbeHistory(ctx context.Context, s *store.Store, app store.App, id string, js *OrgShowJSON, lines []historyLine) ([]historyLine, error) {
	ps, err := s.OrgProbes(ctx, app.ID, id)
	if err != nil {
		return nil, err
	}
	js.Probes = make([]OrgProbeJSON, 0, len(ps))
	for _, p := range ps {
		pj := OrgProbeJSON{At: p.At, RunID: p.RunID, Class: p.Class, Evidence: p.Evidence, AuthorizeURL: p.AuthorizeURL, Requests: p.Requests}
		if !p.ActivatedAt.IsZero() {
			at := p.ActivatedAt
			pj.ActivatedAt = &at
		}
		js.Probes = append(js.Probes, pj)
		lines = append(lines, historyLine{at: p.At, source: "probe", id: p.RunID, kind: "probe", result: probeClassWords[p.Class], detail: p.Evidence})
	}
	return lines, nil
}
