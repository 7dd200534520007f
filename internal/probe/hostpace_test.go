package probe

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestHostPacerSpacesEachHost: requests to one host never overlap and
// start at least the interval after the previous answer; another host is
// not held up by it.
func TestHostPacerSpacesEachHost(t *testing.T) {
	p := newHostPacer(20) // 50 ms
	var mu sync.Mutex
	type span struct{ start, end time.Time }
	spans := map[string][]span{}
	var wg sync.WaitGroup
	for i := range 12 {
		host := "a.example"
		if i%4 == 0 {
			host = "b.example"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := p.wait(context.Background(), host)
			if err != nil {
				t.Error(err)
				return
			}
			s := span{start: time.Now()}
			time.Sleep(5 * time.Millisecond) // the request in flight
			s.end = time.Now()
			done()
			mu.Lock()
			spans[host] = append(spans[host], s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for host, ss := range spans {
		// In the order they started: a goroutine may record its span after
		// the next request to its host began.
		sort.Slice(ss, func(i, j int) bool { return ss[i].start.Before(ss[j].start) })
		for i := 1; i < len(ss); i++ {
			if gap := ss[i].start.Sub(ss[i-1].end); gap < 50*time.Millisecond {
				t.Errorf("%s: request %d started %s after the previous answer, want at least 50ms", host, i, gap)
			}
		}
	}
	if got := p.perHost(); got["a.example"] != 9 || got["b.example"] != 3 {
		t.Errorf("per host = %v", got)
	}
	// A wait that would end past the deadline is refused at once. The
	// pacer's next turn is an hour away, so however long this machine takes
	// between the two calls, the turn is still past the deadline.
	slow := newHostPacer(1.0 / 3600)
	done, err := slow.wait(context.Background(), "a.example")
	if err != nil {
		t.Fatal(err)
	}
	done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := slow.wait(ctx, "a.example"); !errors.Is(err, errPastDeadline) {
		t.Errorf("a wait past the deadline: err = %v, want it refused at once (%v)", err, errPastDeadline)
	}
}
