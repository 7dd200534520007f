package activate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// TestRunStopsOnShape: when the listing the run fetched differs from what
// activator assumes in a way that matters, the run stops before its first
// ApproveDownload, records no run, and says what differs as doctor does.
func TestRunStopsOnShape(t *testing.T) {
	tests := []struct {
		name string
		cfg  sim.Config
		want string
	}{
		{"a field renamed", sim.Config{RenameFields: map[string]string{"OrgName": "Name"}},
			"download fields: OrgName missing from 40 of 40 downloads"},
		{"Ids without the app id", sim.Config{IDWithoutApp: true},
			`Id: 40 of 40 Ids are not {OrgId}_{AppId} of this app (first: "701")`},
		{"an unknown status on many", sim.Config{Declined: 10},
			"Approved values: 0 for 24, 1 for 4, 3 for 2; unknown: 2 for 10 (never acted on); 10 of 40 organizations have a value outside 0/1/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Orgs = 40
			r := newRig(t, cfg)
			rr, err := Run(context.Background(), plan.Input{}, r.runOptions(pace.New(1000, 2)))
			var se *portal.ShapeError
			if !errors.As(err, &se) || rr != nil {
				t.Fatalf("Run: %v (result %v), want a *portal.ShapeError", err, rr)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "no organization was called: run `activator doctor`") {
				t.Fatalf("error %q\nwant it to name %q and the fix", err, tt.want)
			}
			if n := len(r.approvals(t)); n != 0 {
				t.Fatalf("%d organizations were called", n)
			}
			if runs, err := r.store.Runs(context.Background(), r.app.ID, 10); err != nil || len(runs) != 0 {
				t.Fatalf("runs recorded: %v (%v)", runs, err)
			}
		})
	}
}

// TestRunRecordsShape: a run records the listing's fingerprint; the next
// one says how it changed since, and says nothing when it did not.
func TestRunRecordsShape(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 40, Seed: 2})
	ctx := context.Background()
	first, err := Run(ctx, plan.Input{}, r.runOptions(pace.New(1000, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if first.ShapeChange != "" {
		t.Fatalf("first run: shape change %q, want none (nothing recorded before)", first.ShapeChange)
	}
	sh, err := r.store.LastListingShape(ctx, r.app.ID)
	if err != nil || sh == nil || !strings.HasPrefix(sh.Fingerprint, "AppId:number AppName:string Approved:number DownloadDate:string ECMId:number Id:string IsAutoSync:bool OrgName:string | Approved ") {
		t.Fatalf("recorded shape %+v (%v)", sh, err)
	}
	same, err := Run(ctx, plan.Input{}, r.runOptions(pace.New(1000, 2)))
	if err != nil || same.ShapeChange != "" {
		t.Fatalf("same portal: shape change %q (%v), want none", same.ShapeChange, err)
	}

	// Last week the portal had no IsAutoSync member and called ECMId a
	// string; the organizations went through 0, 1, 2 and 3 already.
	before := time.Date(2026, 11, 24, 3, 17, 0, 0, time.UTC)
	old := "AppId:number AppName:string Approved:number DownloadDate:string ECMId:string Id:string OrgName:string | Approved 0 1 2 3"
	if err := r.store.RecordListingShape(ctx, r.app.ID, store.ListingShape{Fingerprint: old, SeenAt: before}); err != nil {
		t.Fatal(err)
	}
	changed, err := Run(ctx, plan.Input{}, r.runOptions(pace.New(1000, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "fields +ECMId:number +IsAutoSync:bool -ECMId:string"; changed.ShapeChange != want || !changed.ShapeSince.Equal(before) {
		t.Fatalf("shape change %q since %s, want %q since %s", changed.ShapeChange, changed.ShapeSince, want, before)
	}
}

// TestDryRunLeavesShape: a declined plan (a dry run) records no shape, so
// the change is still news for the run that goes ahead.
func TestDryRunLeavesShape(t *testing.T) {
	r := newRig(t, sim.Config{Orgs: 12, Seed: 2})
	o := r.runOptions(pace.New(1000, 2))
	o.Confirm = func(*plan.Plan) (bool, error) { return false, nil }
	if _, err := Run(context.Background(), plan.Input{}, o); err != nil {
		t.Fatal(err)
	}
	if sh, err := r.store.LastListingShape(context.Background(), r.app.ID); err != nil || sh != nil {
		t.Fatalf("a dry run recorded the shape %+v (%v)", sh, err)
	}
}
