package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// ErrInterrupted is the cause of the context's cancellation on Ctrl-C.
var ErrInterrupted = errors.New("interrupted")

// DefaultAbortGrace is how long the process may take to record the calls
// a second Ctrl-C stopped before it exits anyway: a local SQLite commit
// takes milliseconds, and a stuck disk must not keep a person waiting.
const DefaultAbortGrace = 3 * time.Second

// interrupts is the double Ctrl-C: the first (or SIGTERM) cancels the
// command's context, so no new call starts and the calls in flight finish
// and are recorded; the second cancels Abort, which stops the calls in
// flight at once (recorded as unknown), and the process exits 130 within
// DefaultAbortGrace whatever it is doing.
type interrupts struct {
	abort  context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	notice func() // said at the first interrupt, before the second is read
}

type interruptsKey struct{}

// interruptsFrom returns the process's interrupts, or nil when the command
// runs without them (tests calling RunWith).
func interruptsFrom(ctx context.Context) *interrupts {
	in, _ := ctx.Value(interruptsKey{}).(*interrupts)
	return in
}

// Abort is cancelled by the second interrupt; nil without interrupts.
func (in *interrupts) Abort() context.Context {
	if in == nil {
		return nil
	}
	return in.abort
}

// OnFirst sets what the first interrupt says; the returned function
// removes it.
func (in *interrupts) OnFirst(f func()) func() {
	if in == nil {
		return func() {}
	}
	in.mu.Lock()
	in.notice = f
	in.mu.Unlock()
	return func() {
		in.mu.Lock()
		in.notice = nil
		in.mu.Unlock()
	}
}

// interruptContext is cancelled on the first SIGINT or SIGTERM and carries
// the interrupts. The signals stay caught for the whole run, also when
// the process started with SIGINT ignored (a background job): the second
// one is never left to the default action, which would end the process
// without recording the call in flight, nor ignored.
func interruptContext(errOut io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	in := &interrupts{}
	in.abort, in.cancel = context.WithCancel(context.Background())
	ctx = context.WithValue(ctx, interruptsKey{}, in)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-ch:
			}
			switch n {
			case 1:
				cancel(ErrInterrupted)
				in.mu.Lock()
				if in.notice != nil {
					in.notice()
				}
				in.mu.Unlock()
			case 2:
				in.cancel()
				time.AfterFunc(DefaultAbortGrace, func() {
					fmt.Fprintln(errOut, "activator: stopped")
					os.Exit(ExitInterrupted)
				})
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancel(nil); in.cancel() }
}
