package activate

import (
	"context"
	"fmt"

	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// Resolved is a call an earlier run made without hearing its outcome (the
// process died during the call: kill -9, power loss, a second Ctrl-C, a
// full disk), settled by this run from the portal's listing.
type Resolved struct {
	OrgID string `json:"orgId"`
	Name  string `json:"name"`
	RunID int64  `json:"runId"` // the run that made the call
	Envs  string `json:"envs"`
	// Result is store.ResultUnconfirmed (the portal shows the environments
	// enabled: probably that upload) or store.ResultFailed (it does not:
	// the plan calls the organization again; the call is idempotent).
	Result  string `json:"result"`
	Message string `json:"message"`
}

// resolvePending settles every pending intent against the listing just
// made. It runs under the run lock, so no other run's call is in flight.
func (o *RunOptions) resolvePending(ctx context.Context, listing *orgsync.Report) ([]Resolved, error) {
	pend, err := o.Store.PendingOutcomes(ctx, o.App.ID)
	if err != nil || len(pend) == 0 {
		return nil, err
	}
	listed := make(map[string]store.Org, len(listing.Orgs))
	for _, org := range listing.Orgs {
		listed[org.OrgID] = org
	}
	out := make([]Resolved, 0, len(pend))
	for _, p := range pend {
		org, ok := listed[p.OrgID]
		r := Resolved{OrgID: p.OrgID, Name: org.Name, RunID: p.RunID, Envs: p.Envs}
		at := p.Started.UTC().Format("2006-01-02 15:04 UTC")
		switch {
		case ok && enabledFor(p.Envs, org.Status):
			r.Result = store.ResultUnconfirmed
			r.Message = fmt.Sprintf("probably this upload, unconfirmed: run %d stopped during the call (%s) before its answer was recorded, and the portal then showed %s",
				p.RunID, at, portal.Status(org.Status))
		case ok:
			r.Result = store.ResultFailed
			r.Message = fmt.Sprintf("outcome unknown: run %d stopped during the call (%s) before its answer was recorded, and the portal then showed %s: it is called again",
				p.RunID, at, portal.Status(org.Status))
		default:
			r.Result = store.ResultFailed
			r.Message = fmt.Sprintf("outcome unknown: run %d stopped during the call (%s) before its answer was recorded, and the portal no longer lists the organization",
				p.RunID, at)
		}
		if err := o.Store.ResolveOutcome(context.WithoutCancel(ctx), p.ID, r.Result, r.Message); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// enabledFor reports whether status shows the environments a call set as
// enabled.
func enabledFor(envs string, status int) bool {
	if envs == plan.EnvNonProd {
		return portal.Status(status).NonProdEnabled()
	}
	return portal.Status(status).ProdEnabled()
}
