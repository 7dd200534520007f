package activate

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	return newRigIn(tb, cfg, tb.TempDir())
}

// newRigIn is newRig with the state database in dir.
func newRigIn(tb testing.TB, cfg sim.Config, dir string) *rig {
	tb.Helper()
	s := sim.New(cfg)
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	r := connect(tb, srv.URL, s.AppID(), s.NewSession(), dir)
	r.sim, r.srv = s, srv
	return r
}

// connect signs a client in to the portal at base and opens a fresh state
// database in dir, with the app's row.
func connect(tb testing.TB, base, appID, cookies, dir string) *rig {
	tb.Helper()
	c, err := portalhttp.New(portalhttp.Options{BaseURL: base, AppID: appID, Cookies: cookies})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	app, err := st.App(context.Background(), base, appID)
	if err != nil {
		tb.Fatal(err)
	}
	return &rig{c: c, store: st, app: app}
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

// paceLimit, paceLatency and paceJitter describe the portal BenchmarkPace
// runs against: a server-side token bucket of 4 requests a second with a
// burst of 1, 300 ms away, arrival times jittering by ±20 ms when jitter is
// on. A burst-1 limit with that jitter leaves any client that avoids 429s
// a ceiling of 1/(1/4 s + 40 ms) = 3.45/s, 0.86 of the limit.
const (
	paceLimit   = 4.0
	paceLatency = 300 * time.Millisecond
	paceJitter  = 20 * time.Millisecond
)

// paceResult is one run of one line of BenchmarkPace's table.
type paceResult struct {
	fraction, share  float64
	throttled        int
	seconds          float64
	tolerated, final float64
	events           int
}

// paceLine is one line of BenchmarkPace's table: the runs of one setting.
type paceLine struct {
	rate   float64
	conc   int
	jitter bool
	runs   []paceResult
}

// median is the middle value of what f picks from each run (the lower
// middle of an even count).
func (l paceLine) median(f func(paceResult) float64) float64 {
	v := make([]float64, len(l.runs))
	for i, r := range l.runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

// spread is "lo–hi" of what f picks from each run, or "" for one run.
func (l paceLine) spread(f func(paceResult) float64, format string) string {
	if len(l.runs) < 2 {
		return ""
	}
	lo, hi := f(l.runs[0]), f(l.runs[0])
	for _, r := range l.runs[1:] {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return " (" + fmt.Sprintf(format, lo) + "–" + fmt.Sprintf(format, hi) + ")"
}

func fraction(r paceResult) float64 { return r.fraction }
func share(r paceResult) float64    { return 100 * r.share }
func seconds(r paceResult) float64  { return r.seconds }

// DefaultPaceRuns is how many times BenchmarkPace runs each line, each
// with its own draw of the simulator's jitter: one run of 200 calls draws
// a handful of 429s, each costing a second's hold, so the same line varied
// by 0.07 of the limit between single runs on a shared machine. A line is
// judged on its median run of three, which one unlucky draw or one run
// disturbed by the machine cannot move.
const DefaultPaceRuns = 3

// BenchmarkPace measures, side by side, the ApproveDownload rate a run
// achieves as a fraction of the portal's limit and the share of calls
// answered 429, with --rate at the limit and at twice it (a user who does
// not know the limit), one and four workers, with and without arrival
// jitter. Each line is run DefaultPaceRuns times (BENCH_PACE_RUNS), and
// it fails when the median run misses its target:
//   - above the limit, at least 0.8 of what the portal tolerates (the
//     limit, or the jitter ceiling), with 429s at most 5% of calls;
//   - at the limit with four workers, at least 0.95 of it on a quiet
//     network and 0.8 of it with jitter, with 429s at most 3% of calls;
//   - one worker is held by latency to 1/300 ms: at least 0.8 of that.
//
// 200 organizations by default (BENCH_PACE_ORGS); run with -benchtime=1x.
// It ends with the table README.md shows: the median run, and the range
// over the runs.
func BenchmarkPace(b *testing.B) {
	orgs := envInt("BENCH_PACE_ORGS", 200)
	runs := envInt("BENCH_PACE_RUNS", DefaultPaceRuns)
	var lines []paceLine
	for _, jitter := range []bool{false, true} {
		for _, mult := range []float64{1, 2} {
			for _, conc := range []int{1, 4} {
				rate := mult * paceLimit
				name := fmt.Sprintf("rate=%gxlimit/concurrency=%d/jitter=%v", mult, conc, jitter)
				b.Run(name, func(b *testing.B) {
					for range b.N {
						l := paceLine{rate: rate, conc: conc, jitter: jitter}
						for i := range runs {
							l.runs = append(l.runs, paceRun(b, orgs, rate, conc, jitter, int64(7+i)))
						}
						med := func(f func(paceResult) float64) float64 { return l.median(f) }
						b.ReportMetric(med(seconds), "run-s")
						b.ReportMetric(med(fraction), "fraction-of-limit")
						b.ReportMetric(med(share)/100, "429-share")
						b.ReportMetric(med(func(r paceResult) float64 { return float64(r.throttled) }), "429s")
						b.ReportMetric(med(func(r paceResult) float64 { return float64(r.events) }), "events")
						b.ReportMetric(med(func(r paceResult) float64 { return r.final }), "final-rate")
						b.ReportMetric(med(func(r paceResult) float64 { return r.tolerated }), "tolerated-per-s")
						want, maxShare := paceTarget(mult, conc, jitter)
						if f, sh := med(fraction), med(share)/100; f < want || sh > maxShare {
							b.Errorf("median of %d runs: achieved %.2f of the limit (want at least %.2f), 429s %.1f%% of calls (want at most %.0f%%)",
								runs, f, want, 100*sh, 100*maxShare)
						}
						lines = append(lines, l)
					}
				})
			}
		}
	}
	if len(lines) > 0 {
		fmt.Printf("\nPace against a portal limited to %g/s (burst 1, %v latency), %d organizations, median of %d runs (range):\n\n",
			paceLimit, paceLatency, orgs, runs)
		fmt.Println("| --rate | concurrency | arrival jitter | achieved (of the limit) | 429s (share of calls) | run |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, l := range lines {
			j := "none"
			if l.jitter {
				j = "±" + paceJitter.String()
			}
			fmt.Printf("| %g (%gx limit) | %d | %s | %.2f%s | %.1f%%%s | %.0f s |\n",
				l.rate, l.rate/paceLimit, l.conc, j, l.median(fraction), l.spread(fraction, "%.2f"),
				l.median(share), l.spread(share, "%.1f%%"), l.median(seconds))
		}
		fmt.Println()
	}
}

// paceTarget is the least fraction of the limit a line must achieve and
// the largest share of calls it may draw 429s for.
func paceTarget(mult float64, conc int, jitter bool) (want, maxShare float64) {
	ceiling := 1.0
	if jitter {
		ceiling = 1 / (1/paceLimit + 2*paceJitter.Seconds()) / paceLimit
	}
	ceiling = min(ceiling, float64(conc)/paceLatency.Seconds()/paceLimit)
	if mult == 1 && conc > 1 {
		// At the limit: 0.95 of it on a quiet network, 0.8 with jitter (of
		// the limit, not of the 0.86 ceiling).
		if jitter {
			return 0.8, 0.03
		}
		return 0.95, 0.03
	}
	return 0.8 * ceiling, 0.05
}

// paceRun activates orgs organizations (one call each) against a
// rate-limited simulator and measures what the portal saw. The seed draws
// the simulator's jitter: each run of a line draws its own.
func paceRun(b *testing.B, orgs int, rate float64, conc int, jitter bool, seed int64) paceResult {
	r := newRig(b, sim.Config{Orgs: orgs, Seed: seed})
	pl := r.plan(b, pace.New(1000, 0), plan.ModeJKU)
	// Direct mode: one call per org.
	for i := range pl.Items {
		pl.Items[i].Calls = pl.Items[i].Calls[:1]
	}
	f := sim.Faults{Latency: paceLatency, RateLimit: paceLimit, RateBurst: 1}
	if jitter {
		f.Jitter = paceJitter
	}
	r.sim.SetFaults(f)
	r.sim.ResetCalls()
	p := pace.New(rate, pace.DefaultRetries)
	start := time.Now()
	res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: r.startRun(b, plan.ModeJKU), Pacer: p,
		Concurrency: conc, Mode: plan.ModeJKU})
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
	return paceResult{fraction: achieved / paceLimit,
		share: float64(throttled) / float64(ok+throttled), throttled: throttled,
		seconds: elapsed.Seconds(), tolerated: p.Stats().Tolerated, final: p.Rate(), events: p.Stats().Events}
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
	return connect(tb, base, sim.DefaultAppID, strings.TrimSpace(string(cookie)), dir)
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
