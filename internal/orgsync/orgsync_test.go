package orgsync

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// TestRunRefusesAnEmptyListing: one empty answer where organizations were
// listed before is not recorded; every organization stays listed.
func TestRunRefusesAnEmptyListing(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.App(ctx, "https://fhir.epic.com", "50741")
	if err != nil {
		t.Fatal(err)
	}
	listing := []portal.Download{{OrgID: "1", OrgName: "One"}, {OrgID: "2", OrgName: "Two", Approved: 1}}
	load := func(ctx context.Context, page, size int) ([]portal.Download, error) {
		if page > 0 {
			return nil, nil
		}
		return listing, nil
	}
	// An empty first sync is refused too, and not recorded.
	listing = nil
	var first *EmptyListingError
	if _, err := Run(ctx, Options{Store: s, App: app, Load: load, PageSize: 100}); !errors.As(err, &first) || first.Before != 0 {
		t.Fatalf("empty first sync: err = %v, want EmptyListingError for 0", err)
	}
	listing = []portal.Download{{OrgID: "1", OrgName: "One"}, {OrgID: "2", OrgName: "Two", Approved: 1}}
	if _, err := Run(ctx, Options{Store: s, App: app, Load: load, PageSize: 100}); err != nil {
		t.Fatal(err)
	}
	listing = nil
	_, err = Run(ctx, Options{Store: s, App: app, Load: load, PageSize: 100})
	var ee *EmptyListingError
	if !errors.As(err, &ee) || ee.Before != 2 {
		t.Fatalf("err = %v, want EmptyListingError for 2", err)
	}
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		if o.GoneSince != nil {
			t.Errorf("org %s marked gone by a refused sync", o.OrgID)
		}
	}
	if syncs, _ := s.Syncs(ctx, app.ID, 0); len(syncs) != 1 {
		t.Errorf("%d syncs recorded, want 1 (the empty ones refused)", len(syncs))
	}
}
