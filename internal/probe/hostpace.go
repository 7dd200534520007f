package probe

import (
	"context"
	"strings"
	"sync"

	"golang.org/x/time/rate"
)

// hostPacer spaces the requests to each host: every host has its own
// limiter, so a slow or shared host never holds up the others, and no
// host sees more than the rate asked for.
type hostPacer struct {
	rate float64

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	lim      *rate.Limiter
	requests int
}

func newHostPacer(perSecond float64) *hostPacer {
	return &hostPacer{rate: perSecond, hosts: map[string]*hostState{}}
}

// wait blocks until host may be asked again, and counts the request.
func (p *hostPacer) wait(ctx context.Context, host string) error {
	host = strings.ToLower(host)
	p.mu.Lock()
	h := p.hosts[host]
	if h == nil {
		h = &hostState{lim: rate.NewLimiter(rate.Limit(p.rate), 1)}
		p.hosts[host] = h
	}
	p.mu.Unlock()
	if err := h.lim.Wait(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	h.requests++
	p.mu.Unlock()
	return nil
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
