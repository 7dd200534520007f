package pace

import "time"

// The portal's limit is undocumented and the network between the user and
// the portal jitters, so the pace is found while the run goes, the way TCP
// finds a path's capacity: additive (here binary) increase, multiplicative
// decrease (AIMD).
//
//   - A burst of 429s is one congestion event: only a 429 for a call
//     released after the last decrease lowers the pace again. Calls already
//     on their way at the old pace say nothing new.
//   - The first event does not lower the pace: it turns the jitter guard
//     on (see below). Until a portal has refused a call, calls are spaced
//     as tightly as the rate asked for allows; a limit at or just below
//     that rate is then most likely met by calls arriving a few
//     milliseconds early, which the guard absorbs. Only a second 429 for
//     a call released before the guard, or 429s for calls released with
//     it on, say the rate itself is too high. Cutting
//     at the first event instead cost a rate at the limit about a tenth
//     of its run climbing back (BenchmarkPace).
//   - An event above the last rate that held (a probe) goes back to that
//     rate: recovery is immediate. An event at a rate that held lowers the
//     pace by GentleDecrease (jitter alone should not halve it), one before
//     any rate held by Decrease.
//   - After QuietCalls answers without a 429 the current rate has held. The
//     pace then steps half way (at most ProbeStep) towards the rate of the
//     last event, and stops probing once the two are within Precision of
//     each other, until ReprobeCalls quiet answers later. A probe that fails doubles the
//     quiet stretch needed before the next one (up to MaxQuietCalls), so a
//     limit found is not knocked on every few seconds.
//   - With no event yet, the pace climbs by ClimbStep per quiet stretch
//     towards the rate asked for, never above it.
//   - Calls are spaced from the moment the previous one actually left, a
//     Margin apart beyond the interval, and with the guard on, beyond the
//     spread of recent round trips too: arrival jitter must not turn a gap
//     at the limit into a 429.

// Decrease is the factor the pace is multiplied by at a congestion event
// before any rate held: a user who does not know the limit may ask for
// twice it, and each step down costs a Retry-After hold.
const Decrease = 0.7

// GentleDecrease is the factor at an event at a rate that held for a
// quiet stretch: the odd 429 there is more likely jitter than a new limit.
const GentleDecrease = 0.9

// QuietCalls is how many answers in a row without a 429 make the current
// rate one that held. Across a jittering network a limit is soft: a probe
// a few percent above it draws a 429 about one call in eight, and passes
// 8 quiet calls a third of the time but 16 one time in eight
// (BenchmarkPace: with 8, runs above the limit climbed on such luck to
// rates that then drew 429s, up to 5% of their calls). 16 calls is still
// only a few seconds at a limit of a few calls a second.
const QuietCalls = 16

// MaxQuietCalls bounds the quiet stretch before a probe after failed
// probes: about half a minute at the default pace.
const MaxQuietCalls = 64

// Precision is how close (relative) the rate that held and the rate of the
// last event must be for probing to stop: 3% is below what the jitter of a
// real network lets a client measure.
const Precision = 0.03

// ReprobeCalls is how many answers without a 429 at a converged pace make
// it probe above the limit found once more: a few minutes at the pace of
// a typical limit, as the portal's limit may rise with its load.
const ReprobeCalls = 4 * MaxQuietCalls

// ClimbStep is the factor the pace rises by per quiet stretch while no 429
// was seen (after starting below the rate asked for).
const ClimbStep = 1.25

// Margin stretches every interval a little: calls released at exactly a
// server's limit are refused whenever one arrives a few milliseconds early.
const Margin = 0.02

// MaxJitterMargin caps the jitter margin as a fraction of the interval: a
// portal whose answer times vary widely (its own work, not the network)
// must not slow the pace by more than this.
const MaxJitterMargin = 0.2

// RTTSamples is how many recent round trips the jitter margin looks at:
// the range of 32 draws covers 94% of a uniform jitter's width, and a
// stalled answer leaves the window after 32 calls (about 10 s at a limit
// of a few calls a second), costing at most MaxJitterMargin meanwhile.
const RTTSamples = 32

// ProbeStep caps one step up towards the rate of the last event.
const ProbeStep = 0.1

// ForgiveCalls is how many answers without a 429 make a lone event at a
// rate that held forgotten: a second event sooner cuts the pace.
const ForgiveCalls = 4 * QuietCalls

// MinRate is the slowest the pace is lowered to by 429s: one call every
// 10 s.
const MinRate = 0.1

// controller is the AIMD state. It knows nothing of clocks: calls are
// numbered as they are released, and answers name their call's number.
// It is not safe for concurrent use; the Pacer guards it.
type controller struct {
	max  float64 // never above: the rate asked for
	rate float64 // the pace now
	prev float64 // the pace before the last change
	// good is the highest rate that held since the last event at or below
	// it (0: none); best is the highest that held in the whole run.
	good, best float64
	// bad is the rate of the last congestion event (0: none yet).
	bad float64
	// seq numbers released calls; changed is the number of the first call
	// released at the current rate, cut the first after the last decrease.
	seq, changed, cut uint64
	calm              int // answers without a 429 for calls released at this rate
	// strikes is 1 after a lone event at a rate that held, until
	// ForgiveCalls quiet answers.
	strikes, sinceStrike int
	quiet                int // answers needed before the next step up
	// events counts congestion events; limited counts 429 answers.
	events, limited int
	// guard is the number of the first call released with the jitter
	// margin (0: not yet, no 429 seen); unguarded counts the 429s for
	// calls released before it.
	guard     uint64
	unguarded int
	// rtts are the latest answers' round trips (a ring), for the margin.
	rtts [RTTSamples]time.Duration
	nrtt int
}

// newController starts at start (the rate asked for, or lower when a
// previous run found the portal's limit) and never exceeds max. A start
// below max is taken as a rate that held, with a limit just above it.
func newController(max, start float64) *controller {
	if start <= 0 || start > max {
		start = max
	}
	c := &controller{max: max, rate: start, quiet: QuietCalls}
	if start < max {
		c.good = start
		c.bad = min(max, start*(1+Precision))
	}
	return c
}

// release numbers a call released now.
func (c *controller) release() uint64 {
	c.seq++
	return c.seq
}

// answered counts an answer that was not a 429 for call n, which took
// rtt from release to answer.
func (c *controller) answered(n uint64, rtt time.Duration) {
	if rtt > 0 {
		c.rtts[c.nrtt%RTTSamples] = rtt
		c.nrtt++
	}
	if n < c.changed {
		return // released at an older rate: says nothing of this one
	}
	c.calm++
	if c.strikes > 0 {
		if c.sinceStrike++; c.sinceStrike >= ForgiveCalls {
			c.strikes = 0
		}
	}
	if c.calm < c.quiet {
		return
	}
	// The current rate held.
	c.good = max(c.good, c.rate)
	c.best = max(c.best, c.rate)
	next := c.rate
	switch {
	case c.bad == 0:
		next = c.rate * ClimbStep
	case c.bad > c.rate*(1+Precision):
		next = min((c.rate+c.bad)/2, c.rate*(1+ProbeStep))
	case c.calm >= ReprobeCalls:
		// Converged long ago: the limit may have risen since.
		c.bad = c.rate * (1 + 4*Precision)
		next = (c.rate + c.bad) / 2
	default:
		return // converged: keep counting towards a re-probe
	}
	next = min(next, c.max)
	if next > c.rate {
		c.set(next)
	}
}

// limitedAnswer takes a 429 for call n: a new congestion event when n
// was released after the last one, else part of it.
func (c *controller) limitedAnswer(n uint64) {
	c.limited++
	if n < c.guard {
		if c.unguarded++; c.unguarded == 2 {
			// A second call released before the guard was refused: a
			// late arrival makes one short gap, not two, so the rate
			// itself is too high. Cut once, within the same event.
			c.bad = c.rate
			c.set(max(c.rate*Decrease, MinRate))
			c.cut = c.seq + 1
		}
		return
	}
	if n < c.cut {
		return // the same event: sent before the pace was lowered
	}
	c.events++
	if c.guard == 0 {
		// The first event: space calls beyond the jitter from now on, at
		// the same rate.
		c.guard = c.seq + 1
		c.cut = c.seq + 1
		c.calm = 0
		c.unguarded = 1
		return
	}
	at := c.rate
	if n < c.changed {
		at = c.prev // released before the last step up
	}
	switch {
	case c.good > 0 && c.good < at:
		// A probe above the last rate that held: back to it, and probe
		// less often.
		c.bad = at
		c.quiet = min(c.quiet*2, MaxQuietCalls)
		c.set(c.good)
	case c.good > 0 && c.strikes == 0:
		// The first 429 in a while at a rate that held: one call arriving
		// late (jitter, a stalled machine) makes the next gap short. The
		// hold is obeyed and probing stops, but the pace is not cut below
		// the rate that held; a second such event soon after cuts it.
		c.strikes, c.sinceStrike = 1, 0
		if c.rate > at {
			c.set(at)
		}
		c.calm = 0
	default:
		// A rate that held drew 429s again, or nothing held yet: the limit
		// is lower than thought, or the network jitters more. A rate that
		// held is cut gently.
		f := Decrease
		if c.good > 0 {
			f = GentleDecrease
		}
		c.bad = at
		c.strikes = 0
		c.good = 0
		c.quiet = QuietCalls
		c.set(max(at*f, MinRate))
	}
	c.cut = c.seq + 1
}

// set changes the rate; calls released from now on count for it.
func (c *controller) set(r float64) {
	c.prev, c.rate = c.rate, r
	c.changed = c.seq + 1
	c.calm = 0
}

// interval is the spacing between two calls released: the current rate's
// interval, stretched by Margin, and with the guard on (once the portal
// has answered 429), by the spread of recent round trips too, capped at
// MaxJitterMargin of the interval (the cap itself until RTTSamples round
// trips were seen). Calls that leave evenly spaced arrive unevenly: a
// limit counted at the server with no burst refuses a call that arrives
// early, so near a limit the gap must cover the jitter.
func (c *controller) interval() time.Duration {
	iv := float64(time.Second) / c.rate
	extra := iv * Margin
	switch {
	case c.guard == 0:
	case c.nrtt < RTTSamples:
		// Too few round trips to know the jitter: assume the most. The
		// first 429 comes early in a run, and a second one right after it
		// cuts the pace before any rate held.
		extra = max(extra, iv*MaxJitterMargin)
	default:
		extra = max(extra, min(float64(c.spread()), iv*MaxJitterMargin))
	}
	return time.Duration(iv + extra)
}

// spread is the difference between the longest and the shortest recent
// round trip: how much arrival times jitter, at most. The whole range is
// used, not a percentile: a gap short by the jitter costs a 429 and a
// Retry-After hold (a second or more, several calls' worth), a gap long by
// it costs a few milliseconds, so the margin errs on the long side.
func (c *controller) spread() time.Duration {
	n := min(c.nrtt, RTTSamples)
	if n < 2 {
		return 0
	}
	lo, hi := c.rtts[0], c.rtts[0]
	for _, d := range c.rtts[1:n] {
		lo, hi = min(lo, d), max(hi, d)
	}
	return hi - lo
}
