package store

import (
	"context"
	"testing"
	"time"
)

func TestRecordProbesAndStatusSince(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, _ := s.App(ctx, "https://fhir.epic.com", "50741")
	other, _ := s.App(ctx, "https://fhir.epic.com", "99")
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	for i, p := range []Probe{
		{OrgID: "392", At: t0, ActivatedAt: t0.Add(-13 * time.Hour), Class: "not-known", Evidence: "same", Requests: 2},
		{OrgID: "16770", At: t0, Class: "live", Requests: 3},
		{OrgID: "392", At: t0.Add(24 * time.Hour), ActivatedAt: t0.Add(-13 * time.Hour), Class: "live", RunID: 7, AppAnswer: `{"status":200}`},
	} {
		if err := s.RecordProbe(ctx, app.ID, &p); err != nil || p.ID == 0 {
			t.Fatalf("probe %d: %v (id %d)", i, err, p.ID)
		}
	}
	last, err := s.LastProbes(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 2 || last["392"].Class != "live" || last["392"].RunID != 7 || !last["392"].ActivatedAt.Equal(t0.Add(-13*time.Hour)) ||
		last["392"].AppAnswer != `{"status":200}` || last["16770"].ControlAnswer != "{}" || !last["16770"].ActivatedAt.IsZero() {
		t.Fatalf("last probes = %+v", last)
	}
	if hist, _ := s.OrgProbes(ctx, app.ID, "392"); len(hist) != 2 || hist[0].Class != "not-known" {
		t.Fatalf("history = %+v", hist)
	}
	if o, _ := s.LastProbes(ctx, other.ID); len(o) != 0 {
		t.Fatal("probes leaked to another app")
	}

	sy := &Sync{Started: t0, Finished: t0, Seen: []Org{{OrgID: "392", Name: "Lifespan", Status: 0}}, Events: []Event{{OrgID: "392", Kind: EventNew}}}
	if _, err := s.RecordSync(ctx, app.ID, sy); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Hour)
	sy = &Sync{Started: t1, Finished: t1, Seen: []Org{{OrgID: "392", Name: "Lifespan", Status: 1}},
		Events: []Event{{OrgID: "392", Kind: EventStatus, Old: "0", New: "1"}}}
	if _, err := s.RecordSync(ctx, app.ID, sy); err != nil {
		t.Fatal(err)
	}
	since, err := s.StatusSince(ctx, app.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 1 || !since["392"].Equal(t1) {
		t.Fatalf("status since = %v", since)
	}
}
