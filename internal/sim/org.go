package sim

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Approved values the portal reports in a download.
const (
	ApprovedNone    = 0 // the vendor has not responded
	ApprovedBoth    = 1 // keys enabled in both environments
	ApprovedNonProd = 3 // non-production only
	// ApprovedDeclined stands for the values the portal's notes call
	// unknown (the UI has a Decline button); the simulator gives it to a
	// couple of organizations so clients prove they leave them alone.
	ApprovedDeclined = 2
)

// CredentialMode is how an environment of an organization holds the app's
// public keys.
type CredentialMode string

// Credential modes of one environment.
const (
	// ModeNone: the environment has no client credential.
	ModeNone CredentialMode = ""
	// ModeJWKSURL: the organization fetches the app-level JWK Set URL
	// itself, which fails where its servers may not make outbound requests.
	ModeJWKSURL CredentialMode = "jwks-url"
	// ModeJWKS: the public keys were uploaded to the organization.
	ModeJWKS CredentialMode = "jwks"
)

// Org is the state of one organization's download of the app, as the
// simulator holds it. Values are copies: changing one changes nothing.
type Org struct {
	// OrgID is the management OrgId: a positive integer in decimal.
	OrgID string
	// ECMId is a different number, the brand identifier; never an OrgID.
	ECMId string
	Name  string
	// Approved is what LoadDownloads reports (see the Approved... values).
	Approved int
	// NonProd and Prod report whether each environment has a credential.
	NonProd, Prod bool
	// NonProdMode and ProdMode say how each environment holds the keys.
	NonProdMode, ProdMode CredentialMode
	// TestJWKS and ProdJWKS are the stored key sets as the portal stores
	// them: re-serialised PascalCase with .NET framework members. Empty
	// unless the environment's mode is ModeJWKS.
	TestJWKS, ProdJWKS string
	// NonProdChanged and ProdChanged are when each environment's
	// credential last changed; key changes take time to reach the
	// organization's systems.
	NonProdChanged, ProdChanged time.Time
	// Straggler organizations refuse every activation ("Failed to register
	// client for download.").
	Straggler bool
	// OutboundBlocked organizations may not make outbound HTTPS requests,
	// so the JWK Set URL mode fails there when a token is requested.
	OutboundBlocked bool
	// AutoSync reports that the download arrived through auto-sync.
	AutoSync bool
	// Arrived is when the download appeared on the portal.
	Arrived time.Time
}

// org is the simulator's mutable record of one organization.
type org struct {
	Org
	num int // OrgID as a number, the listing order
}

// approvedFor is the Approved value the portal reports for a pair of
// enabled environments.
func approvedFor(nonProd, prod bool) int {
	switch {
	case nonProd && prod:
		return ApprovedBoth
	case nonProd:
		return ApprovedNonProd
	default:
		return ApprovedNone
	}
}

// parseOrgID checks that an OrgID is a positive decimal integer.
func parseOrgID(id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 || strconv.Itoa(n) != id {
		return 0, fmt.Errorf("OrgID %q is not a positive whole number; use the digits before the underscore of a download Id", id)
	}
	return n, nil
}

// Org returns the current state of one organization.
func (s *Sim) Org(orgID string) (Org, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return Org{}, false
	}
	return o.Org, true
}

// Orgs returns every organization in listing order (by numeric OrgID).
func (s *Sim) Orgs() []Org {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Org, len(s.order))
	for i, o := range s.order {
		out[i] = o.Org
	}
	return out
}

// Stragglers returns the OrgIDs of the organizations that refuse every
// activation, in listing order.
func (s *Sim) Stragglers() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, o := range s.order {
		if o.Straggler {
			out = append(out, o.OrgID)
		}
	}
	return out
}

// AddOrg makes an organization arrive, as auto-sync does overnight. It may
// arrive already enabled: Approved 1 or 3 with no environment flags set
// enables the matching environments in JWK Set URL mode. An existing OrgID
// is replaced. An empty ECMId gets a fresh distinct one, an empty Name a
// generated one. TestJWKS and ProdJWKS are kept exactly as given (tests
// may store either the uploaded or the portal's form). An Org whose OrgID
// or ECMId is not a positive whole number is ignored; the /_sim/orgs route
// reports that as an error instead.
func (s *Sim) AddOrg(o Org) {
	_ = s.addOrg(o)
}

// addOrg is AddOrg with the reason an Org was refused.
func (s *Sim) addOrg(o Org) error {
	num, err := parseOrgID(o.OrgID)
	if err != nil {
		return err
	}
	if o.ECMId != "" {
		if _, err := parseOrgID(o.ECMId); err != nil {
			return fmt.Errorf("ECMId %q is not a positive whole number; leave it empty to get a fresh one", o.ECMId)
		}
	}
	now := s.now()
	if o.Approved == ApprovedBoth && !o.NonProd && !o.Prod {
		o.NonProd, o.Prod = true, true
	}
	if o.Approved == ApprovedNonProd && !o.NonProd && !o.Prod {
		o.NonProd = true
	}
	if o.NonProd && o.NonProdMode == ModeNone {
		o.NonProdMode = ModeJWKSURL
	}
	if o.Prod && o.ProdMode == ModeNone {
		o.ProdMode = ModeJWKSURL
	}
	if o.Arrived.IsZero() {
		o.Arrived = now
	}
	o.AutoSync = true

	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.orgs[o.OrgID]; ok {
		if o.ECMId == "" {
			o.ECMId = old.ECMId
		}
		if o.Name == "" {
			o.Name = old.Name
		}
		delete(s.ecmIDs, old.ECMId)
		s.removeLocked(o.OrgID)
	}
	if o.ECMId == "" || s.ecmIDs[o.ECMId] {
		o.ECMId = s.freshECMLocked()
	}
	if o.Name == "" {
		o.Name = "Organization " + o.OrgID
	}
	rec := &org{Org: o, num: num}
	s.orgs[o.OrgID] = rec
	s.ecmIDs[o.ECMId] = true
	i := sort.Search(len(s.order), func(i int) bool { return s.order[i].num >= num })
	s.order = append(s.order, nil)
	copy(s.order[i+1:], s.order[i:])
	s.order[i] = rec
	return nil
}

// freshECMLocked returns an ECMId used by no organization and equal to no
// OrgID, so a client that sends an ECMId as an OrgId is always caught.
func (s *Sim) freshECMLocked() string {
	for {
		s.nextECM++
		id := strconv.Itoa(s.nextECM)
		if !s.ecmIDs[id] && s.orgs[id] == nil {
			return id
		}
	}
}

// errNoOrg reports an OrgID the simulator does not hold.
var errNoOrg = errors.New("no such organization")

// RenameOrg changes an organization's name; its OrgID stays (as when
// "Lifespan" became "Brown University Health"). Unknown OrgIDs are ignored.
func (s *Sim) RenameOrg(orgID, name string) {
	_ = s.renameOrg(orgID, name)
}

// renameOrg is RenameOrg reporting an unknown OrgID.
func (s *Sim) renameOrg(orgID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return fmt.Errorf("rename %s: %w", orgID, errNoOrg)
	}
	o.Name = name
	return nil
}

// RemoveOrg withdraws an organization's download. Unknown OrgIDs are
// ignored.
func (s *Sim) RemoveOrg(orgID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orgs[orgID]; ok {
		delete(s.ecmIDs, o.ECMId)
		s.removeLocked(orgID)
	}
}

// removeLocked drops an organization from the map and the listing order.
func (s *Sim) removeLocked(orgID string) {
	o := s.orgs[orgID]
	delete(s.orgs, orgID)
	i := sort.Search(len(s.order), func(i int) bool { return s.order[i].num >= o.num })
	if i < len(s.order) && s.order[i] == o {
		s.order = append(s.order[:i], s.order[i+1:]...)
	}
}

// SetApproved forces the Approved value of an organization, as a change
// made in the portal's UI would. 1, 3 and 0 also set the environment flags
// to match (enabling in JWK Set URL mode, or clearing credentials); any
// other value leaves the flags alone. Unknown OrgIDs are ignored.
func (s *Sim) SetApproved(orgID string, v int) {
	_ = s.setApproved(orgID, v)
}

// setApproved is SetApproved reporting an unknown OrgID.
func (s *Sim) setApproved(orgID string, v int) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return fmt.Errorf("set approved %s: %w", orgID, errNoOrg)
	}
	o.Approved = v
	switch v {
	case ApprovedBoth:
		o.setEnv(true, ModeJWKSURL, "", now, true)
		o.setEnv(false, ModeJWKSURL, "", now, true)
	case ApprovedNonProd:
		o.setEnv(true, ModeJWKSURL, "", now, true)
		o.setEnv(false, ModeNone, "", now, false)
	case ApprovedNone:
		o.setEnv(true, ModeNone, "", now, false)
		o.setEnv(false, ModeNone, "", now, false)
	}
	return nil
}

// setEnv records the credential of one environment, keeping the existing
// mode when it is unchanged so a no-op does not restart key propagation.
func (o *org) setEnv(nonProd bool, mode CredentialMode, jwks string, at time.Time, enabled bool) {
	if nonProd {
		if o.NonProdMode != mode || o.TestJWKS != jwks || o.NonProd != enabled {
			o.NonProdChanged = at
		}
		o.NonProd, o.NonProdMode, o.TestJWKS = enabled, mode, jwks
		return
	}
	if o.ProdMode != mode || o.ProdJWKS != jwks || o.Prod != enabled {
		o.ProdChanged = at
	}
	o.Prod, o.ProdMode, o.ProdJWKS = enabled, mode, jwks
}
