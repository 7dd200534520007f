package report

import (
	"context"
	"fmt"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

// RunSummary is one activation run as the status command, `runs` and the
// report show it.
type RunSummary struct {
	ID       int64      `json:"id"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished"`
	// DurationSeconds runs to Finished, to the report's time for a run
	// still going, or to the last recorded call of a stopped run.
	DurationSeconds float64 `json:"durationSeconds"`
	// Mode is jwks (direct JWKS) or jku (JWK Set URL); Split is set when
	// each environment had its own call.
	Mode  string `json:"mode"`
	Split bool   `json:"split"`
	// NonProdKeys and ProdKeys are the thumbprints the run uploaded.
	NonProdKeys []string `json:"nonProdKeys"`
	ProdKeys    []string `json:"prodKeys"`
	Planned     int      `json:"planned"`
	// Outcome is running, done, failures, aborted, interrupted or lapsed.
	Outcome string `json:"outcome"`
	// Stopped is set for a run still marked running whose process is gone
	// (killed or crashed): re-running the same command resumes it.
	Stopped bool   `json:"stopped,omitempty"`
	Message string `json:"message,omitempty"`
	// Args are the run's options, without secrets.
	Args string `json:"args"`
	// Calls counts the ApproveDownload calls recorded.
	Calls   int        `json:"calls"`
	Results RunResults `json:"results"`
}

// RunResults count a run's organizations by how they ended: each counts
// once, by its last recorded outcome in the run.
type RunResults struct {
	Activated  int `json:"activated"`
	Refused    int `json:"refused"`
	Failed     int `json:"failed"`
	Mismatched int `json:"mismatched"`
	// Unknown counts calls whose answer was never recorded (the run
	// stopped during them) and that no later run has settled yet;
	// Unconfirmed those a later run found enabled on the portal.
	Unknown     int `json:"unknown"`
	Unconfirmed int `json:"unconfirmed"`
}

// ActionVerify is the action of the outcome recorded when the portal shows
// another status after activation.
const ActionVerify = "verify"

// SummarizeRun sums up a run from its outcomes.
func SummarizeRun(run store.Run, outs []store.Outcome, o Options) RunSummary {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	s := RunSummary{ID: run.ID, Started: run.Started, Finished: run.Finished, Mode: run.Mode, Split: run.Split,
		NonProdKeys: nonNil(splitList(run.NonProdKeys)), ProdKeys: nonNil(splitList(run.ProdKeys)),
		Planned: run.Planned, Outcome: run.Outcome, Message: run.Message, Args: run.Args}
	if run.Outcome == store.RunRunning && o.Alive != nil && !o.Alive(run.PID) {
		s.Stopped = true
	}
	end := o.Now
	switch {
	case run.Finished != nil:
		end = *run.Finished
	case s.Stopped:
		// It ran until its last recorded call.
		end = run.Started
		for _, out := range outs {
			if out.Finished.After(end) {
				end = out.Finished
			}
		}
	}
	s.DurationSeconds = end.Sub(run.Started).Round(time.Millisecond).Seconds()
	final := map[string]string{}
	var order []string
	for _, out := range outs {
		if out.Action != ActionVerify {
			s.Calls++
		}
		if _, ok := final[out.OrgID]; !ok {
			order = append(order, out.OrgID)
		}
		final[out.OrgID] = out.Result
	}
	for _, org := range order {
		switch final[org] {
		case store.ResultOK, store.ResultVerified:
			s.Results.Activated++
		case store.ResultRefused:
			s.Results.Refused++
		case store.ResultFailed:
			s.Results.Failed++
		case store.ResultMismatch:
			s.Results.Mismatched++
		case store.ResultPending:
			s.Results.Unknown++
		case store.ResultUnconfirmed:
			s.Results.Unconfirmed++
		}
	}
	return s
}

// Runs sums up the app's runs, newest first, at most n when n > 0.
func Runs(ctx context.Context, s *store.Store, app store.App, n int, o Options) ([]RunSummary, error) {
	runs, err := s.Runs(ctx, app.ID, n)
	if err != nil {
		return nil, err
	}
	out := make([]RunSummary, 0, len(runs))
	for _, r := range runs {
		outs, err := s.RunOutcomes(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", r.ID, err)
		}
		out = append(out, SummarizeRun(r, outs, o))
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
