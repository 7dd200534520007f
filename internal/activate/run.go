package activate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/store"
)

// RunOptions configure Run. The embedded Options configure the calls;
// Run fills in their Portal and RunID.
type RunOptions struct {
	Options

	// Connect returns a client whose session was checked. Run calls it
	// once it holds the run lock.
	Connect func(ctx context.Context) (*portalhttp.Client, error)
	// Sync lists every organization with c and records the sync; nil is
	// orgsync.Run, paced by Pacer, PageSize organizations a page. Run
	// syncs before planning and again after the calls, to verify them.
	Sync     func(ctx context.Context, c *portalhttp.Client) (*orgsync.Report, error)
	PageSize int

	// KeySets are the key sets this run uploads, recorded (FirstUsed set)
	// before the first call; none in JWK Set URL mode.
	KeySets []store.KeySet
	// Args are the run's options as `runs` shows them: never a secret.
	Args string

	// OnSynced is told the first sync's report, before planning.
	OnSynced func(*orgsync.Report)
	// OnResolved is told the calls of earlier runs whose outcome was
	// never heard, as the first sync settled them (only when there are).
	OnResolved func([]Resolved)
	// Confirm is shown the plan before anything changes. false (or an
	// error) ends Run there: no run is recorded and no org is called. A
	// nil Confirm goes ahead.
	Confirm func(*plan.Plan) (bool, error)
	// OnExecuted is told when the calls are over, before the verifying
	// sync.
	OnExecuted func(*Result)
}

// RunResult is what Run did.
type RunResult struct {
	// Sync is the first sync's report; Plan the plan made from it.
	Sync *orgsync.Report
	Plan *plan.Plan
	// Resolved are the calls of earlier runs whose outcome was never
	// heard, settled from the first sync before planning.
	Resolved []Resolved
	// Started says whether the run was recorded and its calls made:
	// false when Confirm declined. The fields below are set only then.
	Started bool
	RunID   int64
	Result
	// Mismatched are activated orgs the verifying sync shows otherwise;
	// they are recorded as mismatches and not counted activated.
	Mismatched []Failure
	// Outcome is the run's recorded outcome (store.RunDone, ...), and
	// Message why it stopped early, if it did.
	Outcome, Message string
	// ShapeChange says how the listing's shape (portal.Shape.Fingerprint)
	// differs from the one recorded at ShapeSince by an earlier run; empty
	// when it is the same or none was recorded.
	ShapeChange string
	ShapeSince  time.Time
	startedAt   time.Time
	// NewRefusals counts the Refused that no earlier run had recorded
	// (each Refused says when it first refused).
	NewRefusals int
}

// Run is one activation run, from the lock to the finished run record:
// lock the state database, connect, sync, plan (in's Orgs, History, Mode,
// keys and Now are filled here from the sync, the recorded outcomes and o),
// confirm, record the run and its key sets, make the calls (Execute),
// re-list to verify every activated org, record the mismatches, and finish
// the run with its outcome.
//
// A run that stops early (lapse, interrupt, failures, a long Retry-After) is
// not an error: RunResult says so. The error is for what kept the run from
// starting or from being recorded.
func Run(ctx context.Context, in plan.Input, o RunOptions) (*RunResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	lock, err := o.Store.Lock()
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	c, err := o.Connect(ctx)
	if err != nil {
		return nil, err
	}
	o.Portal = c
	rr, shape, err := o.prepare(ctx, c, in)
	if err != nil {
		return nil, err
	}
	if o.Confirm != nil {
		ok, err := o.Confirm(rr.Plan)
		if err != nil || !ok {
			// A dry run or a declined plan: its sync is a rehearsal, left
			// out of the history's chart.
			if merr := o.Store.SetSyncKind(context.WithoutCancel(ctx), rr.Sync.SyncID, store.SyncRehearsal); merr != nil && err == nil {
				err = merr
			}
			return rr, err
		}
	}
	if err := o.carryOut(ctx, c, rr, shape); err != nil {
		return nil, err
	}
	return rr, nil
}

// sync lists with o.Sync, or orgsync.Run paced.
func (o *RunOptions) sync(ctx context.Context, c *portalhttp.Client) (*orgsync.Report, error) {
	if o.Sync != nil {
		return o.Sync(ctx, c)
	}
	return o.defaultSync(ctx, c)
}

// prepare syncs, checks the listing's shape, settles the calls a stopped
// run left pending and plans: everything before the confirmation, which
// changes nothing on the portal. shape is the fingerprint a run that goes
// ahead records.
func (o *RunOptions) prepare(ctx context.Context, c *portalhttp.Client, in plan.Input) (rr *RunResult, shape *store.ListingShape, err error) {
	rr = &RunResult{}
	c.Shape().Reset()
	rr.Sync, err = o.sync(ctx, c)
	// The shape checks run on what the sync fetched, at no extra call,
	// and stop the run before anything changes on the portal; also when
	// the listing failed because its shape changed.
	if stop := c.Shape().Stop(); stop != nil {
		return nil, nil, stop
	}
	if err != nil {
		return nil, nil, err
	}
	if shape, err = o.compareShape(ctx, c.Shape(), rr); err != nil {
		return nil, nil, err
	}
	if o.OnSynced != nil {
		o.OnSynced(rr.Sync)
	}
	if rr.Resolved, err = o.resolvePending(ctx, rr.Sync); err != nil {
		return nil, nil, err
	}
	if len(rr.Resolved) > 0 && o.OnResolved != nil {
		o.OnResolved(rr.Resolved)
	}
	if rr.Plan, err = o.makePlan(ctx, in); err != nil {
		return nil, nil, err
	}
	return rr, shape, nil
}

// carryOut is a confirmed run: record it, make the calls, verify them and
// finish the run with its outcome.
func (o *RunOptions) carryOut(ctx context.Context, c *portalhttp.Client, rr *RunResult, shape *store.ListingShape) error {
	if err := o.Store.SetSyncKind(ctx, rr.Sync.SyncID, store.SyncRun); err != nil {
		return err
	}
	if err := o.start(ctx, rr); err != nil {
		return err
	}
	// Recorded only by a run that goes ahead, so a dry run or a declined
	// plan leaves the warning for the run whose summary shows it.
	if shape != nil {
		if err := o.Store.RecordListingShape(ctx, o.App.ID, *shape); err != nil {
			return err
		}
	}
	rr.Result = *Execute(ctx, rr.Plan, o.Options)
	if o.OnExecuted != nil {
		o.OnExecuted(&rr.Result)
	}
	if err := o.verify(ctx, c, rr); err != nil {
		return err
	}
	if err := o.dateRefusals(context.WithoutCancel(ctx), rr); err != nil {
		return err
	}
	rr.Outcome, rr.Message = end(ctx, rr)
	if err := o.recordPace(ctx); err != nil {
		return err
	}
	return o.Store.FinishRun(context.WithoutCancel(ctx), rr.RunID, o.Now(), rr.Outcome, rr.Message)
}

// compareShape says in rr how the listing's shape differs from the one
// last recorded, and returns the fingerprint to record (the new one, with
// the Approved values seen before), nil for an empty listing.
func (o *RunOptions) compareShape(ctx context.Context, sh *portal.Shape, rr *RunResult) (*store.ListingShape, error) {
	fp := sh.Fingerprint()
	if fp == "" {
		return nil, nil // an empty listing has no shape
	}
	last, err := o.Store.LastListingShape(ctx, o.App.ID)
	if err != nil {
		return nil, err
	}
	if last != nil {
		rr.ShapeChange, rr.ShapeSince = portal.FingerprintChange(last.Fingerprint, fp), last.SeenAt
		fp = portal.MergeFingerprint(last.Fingerprint, fp)
	}
	return &store.ListingShape{Fingerprint: fp, SeenAt: o.Now()}, nil
}

// defaultSync lists with orgsync.Run, paced.
func (o *RunOptions) defaultSync(ctx context.Context, c *portalhttp.Client) (*orgsync.Report, error) {
	return orgsync.Run(ctx, orgsync.Options{Store: o.Store, App: o.App, PageSize: o.PageSize, Now: o.Now, Load: orgsync.PacedLoad(c.LoadDownloads, o.Pacer, nil)})
}

// makePlan plans over the orgs listed now, with their recorded uploads.
func (o *RunOptions) makePlan(ctx context.Context, in plan.Input) (*plan.Plan, error) {
	orgs, err := o.Store.Orgs(ctx, o.App.ID)
	if err != nil {
		return nil, err
	}
	ups, err := o.Store.LastUploads(ctx, o.App.ID)
	if err != nil {
		return nil, err
	}
	in.Mode, in.NonProdKeys, in.ProdKeys, in.Now = o.Mode, o.NonProdKeys, o.ProdKeys, o.Now()
	in.Orgs, in.History = nil, map[string]plan.History{}
	for _, org := range orgs {
		if org.GoneSince != nil {
			continue
		}
		in.Orgs = append(in.Orgs, plan.Org{OrgID: org.OrgID, Name: org.Name, Status: portal.Status(org.Status)})
		if u := ups[org.OrgID]; u != nil {
			in.History[org.OrgID] = plan.History{NonProd: envState(u.NonProd), Prod: envState(u.Prod)}
		}
	}
	return plan.Make(in)
}

// envState is what the planner knows an environment holds. An unconfirmed
// upload is not known: the planner calls the organization again wherever
// it would call one holding other keys (the call is idempotent), which
// confirms it.
func envState(e *store.EnvState) *plan.EnvState {
	if e == nil || e.Unconfirmed {
		return nil
	}
	return &plan.EnvState{Mode: e.Mode, Keys: e.Keys, At: e.At}
}

// start records the run and the key sets it uploads.
func (o *RunOptions) start(ctx context.Context, rr *RunResult) error {
	run := &store.Run{Started: o.Now(), Mode: o.Mode, Split: rr.Plan.Split, NonProdKeys: o.NonProdKeys, ProdKeys: o.ProdKeys,
		Planned: len(rr.Plan.Items), PID: os.Getpid(), Args: o.Args}
	if _, err := o.Store.StartRun(ctx, o.App.ID, run); err != nil {
		return err
	}
	rr.Started, rr.RunID, o.RunID, rr.startedAt = true, run.ID, run.ID, run.Started
	for _, k := range o.KeySets {
		k.FirstUsed = o.Now()
		if err := o.Store.RecordKeySet(ctx, o.App.ID, k); err != nil {
			return err
		}
	}
	return nil
}

// verify re-lists the orgs and records every activated org the portal does
// not show enabled; also after a stop for failures, but not after a lapse,
// an interrupt or a long Retry-After, which must end without further calls.
// A failed re-listing stops the run (when nothing else did).
func (o *RunOptions) verify(ctx context.Context, c *portalhttp.Client, rr *RunResult) error {
	res := &rr.Result
	rr.Mismatched = []Failure{}
	if len(res.Activated) == 0 || ctx.Err() != nil || errors.Is(res.Stop, portal.ErrNotSignedIn) || errors.As(res.Stop, new(*pace.HoldError)) {
		return nil
	}
	after, err := o.sync(ctx, c)
	if err != nil {
		if res.Stop == nil {
			res.Stop = fmt.Errorf("verify: %w", err)
		}
		return nil
	}
	if err := o.Store.SetSyncKind(context.WithoutCancel(ctx), after.SyncID, store.SyncVerify); err != nil {
		return err
	}
	statuses := map[string]portal.Status{}
	for _, org := range after.Orgs {
		statuses[org.OrgID] = portal.Status(org.Status)
	}
	for _, m := range Verify(res.Activated, statuses) {
		msg := fmt.Sprintf("portal shows %s after activation", m.Actual)
		if m.Missing {
			msg = "no longer listed after activation"
		}
		now := o.Now()
		if err := o.Store.RecordOutcome(context.WithoutCancel(ctx), o.App.ID, &store.Outcome{RunID: rr.RunID, OrgID: m.OrgID, Action: "verify", Envs: plan.EnvBoth,
			Mode: o.Mode, Result: store.ResultMismatch, Message: msg, Started: now, Finished: now}); err != nil {
			return err
		}
		rr.Mismatched = append(rr.Mismatched, Failure{OrgID: m.OrgID, Name: m.Name, Message: msg})
	}
	return nil
}

// dateRefusals says of each refusal when the organization first refused,
// and counts those no earlier run had recorded: an organization that
// refuses every time (not provisioned yet) is not news every night.
func (o *RunOptions) dateRefusals(ctx context.Context, rr *RunResult) error {
	if len(rr.Refused) == 0 {
		return nil
	}
	earlier, err := o.Store.EarlierRefusals(ctx, o.App.ID, rr.RunID)
	if err != nil {
		return err
	}
	started := rr.startedAt
	for i := range rr.Refused {
		f := &rr.Refused[i]
		if t, ok := earlier[f.OrgID]; ok {
			f.FirstRefused = &t
			continue
		}
		t := started
		f.FirstRefused, f.NewRefusal = &t, true
		rr.NewRefusals++
	}
	return nil
}

// recordPace keeps what the run learned of the portal's pace, so the next
// run starts there: the highest rate that held, and whether a 429 showed
// the limit. A run that made too few calls to say anything keeps the
// record as it was; one that saw no 429 keeps an earlier limit found (it
// never went beyond what it tolerated).
func (o *RunOptions) recordPace(ctx context.Context) error {
	st := o.Pacer.Stats()
	if st.Calls < pace.QuietCalls || st.Tolerated <= 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	prev, err := o.Store.Pace(ctx, o.App.ID)
	if err != nil {
		return err
	}
	p := store.Pace{Tolerated: st.Tolerated, Limited: st.Limited, At: o.Now()}
	if !st.Limited && prev != nil && prev.Limited {
		p.Limited = true
		p.Tolerated = max(st.Tolerated, prev.Tolerated)
	}
	return o.Store.RecordPace(ctx, o.App.ID, p)
}

// end decides the run's outcome and, when it stopped early, the message
// saying why and how to resume.
func end(ctx context.Context, rr *RunResult) (outcome, msg string) {
	stop := rr.Stop
	switch {
	case stop != nil && errors.Is(stop, portal.ErrNotSignedIn):
		return store.RunLapsed, fmt.Sprintf("the session lapsed mid-run (%d organizations not reached): sign in again with `activator login`, then re-run the same command to resume", rr.NotRun)
	case stop != nil && len(rr.Unknown) > 0:
		// A second Ctrl-C stopped calls in flight.
		calls := "1 call"
		if len(rr.Unknown) > 1 {
			calls = fmt.Sprintf("%d calls", len(rr.Unknown))
		}
		return store.RunInterrupted, fmt.Sprintf("stopped at once: %s in flight left unknown (the portal may or may not have made the change); re-run the same command to resume: it settles them from the listing or calls them again (%d organizations not reached)",
			calls, rr.NotRun)
	case stop != nil && (errors.Is(stop, context.Canceled) || (errors.Is(ctx.Err(), context.Canceled) && errors.Is(stop, context.Cause(ctx)))):
		// Ctrl-C: the context's cause.
		return store.RunInterrupted, fmt.Sprintf("interrupted: the calls in flight finished and were recorded; re-run the same command to resume (%d organizations not reached)", rr.NotRun)
	case stop != nil && errors.Is(stop, store.ErrDiskFull):
		// Nothing more can be recorded, so no further call was made.
		return store.RunAborted, fmt.Sprintf("run stopped: %v (%d organizations not reached)", stop, rr.NotRun)
	case stop != nil:
		return store.RunAborted, fmt.Sprintf("run stopped: %v; re-run the same command to resume once the portal answers", stop)
	case len(rr.Refused)+len(rr.Failed)+len(rr.Mismatched) > 0:
		return store.RunFailures, ""
	}
	return store.RunDone, ""
}
