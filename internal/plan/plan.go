// Package plan decides, for every organization, what an activation run does
// and why. It is pure: it knows nothing of HTTP or SQL, takes the synced
// organizations and what each one last received, and returns the calls to
// make. The same inputs always give the same plan.
//
// The rules:
//   - Not responded (0): activate both environments.
//   - Non-production only (3): activate production; in direct JWKS mode,
//     non-production too when what it last received (mode and key
//     thumbprints) differs from this run's, or is not known.
//   - Keys enabled (1): skipped, unless Reactivate (switching from JWK Set
//     URL to direct JWKS, or rotating keys), which re-activates both
//     environments, or production alone when non-production already holds
//     this run's keys.
//     Skipped orgs that hold this run's keys are reported as current.
//   - Any other status: never acted on.
//   - An environment that last received exactly this run's mode and keys
//     is current and not called again unless Force: re-running with the
//     same keys makes no calls, and a resumed run calls no org twice. Each
//     org gets only the calls for its environments that are not current.
//   - The portal may lag behind what it accepted, so a status that does not
//     yet show a current environment as enabled is trusted to catch up for
//     Settle after the upload. Past that, the portal's word wins: the
//     environment was reset there (or never took), and is called again.
//   - Force alone re-calls current orgs, but never turns an enabled org
//     that this tool did not activate with these keys into a call: that
//     takes Reactivate.
package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// Modes.
const (
	ModeJWKS = "jwks" // direct JWKS upload
	ModeJKU  = "jku"  // the app-level JWK Set URL
)

// Actions.
const (
	ActionActivate   = "activate"   // both environments of a not-responded org
	ActionProduction = "production" // production of a non-production-only org
	ActionComplete   = "complete"   // both environments of a non-production-only org whose keys changed
	ActionReactivate = "reactivate" // both environments of an enabled org
	// ActionNonProduction is non-production alone, when production already
	// received this run's keys (a split run stopped between its calls).
	ActionNonProduction = "nonproduction"
)

// Skip reasons.
const (
	SkipCurrent  = "current"  // already holds this run's mode and keys
	SkipEnabled  = "enabled"  // keys enabled; --reactivate not given
	SkipUnknown  = "unknown"  // unknown status, never acted on
	SkipNotAsked = "excluded" // not in --org
)

// Environments of a call.
const (
	EnvBoth    = "both"
	EnvNonProd = "nonprod"
	EnvProd    = "prod"
)

// Org is an organization as the last sync listed it.
type Org struct {
	OrgID  string
	Name   string
	Status portal.Status
}

// EnvState is what one environment of an org last received successfully.
type EnvState struct {
	Mode string
	Keys string    // sorted thumbprints, comma-separated (empty in JWK Set URL mode)
	At   time.Time // when the portal accepted it
}

// History is what an org's environments last received; nil members are
// unknown (never activated by this tool).
type History struct {
	NonProd *EnvState
	Prod    *EnvState
}

// Input is everything the planner looks at.
type Input struct {
	Orgs        []Org
	History     map[string]History
	Mode        string
	NonProdKeys string // thumbprints of the non-production key set (jwks mode)
	ProdKeys    string // thumbprints of the production key set (jwks mode)
	Split       bool   // direct mode: two calls instead of one combined call
	Reactivate  bool
	Force       bool
	Only        []string // --org: restrict to these OrgIds
	// Now and Settle bound how long an upload the portal does not yet show
	// is trusted: until At+Settle. A zero Now trusts it for ever.
	Now    time.Time
	Settle time.Duration
}

// Call is one ApproveDownload call.
type Call struct {
	Envs        string // both, nonprod, prod
	NonProdOnly bool
	ProdOnly    bool
	// SendNonProd and SendProd say which JWKS fields are filled (jwks mode).
	SendNonProd bool
	SendProd    bool
}

// Item is one organization's planned work.
type Item struct {
	OrgID  string
	Name   string
	Status portal.Status
	Action string // an Action, or "" when skipped
	Skip   string // a Skip reason when skipped
	Reason string // for people
	Calls  []Call
	// Reset is set when the org is called again because the portal, past
	// Settle, still does not show what this tool uploaded there.
	Reset bool
}

// Plan is the whole run's plan.
type Plan struct {
	Mode    string
	Split   bool
	Items   []Item // orgs to act on, in OrgId order
	Skipped []Item
	// Missing lists --org ids that the last sync did not list.
	Missing []string
}

// Calls is the number of ApproveDownload calls the plan makes.
func (p *Plan) Calls() int {
	n := 0
	for _, it := range p.Items {
		n += len(it.Calls)
	}
	return n
}

// ActionCounts counts items per action.
func (p *Plan) ActionCounts() map[string]int {
	m := map[string]int{}
	for _, it := range p.Items {
		m[it.Action]++
	}
	return m
}

// SkipCounts counts skipped orgs per reason.
func (p *Plan) SkipCounts() map[string]int {
	m := map[string]int{}
	for _, it := range p.Skipped {
		m[it.Skip]++
	}
	return m
}

// Make builds the plan.
func Make(in Input) (*Plan, error) {
	if in.Mode != ModeJWKS && in.Mode != ModeJKU {
		return nil, fmt.Errorf("plan: unknown mode %q", in.Mode)
	}
	if in.Mode == ModeJWKS && (in.NonProdKeys == "" || in.ProdKeys == "") {
		return nil, fmt.Errorf("plan: direct JWKS mode needs keys for both environments")
	}
	p := &Plan{Mode: in.Mode, Split: in.Split}
	only := map[string]bool{}
	for _, id := range in.Only {
		only[id] = true
	}
	listed := map[string]bool{}
	orgs := append([]Org(nil), in.Orgs...)
	sort.SliceStable(orgs, func(i, j int) bool { return portal.CompareOrgID(orgs[i].OrgID, orgs[j].OrgID) < 0 })
	for _, o := range orgs {
		listed[o.OrgID] = true
		it := decide(in, o)
		if len(only) > 0 && !only[o.OrgID] {
			it = Item{OrgID: o.OrgID, Name: o.Name, Status: o.Status, Skip: SkipNotAsked, Reason: "not named by --org"}
		}
		if it.Action == "" {
			p.Skipped = append(p.Skipped, it)
		} else {
			p.Items = append(p.Items, it)
		}
	}
	for _, id := range in.Only {
		if !listed[id] {
			p.Missing = append(p.Missing, id)
		}
	}
	sort.Strings(p.Missing)
	return p, nil
}

func decide(in Input, o Org) Item {
	it := Item{OrgID: o.OrgID, Name: o.Name, Status: o.Status}
	h := in.History[o.OrgID]
	npCurrent := current(h.NonProd, in.Mode, in.NonProdKeys)
	pCurrent := current(h.Prod, in.Mode, in.ProdKeys)
	// Where the portal does not show a current environment as enabled, the
	// record is trusted only while the portal may still be catching up.
	var stale []string
	var staleAt time.Time // the newest of the stale uploads
	if npCurrent && o.Status == portal.StatusNotResponded && !in.settling(h.NonProd) {
		npCurrent, stale, staleAt = false, append(stale, "non-production"), h.NonProd.At
	}
	if pCurrent && o.Status != portal.StatusEnabled && !in.settling(h.Prod) {
		pCurrent, stale = false, append(stale, "production")
		if h.Prod.At.After(staleAt) {
			staleAt = h.Prod.At
		}
	}
	switch o.Status {
	case portal.StatusNotResponded, portal.StatusNonProdOnly:
		if npCurrent && pCurrent && !in.Force {
			// The portal may lag behind what it accepted: what this tool
			// recorded as done is not called again (the resume rule).
			it.Skip, it.Reason = SkipCurrent, "both environments received these keys ("+in.Mode+"), though the portal shows "+o.Status.Phrase()+" (--force calls it again)"
			return it
		}
		needNP := !npCurrent || in.Force
		if o.Status == portal.StatusNonProdOnly && in.Mode == ModeJKU {
			needNP = false // non-production already enabled; no keys to change
		}
		needP := !pCurrent || in.Force
		switch {
		case needNP && needP:
			it.Calls = both(in)
			it.Action, it.Reason = ActionActivate, "not responded"
			if o.Status == portal.StatusNonProdOnly {
				it.Action, it.Reason = ActionComplete, "non-production only, and its non-production keys are not this run's"
			}
		case needP:
			it.Calls = []Call{prodCall(in)}
			it.Action, it.Reason = ActionProduction, portal.StatusNonProdOnly.Phrase()
			if o.Status == portal.StatusNotResponded {
				it.Reason = "not responded; non-production already received these keys"
			}
		default:
			it.Calls = []Call{nonProdCall(in)}
			it.Action, it.Reason = ActionNonProduction, "production already received these keys; non-production did not"
		}
		if in.Force && npCurrent && pCurrent {
			it.Reason += " (--force)"
		}
	case portal.StatusEnabled:
		switch {
		case npCurrent && pCurrent && !in.Force:
			it.Skip, it.Reason = SkipCurrent, "already holds these keys ("+in.Mode+")"
		case !in.Reactivate && !(in.Force && npCurrent && pCurrent):
			it.Skip = SkipEnabled
			it.Reason = "keys enabled, not by this tool or with other keys or mode than this run's (use --reactivate to upload these)"
		default:
			// Production alone when only it lacks these keys: a resumed
			// --split run does not call non-production twice.
			it.Action, it.Reason, it.Calls = ActionReactivate, "keys enabled; re-activating", both(in)
			switch {
			case npCurrent && pCurrent:
				it.Reason = "already holds these keys; re-activating (--force)"
			case in.Force:
			case npCurrent:
				// Production alone, as the second call of a split run does.
				// (Never non-production alone at an enabled org: a call with
				// NonProdOnly=true was only seen before a production call.)
				it.Reason, it.Calls = "keys enabled; re-activating production (non-production already holds these keys)", []Call{prodCall(in)}
			}
		}
	default:
		it.Skip, it.Reason = SkipUnknown, "unknown status "+strconv.Itoa(int(o.Status))+": never acted on"
	}
	if len(stale) > 0 && it.Action != "" {
		it.Reset = true
		it.Reason += "; " + strings.Join(stale, " and ") + " received these keys on " + staleAt.UTC().Format("2006-01-02 15:04 UTC") + ", but the portal still shows " + o.Status.Phrase()
	}
	return it
}

// settling reports whether an upload is recent enough that the portal may
// not show it yet.
func (in Input) settling(e *EnvState) bool {
	return in.Now.IsZero() || e.At.IsZero() || in.Now.Sub(e.At) < in.Settle
}

func nonProdCall(in Input) Call {
	return Call{Envs: EnvNonProd, NonProdOnly: true, SendNonProd: in.Mode == ModeJWKS}
}

func current(e *EnvState, mode, keys string) bool {
	if e == nil || e.Mode != mode {
		return false
	}
	return mode == ModeJKU || e.Keys == keys
}

// both activates both environments: one combined call in direct mode, two
// calls (non-production, then production) in JWK Set URL mode or with Split.
func both(in Input) []Call {
	if in.Mode == ModeJWKS && !in.Split {
		return []Call{{Envs: EnvBoth, SendNonProd: true, SendProd: true}}
	}
	jwks := in.Mode == ModeJWKS
	return []Call{
		{Envs: EnvNonProd, NonProdOnly: true, SendNonProd: jwks},
		{Envs: EnvProd, ProdOnly: true, SendProd: jwks},
	}
}

func prodCall(in Input) Call {
	return Call{Envs: EnvProd, ProdOnly: true, SendProd: in.Mode == ModeJWKS}
}
