// Package pace spaces out portal calls and retries the ones that may
// succeed later.
//
// The portal documents no limit. The only published automation made one
// call at a time, 500 ms apart, so the default is at most 2 calls a second
// across all workers. A 429 is obeyed (its Retry-After, if any) and lowers
// the pace for the rest of the run; 5xx and network failures are retried
// with exponential backoff and full jitter, a bounded number of times.
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

	"golang.org/x/time/rate"
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

// MinRate is the slowest a run is slowed to by 429s: one call every 10 s.
const MinRate = 0.1

// RecoverAfter is how many calls in a row must pass without a 429 before a
// slowed pace steps back up (by RecoverStep, never above the rate asked
// for): one 429 at a busy moment should not slow the rest of a 500-org
// run for good.
const RecoverAfter = 20

// RecoverStep is the factor a slowed pace is raised by after RecoverAfter
// calls without a 429.
const RecoverStep = 1.1

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
	max     float64
	lim     *rate.Limiter
	retries int
	backoff time.Duration
	sleep   func(context.Context, time.Duration) error
	maxHold time.Duration
	onHold  func(time.Duration)

	mu        sync.Mutex
	throttled int // 429s seen
	calm      int // calls since the last 429
	hold      time.Time
	// stopped is the HoldError that ended this Pacer's calls: once the
	// portal asked for a pause longer than maxHold, no worker calls again.
	stopped error
}

// New returns a Pacer allowing r calls per second (burst 1).
func New(r float64, retries int) *Pacer {
	if r <= 0 {
		r = DefaultRate
	}
	if retries < 0 {
		retries = DefaultRetries
	}
	return &Pacer{max: r, lim: rate.NewLimiter(rate.Limit(r), 1), retries: retries, backoff: DefaultBackoff, sleep: sleepCtx,
		maxHold: DefaultMaxHold}
}

// OnHold sets a function told about every Retry-After hold of at least
// DefaultNoticeHold, so a person watching knows why nothing moves.
func (p *Pacer) OnHold(f func(time.Duration)) { p.onHold = f }

// SetBackoff changes the first backoff (tests use a short one).
func (p *Pacer) SetBackoff(d time.Duration) { p.backoff = d }

// Rate is the current pace in calls per second.
func (p *Pacer) Rate() float64 { return float64(p.lim.Limit()) }

// Throttled is how many 429 answers the run has seen.
func (p *Pacer) Throttled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.throttled
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
// and within the rate.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		if err := p.stoppedErr(); err != nil {
			return err
		}
		if err := p.sleep(ctx, p.holdLeft()); err != nil {
			return err
		}
		if err := p.lim.Wait(ctx); err != nil {
			return err
		}
		if err := p.stoppedErr(); err != nil {
			return err
		}
		// Another worker may have been told to hold while this one waited
		// for the rate: honour the newer hold too.
		if p.holdLeft() <= 0 {
			return nil
		}
	}
}

func (p *Pacer) stoppedErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

func (p *Pacer) holdLeft() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Until(p.hold)
}

// Do runs call within the pace, repeating it while it fails in a retryable
// way (see Retryable). It returns the number of attempts made and the
// last error. A cancelled ctx stops the waiting, not a call in flight: the
// caller decides which context the call itself gets.
func (p *Pacer) Do(ctx context.Context, call func() error) (int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		if werr := p.Wait(ctx); werr != nil {
			if err == nil {
				err = werr
			}
			return attempt - 1, err
		}
		err = call()
		var rl ThrottleError
		limited := errors.As(err, &rl)
		var wait time.Duration
		if limited {
			wait = rl.Throttled()
		} else {
			p.onAnswer()
		}
		if limited && wait > p.maxHold {
			he := &HoldError{RetryAfter: wait, Max: p.maxHold, Err: rl}
			p.mu.Lock()
			p.throttled++
			if p.stopped == nil {
				p.stopped = he
			}
			p.mu.Unlock()
			return attempt, he
		}
		if limited {
			// Even a last attempt's 429 holds and slows the next calls.
			p.onRateLimit(wait)
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

// onAnswer counts a call the portal did not rate-limit and, after
// RecoverAfter of them, raises a slowed pace one step.
func (p *Pacer) onAnswer() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calm++
	cur := float64(p.lim.Limit())
	if p.calm < RecoverAfter || cur >= p.max {
		return
	}
	p.calm = 0
	p.lim.SetLimit(rate.Limit(min(cur*RecoverStep, p.max)))
}

// onRateLimit holds every worker for Retry-After (or one interval when the
// portal gave none) and lowers the pace by a quarter.
func (p *Pacer) onRateLimit(after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttled++
	p.calm = 0
	cur := float64(p.lim.Limit())
	if after <= 0 {
		after = time.Duration(float64(time.Second) / cur)
	}
	if until := time.Now().Add(after); until.After(p.hold) {
		p.hold = until
	}
	next := cur * 0.75
	if next < MinRate {
		next = MinRate
	}
	p.lim.SetLimit(rate.Limit(next))
}
