package pace

import (
	"math"
	"testing"
	"time"
)

// step is one synthetic answer: call n (numbered as released) was
// answered 429 or not.
type step struct {
	release int // calls to release before this answer
	n       uint64
	limited bool
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestControllerDecisions drives the AIMD controller over synthetic 429
// sequences and checks each decision.
func TestControllerDecisions(t *testing.T) {
	ok := func(release int, n uint64) step { return step{release: release, n: n} }
	lim := func(release int, n uint64) step { return step{release: release, n: n, limited: true} }
	quiet := func(from uint64, count int) []step {
		var s []step
		for i := range count {
			s = append(s, ok(1, from+uint64(i)))
		}
		return s
	}
	cat := func(parts ...[]step) []step {
		var s []step
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	held := 4 * Decrease // where the guard and one cut take a pace of 4
	// cutOnce is the first event (the guard on, at the same rate), then a
	// 429 for a call released with the guard on: 4 -> held.
	cutOnce := []step{lim(1, 1), lim(1, 2)}
	const q = QuietCalls // after cutOnce and a quiet stretch, the last call is 2+q
	tests := []struct {
		name      string
		max       float64
		start     float64
		steps     []step
		rate      float64
		events    int
		limited   int
		tolerated float64
	}{
		{
			name: "the first 429 turns the jitter guard on, at the same rate", max: 4,
			steps: []step{ok(2, 1), lim(0, 2)},
			rate:  4, events: 1, limited: 1,
		},
		{
			name: "a 429 for a call released with the guard on cuts", max: 4,
			steps: cutOnce,
			rate:  held, events: 2, limited: 2,
		},
		{
			// Calls 2-4 left before the guard: one late arrival makes one
			// short gap, so a second refusal among them is the rate's.
			name: "a second 429 for a call released before the guard cuts once, within the first event", max: 8,
			steps: []step{lim(4, 1), lim(0, 2), lim(0, 3), lim(0, 4)},
			rate:  8 * Decrease, events: 1, limited: 4,
		},
		{
			name: "a sustained limit: one cut per event, each for a call sent after the last cut", max: 8,
			steps: []step{lim(1, 1), lim(1, 2), lim(0, 2), lim(1, 3), lim(1, 4)},
			rate:  8 * Decrease * Decrease * Decrease, events: 4, limited: 5,
		},
		{
			name: "never below the floor", max: 0.12,
			steps: []step{lim(1, 1), lim(1, 2), lim(1, 3)},
			rate:  MinRate, events: 3, limited: 3,
		},
		{
			name: "recovery: a quiet stretch steps half way back towards the rate of the event", max: 4,
			steps: cat(cutOnce, quiet(3, QuietCalls)),
			rate:  min((held+4)/2, held*(1+ProbeStep)), events: 2, limited: 2, tolerated: held,
		},
		{
			name: "answers for calls sent at the old rate do not count for the new one", max: 4,
			steps: cat([]step{lim(1, 1), ok(QuietCalls+1, 2), lim(0, 3)}, quiet(4, QuietCalls-1)),
			rate:  held, events: 2, limited: 2,
		},
		{
			// held held, the probe above it drew a 429: back to it at once.
			name: "a failed probe goes straight back to the last rate that held", max: 4,
			steps: cat(cutOnce, quiet(3, QuietCalls), []step{lim(1, 3+q)}),
			rate:  held, events: 3, limited: 3, tolerated: held,
		},
		{
			// held held, then drew a lone 429 itself: jitter, most likely.
			name: "a lone 429 at a rate that held does not cut below it", max: 4,
			steps: cat(cutOnce, quiet(3, QuietCalls), []step{lim(0, 2+q)}),
			rate:  held, events: 3, limited: 3, tolerated: held,
		},
		{
			name: "a second 429 at a rate that held, soon after, cuts it gently", max: 4,
			steps: cat(cutOnce, quiet(3, QuietCalls), []step{lim(0, 2+q)}, quiet(3+q, 3), []step{lim(1, 6+q)}),
			rate:  held * GentleDecrease, events: 4, limited: 4, tolerated: held,
		},
		{
			name: "no 429: climbs from a lower start to the rate asked for, never above", max: 4, start: 2.5,
			steps: quiet(1, 3*QuietCalls),
			rate:  4, events: 0, limited: 0, tolerated: 2.5 * ClimbStep * ClimbStep,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newController(tt.max, tt.start)
			if tt.start > 0 {
				// A start below the maximum is a limit found before; let
				// this test see the climb when no event happens.
				c.bad = 0
			}
			for _, s := range tt.steps {
				for range s.release {
					c.release()
				}
				if s.limited {
					c.limitedAnswer(s.n)
				} else {
					c.answered(s.n, 0)
				}
			}
			if !near(c.rate, tt.rate) || c.events != tt.events || c.limited != tt.limited || !near(c.best, tt.tolerated) {
				t.Fatalf("rate %g events %d limited %d tolerated %g; want %g %d %d %g",
					c.rate, c.events, c.limited, c.best, tt.rate, tt.events, tt.limited, tt.tolerated)
			}
		})
	}
}

// TestControllerConverges: probes that keep failing just above a limit
// stop once the rate that held and the rate that failed are within
// Precision, and the quiet stretch between probes doubles each time.
func TestControllerConverges(t *testing.T) {
	const limit = 3.3 // a rate above this draws a 429 at its first call
	c := newController(8, 0)
	var early int
	for i := range 2000 {
		n := c.release()
		if c.rate > limit {
			c.limitedAnswer(n)
		} else {
			c.answered(n, 0)
		}
		if i == 999 {
			early = c.events
		}
	}
	events := c.events - early
	if c.rate > limit || c.rate < limit*(1-2*Precision) {
		t.Fatalf("settled at %g, want just below %g", c.rate, limit)
	}
	if c.quiet != MaxQuietCalls && c.quiet < 4*QuietCalls {
		t.Fatalf("quiet stretch %d: failed probes should have lengthened it", c.quiet)
	}
	// Once converged: a re-probe every ReprobeCalls, two events each at most.
	if max := 2 * (1000/ReprobeCalls + 1); events > max {
		t.Fatalf("%d congestion events in the last 1000 calls, want at most %d: probing too often", events, max)
	}
}

// TestStartFromToleratedRate: a run starting at a rate a previous run
// found holds there without probing for a long stretch.
func TestStartFromToleratedRate(t *testing.T) {
	c := newController(8, 3.4)
	for range 3 * MaxQuietCalls {
		c.answered(c.release(), 0)
	}
	if c.rate != 3.4 {
		t.Fatalf("rate %g, want the start 3.4 until a re-probe", c.rate)
	}
	if c.best != 3.4 {
		t.Fatalf("tolerated %g", c.best)
	}
}

// TestInterval: the margin beyond the interval, and the jitter margin
// from round trips once a 429 was seen (the most until enough were seen),
// capped.
func TestInterval(t *testing.T) {
	c := newController(4, 0)
	for i, d := range []time.Duration{300, 320, 290, 330} {
		c.answered(uint64(i), d*time.Millisecond)
	}
	base := 250 * time.Millisecond
	capped := time.Duration(float64(base) * (1 + MaxJitterMargin))
	if got, want := c.interval(), time.Duration(float64(base)*(1+Margin)); got != want {
		t.Fatalf("before any 429: %v, want %v (no jitter margin yet)", got, want)
	}
	c.limitedAnswer(c.release())
	if got := c.interval(); got != capped {
		t.Fatalf("after a 429, 4 round trips seen: %v, want %v (too few to know the jitter)", got, capped)
	}
	for i := 4; i < RTTSamples; i++ {
		c.answered(uint64(i), []time.Duration{300, 320, 290, 330}[i%4]*time.Millisecond)
	}
	if got, want := c.interval(), base+40*time.Millisecond; got != want {
		t.Fatalf("after a 429: %v, want %v (interval + the 40ms spread)", got, want)
	}
	c.answered(9, 2*time.Second) // the portal's own slowness, not the network
	if got := c.interval(); got != capped {
		t.Fatalf("capped: %v, want %v", got, capped)
	}
	for i := range RTTSamples {
		c.answered(uint64(20+i), time.Duration(300+i%11)*time.Millisecond)
	}
	if got, want := c.interval(), base+10*time.Millisecond; got != want {
		t.Fatalf("after %d more answers: %v, want %v (the stalled answer has left the window)", RTTSamples, got, want)
	}
}

// TestControllerForgives: a lone 429 at a rate that held is forgotten
// after ForgiveCalls quiet answers, so the next lone one does not cut.
func TestControllerForgives(t *testing.T) {
	c := newController(4, 0)
	c.limitedAnswer(c.release()) // the guard
	c.limitedAnswer(c.release()) // 4 -> 4*Decrease
	for range QuietCalls {
		c.answered(c.release(), 0) // 4*Decrease held; a probe above it
	}
	c.limitedAnswer(c.seq) // released before the probe: a lone strike, back
	if c.strikes != 1 || c.rate != 4*Decrease {
		t.Fatalf("strikes %d rate %g", c.strikes, c.rate)
	}
	for range ForgiveCalls {
		c.answered(c.release(), 0)
	}
	if c.strikes != 0 {
		t.Fatalf("strike not forgiven after %d quiet answers", ForgiveCalls)
	}
}
