package probe

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// errPastDeadline is a wait that would end after ctx's deadline.
var errPastDeadline = errors.New("the wait would outlast the time limit")

// hostPacer spaces the requests to each host as the host sees them: one
// request at a time per host, and the next one starts only an interval
// after the previous one's answer arrived, so that no host ever receives
// two requests closer together than the interval, however late a request
// leaves. Every host has its own turn, so a slow or shared host never
// holds up the others.
type hostPacer struct {
	interval time.Duration

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	turn     chan struct{} // holds a token while a request to the host is in flight
	lastDone time.Time
	requests int
}

func newHostPacer(perSecond float64) *hostPacer {
	return &hostPacer{interval: time.Duration(float64(time.Second) / perSecond), hosts: map[string]*hostState{}}
}

// wait blocks until host may be asked again and counts the request; the
// caller must call done once the answer has arrived (or not).
func (p *hostPacer) wait(ctx context.Context, host string) (done func(), err error) {
	host = strings.ToLower(host)
	p.mu.Lock()
	h := p.hosts[host]
	if h == nil {
		h = &hostState{turn: make(chan struct{}, 1)}
		p.hosts[host] = h
	}
	p.mu.Unlock()
	select {
	case h.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-h.turn }
	p.mu.Lock()
	next := h.lastDone.Add(p.interval)
	p.mu.Unlock()
	if d := time.Until(next); d > 0 {
		if deadline, ok := ctx.Deadline(); ok && next.After(deadline) {
			release()
			return nil, errPastDeadline
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	h.requests++
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		h.lastDone = time.Now()
		p.mu.Unlock()
		release()
	}, nil
}

// perHost returns the number of requests made to each host so far.
func (p *hostPacer) perHost() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.hosts))
	for h, s := range p.hosts {
		out[h] = s.requests
	}
	return out
}
