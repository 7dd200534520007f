package activate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// runOptions are a direct-mode run's options against the rig.
func (r *rig) runOptions(p *pace.Pacer) RunOptions {
	return RunOptions{
		Options: Options{Store: r.store, App: r.app, Pacer: p, Concurrency: 2,
			Mode: plan.ModeJWKS, NonProdJWKS: testJWKS, ProdJWKS: testJWKS, NonProdKeys: "k1", ProdKeys: "k1"},
		Connect: func(ctx context.Context) (*portalhttp.Client, error) {
			return r.c, r.c.Connect(ctx)
		},
		PageSize: 1000,
		KeySets:  []store.KeySet{{Thumbprints: "k1", Kids: "bench", JWKS: testJWKS}},
		Args:     "--jwks-file jwks.json",
	}
}

// approvals counts the ApproveDownload calls the simulator answered, per org.
func (r *rig) approvals(tb testing.TB) map[string]int {
	tb.Helper()
	n := map[string]int{}
	for _, c := range r.sim.Calls() {
		if c.Path == "/Developer/ApproveDownload" && c.Status == 200 {
			n[c.Form.Get("OrgId")]++
		}
	}
	return n
}

// recorded is the run as the state database holds it.
func (r *rig) recorded(tb testing.TB, id int64) store.Run {
	tb.Helper()
	run, err := r.store.GetRun(context.Background(), r.app.ID, id)
	if err != nil {
		tb.Fatal(err)
	}
	return run
}

// TestRunInterruptedThenResumed: an interrupted run finishes its record as
// interrupted; the same run again calls only the orgs not reached, and no
// org twice.
func TestRunInterruptedThenResumed(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 30, Seed: 3})
	ctx, cancel := context.WithCancelCause(context.Background())
	errCtrlC := errors.New("interrupted")
	o := r.runOptions(pace.New(1000, 2))
	n := 0
	o.OnEvent = func(Event) {
		if n++; n == 5 {
			cancel(errCtrlC)
		}
	}
	first, err := Run(ctx, plan.Input{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Started || first.Outcome != store.RunInterrupted || !errors.Is(first.Stop, errCtrlC) || first.NotRun == 0 {
		t.Fatalf("first run: outcome %q, stop %v, not run %d", first.Outcome, first.Stop, first.NotRun)
	}
	if !strings.Contains(first.Message, "re-run the same command to resume") {
		t.Errorf("message %q", first.Message)
	}
	if got := r.recorded(t, first.RunID); got.Outcome != store.RunInterrupted || got.Finished == nil || got.Message != first.Message {
		t.Errorf("recorded run %+v", got)
	}
	calledFirst := r.approvals(t)

	o.OnEvent = nil
	second, err := Run(context.Background(), plan.Input{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Stop != nil || second.NotRun != 0 || second.RunID == first.RunID {
		t.Fatalf("second run: stop %v, not run %d, run %d", second.Stop, second.NotRun, second.RunID)
	}
	if len(second.Plan.Items) != len(first.Plan.Items)-len(first.Activated) {
		t.Errorf("resumed plan has %d orgs; the first run planned %d and activated %d", len(second.Plan.Items), len(first.Plan.Items), len(first.Activated))
	}
	for id, c := range r.approvals(t) {
		if c > 1 {
			t.Errorf("org %s called %d times (%d in the first run)", id, c, calledFirst[id])
		}
	}
	if got := r.recorded(t, second.RunID); got.Outcome != second.Outcome || got.Args != o.Args || got.Planned != len(second.Plan.Items) {
		t.Errorf("recorded run %+v, result outcome %q", got, second.Outcome)
	}
	ks, err := r.store.KeySets(context.Background(), r.app.ID)
	if err != nil || len(ks) != 1 || ks[0].Thumbprints != "k1" || ks[0].FirstUsed.IsZero() {
		t.Errorf("key sets %+v (%v)", ks, err)
	}
}

// TestRunRecordsMismatches: an org the portal does not show enabled after
// its call succeeded, or no longer lists, is recorded as a mismatch, not
// counted activated, and makes the outcome "failures".
func TestRunRecordsMismatches(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 12, Seed: 5})
	o := r.runOptions(pace.New(1000, 2))
	o.Concurrency = 1
	var reset, removed string
	o.OnEvent = func(e Event) {
		if e.Result != store.ResultOK {
			return
		}
		switch {
		case reset == "":
			reset = e.OrgID
			r.sim.SetApproved(e.OrgID, int(portal.StatusNotResponded))
		case removed == "":
			removed = e.OrgID
			r.sim.RemoveOrg(e.OrgID)
		}
	}
	res, err := Run(context.Background(), plan.Input{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != store.RunFailures || res.Stop != nil || len(res.Mismatched) != 2 {
		t.Fatalf("outcome %q, stop %v, mismatched %+v", res.Outcome, res.Stop, res.Mismatched)
	}
	want := map[string]string{reset: "portal shows not-responded after activation", removed: "no longer listed after activation"}
	for _, m := range res.Mismatched {
		if want[m.OrgID] != m.Message {
			t.Errorf("mismatch %+v, want %q", m, want[m.OrgID])
		}
	}
	outs, err := r.store.RunOutcomes(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for _, out := range outs {
		if out.Action == "verify" {
			verified++
			if out.Result != store.ResultMismatch || want[out.OrgID] != out.Message {
				t.Errorf("verify outcome %+v", out)
			}
		}
	}
	if verified != 2 {
		t.Errorf("%d mismatches recorded, want 2", verified)
	}
}

// TestRunStopsAfterFailures: a portal failing every call stops the run
// after MaxFailures in a row; the run is recorded as aborted, with no
// verifying sync when nothing was activated.
func TestRunStopsAfterFailures(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 20, Seed: 1})
	o := r.runOptions(pace.New(1000, 0))
	o.MaxFailures, o.Concurrency = 3, 1
	o.OnSynced = func(*orgsync.Report) { r.sim.SetFaults(sim.Faults{ErrorRate: 1}) }
	res, err := Run(context.Background(), plan.Input{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Stop, ErrTooManyFailures) || res.Outcome != store.RunAborted || len(res.Failed) != 3 || res.NotRun != len(res.Plan.Items)-3 {
		t.Fatalf("stop %v, outcome %q, failed %d, not run %d of %d", res.Stop, res.Outcome, len(res.Failed), res.NotRun, len(res.Plan.Items))
	}
	if got := r.recorded(t, res.RunID); got.Outcome != store.RunAborted || !strings.HasPrefix(got.Message, "run stopped: too many consecutive failures") {
		t.Errorf("recorded run %+v", got)
	}
	syncs, err := r.store.Syncs(context.Background(), r.app.ID, 10)
	if err != nil || len(syncs) != 1 {
		t.Errorf("%d syncs (%v), want only the one before planning", len(syncs), err)
	}
}

// TestRunLapsed: a session lapsing mid-run ends it as lapsed, with no
// verifying sync.
func TestRunLapsed(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 20, Seed: 1})
	o := r.runOptions(pace.New(1000, 2))
	o.OnSynced = func(*orgsync.Report) { r.sim.ExpireSessions() }
	res, err := Run(context.Background(), plan.Input{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Stop, portal.ErrNotSignedIn) || res.Outcome != store.RunLapsed || !strings.Contains(res.Message, "activator login") {
		t.Fatalf("stop %v, outcome %q, message %q", res.Stop, res.Outcome, res.Message)
	}
}

// TestRunDeclined: a plan not confirmed changes nothing and records no run.
func TestRunDeclined(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 10, Seed: 1})
	o := r.runOptions(pace.New(1000, 2))
	var shown *plan.Plan
	o.Confirm = func(p *plan.Plan) (bool, error) { shown = p; return false, nil }
	res, err := Run(context.Background(), plan.Input{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Started || shown != res.Plan || len(res.Plan.Items) == 0 || res.Sync == nil {
		t.Fatalf("started %v, plan %v", res.Started, res.Plan)
	}
	runs, _ := r.store.Runs(context.Background(), r.app.ID, 10)
	if len(runs) != 0 || len(r.approvals(t)) != 0 {
		t.Fatalf("%d runs recorded, %d orgs called", len(runs), len(r.approvals(t)))
	}
}

// TestRunHoldsTheLock: a second run on the same state database is refused
// before it calls the portal.
func TestRunHoldsTheLock(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 10, Seed: 1})
	o := r.runOptions(pace.New(1000, 2))
	o.Confirm = func(*plan.Plan) (bool, error) {
		_, err := Run(context.Background(), plan.Input{}, r.runOptions(pace.New(1000, 2)))
		var le *store.LockError
		if !errors.As(err, &le) {
			t.Errorf("second run: %v, want a lock error", err)
		}
		return false, nil
	}
	if _, err := Run(context.Background(), plan.Input{}, o); err != nil {
		t.Fatal(err)
	}
}
