package report

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// t0 is when every test history starts.
var t0 = time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)

// Key sets of the tests, as stored: sorted thumbprints, comma-separated.
const (
	keysA = "thumbA"
	keysB = "thumbB"
)

// state writes a history into a real state database through the store's
// own methods, the way syncs and runs record it.
type state struct {
	t   testing.TB
	ctx context.Context
	s   *store.Store
	app store.App
	// orgs is what the portal lists now, by OrgId.
	orgs map[string]store.Org
}

func newState(t testing.TB) *state {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	app, err := s.App(ctx, "https://portal.test", "50741")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.KeySet{{Thumbprints: keysA, Kids: "key-a", JWKS: "{}", FirstUsed: t0}, {Thumbprints: keysB, Kids: "key-b", JWKS: "{}", FirstUsed: t0.Add(time.Hour)}} {
		if err := s.RecordKeySet(ctx, app.ID, k); err != nil {
			t.Fatal(err)
		}
	}
	return &state{t: t, ctx: ctx, s: s, app: app, orgs: map[string]store.Org{}}
}

// org sets what the portal lists for one organization.
func (st *state) org(id string, status int) *state {
	st.orgs[id] = store.Org{OrgID: id, Name: "Org " + id, ECMId: "9" + id, Status: status}
	return st
}

// sync records a listing of st.orgs at at, with the events given.
func (st *state) sync(at time.Time, events ...store.Event) *state {
	st.t.Helper()
	sy := &store.Sync{Started: at, Finished: at, Counts: map[int]int{}, Events: events}
	ids := make([]string, 0, len(st.orgs))
	for id := range st.orgs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sy.Seen = append(sy.Seen, st.orgs[id])
		sy.Counts[st.orgs[id].Status]++
	}
	if _, err := st.s.RecordSync(st.ctx, st.app.ID, sy); err != nil {
		st.t.Fatal(err)
	}
	return st
}

// call is one outcome of a test run.
type call struct {
	org, action, envs, mode, np, p, result, msg string
}

// run records a finished run of calls starting at at, one a second.
func (st *state) run(at time.Time, outcome string, calls ...call) int64 {
	st.t.Helper()
	r := &store.Run{Started: at, Mode: ModeJWKS, Planned: len(calls), PID: 1}
	if len(calls) > 0 {
		r.Mode = calls[0].mode
	}
	id, err := st.s.StartRun(st.ctx, st.app.ID, r)
	if err != nil {
		st.t.Fatal(err)
	}
	for i, c := range calls {
		start := at.Add(time.Duration(i) * time.Second)
		o := &store.Outcome{RunID: id, OrgID: c.org, Action: c.action, Envs: c.envs, Mode: c.mode, NonProdKeys: c.np, ProdKeys: c.p,
			Result: c.result, Message: c.msg, Attempts: 1, Started: start, Finished: start.Add(500 * time.Millisecond)}
		if err := st.s.RecordOutcome(st.ctx, st.app.ID, o); err != nil {
			st.t.Fatal(err)
		}
	}
	if outcome != store.RunRunning {
		if err := st.s.FinishRun(st.ctx, id, at.Add(time.Duration(len(calls))*time.Second), outcome, ""); err != nil {
			st.t.Fatal(err)
		}
	}
	return id
}

func ok(org, envs, mode, np, p string) call {
	return call{org: org, action: "activate", envs: envs, mode: mode, np: np, p: p, result: store.ResultOK, msg: "2026-05-04 08:00 UTC"}
}

func fail(org, result, msg string) call {
	return call{org: org, action: "activate", envs: store.EnvBoth, mode: ModeJWKS, np: keysA, p: keysA, result: result, msg: msg}
}

func (st *state) build(now time.Time) *Report {
	st.t.Helper()
	r, err := Build(st.ctx, st.s, st.app, Options{Now: now})
	if err != nil {
		st.t.Fatal(err)
	}
	return r
}

// TestBuild checks the report's view of each kind of history.
func TestBuild(t *testing.T) {
	type keyUse struct{ np, p, orgs int }
	tests := []struct {
		name  string
		build func(st *state)
		// Expectations; nil maps are not checked.
		counts    map[string]int    // class -> listed orgs
		listed    int               // listed organizations
		gone      int               // organizations no longer listed
		attention []string          // "org:reason", in order
		jku       map[string]string // org -> reason
		modes     map[string]string // org -> mode
		keys      map[string]keyUse // kids -> holders
		since     map[string]time.Time
		change    map[string]string // org -> last change text
	}{
		{
			name:      "nothing recorded yet",
			build:     func(st *state) {},
			counts:    map[string]int{portal.ClassEnabled: 0, portal.ClassNonProdOnly: 0, portal.ClassNotResponded: 0},
			attention: []string{},
			jku:       map[string]string{},
			keys:      map[string]keyUse{"key-a": {}, "key-b": {}},
		},
		{
			name: "modes per organization",
			build: func(st *state) {
				st.org("1", 1).org("2", 1).org("3", 1).org("4", 1).org("5", 3).org("6", 3).org("7", 0).org("8", 2).
					sync(t0, store.Event{OrgID: "3", Kind: store.EventNew})
				st.run(t0.Add(time.Minute), store.RunDone,
					ok("1", store.EnvBoth, ModeJWKS, keysA, keysA),
					ok("2", store.EnvNonProd, ModeJKU, "", ""), ok("2", store.EnvProd, ModeJKU, "", ""),
					ok("4", store.EnvNonProd, ModeJWKS, keysA, ""), ok("4", store.EnvProd, ModeJKU, "", ""),
					ok("5", store.EnvNonProd, ModeJKU, "", ""),
					ok("6", store.EnvNonProd, ModeJWKS, keysB, ""))
			},
			counts:    map[string]int{portal.ClassEnabled: 4, portal.ClassNonProdOnly: 2, portal.ClassNotResponded: 1, portal.ClassUnknown: 1},
			listed:    8,
			attention: []string{"8:" + ReasonUnknown},
			jku:       map[string]string{"2": JKUUploaded, "3": JKUNoUpload, "4": JKUUploaded, "5": JKUUploaded},
			modes:     map[string]string{"1": ModeJWKS, "2": ModeJKU, "3": ModeNone, "4": ModeMixed, "5": ModeJKU, "6": ModeJWKS, "7": ModeNone},
			keys:      map[string]keyUse{"key-a": {np: 2, p: 1, orgs: 2}, "key-b": {np: 1, orgs: 1}},
			change:    map[string]string{"1": "keys uploaded for both environments (run 1)", "2": "JWK Set URL set for both environments (run 1)", "3": "first listed"},
		},
		{
			name: "failures and their streaks",
			build: func(st *state) {
				st.org("10", 0).org("11", 0).org("12", 0).org("13", 0).org("14", 7).sync(t0, store.Event{OrgID: "14", Kind: store.EventNew})
				st.run(t0.Add(time.Hour), store.RunFailures,
					fail("10", store.ResultRefused, "Failed to register client for download."),
					fail("11", store.ResultRefused, "Failed to register client for download."),
					ok("12", store.EnvBoth, ModeJWKS, keysA, keysA),
					fail("13", store.ResultFailed, "portal answered 502"))
				st.run(t0.Add(24*time.Hour), store.RunFailures,
					fail("10", store.ResultRefused, "Failed to register client for download."),
					ok("11", store.EnvBoth, ModeJWKS, keysA, keysA),
					call{org: "12", action: ActionVerify, envs: store.EnvBoth, mode: ModeJWKS, result: store.ResultMismatch, msg: "portal shows not-responded after activation"})
			},
			// 11 was activated, but the portal still lists it as not responded.
			listed:    5,
			attention: []string{"10:" + ReasonRefused, "12:" + ReasonMismatch, "13:" + ReasonFailed, "11:" + ReasonNotShown, "14:" + ReasonUnknown},
			since:     map[string]time.Time{"10": t0.Add(time.Hour), "12": t0.Add(24*time.Hour + 2*time.Second), "13": t0.Add(time.Hour + 3*time.Second)},
			modes:     map[string]string{"11": ModeJWKS, "10": ModeNone},
		},
		{
			name: "organizations no longer listed",
			build: func(st *state) {
				st.org("20", 1).org("21", 0).org("22", 1).sync(t0)
				st.run(t0.Add(time.Minute), store.RunFailures, ok("20", store.EnvBoth, ModeJWKS, keysA, keysA), fail("21", store.ResultRefused, "no"))
				delete(st.orgs, "20")
				delete(st.orgs, "21")
				st.sync(t0.Add(time.Hour), store.Event{OrgID: "20", Kind: store.EventGone}, store.Event{OrgID: "21", Kind: store.EventGone})
			},
			counts:    map[string]int{portal.ClassEnabled: 1, portal.ClassNonProdOnly: 0, portal.ClassNotResponded: 0},
			listed:    1,
			gone:      2,
			attention: []string{},
			jku:       map[string]string{"22": JKUNoUpload},
			keys:      map[string]keyUse{"key-a": {}, "key-b": {}},
			change:    map[string]string{"20": "no longer listed"},
		},
		{
			name: "key rotation",
			build: func(st *state) {
				st.org("30", 1).org("31", 1).org("32", 1).sync(t0)
				st.run(t0.Add(time.Minute), store.RunDone, ok("30", store.EnvBoth, ModeJWKS, keysA, keysA),
					ok("31", store.EnvBoth, ModeJWKS, keysA, keysA), ok("32", store.EnvBoth, ModeJWKS, keysA, keysA))
				st.run(t0.Add(48*time.Hour), store.RunDone, ok("30", store.EnvNonProd, ModeJWKS, keysB, ""), ok("30", store.EnvProd, ModeJWKS, "", keysB),
					ok("31", store.EnvBoth, ModeJWKS, keysB, keysB), ok("32", store.EnvBoth, ModeJWKS, keysB, keysB))
			},
			jku:    map[string]string{},
			keys:   map[string]keyUse{"key-a": {}, "key-b": {np: 3, p: 3, orgs: 3}},
			change: map[string]string{"30": "keys uploaded for both environments (run 2)"},
		},
		{
			name: "renames and status changes as last change",
			build: func(st *state) {
				st.org("40", 0).org("41", 0).sync(t0)
				st.org("40", 3)
				st.orgs["41"] = store.Org{OrgID: "41", Name: "Brown University Health", Status: 0}
				st.sync(t0.Add(time.Hour), store.Event{OrgID: "40", Kind: store.EventStatus, Old: "0", New: "3"},
					store.Event{OrgID: "41", Kind: store.EventRenamed, Old: "Lifespan", New: "Brown University Health"})
			},
			change: map[string]string{"40": "status not-responded → nonprod-only", "41": `renamed from "Lifespan"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newState(t)
			tt.build(st)
			r := st.build(t0.Add(72 * time.Hour))
			for class, n := range tt.counts {
				if got := ClassCount(r.Counts, class); got != n {
					t.Errorf("%s: %d, want %d (counts %+v)", class, got, n, r.Counts)
				}
			}
			if tt.listed > 0 && r.Listed != tt.listed {
				t.Errorf("listed %d, want %d", r.Listed, tt.listed)
			}
			if r.Gone != tt.gone {
				t.Errorf("gone %d, want %d", r.Gone, tt.gone)
			}
			if tt.attention != nil {
				got := []string{}
				for _, a := range r.Attention {
					got = append(got, a.OrgID+":"+a.Reason)
				}
				if strings.Join(got, " ") != strings.Join(tt.attention, " ") {
					t.Errorf("attention %v, want %v", got, tt.attention)
				}
			}
			if tt.jku != nil {
				got := map[string]string{}
				for _, j := range r.JWKSetURL {
					got[j.OrgID] = j.Reason
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.jku) {
					t.Errorf("JWK Set URL %v, want %v", got, tt.jku)
				}
			}
			rows := map[string]Org{}
			for _, o := range r.Orgs {
				rows[o.OrgID] = o
			}
			for org, mode := range tt.modes {
				if rows[org].Mode != mode {
					t.Errorf("org %s mode %q, want %q", org, rows[org].Mode, mode)
				}
			}
			if tt.keys != nil {
				got := map[string]keyUse{}
				for _, k := range r.KeySets {
					got[strings.Join(k.Kids, ",")] = keyUse{k.NonProdOrgs, k.ProdOrgs, k.Orgs}
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.keys) {
					t.Errorf("key sets %v, want %v", got, tt.keys)
				}
			}
			for org, since := range tt.since {
				var a *Attention
				for i := range r.Attention {
					if r.Attention[i].OrgID == org {
						a = &r.Attention[i]
					}
				}
				if a == nil || a.Since == nil || !a.Since.Equal(since) {
					t.Errorf("org %s attention %+v, want since %v", org, a, since)
				}
			}
			for org, what := range tt.change {
				if c := rows[org].LastChange; c == nil || c.What != what {
					t.Errorf("org %s last change %+v, want %q", org, c, what)
				}
			}
		})
	}
}

// TestBuildSyncsAndRuns checks the last sync, the last run and the history.
func TestBuildSyncsAndRuns(t *testing.T) {
	st := newState(t)
	r := st.build(t0)
	if r.LastSync != nil || r.LastRun != nil || len(r.History) != 0 {
		t.Fatalf("empty state: last sync %v, last run %v, history %v", r.LastSync, r.LastRun, r.History)
	}
	st.org("1", 0).org("2", 0).sync(t0, store.Event{OrgID: "1", Kind: store.EventNew}, store.Event{OrgID: "2", Kind: store.EventNew})
	st.run(t0.Add(time.Minute), store.RunDone, ok("1", store.EnvBoth, ModeJWKS, keysA, keysA))
	st.org("1", 1).org("3", 5)
	st.sync(t0.Add(2*time.Minute), store.Event{OrgID: "1", Kind: store.EventStatus, Old: "0", New: "1"}, store.Event{OrgID: "3", Kind: store.EventNew, New: "Org 3"})
	r = st.build(t0.Add(time.Hour))
	if len(r.History) != 2 || r.History[0].Total != 2 || r.History[1].Total != 3 {
		t.Fatalf("history %+v", r.History)
	}
	if ClassCount(r.History[1].Counts, portal.ClassUnknown) != 1 || ClassCount(r.History[0].Counts, portal.ClassNotResponded) != 2 {
		t.Errorf("history counts %+v", r.History)
	}
	// The last sync came after the last run began, whose first sync was the
	// app's first: every organization new there is no news.
	s := r.LastSync
	if s == nil || s.First || s.Syncs != 1 || s.New != 1 || s.StatusChanged != 1 || len(s.Changes) != 2 {
		t.Fatalf("last sync %+v", s)
	}
	if c := s.Changes[0]; c.Kind != store.EventStatus || c.Old != "not-responded" || c.New != "enabled" || c.Name != "Org 1" {
		t.Errorf("status change %+v: statuses should be named", c)
	}
	if r.LastRun == nil || r.LastRun.ID != 1 || r.LastRun.Results.Activated != 1 || r.LastRun.Outcome != store.RunDone {
		t.Errorf("last run %+v", r.LastRun)
	}
	// The unknown status 5 is named and sorted after the known ones.
	names := []string{}
	for _, c := range r.Counts {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "enabled,nonprod-only,not-responded,unknown(5)" {
		t.Errorf("count order %v, want enabled, nonprod-only, not-responded, then unknown", names)
	}

	// A later plain sync adds to the summary since the run began.
	st.org("4", 0).sync(t0.Add(3*time.Hour), store.Event{OrgID: "4", Kind: store.EventNew, New: "Org 4"})
	if s := st.build(t0.Add(3 * time.Hour)).LastSync; s.Syncs != 2 || s.New != 2 {
		t.Fatalf("a sync after the last run's: %+v, want the two since the run began", s)
	}
	// The next run starts after that sync: the summary starts there.
	st.run(t0.Add(4*time.Hour), store.RunDone)
	st.sync(t0.Add(5*time.Hour), store.Event{OrgID: "3", Kind: store.EventRenamed, Old: "Org 3", New: "Org Three"})
	if s := st.build(t0.Add(6 * time.Hour)).LastSync; s.Syncs != 2 || s.New != 1 || s.Renamed != 1 || len(s.Changes) != 2 {
		t.Fatalf("after a second run: last sync %+v, want the run's first sync and the one after", s)
	}
}

// TestBuildBrands checks that FHIR base URLs come from the imported
// Brands bundle.
func TestBuildBrands(t *testing.T) {
	st := newState(t)
	st.org("1", 1).org("2", 1).sync(t0)
	if r := st.build(t0); r.Brands != nil || len(r.Orgs[0].FHIRBaseURLs) != 0 {
		t.Fatalf("no bundle imported: brands %+v, urls %v", r.Brands, r.Orgs[0].FHIRBaseURLs)
	}
	_, err := st.s.ReplaceBrands(st.ctx, st.app.ID, &store.BrandsData{
		Import: store.BrandsImport{ImportedAt: t0, Source: "brands.json", BundleDate: t0.Add(-24 * time.Hour)},
		Endpoints: []store.Endpoint{{OrgID: "1", Address: "https://fhir.one.test/api/FHIR/R4/"},
			{OrgID: "1", Address: "https://fhir.one.test/alt/R4/"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := st.build(t0)
	if r.Brands == nil || r.Brands.Source != "brands.json" || r.Brands.BundleDate == nil {
		t.Fatalf("brands %+v", r.Brands)
	}
	if got := strings.Join(r.Orgs[0].FHIRBaseURLs, " "); got != "https://fhir.one.test/alt/R4/ https://fhir.one.test/api/FHIR/R4/" {
		t.Errorf("org 1 urls %q", got)
	}
	if len(r.Orgs[1].FHIRBaseURLs) != 0 {
		t.Errorf("org 2 urls %v, want none", r.Orgs[1].FHIRBaseURLs)
	}
}

// TestSummarizeRun counts each organization once, by its last outcome.
func TestSummarizeRun(t *testing.T) {
	start := t0
	fin := t0.Add(90 * time.Second)
	out := func(org, action, result string) store.Outcome {
		return store.Outcome{OrgID: org, Action: action, Result: result}
	}
	tests := []struct {
		name    string
		run     store.Run
		outs    []store.Outcome
		alive   bool
		want    RunResults
		calls   int
		stopped bool
		seconds float64
	}{
		{"every org activated", store.Run{Started: start, Finished: &fin, Outcome: store.RunDone},
			[]store.Outcome{out("1", "activate", "ok"), out("2", "activate", "ok")}, true, RunResults{Activated: 2}, 2, false, 90},
		{"split calls count once per org", store.Run{Started: start, Finished: &fin, Outcome: store.RunFailures, Split: true},
			[]store.Outcome{out("1", "activate", "ok"), out("1", "activate", "ok"), out("2", "activate", "ok"), out("2", "activate", "refused")},
			true, RunResults{Activated: 1, Refused: 1}, 4, false, 90},
		{"verification mismatch is not a call", store.Run{Started: start, Finished: &fin, Outcome: store.RunFailures},
			[]store.Outcome{out("1", "activate", "ok"), out("2", "activate", "failed"), out("1", ActionVerify, "mismatch")},
			true, RunResults{Mismatched: 1, Failed: 1}, 2, false, 90},
		{"running", store.Run{Started: start, Outcome: store.RunRunning, PID: 42},
			[]store.Outcome{out("1", "activate", "ok")}, true, RunResults{Activated: 1}, 1, false, 600},
		{"process gone", store.Run{Started: start, Outcome: store.RunRunning, PID: 42},
			[]store.Outcome{{OrgID: "1", Action: "activate", Result: "ok", Finished: start.Add(5 * time.Second)}}, false, RunResults{Activated: 1}, 1, true, 5},
		{"process gone before any call", store.Run{Started: start, Outcome: store.RunRunning, PID: 42},
			nil, false, RunResults{}, 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := SummarizeRun(tt.run, tt.outs, Options{Now: start.Add(10 * time.Minute), Alive: func(pid int) bool {
				if pid != tt.run.PID {
					t.Errorf("asked about pid %d, want %d", pid, tt.run.PID)
				}
				return tt.alive
			}})
			if s.Results != tt.want || s.Calls != tt.calls || s.Stopped != tt.stopped || s.DurationSeconds != tt.seconds {
				t.Errorf("got results %+v calls %d stopped %v %gs; want %+v %d %v %gs", s.Results, s.Calls, s.Stopped, s.DurationSeconds,
					tt.want, tt.calls, tt.stopped, tt.seconds)
			}
			if s.NonProdKeys == nil || s.ProdKeys == nil {
				t.Errorf("key lists must never be null")
			}
		})
	}
}
