package store

import (
	"context"
	"testing"
	"time"
)

// TestIntentLifecycle: an intent is pending until its outcome replaces it;
// a pending one left behind is found, resolved once, and an unconfirmed
// upload counts as held (marked so) but never as a failure.
func TestIntentLifecycle(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	app, err := s.App(ctx, "https://portal.example", "50741")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.StartRun(ctx, app.ID, &Run{Started: time.Now(), Mode: "jwks"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	done := &Outcome{RunID: run, OrgID: "1", Action: "activate", Envs: EnvBoth, Mode: "jwks", NonProdKeys: "k1", ProdKeys: "k1", Started: at}
	left := &Outcome{RunID: run, OrgID: "2", Action: "activate", Envs: EnvBoth, Mode: "jwks", NonProdKeys: "k1", ProdKeys: "k1", Started: at}
	gone := &Outcome{RunID: run, OrgID: "3", Action: "activate", Envs: EnvNonProd, Mode: "jku", Started: at}
	for _, o := range []*Outcome{done, left, gone} {
		if err := s.RecordIntent(ctx, app.ID, o); err != nil {
			t.Fatal(err)
		}
		if o.ID == 0 || o.Result != ResultPending {
			t.Fatalf("intent %+v", o)
		}
	}
	done.Result, done.Message, done.Attempts, done.Finished = ResultOK, "2026-05-04 08:00 UTC", 1, at.Add(time.Second)
	if err := s.FinishOutcome(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishOutcome(ctx, done); err == nil {
		t.Error("an outcome was recorded twice over one intent")
	}
	pend, err := s.PendingOutcomes(ctx, app.ID)
	if err != nil || len(pend) != 2 || pend[0].OrgID != "2" || pend[1].OrgID != "3" || pend[0].NonProdKeys != "k1" {
		t.Fatalf("pending %+v (%v)", pend, err)
	}
	fails, _ := s.LastFailures(ctx, app.ID)
	if fails["2"].Result != ResultPending {
		t.Errorf("a pending call is not among the orgs needing attention: %+v", fails)
	}
	if err := s.ResolveOutcome(ctx, left.ID, ResultUnconfirmed, "probably"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveOutcome(ctx, gone.ID, ResultFailed, "not shown"); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingOutcomes(ctx, app.ID); len(pend) != 0 {
		t.Errorf("still pending after resolution: %+v", pend)
	}
	ups, err := s.LastUploads(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u := ups["1"]; u == nil || u.NonProd.Unconfirmed || u.Prod.Keys != "k1" {
		t.Errorf("org 1 uploads %+v", u)
	}
	if u := ups["2"]; u == nil || !u.NonProd.Unconfirmed || !u.Prod.Unconfirmed || u.Prod.Keys != "k1" || !u.Prod.At.Equal(at) {
		t.Errorf("org 2 (unconfirmed) uploads %+v", u)
	}
	if ups["3"] != nil {
		t.Errorf("org 3 (not shown) counted as holding an upload: %+v", ups["3"])
	}
	fails, _ = s.LastFailures(ctx, app.ID)
	if _, ok := fails["2"]; ok || fails["3"].Result != ResultFailed {
		t.Errorf("failures %+v", fails)
	}
}
