package pace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultCallTimeout bounds one attempt at a portal call. The portal
// answers in well under a second and has been seen to take a few seconds
// when busy: thirty seconds is ten times that, so a call still unanswered
// then has hung, and is tried again (the portal's calls are idempotent)
// rather than waited on for the HTTP client's full minute.
const DefaultCallTimeout = 30 * time.Second

// DefaultCallBudget bounds every attempt at one call together, from the
// first, backoffs included: a portal that stopped answering costs two
// minutes per organization, not seven tries of a minute each, and a run
// stops after a few such organizations in a row (activate.MaxFailures).
const DefaultCallBudget = 2 * time.Minute

// DefaultNoticeAfter is how long a call may be outstanding before it is
// said on screen (and again each time as long again passes): long enough
// not to speak of a busy portal's few seconds, short enough that a person
// never wonders whether the tool hangs.
const DefaultNoticeAfter = 10 * time.Second

// NoAnswerError is an attempt the portal did not answer within the
// per-call timeout. It is retried like a network failure.
type NoAnswerError struct{ After time.Duration }

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("the portal did not answer within %s", e.After)
}

// Retryable is true: the portal's calls are idempotent, and a hung
// connection may be the network's, not the portal's.
func (e *NoAnswerError) Retryable() bool { return true }

// Bounds are the limits Call puts on one call.
type Bounds struct {
	// Timeout bounds one attempt (DefaultCallTimeout when zero).
	Timeout time.Duration
	// Budget bounds all attempts together (DefaultCallBudget when zero).
	Budget time.Duration
	// NoticeAfter is the period of Waiting (DefaultNoticeAfter when zero).
	NoticeAfter time.Duration
	// Waiting, when set, is told every NoticeAfter while an attempt is
	// outstanding, with how long it has been.
	Waiting func(time.Duration)
}

// Call is Do for a portal call that takes a context: each attempt runs in
// a context derived from base (the call's own, which stopping the run does
// not cancel, so a call in flight finishes and is recorded) and bounded by
// the per-call timeout; all attempts together are bounded by the budget.
// ctx stops the waiting between attempts, as in Do. An attempt cut short
// by the timeout counts as a NoAnswerError and is retried within the
// budget.
func (p *Pacer) Call(ctx, base context.Context, b Bounds, call func(context.Context) error) (int, error) {
	if b.Timeout <= 0 {
		b.Timeout = DefaultCallTimeout
	}
	if b.Budget <= 0 {
		b.Budget = DefaultCallBudget
	}
	if b.NoticeAfter <= 0 {
		b.NoticeAfter = DefaultNoticeAfter
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline time.Time
	var budget *time.Timer
	defer func() {
		if budget != nil {
			budget.Stop()
		}
	}()
	return p.Do(waitCtx, func() error {
		if deadline.IsZero() {
			// The budget runs from the first attempt: waiting for the pace
			// before it is not the portal's doing.
			deadline = time.Now().Add(b.Budget)
			budget = time.AfterFunc(b.Budget, cancel)
		}
		timeout := min(b.Timeout, time.Until(deadline))
		actx, stop := context.WithTimeout(base, timeout)
		defer stop()
		quiet := watch(b.NoticeAfter, b.Waiting)
		defer quiet()
		err := call(actx)
		if err != nil && errors.Is(actx.Err(), context.DeadlineExceeded) && base.Err() == nil {
			return &NoAnswerError{After: timeout.Round(time.Second)}
		}
		return err
	})
}

// watch tells notify every period until the returned function is called.
func watch(period time.Duration, notify func(time.Duration)) func() {
	if notify == nil {
		return func() {}
	}
	var mu sync.Mutex
	stopped := false
	n := 0
	var t *time.Timer
	var tick func()
	tick = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		n++
		notify(time.Duration(n) * period)
		t = time.AfterFunc(period, tick)
	}
	mu.Lock()
	t = time.AfterFunc(period, tick)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}
