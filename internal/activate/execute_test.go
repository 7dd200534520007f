package activate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

func TestVerify(t *testing.T) {
	items := []plan.Item{{OrgID: "1", Name: "A"}, {OrgID: "2", Name: "B"}, {OrgID: "3", Name: "C"}}
	got := Verify(items, map[string]portal.Status{"1": portal.StatusEnabled, "2": portal.StatusNonProdOnly})
	want := []Mismatch{{OrgID: "2", Name: "B", Expected: portal.StatusEnabled, Actual: portal.StatusNonProdOnly}, {OrgID: "3", Name: "C", Expected: portal.StatusEnabled, Missing: true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Verify = %+v, want %+v", got, want)
	}
}

// TestExecuteRecordsEveryOutcome runs a plan against the simulator and
// checks that each call's outcome was committed with the keys it sent.
func TestExecuteRecordsEveryOutcome(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 25, Seed: 1})
	p := pace.New(1000, 2)
	pl := r.plan(t, p, plan.ModeJWKS)
	runID := r.startRun(t, plan.ModeJWKS)
	var events int
	res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: runID, Pacer: p, Concurrency: 3,
		Mode: plan.ModeJWKS, NonProdJWKS: testJWKS, ProdJWKS: testJWKS, NonProdKeys: "k1", ProdKeys: "k2",
		OnEvent: func(Event) { events++ }})
	if res.Stop != nil {
		t.Fatal(res.Stop)
	}
	outs, err := r.store.RunOutcomes(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != res.Calls || events != res.Calls || res.Calls != pl.Calls() {
		t.Fatalf("%d outcomes, %d events, %d calls, %d planned", len(outs), events, res.Calls, pl.Calls())
	}
	refused := map[string]bool{}
	for _, id := range r.sim.Stragglers() {
		refused[id] = true
	}
	for _, o := range outs {
		want := store.ResultOK
		if refused[o.OrgID] {
			want = store.ResultRefused
		}
		if o.Result != want || o.NonProdKeys != "k1" || o.ProdKeys != "k2" || o.Attempts < 1 || o.Envs != plan.EnvBoth {
			t.Errorf("outcome %+v", o)
		}
	}
	ups, _ := r.store.LastUploads(context.Background(), r.app.ID)
	for _, it := range res.Activated {
		if u := ups[it.OrgID]; u == nil || u.NonProd.Keys != "k1" || u.Prod.Keys != "k2" {
			t.Errorf("org %s: uploads %+v", it.OrgID, u)
		}
	}
}

// TestExecuteStopsOnLapse: a lapsed session stops the run at once; the
// orgs not reached are counted, none is recorded as done.
func TestExecuteStopsOnLapse(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 25, Seed: 1})
	p := pace.New(1000, 2)
	pl := r.plan(t, p, plan.ModeJKU)
	r.sim.ExpireSessions()
	res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: r.startRun(t, plan.ModeJKU), Pacer: p, Mode: plan.ModeJKU})
	if !errors.Is(res.Stop, portal.ErrNotSignedIn) {
		t.Fatalf("stop = %v", res.Stop)
	}
	if res.Calls != 1 || len(res.Activated) != 0 || res.NotRun != len(pl.Items)-1 {
		t.Fatalf("calls %d, activated %d, not run %d of %d", res.Calls, len(res.Activated), res.NotRun, len(pl.Items))
	}
}

// TestExecuteCancelled: a cancelled context stops before the next call.
func TestExecuteCancelled(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 25, Seed: 1})
	p := pace.New(1000, 2)
	pl := r.plan(t, p, plan.ModeJKU)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res := Execute(ctx, pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: r.startRun(t, plan.ModeJKU), Pacer: p, Mode: plan.ModeJKU,
		OnEvent: func(Event) {
			if n++; n == 3 {
				cancel()
			}
		}})
	if !errors.Is(res.Stop, context.Canceled) || res.Calls != 3 {
		t.Fatalf("stop %v after %d calls", res.Stop, res.Calls)
	}
}

// TestExecuteRaisesAWorkerPanic: a panic in a worker stops the run; the
// other workers finish, every call made is recorded, and Execute raises it
// again in the caller's goroutine with the worker's stack.
func TestExecuteRaisesAWorkerPanic(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 25, Seed: 1})
	p := pace.New(1000, 2)
	pl := r.plan(t, p, plan.ModeJKU)
	run := r.startRun(t, plan.ModeJKU)
	n := 0
	defer func() {
		v := recover()
		wp, ok := v.(*WorkerPanic)
		if !ok || wp.Error() != "bug in a callback" || !strings.Contains(string(wp.PanicStack()), "execute_test.go") {
			t.Fatalf("recovered %v (%T)", v, v)
		}
		outs, err := r.store.RunOutcomes(context.Background(), run)
		if err != nil || len(outs) < 2 || len(outs) > 2+3 {
			t.Fatalf("%d outcomes recorded (%v), want the calls made before the stop", len(outs), err)
		}
	}()
	Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: run, Pacer: p, Mode: plan.ModeJKU, Concurrency: 4,
		OnEvent: func(Event) {
			if n++; n == 2 {
				panic("bug in a callback")
			}
		}})
	t.Fatal("Execute returned instead of raising the panic")
}

// TestExecuteNumbersEachOrgOnce: with two calls per org and four workers,
// both calls of an org carry the same [n/total], and the numbers run 1..n.
func TestExecuteNumbersEachOrgOnce(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 25, Seed: 1})
	p := pace.New(1000, 2)
	pl := r.plan(t, p, plan.ModeJKU)
	numbers := map[string]int{}
	seen := map[int]bool{}
	res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: r.startRun(t, plan.ModeJKU), Pacer: p,
		Mode: plan.ModeJKU, Concurrency: 4,
		OnEvent: func(e Event) {
			if n, ok := numbers[e.OrgID]; ok && n != e.Done {
				t.Errorf("org %s shown as %d, then %d", e.OrgID, n, e.Done)
			}
			numbers[e.OrgID] = e.Done
			seen[e.Done] = true
		}})
	if res.Stop != nil {
		t.Fatal(res.Stop)
	}
	for n := 1; n <= len(numbers); n++ {
		if !seen[n] {
			t.Errorf("number %d never shown (%d orgs)", n, len(numbers))
		}
	}
}
