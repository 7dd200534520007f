package activate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// smallDisk mounts a tmpfs of size bytes and returns its path; the test is
// skipped where mounting is not allowed (not root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a small file system here (%v): run as root to test a full disk", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes a file until the file system holding dir is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestExecuteStopsOnFullDisk: when the disk holding the state database is
// full, the intent of the next call cannot be recorded, so that call is
// never made, and the run's message says the disk is full (not "once the
// portal answers").
func TestExecuteStopsOnFullDisk(t *testing.T) {
	dir := smallDisk(t, "4m")
	r := newRigIn(t, sim.Config{Orgs: 20, Seed: 7}, dir)
	p := pace.New(1000, 2)
	pl := r.plan(t, p, plan.ModeJWKS)
	runID := r.startRun(t, plan.ModeJWKS)
	fill(t, dir)
	res := Execute(context.Background(), pl, Options{Portal: r.c, Store: r.store, App: r.app, RunID: runID, Pacer: p, Concurrency: 2,
		Mode: plan.ModeJWKS, NonProdJWKS: testJWKS, ProdJWKS: testJWKS, NonProdKeys: "k1", ProdKeys: "k1"})
	for id, n := range r.approvals(t) {
		t.Errorf("org %s called %d times with no room to record it", id, n)
	}
	if !errors.Is(res.Stop, store.ErrDiskFull) || res.Calls != 0 || res.NotRun != len(pl.Items) {
		t.Fatalf("stop %v, %d calls, %d of %d not run", res.Stop, res.Calls, res.NotRun, len(pl.Items))
	}
	outcome, msg := end(context.Background(), &RunResult{Result: *res})
	if outcome != store.RunAborted || !strings.Contains(msg, "the disk holding the state database is full ("+dir+")") ||
		!strings.Contains(msg, "free some space") || strings.Contains(msg, "portal answers") {
		t.Errorf("outcome %q, message %q", outcome, msg)
	}
}
