package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/sim"
)

// BenchmarkProbe500 probes 500 organizations at the default pace (one
// request a second per host, 8 organizations at once) against the
// simulator's authorize endpoints, spread over hosts the way directories
// are: most organizations on a host of their own, a few hosts shared (one
// by 20 organizations, four by 5 each). It reports the wall time, the
// requests made, the most made to one host, and the shortest gap between
// two requests to the same host (the pace, as the servers saw it).
func BenchmarkProbe500(b *testing.B) {
	s := sim.New(sim.Config{Orgs: 500, Seed: 7})
	auth := s.ServeAuthorize(sim.AuthorizeConfig{Instant: true})
	orgs := s.Orgs()
	for i, o := range orgs {
		s.SetApproved(o.OrgID, sim.ApprovedBoth)
		if i%25 == 0 {
			auth.SetVariant(o.OrgID, sim.AuthorizeNever) // 20 not known
		}
	}
	// Hosts: 20 organizations on the first, 5 on each of the next four,
	// one each on the rest.
	var sizes []int
	sizes = append(sizes, 20, 5, 5, 5, 5)
	for n := 40; n < len(orgs); n++ {
		sizes = append(sizes, 1)
	}
	seen := &arrivals{at: map[string][]time.Time{}}
	var targets []Target
	next := 0
	for _, size := range sizes {
		srv := httptest.NewUnstartedServer(nil)
		host := ""
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen.add(host)
			s.ServeHTTP(w, r)
		})
		srv.Start()
		defer srv.Close()
		host = srv.Listener.Addr().String()
		for range size {
			id := orgs[next].OrgID
			next++
			targets = append(targets, Target{OrgID: id, BaseURL: sim.BrandsBaseURL(srv.URL, id, 0), AuthorizeURL: srv.URL + sim.AuthorizePath(id)})
		}
	}
	b.ResetTimer()
	for range b.N {
		seen.reset()
		start := time.Now()
		sum, err := Run(context.Background(), targets, Options{ClientID: sim.DefaultProdClientID, RedirectURI: sim.DefaultRedirectURI,
			Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}})
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		counts := sum.Counts()
		if len(sum.Results) != len(targets) || counts[Live] != 480 || counts[NotKnown] != 20 {
			b.Fatalf("%d results, %v", len(sum.Results), counts)
		}
		total, busiest := sum.Requests()
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(total), "requests")
		b.ReportMetric(float64(len(sum.PerHost)), "hosts")
		b.ReportMetric(float64(busiest), "max-req/host")
		b.ReportMetric(float64(seen.minGap().Milliseconds()), "min-gap-ms/host")
	}
}

// arrivals records when each host received a request.
type arrivals struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (a *arrivals) add(host string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at[host] = append(a.at[host], time.Now())
}

func (a *arrivals) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = map[string][]time.Time{}
}

// minGap is the shortest time between two requests to the same host.
func (a *arrivals) minGap() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	gap := time.Duration(-1)
	for _, ts := range a.at {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); gap < 0 || d < gap {
				gap = d
			}
		}
	}
	return gap
}
