// Package activate carries out an activation plan against the portal.
//
// Run owns a whole run: it takes the state database's run lock, syncs,
// plans, records the run and its key sets, makes the calls (Execute),
// re-lists to verify them, records the mismatches and finishes the run with
// its outcome. The command line only checks flags, loads keys, shows the
// plan, asks for confirmation and prints the summary.
//
// Workers take organizations from the plan in order; every call waits for the
// shared pace (see package pace), is retried there when it may succeed later,
// and its outcome is committed to the state database before the worker's
// next call starts. That is what makes a run resumable: after a crash, a
// kill -9 or a lapsed session, the next run's plan (built from the portal's
// statuses and the recorded outcomes) calls no organization that already
// succeeded and skips none that did not.
//
// A run stops early, letting calls in flight finish and recording them, when
// the session lapses, when the context is cancelled (Ctrl-C), or after
// MaxFailures consecutive failures: a broken portal is not called 500 times.
package activate

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// DefaultConcurrency is one call at a time, like the only published
// automation; the rate, not the number of workers, sets the pace.
const DefaultConcurrency = 1

// MaxConcurrency bounds --concurrency: more workers only help hide latency,
// and a handful covers a 300 ms portal at any polite rate.
const MaxConcurrency = 8

// DefaultMaxFailures is how many consecutive failed organizations stop a
// run: enough to ride over a few bad orgs, few enough not to hammer a
// portal that is failing every call.
const DefaultMaxFailures = 10

// ErrTooManyFailures stops a run after MaxFailures consecutive failures.
var ErrTooManyFailures = errors.New("too many consecutive failures")

// Approver makes one ApproveDownload call; *portalhttp.Client is one.
type Approver interface {
	Approve(ctx context.Context, a portal.Activation) (string, error)
}

// Options configure Execute.
type Options struct {
	Portal      Approver
	Store       *store.Store
	App         store.App
	RunID       int64
	Pacer       *pace.Pacer
	Concurrency int
	MaxFailures int
	Mode        string
	// NonProdJWKS and ProdJWKS are the documents sent in direct mode.
	NonProdJWKS, ProdJWKS string
	// NonProdKeys and ProdKeys are their thumbprints, recorded per outcome.
	NonProdKeys, ProdKeys string
	Now                   func() time.Time
	// OnEvent is told about every finished call; calls are serialised.
	OnEvent func(Event)
	// Abort, when cancelled, stops the calls in flight at once (a second
	// Ctrl-C): each keeps its write-ahead intent without an outcome, which
	// the next run settles. Cancelling the context passed to Execute only
	// stops new calls; the calls in flight finish and are recorded.
	Abort context.Context
	// Bounds limit each call (per attempt and all attempts together);
	// Bounds.Waiting is not used: OnWaiting is.
	Bounds pace.Bounds
	// OnWaiting is told, every Bounds.NoticeAfter, about a call the portal
	// has not answered yet.
	OnWaiting func(orgID string, d time.Duration)
	// InFlight, when set, is kept up to date with the calls under way.
	InFlight *InFlight
}

// Event reports one finished call.
type Event struct {
	OrgID    string
	Name     string
	Action   string
	Envs     string
	Result   string
	Message  string
	Attempts int
	// Done numbers this event's organization among those reported so far,
	// out of Total: both calls of a split org carry the same number.
	Done, Total int
}

// Failure is an organization that was refused or failed.
type Failure struct {
	OrgID   string `json:"orgId"`
	Name    string `json:"name"`
	Message string `json:"message"`
	// FirstRefused is, for a refusal, when the organization began refusing:
	// in an earlier run when it refuses every time, else in this one.
	FirstRefused *time.Time `json:"firstRefused,omitempty"`
	// NewRefusal marks a refusal no earlier run had recorded.
	NewRefusal bool `json:"newRefusal,omitempty"`
}

// Result is what a run did.
type Result struct {
	Activated []plan.Item // every call succeeded
	Refused   []Failure
	Failed    []Failure
	// NotRun counts planned organizations not (or not fully) reached
	// because the run stopped early.
	NotRun int
	Calls  int
	// Stop is why the run ended early: a lapsed session
	// (portal.ErrNotSignedIn), ErrTooManyFailures, a Retry-After longer than
	// the pace waits (pace.HoldError), or the context's error.
	Stop error
	// Unknown are the calls Abort stopped in flight: the portal may or may
	// not have made the change. Their intents stay pending, and the next
	// run settles them from its listing (or calls them again).
	Unknown []Failure
	// Achieved is the pace of the run's ApproveDownload attempts, in calls
	// a second from the first to the last (0 with fewer than two).
	Achieved float64
}

// UnknownMessage describes a call stopped in flight.
const UnknownMessage = "stopped in flight (second Ctrl-C): the portal may or may not have made the change; the next run settles it"

// InFlight tracks the organizations whose call is under way, for a
// command line asked to stop to say what it is finishing. The zero value
// is ready to use.
type InFlight struct {
	mu   sync.Mutex
	orgs map[string]bool
}

// Orgs lists the organizations whose call is under way, sorted.
func (f *InFlight) Orgs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.orgs))
	for id := range f.orgs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (f *InFlight) set(org string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.orgs == nil {
		f.orgs = map[string]bool{}
	}
	if on {
		f.orgs[org] = true
	} else {
		delete(f.orgs, org)
	}
}

// Execute carries out p. It always returns a Result; Stop says whether the
// run ended early.
func Execute(ctx context.Context, p *plan.Plan, o Options) *Result {
	if o.Concurrency < 1 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxFailures < 1 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.InFlight == nil {
		o.InFlight = &InFlight{}
	}
	e := &executor{o: o, res: &Result{}, total: len(p.Items)}
	items := make(chan plan.Item)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				e.processSafely(ctx, it)
			}
		}()
	}
	for i, it := range p.Items {
		if e.stopped(ctx) {
			e.mu.Lock()
			e.res.NotRun += len(p.Items) - i
			e.mu.Unlock()
			break
		}
		items <- it
	}
	close(items)
	wg.Wait()
	if e.attempts > 1 {
		if d := e.lastAttempt.Sub(e.firstAttempt).Seconds(); d > 0 {
			e.res.Achieved = float64(e.attempts-1) / d
		}
	}
	// An interrupt says why the run ended, even when the call in flight
	// then failed: the person asked it to stop. Only a lapsed session, which
	// needs a new sign-in before anything else, says more.
	if ctx.Err() != nil && !errors.Is(e.res.Stop, portal.ErrNotSignedIn) {
		e.res.Stop = context.Cause(ctx)
	}
	if e.panicked != nil {
		// A bug in a worker: raised again here, in the caller's goroutine,
		// where the command line turns it into one line and a details file.
		panic(e.panicked)
	}
	return e.res
}

// WorkerPanic is a panic in an activation worker, raised again by Execute
// once the other workers finished. Stack is the worker's stack.
type WorkerPanic struct {
	Value any
	Stack []byte
}

func (p *WorkerPanic) Error() string { return fmt.Sprint(p.Value) }

// PanicStack is the stack of the goroutine that panicked.
func (p *WorkerPanic) PanicStack() []byte { return p.Stack }

// errWorkerPanic stops the run after a worker panicked.
var errWorkerPanic = errors.New("internal error in an activation worker")

// processSafely is process with a panic turned into a run stop: the other
// workers finish their calls (each recorded) and Execute raises it again.
func (e *executor) processSafely(ctx context.Context, it plan.Item) {
	defer func() {
		if v := recover(); v != nil {
			e.mu.Lock()
			if e.panicked == nil {
				e.panicked = &WorkerPanic{Value: v, Stack: debug.Stack()}
			}
			if e.res.Stop == nil {
				e.res.Stop = errWorkerPanic
			}
			e.mu.Unlock()
		}
	}()
	e.process(ctx, it)
}

type executor struct {
	o     Options
	total int

	mu    sync.Mutex // guards the fields below
	res   *Result
	fails int // consecutive
	// numbers are the [n/total] of the orgs reported so far; reported
	// counts them.
	numbers  map[string]int
	reported int
	panicked *WorkerPanic // the first worker panic
	// attempts, firstAttempt and lastAttempt measure the pace achieved.
	attempts                  int
	firstAttempt, lastAttempt time.Time
}

// attempt notes an attempt at org starting now.
func (e *executor) attempt(org string, now time.Time) {
	e.o.InFlight.set(org, true)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts++
	if e.firstAttempt.IsZero() {
		e.firstAttempt = now
	}
	e.lastAttempt = now
}

// landed notes the attempt at org is over.
func (e *executor) landed(org string) { e.o.InFlight.set(org, false) }

// unknown counts a call Abort stopped in flight; its intent stays pending.
func (e *executor) unknown(it plan.Item) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.res.Calls++
	e.res.Unknown = append(e.res.Unknown, Failure{OrgID: it.OrgID, Name: it.Name, Message: UnknownMessage})
}

func (e *executor) stopped(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.res.Stop != nil
}

// process makes an organization's calls in order, stopping at the first
// that does not succeed.
func (e *executor) process(ctx context.Context, it plan.Item) {
	for i, c := range it.Calls {
		if e.stopped(ctx) {
			e.mu.Lock()
			e.res.NotRun++
			e.mu.Unlock()
			return
		}
		a := portal.Activation{OrgID: it.OrgID, NonProdOnly: c.NonProdOnly, ProdOnly: c.ProdOnly}
		if c.SendNonProd {
			a.TestJWKS = e.o.NonProdJWKS
		}
		if c.SendProd {
			a.ProdJWKS = e.o.ProdJWKS
		}
		out := &store.Outcome{RunID: e.o.RunID, OrgID: it.OrgID, Action: it.Action, Envs: c.Envs, Mode: e.o.Mode}
		if e.o.Mode == plan.ModeJWKS {
			if c.Envs != plan.EnvProd {
				out.NonProdKeys = e.o.NonProdKeys
			}
			if c.Envs != plan.EnvNonProd {
				out.ProdKeys = e.o.ProdKeys
			}
		}
		attempts, msg, err, intentErr := e.call(ctx, it, out, a)
		callCtx := context.WithoutCancel(ctx)
		switch {
		case attempts > 0 && intentErr == nil && e.o.Abort != nil && e.o.Abort.Err() != nil && errors.Is(err, context.Canceled):
			// Stopped in flight: the intent stays pending.
			e.unknown(it)
			return
		case attempts == 0 || intentErr != nil:
			// Stopped while waiting for the pace, or the intent could not
			// be recorded: no call was made.
			e.mu.Lock()
			e.res.NotRun++
			if intentErr != nil && e.res.Stop == nil {
				e.res.Stop = fmt.Errorf("state database: %w", intentErr)
			}
			e.mu.Unlock()
			return
		case errors.As(err, new(*pace.HoldError)):
			// The portal asked for a long pause and changed nothing: the
			// org is not reached (its intent is dropped), and the run stops.
			dropErr := e.o.Store.DropIntent(callCtx, out.ID)
			e.mu.Lock()
			e.res.Calls++
			e.res.NotRun++
			if e.res.Stop == nil {
				e.res.Stop = err
			}
			if dropErr != nil {
				e.res.Stop = fmt.Errorf("state database: %w", dropErr)
			}
			e.mu.Unlock()
			return
		}
		out.Attempts, out.Finished, out.Result, out.Message = attempts, e.o.Now(), store.ResultOK, msg
		var refused *portal.RefusedError
		switch {
		case err == nil:
		case errors.As(err, &refused):
			out.Result, out.Message = store.ResultRefused, refused.Message
		default:
			out.Result, out.Message = store.ResultFailed, describe(err)
		}
		// Commit before anything else happens: this is the resume point.
		recErr := e.o.Store.FinishOutcome(callCtx, out)
		last := i == len(it.Calls)-1 || err != nil
		e.finish(it, out, err, recErr, last)
		if err != nil || recErr != nil {
			return
		}
	}
}

// call makes one organization's call within the pace and its bounds. The
// call itself is not cancelled by Ctrl-C: it finishes and is recorded.
// Only the waiting before it is, and a second Ctrl-C (Abort), which stops
// it at once. Its intent is committed just before it is first sent (after
// the pace), so that a process that dies (or is stopped) during the call
// leaves a pending record the next run resolves; without that record
// (intentErr), no call is made.
func (e *executor) call(ctx context.Context, it plan.Item, out *store.Outcome, a portal.Activation) (attempts int, msg string, err, intentErr error) {
	dbCtx := context.WithoutCancel(ctx)
	callCtx, stopCall := context.WithCancel(dbCtx)
	defer stopCall()
	if e.o.Abort != nil {
		defer context.AfterFunc(e.o.Abort, stopCall)()
	}
	b := e.o.Bounds
	b.Waiting = nil
	if e.o.OnWaiting != nil {
		b.Waiting = func(d time.Duration) { e.o.OnWaiting(it.OrgID, d) }
	}
	attempts, err = e.o.Pacer.Call(ctx, callCtx, b, func(actx context.Context) error {
		if out.ID == 0 {
			out.Started = e.o.Now()
			if intentErr = e.o.Store.RecordIntent(dbCtx, e.o.App.ID, out); intentErr != nil {
				return intentErr
			}
		}
		e.attempt(it.OrgID, time.Now())
		defer e.landed(it.OrgID)
		var err error
		msg, err = e.o.Portal.Approve(actx, a)
		return err
	})
	return attempts, msg, err, intentErr
}

// finish updates the tallies after a call.
func (e *executor) finish(it plan.Item, out *store.Outcome, callErr, recErr error, last bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.res.Calls++
	switch {
	case recErr != nil:
		// Without a record the run cannot promise to resume correctly.
		e.res.Stop = fmt.Errorf("state database: %w", recErr)
	case callErr == nil:
		e.fails = 0
		if last {
			e.res.Activated = append(e.res.Activated, it)
		}
	default:
		f := Failure{OrgID: it.OrgID, Name: it.Name, Message: out.Message}
		if out.Result == store.ResultRefused {
			e.res.Refused = append(e.res.Refused, f)
		} else {
			e.res.Failed = append(e.res.Failed, f)
		}
		e.fails++
		switch {
		case errors.Is(callErr, portal.ErrNotSignedIn):
			if e.res.Stop == nil {
				e.res.Stop = callErr
			}
		case e.fails >= e.o.MaxFailures && e.res.Stop == nil:
			e.res.Stop = fmt.Errorf("%w (%d in a row, the last: %s)", ErrTooManyFailures, e.fails, out.Message)
		}
	}
	// Each org gets its number at its first reported call, so both calls
	// of a split org show the same [n/total], whatever the other workers do.
	shown, ok := e.numbers[it.OrgID]
	if !ok {
		e.reported++
		shown = e.reported
		if e.numbers == nil {
			e.numbers = map[string]int{}
		}
		e.numbers[it.OrgID] = shown
	}
	if e.o.OnEvent != nil {
		e.o.OnEvent(Event{OrgID: it.OrgID, Name: it.Name, Action: it.Action, Envs: out.Envs, Result: out.Result,
			Message: out.Message, Attempts: out.Attempts, Done: shown, Total: e.total})
	}
}

// describe turns a call's error into the message recorded for the org,
// without the "approve org N:" prefix the record already implies.
func describe(err error) string {
	var pe *portal.PortalError
	var se *portal.SessionError
	switch {
	case errors.As(err, &pe):
		return pe.Message
	case errors.As(err, &se):
		return se.Error()
	}
	var u interface{ Unwrap() error }
	if errors.As(err, &u) {
		if inner := u.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// Mismatch is an org whose status after the run is not what its calls
// should have left.
type Mismatch struct {
	OrgID    string        `json:"orgId"`
	Name     string        `json:"name"`
	Expected portal.Status `json:"expected"`
	Actual   portal.Status `json:"actual"`
	Missing  bool          `json:"missing,omitempty"`
}

// Verify compares the statuses listed after the run with what each fully
// activated org should show (keys enabled).
func Verify(activated []plan.Item, after map[string]portal.Status) []Mismatch {
	var out []Mismatch
	for _, it := range activated {
		st, ok := after[it.OrgID]
		if !ok {
			out = append(out, Mismatch{OrgID: it.OrgID, Name: it.Name, Expected: portal.StatusEnabled, Missing: true})
			continue
		}
		if st != portal.StatusEnabled {
			out = append(out, Mismatch{OrgID: it.OrgID, Name: it.Name, Expected: portal.StatusEnabled, Actual: st})
		}
	}
	return out
}
