package cli

import (
	"fmt"
	"sync"
	"time"

	"github.com/activator-dev/activator/internal/activate"
	"github.com/activator-dev/activator/internal/store"
	"github.com/schollz/progressbar/v3"
)

// DefaultProgressThrottle is how often a progress bar redraws: often enough
// to look alive, rarely enough to cost nothing.
const DefaultProgressThrottle = 100 * time.Millisecond

// progress reports a long operation. On a terminal it is a progress bar
// with counts, rate and ETA, with notable events (refusals, failures)
// printed above it; elsewhere it is one plain line per event, for logs and
// cron mail. --quiet silences it; --verbose prints every event even on a
// terminal.
type progress struct {
	f   *Factory
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

// newProgress starts reporting total items of unit (total -1: unknown).
func newProgress(f *Factory, total int, what, unit string) *progress {
	p := &progress{f: f}
	if f.Quiet || !f.IO.ErrTTY || f.Verbose {
		return p
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(f.IO.ErrOut),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(DefaultProgressThrottle),
		progressbar.OptionEnableColorCodes(false),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	}
	if total > 0 {
		// A rate and an ETA mean something only for items done one by one
		// towards a known total; a listing arrives a page at a time.
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit), progressbar.OptionSetPredictTime(true))
	}
	p.bar = progressbar.NewOptions(total, opts...)
	return p
}

// newProgress starts reporting total items of unit on f's stderr.
func (f *Factory) newProgress(total int, what, unit string) *progress {
	return newProgress(f, total, what, unit)
}

// line prints a line: above the bar on a terminal, plainly elsewhere.
func (p *progress) line(s string) {
	if p.f.Quiet {
		return
	}
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.f.IO.ErrOut, s)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

// say prints a line between events (a notice from another goroutine);
// nothing on a nil progress (before the calls start).
func (p *progress) say(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line(s)
}

// waiting says a call has been outstanding for d.
func (p *progress) waiting(org string, d time.Duration) {
	p.say(fmt.Sprintf("waiting for the portal: org %s, %d s", org, int(d.Seconds())))
}

// add advances the bar by n.
func (p *progress) add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

// event reports one finished activation call.
func (p *progress) event(e activate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("[%d/%d] %s %s: %s %s", e.Done, e.Total, e.OrgID, printable(e.Name), e.Action, e.Envs)
	if e.Result == store.ResultOK {
		line += ": ok"
	} else {
		line += ": " + e.Result + ": " + printable(e.Message)
	}
	if e.Attempts > 1 {
		line += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	if p.bar == nil || e.Result != store.ResultOK {
		p.line(line)
	}
	if p.bar != nil {
		p.bar.Set(e.Done)
	}
}

// item reports one finished item of a run through a known total: a
// plain line elsewhere than on a terminal (and, on a terminal, when
// notable), the bar moved to done.
func (p *progress) item(done, total int, line string, notable bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil || notable {
		p.line(fmt.Sprintf("[%d/%d] %s", done, total, line))
	}
	if p.bar != nil {
		p.bar.Set(done)
	}
}

func (p *progress) close() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}
