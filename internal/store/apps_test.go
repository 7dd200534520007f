package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenReadLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	s, err := OpenRead(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	apps, err := s.Apps(ctx)
	if err != nil || len(apps) != 0 {
		t.Fatalf("Apps = %v, %v; want none", apps, err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenRead created %s (stat: %v)", filepath.Dir(path), err)
	}
}

func TestLookupAppNeverInserts(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	a, err := s.App(ctx, "https://p.example", "1")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	r, err := OpenRead(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		portal, app string
		found       bool
	}{
		{"https://p.example", "1", true},
		{"https://other.example", "1", false},
		{"https://p.example", "2", false},
	}
	for _, tt := range tests {
		got, found, err := r.LookupApp(ctx, tt.portal, tt.app)
		if err != nil || found != tt.found || (found && got.ID != a.ID) {
			t.Errorf("LookupApp(%s, %s) = %+v, %v, %v; want found %v", tt.portal, tt.app, got, found, err, tt.found)
		}
	}
	apps, err := r.Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0] != a {
		t.Fatalf("Apps = %+v, %v; want only %+v", apps, err, a)
	}
}

func TestRunApp(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	a1, _ := s.App(ctx, "https://p.example", "1")
	a2, _ := s.App(ctx, "https://q.example", "2")
	id, err := s.StartRun(ctx, a2.ID, &Run{Started: time.Now(), Mode: "jwks"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.RunApp(ctx, id)
	if err != nil || got != a2 {
		t.Fatalf("RunApp(%d) = %+v, %v; want %+v (not %+v)", id, got, err, a2, a1)
	}
	if _, err := s.RunApp(ctx, id+1); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("RunApp(missing) err = %v, want sql.ErrNoRows", err)
	}
}

// TestEarlierRefusals: an org refusing since an earlier run is known, with
// the start of its streak; a success ends the streak; this run's own
// refusals do not count.
func TestEarlierRefusals(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	a, _ := s.App(ctx, "https://p.example", "1")
	day := func(d int) time.Time { return time.Date(2026, 3, d, 3, 0, 0, 0, time.UTC) }
	run := func(d int, results map[string]string) int64 {
		t.Helper()
		r := &Run{Started: day(d), Mode: "jwks"}
		id, err := s.StartRun(ctx, a.ID, r)
		if err != nil {
			t.Fatal(err)
		}
		for org, res := range results {
			if err := s.RecordOutcome(ctx, a.ID, &Outcome{RunID: id, OrgID: org, Action: "activate", Envs: "both", Mode: "jwks", Result: res, Started: day(d), Finished: day(d)}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	run(1, map[string]string{"10": ResultRefused, "20": ResultRefused, "30": ResultOK})
	run(2, map[string]string{"10": ResultRefused, "20": ResultOK, "30": ResultFailed})
	last := run(3, map[string]string{"10": ResultRefused, "20": ResultRefused, "40": ResultRefused})
	got, err := s.EarlierRefusals(ctx, a.ID, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got["10"].Equal(day(1)) {
		t.Fatalf("EarlierRefusals = %v, want only org 10 since day 1", got)
	}
}
