package probe

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// Why an organization was not probed.
const (
	// SkipWindow: activated less than the propagation window ago.
	SkipWindow = "window"
	// SkipNoEndpoint: no FHIR base URL in the Brands directory.
	SkipNoEndpoint = "no-endpoint"
	// SkipNoAuthorize: no authorization endpoint known for any of its
	// base URLs (smart-configuration never read, or without one).
	SkipNoAuthorize = "no-authorize-endpoint"
)

// Skip is an activated organization the pass did not probe.
type Skip struct {
	OrgID  string `json:"orgId"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// Until is when the propagation window ends (SkipWindow only).
	Until *time.Time `json:"until,omitempty"`
}

// PassOptions configure RunPass.
type PassOptions struct {
	Store *store.Store
	App   store.App
	// RunID is the activation run the pass is part of (0 on its own).
	RunID int64
	// Window is how long after activation an organization is probed
	// (DefaultWindow when zero; negative means at once).
	Window time.Duration
	// Only restricts the pass to these OrgIds when not empty.
	Only []string
	// Probe configures the requests; its OnResult is the pass's own.
	Probe Options
	// Starting, when set, is called with the number of organizations
	// about to be probed, before the first request; not when there are
	// none.
	Starting func(targets int)
	// Probed, when set, is called after each result is stored, one at a
	// time, with how many of the targets are done: progress for a person.
	Probed func(done, targets int, r Result)
}

// Pass is one probe of every eligible organization, stored.
type Pass struct {
	*Summary
	// Targets is how many organizations were to be probed.
	Targets int
	Skipped []Skip
	Started time.Time
	Took    time.Duration
}

// RunPass probes every listed organization with production activated at
// least Window ago, at the first of its FHIR base URLs whose
// smart-configuration names an authorization endpoint, and stores each
// probe as it completes.
func RunPass(ctx context.Context, o PassOptions) (*Pass, error) {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	now := time.Now
	if o.Probe.Now != nil {
		now = o.Probe.Now
	}
	targets, skipped, err := pickTargets(ctx, o.Store, o.App, o.Only, o.Window, now())
	if err != nil {
		return nil, err
	}
	pass := &Pass{Targets: len(targets), Skipped: skipped, Started: now()}
	opts := o.Probe
	done := 0
	opts.OnResult = func(r Result) error {
		app, err := json.Marshal(r.App)
		if err != nil {
			return err
		}
		control, err := json.Marshal(r.Control)
		if err != nil {
			return err
		}
		if err := o.Store.RecordProbe(context.WithoutCancel(ctx), o.App.ID, &store.Probe{OrgID: r.OrgID, RunID: o.RunID, At: r.At,
			ActivatedAt: r.ActivatedAt, BaseURL: r.BaseURL, AuthorizeURL: r.AuthorizeURL, Class: r.Class, Evidence: r.Evidence,
			AppAnswer: string(app), ControlAnswer: string(control), Requests: r.Requests()}); err != nil {
			return err
		}
		done++
		if o.Probed != nil {
			o.Probed(done, len(targets), r)
		}
		return nil
	}
	if len(targets) == 0 {
		pass.Summary = &Summary{PerHost: map[string]int{}}
		return pass, nil
	}
	id, err := o.Store.StartProbePass(ctx, o.App.ID, o.RunID, pass.Started, len(targets))
	if err != nil {
		return nil, err
	}
	if o.Starting != nil {
		o.Starting(len(targets))
	}
	sum, err := Run(ctx, targets, opts)
	pass.Summary = sum
	pass.Took = now().Sub(pass.Started)
	if err != nil {
		// Not finished: status shows the pass as partial.
		return pass, err
	}
	return pass, o.Store.FinishProbePass(ctx, id, now())
}

// pickTargets picks the organizations to probe and says why the others
// with production activated are not.
func pickTargets(ctx context.Context, s *store.Store, app store.App, only []string,
	window time.Duration, now time.Time) ([]Target, []Skip, error) {
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		return nil, nil, err
	}
	ups, err := s.LastUploads(ctx, app.ID)
	if err != nil {
		return nil, nil, err
	}
	eps, err := s.Endpoints(ctx, app.ID)
	if err != nil {
		return nil, nil, err
	}
	var targets []Target
	var skipped []Skip
	since := map[int]map[string]time.Time{} // per status: when each org changed to it
	for _, org := range orgs {
		if org.GoneSince != nil || !portal.Status(org.Status).ProdEnabled() || (len(only) > 0 && !slices.Contains(only, org.OrgID)) {
			continue
		}
		if since[org.Status] == nil {
			if since[org.Status], err = s.StatusSince(ctx, app.ID, org.Status); err != nil {
				return nil, nil, err
			}
		}
		activated := activatedAt(org, ups, since[org.Status])
		if until := activated.Add(window); window > 0 && now.Before(until) {
			skipped = append(skipped, Skip{OrgID: org.OrgID, Name: org.Name, Reason: SkipWindow, Until: &until})
			continue
		}
		list := eps[org.OrgID]
		if len(list) == 0 {
			skipped = append(skipped, Skip{OrgID: org.OrgID, Name: org.Name, Reason: SkipNoEndpoint})
			continue
		}
		i := slices.IndexFunc(list, func(e store.Endpoint) bool { return e.Smart != nil && e.Smart.AuthorizationEndpoint != "" })
		if i < 0 {
			skipped = append(skipped, Skip{OrgID: org.OrgID, Name: org.Name, Reason: SkipNoAuthorize})
			continue
		}
		targets = append(targets, Target{OrgID: org.OrgID, Name: org.Name, BaseURL: list[i].Address,
			AuthorizeURL: list[i].Smart.AuthorizationEndpoint, ActivatedAt: activated})
	}
	return targets, skipped, nil
}

// activatedAt is when production was activated, as far as the state
// database knows: the last upload to production recorded, else when a
// sync saw the organization change to its status, else when it was first
// seen (it arrived enabled).
func activatedAt(org store.Org, ups map[string]*store.Uploaded, since map[string]time.Time) time.Time {
	if u := ups[org.OrgID]; u != nil && u.Prod != nil {
		return u.Prod.At
	}
	if at, ok := since[org.OrgID]; ok {
		return at
	}
	return org.FirstSeen
}

// NotKnownFor returns the organizations found not known although
// production was activated at least age before the probe, the longest
// first.
func (p *Pass) NotKnownFor(age time.Duration) []Result {
	var out []Result
	for _, r := range p.Results {
		if r.Class == NotKnown && r.At.Sub(r.ActivatedAt) >= age {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int { return cmp.Compare(a.ActivatedAt.UnixNano(), b.ActivatedAt.UnixNano()) })
	return out
}

// Counts is the number of results per class, every class present.
func (s *Summary) Counts() map[string]int {
	out := make(map[string]int, len(Classes))
	for _, c := range Classes {
		out[c] = 0
	}
	for _, r := range s.Results {
		out[r.Class]++
	}
	return out
}

// Requests is the number of requests made, and the most made to one host.
func (s *Summary) Requests() (total, busiest int) {
	for _, n := range s.PerHost {
		total += n
		busiest = max(busiest, n)
	}
	return total, busiest
}
