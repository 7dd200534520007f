package pace

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestCallBounds: a call that never answers is cut at the per-call
// timeout, tried again, and given up within the budget, with the waiting
// said meanwhile; a call that answers in time is not cut.
func TestCallBounds(t *testing.T) {
	p := New(1000, 10)
	p.SetBackoff(time.Millisecond)
	var mu sync.Mutex
	var said []time.Duration
	// Wide enough apart that a busy machine's late timers keep their order:
	// the notice well inside an attempt, several attempts inside the budget.
	b := Bounds{Timeout: 300 * time.Millisecond, Budget: 1250 * time.Millisecond, NoticeAfter: 100 * time.Millisecond,
		Waiting: func(d time.Duration) { mu.Lock(); said = append(said, d); mu.Unlock() }}
	hung := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	attempts, err := p.Call(context.Background(), context.Background(), b, hung)
	var na *NoAnswerError
	if !errors.As(err, &na) {
		t.Fatalf("err = %v, want a NoAnswerError", err)
	}
	// 1250 ms of budget in attempts of at most 300 ms: more than one, and
	// far fewer than the 11 the retries would allow.
	if attempts < 2 || attempts > 6 {
		t.Fatalf("%d attempts, want 2 to 6 within the budget", attempts)
	}
	mu.Lock()
	if len(said) == 0 || said[0] != b.NoticeAfter {
		t.Fatalf("waiting notices %v, want the first at %v", said, b.NoticeAfter)
	}
	mu.Unlock()

	n, err := p.Call(context.Background(), context.Background(), b, func(ctx context.Context) error { return nil })
	if n != 1 || err != nil {
		t.Fatalf("a call answered in time: %d attempts, %v", n, err)
	}
}

// TestCallStoppedInFlight: cancelling the call's own context (a second
// Ctrl-C) stops it at once, without a retry.
func TestCallStoppedInFlight(t *testing.T) {
	p := New(1000, 10)
	base, stop := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, stop)
	attempts, err := p.Call(context.Background(), base, Bounds{}, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if attempts != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("%d attempts, err %v; want 1 and canceled", attempts, err)
	}
}
