package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

func TestMake(t *testing.T) {
	cur := &EnvState{Mode: ModeJWKS, Keys: "A"}
	old := &EnvState{Mode: ModeJWKS, Keys: "OLD"}
	jku := &EnvState{Mode: ModeJKU}
	combined := []Call{{Envs: EnvBoth, SendNonProd: true, SendProd: true}}
	splitJWKS := []Call{{Envs: EnvNonProd, NonProdOnly: true, SendNonProd: true}, {Envs: EnvProd, ProdOnly: true, SendProd: true}}
	splitJKU := []Call{{Envs: EnvNonProd, NonProdOnly: true}, {Envs: EnvProd, ProdOnly: true}}
	prodJWKS := []Call{{Envs: EnvProd, ProdOnly: true, SendProd: true}}
	prodJKU := []Call{{Envs: EnvProd, ProdOnly: true}}

	tests := []struct {
		name       string
		status     portal.Status
		hist       History
		mode       string
		split      bool
		reactivate bool
		force      bool
		action     string
		skip       string
		calls      []Call
	}{
		{name: "not responded, direct: one combined call", status: 0, mode: ModeJWKS, action: ActionActivate, calls: combined},
		{name: "not responded, direct split", status: 0, mode: ModeJWKS, split: true, action: ActionActivate, calls: splitJWKS},
		{name: "not responded, jku: two calls", status: 0, mode: ModeJKU, action: ActionActivate, calls: splitJKU},
		{name: "not responded but recorded current: not called again", status: 0, hist: History{cur, cur}, mode: ModeJWKS, skip: SkipCurrent},
		{name: "not responded but recorded current, force", status: 0, hist: History{cur, cur}, mode: ModeJWKS, force: true, action: ActionActivate, calls: combined},
		{name: "not responded, non-production current: production only", status: 0, hist: History{NonProd: cur}, mode: ModeJWKS, action: ActionProduction, calls: prodJWKS},
		{name: "not responded, jku, non-production done: production only", status: 0, hist: History{NonProd: jku}, mode: ModeJKU, action: ActionProduction, calls: prodJKU},
		{name: "nonprod only, production current: non-production only", status: 3, hist: History{NonProd: old, Prod: cur}, mode: ModeJWKS, action: ActionNonProduction, calls: []Call{{Envs: EnvNonProd, NonProdOnly: true, SendNonProd: true}}},
		{name: "nonprod only, both current: not called again", status: 3, hist: History{cur, cur}, mode: ModeJWKS, skip: SkipCurrent},
		{name: "enabled, other keys, force without reactivate: skipped", status: 1, hist: History{old, old}, mode: ModeJWKS, force: true, skip: SkipEnabled},
		{name: "enabled, no history, force without reactivate: skipped", status: 1, mode: ModeJWKS, force: true, skip: SkipEnabled},
		{name: "enabled, current, force: called again", status: 1, hist: History{cur, cur}, mode: ModeJWKS, force: true, action: ActionReactivate, calls: combined},
		{name: "nonprod only, unknown history, direct: both", status: 3, mode: ModeJWKS, action: ActionComplete, calls: combined},
		{name: "nonprod only, other keys there, direct: both", status: 3, hist: History{NonProd: old}, mode: ModeJWKS, action: ActionComplete, calls: combined},
		{name: "nonprod only, same keys there: production", status: 3, hist: History{NonProd: cur}, mode: ModeJWKS, action: ActionProduction, calls: prodJWKS},
		{name: "nonprod only, same keys, force: both", status: 3, hist: History{NonProd: cur}, mode: ModeJWKS, force: true, action: ActionComplete, calls: combined},
		{name: "nonprod only, jku: production", status: 3, mode: ModeJKU, action: ActionProduction, calls: prodJKU},
		{name: "enabled: skipped", status: 1, mode: ModeJWKS, skip: SkipEnabled},
		{name: "enabled with other keys: skipped", status: 1, hist: History{old, old}, mode: ModeJWKS, skip: SkipEnabled},
		{name: "enabled with these keys: current", status: 1, hist: History{cur, cur}, mode: ModeJWKS, skip: SkipCurrent},
		{name: "enabled, reactivate: both", status: 1, hist: History{jku, jku}, mode: ModeJWKS, reactivate: true, action: ActionReactivate, calls: combined},
		{name: "enabled, reactivate, rotated keys", status: 1, hist: History{old, old}, mode: ModeJWKS, reactivate: true, action: ActionReactivate, calls: combined},
		{name: "enabled, reactivate, already current: no-op", status: 1, hist: History{cur, cur}, mode: ModeJWKS, reactivate: true, skip: SkipCurrent},
		{name: "enabled, reactivate, only prod current: both (never non-production alone)", status: 1, hist: History{old, cur}, mode: ModeJWKS, reactivate: true, action: ActionReactivate, calls: combined},
		{name: "enabled, reactivate split, resumed after non-production: production", status: 1, hist: History{cur, old}, mode: ModeJWKS, split: true, reactivate: true, action: ActionReactivate, calls: prodJWKS},
		{name: "enabled, reactivate, only prod current, force: both", status: 1, hist: History{old, cur}, mode: ModeJWKS, reactivate: true, force: true, action: ActionReactivate, calls: combined},
		{name: "enabled, reactivate, current, force", status: 1, hist: History{cur, cur}, mode: ModeJWKS, reactivate: true, force: true, action: ActionReactivate, calls: combined},
		{name: "enabled, jku recorded, reactivate jku: no-op", status: 1, hist: History{jku, jku}, mode: ModeJKU, reactivate: true, skip: SkipCurrent},
		{name: "enabled, jwks recorded, reactivate jku", status: 1, hist: History{cur, cur}, mode: ModeJKU, reactivate: true, action: ActionReactivate, calls: splitJKU},
		{name: "unknown status never acted on", status: 2, mode: ModeJWKS, reactivate: true, force: true, skip: SkipUnknown},
		{name: "unknown status 7", status: 7, mode: ModeJKU, skip: SkipUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Make(Input{
				Orgs: []Org{{OrgID: "16770", Name: "X", Status: tt.status}}, History: map[string]History{"16770": tt.hist},
				Mode: tt.mode, NonProdKeys: "A", ProdKeys: "A", Split: tt.split, Reactivate: tt.reactivate, Force: tt.force,
			})
			if tt.mode == ModeJKU && err != nil {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			var it Item
			if len(p.Items) == 1 {
				it = p.Items[0]
			} else if len(p.Skipped) == 1 {
				it = p.Skipped[0]
			} else {
				t.Fatalf("plan = %+v", p)
			}
			if it.Action != tt.action || it.Skip != tt.skip {
				t.Fatalf("action %q skip %q (%s); want %q %q", it.Action, it.Skip, it.Reason, tt.action, tt.skip)
			}
			if !reflect.DeepEqual(it.Calls, tt.calls) {
				t.Fatalf("calls = %+v, want %+v", it.Calls, tt.calls)
			}
			if it.Reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestMakeDifferentKeysPerEnvironment(t *testing.T) {
	// Non-production holds this run's non-production keys: only production is needed.
	p, _ := Make(Input{Orgs: []Org{{OrgID: "1", Status: 3}}, Mode: ModeJWKS, NonProdKeys: "N", ProdKeys: "P",
		History: map[string]History{"1": {NonProd: &EnvState{Mode: ModeJWKS, Keys: "N"}}}})
	if p.Items[0].Action != ActionProduction {
		t.Fatalf("got %+v", p.Items[0])
	}
	// Enabled with the production keys in non-production: reactivate.
	p, _ = Make(Input{Orgs: []Org{{OrgID: "1", Status: 1}}, Mode: ModeJWKS, NonProdKeys: "N", ProdKeys: "P", Reactivate: true,
		History: map[string]History{"1": {NonProd: &EnvState{Mode: ModeJWKS, Keys: "P"}, Prod: &EnvState{Mode: ModeJWKS, Keys: "P"}}}})
	if p.Items[0].Action != ActionReactivate {
		t.Fatalf("got %+v", p.Items[0])
	}
}

func TestMakeOnlyOrdersAndCounts(t *testing.T) {
	orgs := []Org{{OrgID: "300", Status: 0}, {OrgID: "20", Status: 0}, {OrgID: "1000", Status: 3}, {OrgID: "5", Status: 1}}
	p, err := Make(Input{Orgs: orgs, Mode: ModeJKU, Only: []string{"1000", "20", "99999"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range p.Items {
		ids = append(ids, it.OrgID)
	}
	if !reflect.DeepEqual(ids, []string{"20", "1000"}) {
		t.Fatalf("items = %v", ids)
	}
	if !reflect.DeepEqual(p.Missing, []string{"99999"}) {
		t.Fatalf("missing = %v", p.Missing)
	}
	if p.Calls() != 3 || p.ActionCounts()[ActionActivate] != 1 || p.ActionCounts()[ActionProduction] != 1 || p.SkipCounts()[SkipNotAsked] != 2 {
		t.Fatalf("calls %d, actions %v, skips %v", p.Calls(), p.ActionCounts(), p.SkipCounts())
	}
}

func TestMakeRefusesBadInput(t *testing.T) {
	if _, err := Make(Input{Mode: "x"}); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := Make(Input{Mode: ModeJWKS}); err == nil {
		t.Error("direct mode without keys accepted")
	}
}

// TestMakeSettle: an upload the portal does not show is trusted for Settle,
// then called again; what the portal does show is never re-called.
func TestMakeSettle(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	recent := &EnvState{Mode: ModeJWKS, Keys: "A", At: now.Add(-10 * time.Minute)}
	old := &EnvState{Mode: ModeJWKS, Keys: "A", At: now.Add(-48 * time.Hour)}
	combined := []Call{{Envs: EnvBoth, SendNonProd: true, SendProd: true}}
	prod := []Call{{Envs: EnvProd, ProdOnly: true, SendProd: true}}
	tests := []struct {
		name   string
		status portal.Status
		hist   History
		now    time.Time
		action string
		skip   string
		calls  []Call
		reset  bool
		reason string
	}{
		{name: "not responded, recent upload: trusted", status: 0, hist: History{recent, recent}, now: now, skip: SkipCurrent},
		{name: "not responded, old upload: called again", status: 0, hist: History{old, old}, now: now, action: ActionActivate, calls: combined, reset: true,
			reason: "non-production and production received these keys on 2026-11-23 12:00 UTC, but the portal still shows not responded"},
		{name: "non-production only, old upload: production again", status: 3, hist: History{old, old}, now: now, action: ActionProduction, calls: prod, reset: true,
			reason: "production received these keys"},
		{name: "non-production only, old non-production upload alone: production", status: 3, hist: History{NonProd: old}, now: now, action: ActionProduction, calls: prod},
		{name: "enabled, old upload: current", status: 1, hist: History{old, old}, now: now, skip: SkipCurrent},
		{name: "not responded, old non-production and recent production: the old date is named", status: 0, hist: History{old, recent}, now: now,
			action: ActionNonProduction, calls: []Call{{Envs: EnvNonProd, NonProdOnly: true, SendNonProd: true}}, reset: true,
			reason: "non-production received these keys on 2026-11-23 12:00 UTC, but the portal still shows not responded"},
		{name: "no clock: trusted for ever", status: 0, hist: History{old, old}, skip: SkipCurrent},
		{name: "no upload time: trusted", status: 0, hist: History{&EnvState{Mode: ModeJWKS, Keys: "A"}, &EnvState{Mode: ModeJWKS, Keys: "A"}}, now: now, skip: SkipCurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Make(Input{Orgs: []Org{{OrgID: "7", Status: tt.status}}, History: map[string]History{"7": tt.hist},
				Mode: ModeJWKS, NonProdKeys: "A", ProdKeys: "A", Now: tt.now, Settle: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			it := append(p.Items, p.Skipped...)[0]
			if it.Action != tt.action || it.Skip != tt.skip || !reflect.DeepEqual(it.Calls, tt.calls) {
				t.Fatalf("got action %q skip %q calls %+v (%s); want %q %q %+v", it.Action, it.Skip, it.Calls, it.Reason, tt.action, tt.skip, tt.calls)
			}
			if it.Reset != tt.reset {
				t.Fatalf("reset = %v, want %v", it.Reset, tt.reset)
			}
			if !strings.Contains(it.Reason, tt.reason) {
				t.Fatalf("reason %q lacks %q", it.Reason, tt.reason)
			}
		})
	}
}
