package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/activator-dev/activator/internal/probe"
	"github.com/activator-dev/activator/internal/store"
)

// ProbeState is an organization's newest probe: whether its authorization
// server knows the app's client id.
type ProbeState struct {
	// Class is live, not-known, inconclusive, unreachable or error.
	Class    string    `json:"class"`
	At       time.Time `json:"at"`
	Evidence string    `json:"evidence"`
	// ActivatedAt is when production was activated, as the probe knew it.
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
}

// ProbeSummary sums up the newest probe of every listed organization.
type ProbeSummary struct {
	// LastAt is the newest probe's time.
	LastAt time.Time `json:"lastAt"`
	// Counts has every class, zero included.
	Counts map[string]int `json:"counts"`
	// NotKnown are the organizations whose newest probe said not known
	// yet, the longest since activation first.
	NotKnown []NotKnownOrg `json:"notKnown"`
	// Partial is set when the newest probe pass has not probed every
	// organization it set out to (still running, stopped, or cut off by
	// its time limit); Probed of Targets it did.
	Partial bool `json:"partial"`
	Probed  int  `json:"passProbed"`
	Targets int  `json:"passTargets"`
}

// NotKnownOrg is an organization whose server did not know the app's
// client id at its newest probe.
type NotKnownOrg struct {
	OrgID       string     `json:"orgId"`
	Name        string     `json:"name"`
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	// SinceActivationHours is how long before the probe production was
	// activated; 0 when the activation time is unknown.
	SinceActivationHours float64   `json:"sinceActivationHours"`
	ProbedAt             time.Time `json:"probedAt"`
	Evidence             string    `json:"evidence"`
}

// SinceActivation is how long before the probe production was activated.
func (n NotKnownOrg) SinceActivation() time.Duration {
	return time.Duration(n.SinceActivationHours * float64(time.Hour))
}

// addProbes attaches each organization's newest probe and sums them up.
func (r *Report) addProbes(ctx context.Context, s *store.Store, app store.App) error {
	last, err := s.LastProbes(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("build report: %w", err)
	}
	if len(last) == 0 {
		return nil
	}
	sum := &ProbeSummary{Counts: map[string]int{}, NotKnown: []NotKnownOrg{}}
	for _, c := range probe.Classes {
		sum.Counts[c] = 0
	}
	for i := range r.Orgs {
		row := &r.Orgs[i]
		p, ok := last[row.OrgID]
		if !ok {
			continue
		}
		st := &ProbeState{Class: p.Class, At: p.At, Evidence: p.Evidence}
		if !p.ActivatedAt.IsZero() {
			at := p.ActivatedAt
			st.ActivatedAt = &at
		}
		row.Probe = st
		if !row.Listed {
			continue
		}
		sum.Counts[p.Class]++
		if p.At.After(sum.LastAt) {
			sum.LastAt = p.At
		}
		if p.Class == probe.NotKnown {
			n := NotKnownOrg{OrgID: row.OrgID, Name: row.Name, ActivatedAt: st.ActivatedAt, ProbedAt: p.At, Evidence: p.Evidence}
			if st.ActivatedAt != nil {
				n.SinceActivationHours = p.At.Sub(*st.ActivatedAt).Hours()
			}
			sum.NotKnown = append(sum.NotKnown, n)
		}
	}
	slices.SortStableFunc(sum.NotKnown, func(a, b NotKnownOrg) int { return cmp.Compare(b.SinceActivationHours, a.SinceActivationHours) })
	pass, err := s.LastProbePass(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("build report: %w", err)
	}
	if pass != nil {
		sum.Partial, sum.Probed, sum.Targets = pass.Partial(), pass.Probed, pass.Targets
	}
	r.Probes = sum
	return nil
}
