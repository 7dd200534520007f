package activate

import (
	"bufio"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// rig is a simulator, a signed-in client and a fresh state database.
type rig struct {
	sim   *sim.Sim
	srv   *httptest.Server
	c     *portalhttp.Client
	store *store.Store
	app   store.App
}

func newRig(tb testing.TB, cfg sim.Config) *rig {
	tb.Helper()
	s := sim.New(cfg)
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	c, err := portalhttp.New(portalhttp.Options{BaseURL: srv.URL, AppID: s.AppID(), Cookies: s.NewSession()})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	app, err := st.App(context.Background(), srv.URL, s.AppID())
	if err != nil {
		tb.Fatal(err)
	}
	return &rig{sim: s, srv: srv, c: c, store: st, app: app}
}

// startRun records a run for the outcomes to belong to.
func (r *rig) startRun(tb testing.TB, mode string) int64 {
	tb.Helper()
	id, err := r.store.StartRun(context.Background(), r.app.ID, &store.Run{Started: time.Now(), Mode: mode})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// plan syncs and plans a JWK Set URL (or direct) run over every org.
func (r *rig) plan(tb testing.TB, p *pace.Pacer, mode string) *plan.Plan {
	tb.Helper()
	ctx := context.Background()
	load := func(ctx context.Context, page, size int) ([]portal.Download, error) {
		var ds []portal.Download
		_, err := p.Do(ctx, func() error {
			var err error
			ds, err = r.c.LoadDownloads(ctx, page, size)
			return err
		})
		return ds, err
	}
	rep, err := orgsync.Run(ctx, orgsync.Options{Store: r.store, App: r.app, Load: load, PageSize: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	in := plan.Input{Mode: mode, NonProdKeys: "k", ProdKeys: "k", Reactivate: true, Force: true}
	for _, o := range rep.Orgs {
		in.Orgs = append(in.Orgs, plan.Org{OrgID: o.OrgID, Name: o.Name, Status: portal.Status(o.Status)})
	}
	pl, err := plan.Make(in)
	if err != nil {
		tb.Fatal(err)
	}
	return pl
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkPace measures the ApproveDownload rate a run achieves against a
// portal with 300 ms latency and a server-side limit of R requests a second
// (burst 2), with --rate R: the goal is at least 0.95 of R and no 429.
// 500 organizations by default (BENCH_PACE_ORGS); run with -benchtime=1x.
func BenchmarkPace(b *testing.B) {
	orgs := envInt("BENCH_PACE_ORGS", 500)
	for _, tc := range []struct {
		rate float64
		conc int
	}{{2, 1}, {2, 4}, {10, 4}} {
		b.Run("rate="+strconv.FormatFloat(tc.rate, 'g', -1, 64)+"/concurrency="+strconv.Itoa(tc.conc), func(b *testing.B) {
			for range b.N {
				r := newRig(b, sim.Config{Orgs: orgs, Seed: 7})
				pl := r.plan(b, pace.New(1000, 0), plan.ModeJKU)
				// Direct mode: one call per org.
				for i := range pl.Items {
					pl.Items[i].Calls = pl.Items[i].Calls[:1]
				}
				r.sim.SetFaults(sim.Faults{Latency: 300 * time.Millisecond, RateLimit: tc.rate, RateBurst: 2})
				r.sim.ResetCalls()
				p := pace.New(tc.rate, pace.DefaultRetries)
				start := time.Now()
				res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: r.startRun(b, plan.ModeJKU), Pacer: p,
					Concurrency: tc.conc, Mode: plan.ModeJKU})
				elapsed := time.Since(start)
				if res.Stop != nil || len(res.Failed) > 0 {
					b.Fatalf("run stopped: %v, %d failed", res.Stop, len(res.Failed))
				}
				var ok, throttled int
				var first, last time.Time
				for _, c := range r.sim.Calls() {
					if c.Path != "/Developer/ApproveDownload" {
						continue
					}
					if c.Status == 429 {
						throttled++
						continue
					}
					ok++
					if first.IsZero() {
						first = c.At
					}
					last = c.At
				}
				// The rate the portal saw: n calls arriving over n-1 intervals.
				achieved := float64(ok-1) / last.Sub(first).Seconds()
				b.ReportMetric(elapsed.Seconds(), "run-s")
				b.ReportMetric(achieved/tc.rate, "fraction-of-R")
				b.ReportMetric(achieved, "calls/s")
				b.ReportMetric(float64(throttled), "429s")
			}
		})
	}
}

// externalRig runs the simulator as its own process (cmd/portalsim), so
// that the memory measured in this process is activator's alone.
func externalRig(tb testing.TB, orgs int) *rig {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "portalsim")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/portalsim").CombinedOutput(); err != nil {
		tb.Fatalf("build portalsim: %v\n%s", err, out)
	}
	sess := filepath.Join(dir, "session.txt")
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--orgs", strconv.Itoa(orgs), "--seed", "7", "--session-file", sess)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("portalsim did not start: %v", err)
	}
	base := strings.TrimSpace(line[strings.Index(line, "http"):])
	cookie, err := os.ReadFile(sess)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := portalhttp.New(portalhttp.Options{BaseURL: base, AppID: sim.DefaultAppID, Cookies: strings.TrimSpace(string(cookie))})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	app, err := st.App(context.Background(), base, sim.DefaultAppID)
	if err != nil {
		tb.Fatal(err)
	}
	return &rig{c: c, store: st, app: app}
}

// BenchmarkLocalCost measures activator's own cost per organization with no
// portal latency and no pace: sync, plan, one call and one committed outcome
// per org, against the simulator in another process. Reported: orgs/s, the
// peak heap in use and the peak resident set of this process.
func BenchmarkLocalCost(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run("orgs="+strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				r := externalRig(b, n)
				runtime.GC()
				peak := watchHeap()
				start := time.Now()
				p := pace.New(1e9, 0)
				pl := r.plan(b, p, plan.ModeJWKS)
				res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: r.startRun(b, plan.ModeJWKS), Pacer: p,
					Concurrency: 4, Mode: plan.ModeJWKS, NonProdJWKS: testJWKS, ProdJWKS: testJWKS, NonProdKeys: "k", ProdKeys: "k"})
				elapsed := time.Since(start)
				heap := peak()
				if res.Stop != nil || len(res.Failed) > 0 {
					b.Fatalf("run stopped: %v, %d failed", res.Stop, len(res.Failed))
				}
				b.ReportMetric(float64(len(pl.Items))/elapsed.Seconds(), "orgs/s")
				b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(vmHWM())/(1<<10), "peak-RSS-MB")
			}
		})
	}
}

// watchHeap samples the heap until the returned function is called, which
// returns the largest HeapInuse seen (the simulator's included).
func watchHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(stop); wg.Wait(); return peak.Load() }
}

// vmHWM is the process's peak resident set in KiB (Linux), 0 elsewhere.
func vmHWM() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// testJWKS is a public RSA key set (a test key, protecting nothing).
const testJWKS = `{
  "keys": [
    {
      "kty": "RSA",
      "kid": "bench",
      "e": "AQAB",
      "n": "xjlCRBqkOYwXvVDRzcFGqPRSpaFnTIKyC5dOIlFeSiM6Tf-7lqRMBzTLUlyg2eqWZ0j77oDvJYTTAyjVG9XKeXSi-BjG6ZeI_1xvn7w5UoMYddPUkCVRxeyBaqkvhYYmlPFjQj6oT5z3BQ0oW0Hrr9Ya87Jdc_SPMo8dUJx2IaVRMJGs1RWR6pejVnsoGGV8g_w0Uo3Pq3hRh1vcMm4_wQ4Ff2KOuKQ9k-KnGxT_XOLiMbqPvHv8jOBxGimT9RvGvR0hLfV3S5OuTrvzDyXkPg4P0cRZLu2_NMrxnmZyQCbr-4ZfZV1fJ7bYYZVkLy6nvQcRqIaKuOaUtc0i1u4u1w"
    }
  ]
}`
