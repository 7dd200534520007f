package pace

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

func TestDo(t *testing.T) {
	refused := &portal.RefusedError{Message: "Failed to register client for download."}
	tests := []struct {
		name     string
		errs     []error // answers in order; nil = success
		retries  int
		attempts int
		wantErr  error
	}{
		{name: "success", errs: []error{nil}, retries: 3, attempts: 1},
		{name: "5xx then success", errs: []error{&portal.ServerError{Status: 503}, &portal.ServerError{Status: 502}, nil}, retries: 3, attempts: 3},
		{name: "network error then success", errs: []error{&portal.NetworkError{Err: errors.New("reset")}, nil}, retries: 3, attempts: 2},
		{name: "429 then success", errs: []error{&portal.RateLimitError{}, nil}, retries: 3, attempts: 2},
		{name: "retries exhausted", errs: []error{&portal.ServerError{Status: 500}, &portal.ServerError{Status: 500}, &portal.ServerError{Status: 500}}, retries: 2, attempts: 3, wantErr: &portal.ServerError{}},
		{name: "refusal not retried", errs: []error{refused, nil}, retries: 3, attempts: 1, wantErr: refused},
		{name: "lapse not retried", errs: []error{&portal.SessionError{Reason: "x"}, nil}, retries: 3, attempts: 1, wantErr: portal.ErrNotSignedIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(1000, tt.retries)
			p.SetBackoff(time.Millisecond)
			n := 0
			attempts, err := p.Do(context.Background(), func() error {
				e := tt.errs[n]
				n++
				return e
			})
			if attempts != tt.attempts || n != tt.attempts {
				t.Fatalf("attempts %d (calls %d), want %d", attempts, n, tt.attempts)
			}
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case *portal.ServerError:
				var se *portal.ServerError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want a server error", err)
				}
			default:
				if !errors.Is(err, want) && err != want {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

// TestRateLimitHoldsAndSlows: each 429 holds every caller for
// Retry-After; the first turns the jitter guard on, the second (for a
// call released with the guard on) lowers the pace once.
func TestRateLimitHoldsAndSlows(t *testing.T) {
	p := New(100, 3)
	var slept []time.Duration
	p.sleep = func(ctx context.Context, d time.Duration) error {
		if d < time.Second {
			return sleepCtx(ctx, d) // the pace's own interval
		}
		slept = append(slept, d)
		p.hold = time.Time{} // the hold has passed
		return nil
	}
	var cuts []float64
	p.OnCut(func(from, to float64) {
		if from != 100 {
			t.Errorf("cut from %g, want from 100", from)
		}
		cuts = append(cuts, to)
	})
	calls := 0
	_, err := p.Do(context.Background(), func() error {
		calls++
		if calls <= 2 {
			return &portal.RateLimitError{RetryAfter: 3 * time.Second}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cuts) != 1 || cuts[0] != 100*Decrease {
		t.Fatalf("told of cuts %v, want one to %g", cuts, 100*Decrease)
	}
	if p.Throttled() != 2 || p.Rate() != 100*Decrease {
		t.Fatalf("throttled %d, rate %g; want 2 and %g", p.Throttled(), p.Rate(), 100*Decrease)
	}
	if len(slept) != 2 || slept[0] < 2*time.Second || slept[0] > 3*time.Second || slept[1] < 2*time.Second || slept[1] > 3*time.Second {
		t.Fatalf("slept %v, want two holds of about 3s", slept)
	}
}

// TestLastAttemptRateLimitStillHolds: a 429 on the final attempt (here
// with no retries at all) still holds the next call and turns the jitter
// guard on.
func TestLastAttemptRateLimitStillHolds(t *testing.T) {
	p := New(10, 0)
	_, err := p.Do(context.Background(), func() error { return &portal.RateLimitError{RetryAfter: 5 * time.Second} })
	var rl *portal.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v", err)
	}
	if p.Throttled() != 1 || p.Rate() != 10 || p.ctl.guard == 0 || time.Until(p.hold) < 4*time.Second {
		t.Fatalf("throttled %d, rate %g, guard %d, hold %v", p.Throttled(), p.Rate(), p.ctl.guard, time.Until(p.hold))
	}
}

// TestNoEarlyRelease: a pace raised while callers wait never lets one out
// sooner than a full interval after the previous call at the pace in
// force when it leaves, and a pace lowered while they wait holds them
// longer. A call released late does not shorten the next gap either.
func TestNoEarlyRelease(t *testing.T) {
	now := time.Unix(1000, 0)
	p := New(4, 0)
	p.now = func() time.Time { return now }
	changes := map[int]float64{2: 8, 5: 2, 8: 4} // at the n-th sleep, the rate becomes
	sleeps := 0
	p.sleep = func(ctx context.Context, d time.Duration) error {
		sleeps++
		if r, ok := changes[sleeps]; ok {
			p.mu.Lock()
			p.ctl.set(r)
			p.mu.Unlock()
		}
		now = now.Add(d)
		if sleeps == 10 {
			now = now.Add(70 * time.Millisecond) // this waiter wakes late
		}
		return nil
	}
	var last time.Time
	for i := range 12 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		iv := p.ctl.interval()
		p.mu.Unlock()
		if i > 0 && now.Sub(last) < iv {
			t.Fatalf("call %d left %v after the previous one, less than the interval %v in force", i, now.Sub(last), iv)
		}
		last = now
	}
}

// TestCancelledWhileWaiting: a cancelled context stops the waiting before
// a call; the call is never made.
func TestCancelledWhileWaiting(t *testing.T) {
	p := New(0.001, 3) // one call every 1000 s
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := p.Do(ctx, func() error { return nil }); err != nil {
		t.Fatal(err) // the first token is there at once
	}
	cancel()
	called := false
	attempts, err := p.Do(ctx, func() error { called = true; return nil })
	if attempts != 0 || called || !errors.Is(err, context.Canceled) {
		t.Fatalf("attempts %d, called %v, err %v", attempts, called, err)
	}
}

// TestHolds: a Retry-After up to the maximum is waited out and announced
// when long enough to notice; a longer one ends the call at once with a
// HoldError, without sleeping.
func TestHolds(t *testing.T) {
	tests := []struct {
		name      string
		after     time.Duration
		wantErr   bool
		wantCalls int
		announced []time.Duration
	}{
		{"short: waited, not announced", time.Second, false, 2, nil},
		{"long enough to notice: waited and announced", 30 * time.Second, false, 2, []time.Duration{30 * time.Second}},
		{"at the maximum: waited", DefaultMaxHold, false, 2, []time.Duration{DefaultMaxHold}},
		{"a day: stopped", 24 * time.Hour, true, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(100, 3)
			var slept time.Duration
			p.sleep = func(ctx context.Context, d time.Duration) error {
				if d < time.Second {
					return sleepCtx(ctx, d) // the pace's own interval
				}
				slept += d
				p.hold = time.Time{}
				return nil
			}
			var announced []time.Duration
			p.OnHold(func(d time.Duration) { announced = append(announced, d) })
			calls := 0
			_, err := p.Do(context.Background(), func() error {
				calls++
				if calls == 1 {
					return &portal.RateLimitError{RetryAfter: tt.after}
				}
				return nil
			})
			var he *HoldError
			if tt.wantErr != errors.As(err, &he) {
				t.Fatalf("err = %v", err)
			}
			if he != nil && (he.RetryAfter != tt.after || he.Max != DefaultMaxHold) {
				t.Fatalf("hold error %+v", he)
			}
			if tt.wantErr && slept != 0 {
				t.Fatalf("slept %v before giving up", slept)
			}
			if calls != tt.wantCalls || !slices.Equal(announced, tt.announced) {
				t.Fatalf("calls %d announced %v; want %d %v", calls, announced, tt.wantCalls, tt.announced)
			}
		})
	}
}

// TestHoldErrorStopsEveryLaterCall: after one HoldError no worker calls
// again through the same Pacer.
func TestHoldErrorStopsEveryLaterCall(t *testing.T) {
	p := New(100, 3)
	_, err := p.Do(context.Background(), func() error { return &portal.RateLimitError{RetryAfter: 3 * time.Hour} })
	var he *HoldError
	if !errors.As(err, &he) || p.Throttled() != 1 {
		t.Fatalf("err = %v, throttled %d", err, p.Throttled())
	}
	called := false
	attempts, err := p.Do(context.Background(), func() error { called = true; return nil })
	if called || attempts != 0 || !errors.As(err, &he) {
		t.Fatalf("after a hold error: called %v, attempts %d, err %v", called, attempts, err)
	}
}

// TestToleratedIsWhatWasSent: a pace set far above what the calls reach
// (one worker held by latency) is not reported as tolerated: the rate
// calls actually left at is.
func TestToleratedIsWhatWasSent(t *testing.T) {
	now := time.Unix(1000, 0)
	p := New(50, 0)
	p.now = func() time.Time { return now }
	p.sleep = func(ctx context.Context, d time.Duration) error { now = now.Add(d); return nil }
	for range 3 * QuietCalls {
		if _, err := p.Do(context.Background(), func() error { now = now.Add(250 * time.Millisecond); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Stats().Tolerated; got < 3.9 || got > 4.1 {
		t.Fatalf("tolerated %g, want about 4 (a call every 250 ms), not the 50 allowed", got)
	}
}
