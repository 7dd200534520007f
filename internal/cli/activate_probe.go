package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/activator-dev/activator/internal/activate"
	"github.com/activator-dev/activator/internal/probe"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/pflag"
)

// bindActivateProbeFlags adds --probe and the probe's settings to
// `activate`, so that the nightly run can end with a probe set up in the
// config file (probe = true).
func bindActivateProbeFlags(fl *pflag.FlagSet, o *ActivateOptions) {
	fl.BoolVar(&o.Probe, "probe", false, "after the run, probe each activated organization's server (see `activator probe --help`)")
	bindProbeFlags(fl, &o.ProbeSettings)
}

// checkProbe validates the probe's settings when --probe is on.
func (o *ActivateOptions) checkProbe() error {
	if !o.Probe {
		return nil
	}
	return o.ProbeSettings.check()
}

// NightlyProbe is the probe that ends a run with --probe, in the run's
// summary.
type NightlyProbe struct {
	Probed     int            `json:"probed"`
	Counts     map[string]int `json:"counts"`
	NotProbed  int            `json:"notProbed"`
	NotReached int            `json:"notReached"`
	// NotKnown are the organizations still not knowing the app
	// --probe-warn-after activation: the run's warning.
	NotKnown []ProbeOrgJSON `json:"notKnown"`
	// Failing are those past --probe-fail-after: the run exits 1.
	Failing []string `json:"failing"`
	// Error says why the probe did not finish.
	Error string `json:"error,omitempty"`
}

// probeAfterRun probes, with --probe, once a run has finished (done, or
// with failures): never after a lapse, an interruption or a stop. The
// findings join the summary; the error is the failure exit for
// organizations past --probe-fail-after, or an interruption. A probe
// that cannot finish is the run's warning, not its failure: the run's
// own work is done and recorded.
func (o *ActivateOptions) probeAfterRun(ctx context.Context, s *store.Store, app store.App, rr *activate.RunResult, sum *RunSummary) error {
	if !o.Probe || (rr.Outcome != store.RunDone && rr.Outcome != store.RunFailures) {
		return nil
	}
	f := o.F
	pass, err := runProbePass(ctx, s, app, rr.RunID, o.ProbeSettings, o.Orgs, f.HTTPClient, f.Now, f.Logf, f.newProgress)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		sum.Probe = &NightlyProbe{Counts: map[string]int{}, NotKnown: []ProbeOrgJSON{}, Failing: []string{}, Error: err.Error()}
		sum.Warning = "the probe did not finish: " + err.Error()
		return nil
	}
	v := newProbeVerdict(pass, o.ProbeSettings)
	np := &NightlyProbe{Probed: len(pass.Results), Counts: pass.Counts(), NotProbed: len(pass.Skipped), NotReached: pass.NotReached,
		NotKnown: []ProbeOrgJSON{}, Failing: []string{}}
	for _, r := range v.warn {
		np.NotKnown = append(np.NotKnown, probeOrgJSON(r, false))
	}
	for _, r := range v.fail {
		np.Failing = append(np.Failing, r.OrgID)
	}
	sum.Probe, sum.Warning = np, v.warning()
	return v.err()
}

// printNightlyProbe ends the run's table summary with the probe.
func printNightlyProbe(w io.Writer, sum *RunSummary) {
	p := sum.Probe
	if p == nil {
		return
	}
	if p.Error == "" {
		line := fmt.Sprintf("Probe: %s probed", plural(p.Probed, "organization"))
		for _, c := range probe.Classes {
			line += fmt.Sprintf(", %d %s", p.Counts[c], probeClassWords[c])
		}
		if p.NotProbed > 0 {
			line += fmt.Sprintf("; %d not probed (`activator probe` says why)", p.NotProbed)
		}
		fmt.Fprintln(w, line+".")
	}
	if sum.Warning == "" {
		return
	}
	fmt.Fprintf(w, "Warning: %s.\n", printable(sum.Warning))
	for _, n := range p.NotKnown {
		fmt.Fprintf(w, "  %s %s: activated %s, %s before the probe\n", n.OrgID, printable(n.Name), stamp(n.ActivatedAt),
			span(hoursDuration(n.SinceActivationHours)))
	}
}
