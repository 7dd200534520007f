package store

import (
	"context"
	"testing"
	"time"
)

func TestProbePassPartial(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, _ := s.App(ctx, "https://fhir.epic.com", "50741")
	if p, err := s.LastProbePass(ctx, app.ID); err != nil || p != nil {
		t.Fatalf("no pass yet: %+v, %v", p, err)
	}
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	// A probe of an earlier pass does not count for the new one.
	if err := s.RecordProbe(ctx, app.ID, &Probe{OrgID: "1", At: t0.Add(-time.Hour), Class: "live"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.StartProbePass(ctx, app.ID, 0, t0, 3)
	if err != nil {
		t.Fatal(err)
	}
	probeAt := func(org string, at time.Time) {
		if err := s.RecordProbe(ctx, app.ID, &Probe{OrgID: org, At: at, Class: "live"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		step    func()
		probed  int
		partial bool
	}{
		{"running, none probed", func() {}, 0, true},
		{"running, two probed", func() { probeAt("1", t0.Add(time.Second)); probeAt("2", t0.Add(2*time.Second)) }, 2, true},
		{"cut off by its time limit", func() {
			if err := s.FinishProbePass(ctx, id, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, 2, true},
		{"every one probed", func() { probeAt("3", t0.Add(3*time.Second)) }, 3, false},
	}
	for _, tt := range tests {
		tt.step()
		p, err := s.LastProbePass(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Probed != tt.probed || p.Targets != 3 || p.Partial() != tt.partial || !p.StartedAt.Equal(t0) {
			t.Errorf("%s: pass = %+v (partial %v), want %d of 3 probed, partial %v", tt.name, p, p.Partial(), tt.probed, tt.partial)
		}
	}
}
