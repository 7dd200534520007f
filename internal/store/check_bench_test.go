package store

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkOpenChecked measures Open, whose quick_check every command that
// changes something pays, and Check alone, on a year of a 500-organization
// app: 365 daily syncs and 100 runs calling every organization (50,000
// outcomes), about the largest state a real app builds.
func BenchmarkOpenChecked(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "state.db")
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	app, _ := s.App(ctx, "https://fhir.epic.com", "50741")
	seen := make([]Org, 500)
	for i := range seen {
		seen[i] = Org{OrgID: strconv.Itoa(1000 + i), Name: "Organization " + strconv.Itoa(i), ECMId: strconv.Itoa(i), Status: i % 4}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := range 365 {
		at := t0.Add(time.Duration(d) * 24 * time.Hour)
		if _, err := s.RecordSync(ctx, app.ID, &Sync{Started: at, Finished: at, Seen: seen, Counts: map[int]int{0: 500}}); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for r := range 100 {
		at := formatTime(t0.Add(time.Duration(r) * time.Hour))
		res, err := tx.ExecContext(ctx, `INSERT INTO runs(app, started_at, mode) VALUES (?, ?, 'jwks')`, app.ID, at)
		if err != nil {
			b.Fatal(err)
		}
		run, _ := res.LastInsertId()
		for _, o := range seen {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outcomes(run_id, app, org_id, action, envs, mode, nonprod_keys, prod_keys, result, message, attempts, started_at, finished_at)
				VALUES (?, ?, ?, 'activate', 'both', 'jwks', 'k1', 'k1', 'ok', '2026-01-01 00:00 UTC', 1, ?, ?)`, run, app.ID, o.OrgID, at, at); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	res, err := s.Check(ctx)
	if err != nil || !res.OK {
		b.Fatalf("%+v %v", res, err)
	}
	mb := float64(res.Bytes) / (1 << 20)
	s.Close()
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
		b.ReportMetric(mb, "MB")
	})
	b.Run("Check", func(b *testing.B) {
		s, err := OpenRead(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			if _, err := s.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(mb, "MB")
	})
}
