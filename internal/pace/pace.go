// Package pace spaces out portal calls and retries the ones that may
// succeed later.
//
// The portal documents no limit. The only published automation made one
// call at a time, 500 ms apart, so the default is at most 2 calls a second
// across all workers. The portal's real limit is unknown: a 429 is obeyed
// (its Retry-After, if any) and the pace is found while the run goes by a
// congestion controller (see controller.go); 5xx and network failures are
// retried with exponential backoff and full jitter, a bounded number of
// times.
//
// The package decides what is retried, and how, from what an error says of
// itself (RetryableError, ThrottleError), not from whose error it is: the
// portal's client and the Brands checks of organizations' own servers both
// make errors that say so.
package pace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultRate is calls per second across all workers: the pace of the only
// published automation (one call every 500 ms).
const DefaultRate = 2.0

// DefaultRetries is how many times a retryable failure is repeated before
// the call counts as failed: enough to ride out a short outage (about a
// minute with the backoff below), not enough to hammer a broken portal.
const DefaultRetries = 6

// DefaultBackoff is the first backoff after a 5xx or network failure; it
// doubles each time up to MaxBackoff.
const DefaultBackoff = time.Second

// MaxBackoff caps a single wait.
const MaxBackoff = 30 * time.Second

// DefaultMaxHold is the longest Retry-After a run waits out. A portal asking
// for more (hours, a day) is asking the run to stop, not to sleep silently
// through the night and hold the lock against the next one: the call fails
// with a HoldError, and every later Wait of the same Pacer returns it
// without calling, so the run stops, to be resumed later.
const DefaultMaxHold = 5 * time.Minute

// DefaultNoticeHold is the shortest hold worth telling the person about.
const DefaultNoticeHold = 5 * time.Second

// RetryableError is an error that says whether the call that failed may
// succeed if it is made again later in the same run: true for a rate limit,
// a server error or a network failure; false (or not implementing it) for
// a refusal, a malformed answer or a lapsed session.
type RetryableError interface {
	error
	Retryable() bool
}

// ThrottleError is a server's request to slow down (HTTP 429): the Pacer
// waits its Retry-After and lowers the pace for every worker. Throttled
// returns the Retry-After, zero when the server gave none.
type ThrottleError interface {
	error
	Throttled() (retryAfter time.Duration)
}

// Retryable reports whether err, or an error it wraps, is a RetryableError
// whose call may succeed later.
func Retryable(err error) bool {
	var re RetryableError
	return errors.As(err, &re) && re.Retryable()
}

// HoldError is a 429 whose Retry-After is longer than the Pacer waits.
type HoldError struct {
	RetryAfter time.Duration
	Max        time.Duration
	// Err is the server's answer, a ThrottleError.
	Err error
}

func (e *HoldError) Error() string {
	return fmt.Sprintf("the portal asked to wait %s before the next call (HTTP 429 Retry-After), longer than the %s a run waits", e.RetryAfter, e.Max)
}

// Unwrap gives the portal's rate-limit answer.
func (e *HoldError) Unwrap() error { return e.Err }

// Pacer is shared by every worker of a run.
type Pacer struct {
	retries int
	backoff time.Duration
	sleep   func(context.Context, time.Duration) error
	now     func() time.Time
	maxHold time.Duration
	onHold  func(time.Duration)
	onCut   func(from, to float64)

	mu  sync.Mutex
	ctl *controller
	// last is when the latest call was released: the next one waits a
	// full interval from it, so a call released late never makes the next
	// gap short.
	last time.Time
	hold time.Time
	// first and released measure the pace achieved.
	first    time.Time
	released int
	// recent are the latest release times (a ring), to measure the rate
	// calls actually left at; tolerated is the highest rate that held, as
	// calls actually left (a rate set above what the workers reach is not
	// one the portal was shown).
	recent    [QuietCalls]time.Time
	tolerated float64
	// stopped is the HoldError that ended this Pacer's calls: once the
	// portal asked for a pause longer than maxHold, no worker calls again.
	stopped error
}

// New returns a Pacer allowing at most r calls per second (one at a time:
// no burst), starting at r.
func New(r float64, retries int) *Pacer { return NewFrom(r, r, retries) }

// NewFrom returns a Pacer that never exceeds r calls per second and starts
// sending at start (a rate the portal tolerated before, when below r).
// The rate tolerated is the rate calls left at, which Margin keeps a
// little below the pace set: the pace starts that much higher, or each
// run would start 2% slower than the one before.
func NewFrom(r, start float64, retries int) *Pacer {
	if !(r > 0) {
		r = DefaultRate
	}
	if start > 0 && start < r {
		start = min(r, start*(1+Margin))
	}
	if retries < 0 {
		retries = DefaultRetries
	}
	return &Pacer{ctl: newController(r, start), retries: retries, backoff: DefaultBackoff, sleep: sleepCtx,
		now: time.Now, maxHold: DefaultMaxHold}
}

// OnHold sets a function told about every Retry-After hold of at least
// DefaultNoticeHold, so a person watching knows why nothing moves.
func (p *Pacer) OnHold(f func(time.Duration)) { p.onHold = f }

// OnCut sets a function told each time 429s lower the pace, with the
// rate before and after, so a person watching knows why the run slows
// down (and that a failed probe went back to the rate that held).
func (p *Pacer) OnCut(f func(from, to float64)) { p.onCut = f }

// SetBackoff changes the first backoff (tests use a short one).
func (p *Pacer) SetBackoff(d time.Duration) { p.backoff = d }

// Rate is the current pace in calls per second.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.rate
}

// Throttled is how many 429 answers the run has seen.
func (p *Pacer) Throttled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.limited
}

// Stats is what a Pacer learned about the portal.
type Stats struct {
	// Achieved is calls per second from the first call released to the
	// last (0 with fewer than two calls).
	Achieved float64
	// Tolerated is the highest rate that held (QuietCalls answers in a
	// row without a 429), as fast as calls actually left, which may be
	// slower than the pace allowed; 0 when no rate held that long.
	Tolerated float64
	// Limited says a 429 was seen: Tolerated is then close to the portal's
	// limit, not just the pace asked for.
	Limited bool
	// Throttled counts 429 answers; Events the congestion events (one per
	// burst of 429s).
	Throttled, Events int
	// Calls is how many calls were released.
	Calls int
}

// Stats reports the pace achieved and what the portal tolerated.
func (p *Pacer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Tolerated: p.tolerated, Limited: p.ctl.limited > 0, Throttled: p.ctl.limited, Events: p.ctl.events, Calls: p.released}
	if p.released > 1 {
		if d := p.last.Sub(p.first).Seconds(); d > 0 {
			s.Achieved = float64(p.released-1) / d
		}
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Wait blocks until the next call may start: after any Retry-After hold
// and a full interval after the previous call at the current pace.
func (p *Pacer) Wait(ctx context.Context) error {
	_, err := p.wait(ctx)
	return err
}

// wait releases one call and returns its number. A waiter never keeps a
// slot computed before a change: each time it wakes it computes again
// from the last release, the current pace and any hold, so a pace raised
// while it slept cannot let it out early and a pace lowered makes it wait
// longer.
func (p *Pacer) wait(ctx context.Context) (uint64, error) {
	for {
		p.mu.Lock()
		if p.stopped != nil {
			p.mu.Unlock()
			return 0, p.stopped
		}
		now := p.now()
		at := p.hold
		if !p.last.IsZero() {
			if next := p.last.Add(p.ctl.interval()); next.After(at) {
				at = next
			}
		}
		if !now.Before(at) {
			if err := ctx.Err(); err != nil {
				p.mu.Unlock()
				return 0, err
			}
			p.last = now
			if p.released == 0 {
				p.first = now
			}
			p.recent[p.released%QuietCalls] = now
			p.released++
			n := p.ctl.release()
			p.mu.Unlock()
			return n, nil
		}
		p.mu.Unlock()
		if err := p.sleep(ctx, at.Sub(now)); err != nil {
			return 0, err
		}
	}
}

// Do runs call within the pace, repeating it while it fails in a retryable
// way (see Retryable). It returns the number of attempts made and the
// last error. A cancelled ctx stops the waiting, not a call in flight: the
// caller decides which context the call itself gets.
func (p *Pacer) Do(ctx context.Context, call func() error) (int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		n, werr := p.wait(ctx)
		if werr != nil {
			if err == nil {
				err = werr
			}
			return attempt - 1, err
		}
		began := p.now()
		err = call()
		var rl ThrottleError
		limited := errors.As(err, &rl)
		var wait time.Duration
		if limited {
			wait = rl.Throttled()
		} else {
			p.answered(n, p.now().Sub(began), err == nil)
		}
		if limited && wait > p.maxHold {
			he := &HoldError{RetryAfter: wait, Max: p.maxHold, Err: rl}
			p.mu.Lock()
			p.ctl.limited++
			if p.stopped == nil {
				p.stopped = he
			}
			p.mu.Unlock()
			return attempt, he
		}
		if limited {
			// Even a last attempt's 429 holds and slows the next calls.
			p.rateLimited(n, wait)
			if wait >= DefaultNoticeHold && p.onHold != nil {
				p.onHold(wait)
			}
		}
		if err == nil || !Retryable(err) || attempt > p.retries {
			return attempt, err
		}
		if limited {
			continue
		}
		back := p.backoff << (attempt - 1)
		if back > MaxBackoff || back <= 0 {
			back = MaxBackoff
		}
		// Full jitter: workers that failed together do not retry together.
		back = time.Duration(rand.Int64N(int64(back)) + 1)
		if serr := p.sleep(ctx, back); serr != nil {
			return attempt, err
		}
	}
}

// answered tells the controller call n was answered without a 429 after
// rtt; only a successful answer's time says anything about the network.
func (p *Pacer) answered(n uint64, rtt time.Duration, ok bool) {
	if !ok {
		rtt = 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctl.answered(n, rtt)
	if p.ctl.best > p.tolerated { // tolerated is never above best
		p.tolerated = max(p.tolerated, min(p.ctl.best, p.sentRate()))
	}
}

// sentRate is the rate the latest QuietCalls calls actually left at.
func (p *Pacer) sentRate() float64 {
	if p.released < QuietCalls {
		return 0
	}
	newest := p.recent[(p.released-1)%QuietCalls]
	oldest := p.recent[p.released%QuietCalls]
	d := newest.Sub(oldest).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(QuietCalls-1) / d
}

// rateLimited holds every worker for Retry-After (or one interval when
// the portal gave none) and tells the controller, which lowers the pace
// once per congestion event.
func (p *Pacer) rateLimited(n uint64, after time.Duration) {
	p.mu.Lock()
	before := p.ctl.rate
	p.ctl.limitedAnswer(n)
	now := p.ctl.rate
	if after <= 0 {
		after = p.ctl.interval()
	}
	if until := p.now().Add(after); until.After(p.hold) {
		p.hold = until
	}
	p.mu.Unlock()
	if now < before && p.onCut != nil {
		p.onCut(before, now)
	}
}
