package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BrandsPath is where the simulator serves its Brands bundle: the path of
// Epic's own (https://open.epic.com/Endpoints/Brands), on the simulator's
// host so that one httptest server plays every part.
const BrandsPath = "/Endpoints/Brands"

// BrandsFHIRPrefix starts the simulated organizations' FHIR base URLs:
// {server}/fhir/{OrgId}/api/FHIR/R4, the shape of Epic's
// (https://host/FHIR/ORG/api/FHIR/R4). Each serves
// .well-known/smart-configuration below it.
const BrandsFHIRPrefix = "/fhir/"

// BrandsOrgIDSystem and BrandsIdentifierSystem are the identifier systems
// of the management OrgId (on Endpoint.managingOrganization) and of the
// brand identifier (the ECMId, on parent Organizations) in Epic's bundle.
const (
	BrandsOrgIDSystem      = "https://fhir.epic.com/Developer/Management/OrganizationId"
	BrandsIdentifierSystem = "https://open.epic.com/brand-identifier"
)

// Shape of the generated directory; the ratios are those seen comparing a
// real 500-organization management page with the real bundle.
const (
	// DefaultBrandsNoEndpointEvery: one organization in 8 has no endpoint
	// (60 of 500 were missing).
	DefaultBrandsNoEndpointEvery = 8
	// DefaultBrandsTwoEndpointsEvery: one in 10 has two endpoints (575
	// endpoints for 444 OrgIds).
	DefaultBrandsTwoEndpointsEvery = 10
	// DefaultBrandsUnknown endpoints name OrgIds the management page does
	// not list (4 were seen).
	DefaultBrandsUnknown = 4
	// DefaultBrandsRenamed organizations carry a former name in the
	// directory (as "Lifespan" became "Brown University Health").
	DefaultBrandsRenamed = 1
	// DefaultBrandsSlowDelay is how long the slow server takes to answer:
	// longer than any sensible client timeout.
	DefaultBrandsSlowDelay = 30 * time.Second
)

// BrandsConfig shapes the simulated public directory. The zero value is
// usable: every empty field takes its default.
type BrandsConfig struct {
	// NoEndpointEvery, TwoEndpointsEvery, Unknown and Renamed override the
	// DefaultBrands... values (a negative Unknown or Renamed means none).
	NoEndpointEvery   int
	TwoEndpointsEvery int
	Unknown           int
	Renamed           int
	// SlowDelay is how long the slow organization's server takes
	// (DefaultBrandsSlowDelay when zero).
	SlowDelay time.Duration
	// Date is the bundle's timestamp (the simulator's clock when zero).
	Date time.Time
}

// BrandsRoles names the organizations that play a part in the directory,
// so tests can assert on them. Every OrgID is one the management page
// lists, except Unknown.
type BrandsRoles struct {
	NoEndpoint   []string // listed, but no endpoint in the bundle
	TwoEndpoints []string // two endpoints each
	Renamed      []string // the directory has a former name
	Unknown      []string // endpoints for OrgIds not on the management page
	// Smart-configuration behaviours of one organization each:
	Slow        string // answers after SlowDelay
	Failing     string // answers 500 every time
	NoRS384     string // lists RS256 but not RS384
	Unsupported string // lists neither RS384 nor RS256, nor private_key_jwt
}

// Brands is the simulated public directory of a Sim: the bundle and the
// organizations' FHIR servers.
type Brands struct {
	s   *Sim
	cfg BrandsConfig

	mu    sync.Mutex
	roles BrandsRoles
	// roleOf maps an OrgID to its smart-configuration behaviour.
	roleOf map[string]string
}

// Smart-configuration behaviours.
const (
	brandsRoleSlow        = "slow"
	brandsRoleFailing     = "failing"
	brandsRoleNoRS384     = "no-rs384"
	brandsRoleUnsupported = "unsupported"
)

// ServeBrands adds the public directory to the simulator: the bundle at
// BrandsPath and each organization's smart-configuration under
// BrandsFHIRPrefix. The bundle is generated at each request from the
// organizations as they are then (renames and arrivals show), and every
// choice is a hash of the seed and the OrgID, so it is stable across
// requests.
//
// Assumptions: the real bundle and the FHIR servers live on other hosts
// than the portal; here they share the simulator's host. The real
// bundle's endpoints are Epic production servers; here their
// smart-configuration documents resemble Epic's, listing private_key_jwt
// and RS384 unless the organization plays a role in BrandsRoles.
func (s *Sim) ServeBrands(cfg BrandsConfig) *Brands {
	if cfg.NoEndpointEvery <= 0 {
		cfg.NoEndpointEvery = DefaultBrandsNoEndpointEvery
	}
	if cfg.TwoEndpointsEvery <= 0 {
		cfg.TwoEndpointsEvery = DefaultBrandsTwoEndpointsEvery
	}
	if cfg.Unknown == 0 {
		cfg.Unknown = DefaultBrandsUnknown
	}
	if cfg.Renamed == 0 {
		cfg.Renamed = DefaultBrandsRenamed
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = DefaultBrandsSlowDelay
	}
	b := &Brands{s: s, cfg: cfg}
	s.Handle("GET "+BrandsPath, http.HandlerFunc(b.handleBundle))
	s.Handle("GET "+BrandsFHIRPrefix+"{path...}", http.HandlerFunc(b.handleSmart))
	return b
}

// Roles returns the parts organizations play in the directory as the
// simulator's organizations are now.
func (b *Brands) Roles() BrandsRoles {
	b.plan()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.roles
}

// brandsHash is the stable per-organization draw every choice uses.
func (b *Brands) hash(salt, orgID string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%s", b.s.cfg.Seed, salt, orgID)
	return h.Sum64()
}

// brandsOrg is one organization as the directory shows it.
type brandsOrg struct {
	OrgID, ECMId, Name string
	Endpoints          int
}

// plan decides, from the current organizations, who plays which part.
func (b *Brands) plan() []brandsOrg {
	orgs := b.s.Orgs()
	out := make([]brandsOrg, 0, len(orgs))
	var withEndpoint []string
	roles := BrandsRoles{}
	for _, o := range orgs {
		d := brandsOrg{OrgID: o.OrgID, ECMId: o.ECMId, Name: o.Name, Endpoints: 1}
		switch {
		case b.hash("none", o.OrgID)%uint64(b.cfg.NoEndpointEvery) == 0:
			d.Endpoints = 0
			roles.NoEndpoint = append(roles.NoEndpoint, o.OrgID)
		case b.hash("two", o.OrgID)%uint64(b.cfg.TwoEndpointsEvery) == 0:
			d.Endpoints = 2
			roles.TwoEndpoints = append(roles.TwoEndpoints, o.OrgID)
		}
		if d.Endpoints > 0 {
			withEndpoint = append(withEndpoint, o.OrgID)
		}
		out = append(out, d)
	}
	// The parts go to the organizations with endpoints in order of a
	// seeded draw: the first four get a server behaviour, the next ones
	// a former name.
	sort.Slice(withEndpoint, func(i, j int) bool {
		return b.hash("role", withEndpoint[i]) < b.hash("role", withEndpoint[j])
	})
	roleOf := make(map[string]string)
	for i, role := range []string{brandsRoleSlow, brandsRoleFailing, brandsRoleNoRS384, brandsRoleUnsupported} {
		if i >= len(withEndpoint) {
			break
		}
		roleOf[withEndpoint[i]] = role
		switch role {
		case brandsRoleSlow:
			roles.Slow = withEndpoint[i]
		case brandsRoleFailing:
			roles.Failing = withEndpoint[i]
		case brandsRoleNoRS384:
			roles.NoRS384 = withEndpoint[i]
		case brandsRoleUnsupported:
			roles.Unsupported = withEndpoint[i]
		}
	}
	renamed := make(map[string]bool)
	for i := 4; i < len(withEndpoint) && len(roles.Renamed) < b.cfg.Renamed; i++ {
		renamed[withEndpoint[i]] = true
		roles.Renamed = append(roles.Renamed, withEndpoint[i])
	}
	sort.Slice(roles.Renamed, func(i, j int) bool { return brandsLess(roles.Renamed[i], roles.Renamed[j]) })
	for i := range out {
		if renamed[out[i].OrgID] {
			out[i].Name = b.formerName(out[i])
		}
	}
	// Endpoints for organizations the management page does not list:
	// OrgIds above every generated one, with brand ids above every ECMId.
	maxID, maxECM := 0, 0
	for _, o := range orgs {
		if n, err := strconv.Atoi(o.OrgID); err == nil && n > maxID {
			maxID = n
		}
		if n, err := strconv.Atoi(o.ECMId); err == nil && n > maxECM {
			maxECM = n
		}
	}
	for i := 0; i < b.cfg.Unknown; i++ {
		d := brandsOrg{
			OrgID:     strconv.Itoa(maxID + 1 + i),
			ECMId:     strconv.Itoa(maxECM + 1 + i),
			Name:      places[int(b.hash("unknown", strconv.Itoa(i))%uint64(len(places)))] + " Community Clinic " + strconv.Itoa(i+1),
			Endpoints: 1,
		}
		roles.Unknown = append(roles.Unknown, d.OrgID)
		out = append(out, d)
	}
	b.mu.Lock()
	b.roles, b.roleOf = roles, roleOf
	b.mu.Unlock()
	return out
}

// formerName is a name the organization plausibly had before: another
// place's health system.
func (b *Brands) formerName(o brandsOrg) string {
	h := b.hash("former", o.OrgID)
	for i := range len(places) {
		p := places[(int(h%uint64(len(places)))+i)%len(places)]
		if !strings.Contains(o.Name, p) {
			return p + " Health Partners"
		}
	}
	return "Former " + o.Name
}

func brandsLess(a, b string) bool {
	na, _ := strconv.Atoi(a)
	nb, _ := strconv.Atoi(b)
	return na < nb
}

// FHIR shapes of what the bundle holds; only what Epic's has.
type (
	brandsIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	brandsReference struct {
		Reference  string            `json:"reference,omitempty"`
		Identifier *brandsIdentifier `json:"identifier,omitempty"`
		Display    string            `json:"display,omitempty"`
	}
	brandsAddress struct {
		Type       string   `json:"type,omitempty"`
		Line       []string `json:"line,omitempty"`
		City       string   `json:"city,omitempty"`
		State      string   `json:"state,omitempty"`
		PostalCode string   `json:"postalCode,omitempty"`
		Country    string   `json:"country,omitempty"`
	}
	brandsCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	brandsResource struct {
		ResourceType         string             `json:"resourceType"`
		ID                   string             `json:"id"`
		Identifier           []brandsIdentifier `json:"identifier,omitempty"`
		Active               *bool              `json:"active,omitempty"`
		Status               string             `json:"status,omitempty"`
		ConnectionType       *brandsCoding      `json:"connectionType,omitempty"`
		Name                 string             `json:"name,omitempty"`
		ManagingOrganization *brandsReference   `json:"managingOrganization,omitempty"`
		PayloadType          []map[string]any   `json:"payloadType,omitempty"`
		Address              any                `json:"address,omitempty"`
		PartOf               *brandsReference   `json:"partOf,omitempty"`
		Endpoint             []brandsReference  `json:"endpoint,omitempty"`
	}
	brandsEntry struct {
		FullURL  string          `json:"fullUrl"`
		Resource *brandsResource `json:"resource"`
	}
)

// brandsUUID makes a stable UUID-shaped id from parts, as Epic's bundle
// identifies resources by urn:uuid.
func (b *Brands) uuid(parts ...string) string {
	h1 := b.hash("uuid1", strings.Join(parts, "/"))
	h2 := b.hash("uuid2", strings.Join(parts, "/"))
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(h1>>32), uint16(h1>>16), uint16(h1)&0xfff, uint16(h2>>48)&0xfff, h2&0xffffffffffff)
}

// BrandsBaseURL is the FHIR base URL of an organization's n-th endpoint (0 or
// 1) on a simulator reached at server.
func BrandsBaseURL(server, orgID string, n int) string {
	base := strings.TrimRight(server, "/") + BrandsFHIRPrefix + orgID
	if n > 0 {
		base += "/alt" + strconv.Itoa(n)
	}
	return base + "/api/FHIR/R4"
}

// handleBundle streams the bundle entry by entry.
func (b *Brands) handleBundle(w http.ResponseWriter, r *http.Request) {
	orgs := b.plan()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	server := scheme + "://" + r.Host
	date := b.cfg.Date
	if date.IsZero() {
		date = b.s.now()
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("Last-Modified", date.UTC().Format(http.TimeFormat))
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `{"resourceType":"Bundle","id":%q,"type":"collection","timestamp":%q,"entry":[`,
		b.uuid("bundle"), date.UTC().Format(time.RFC3339))
	enc := json.NewEncoder(bw)
	first := true
	put := func(res *brandsResource) {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		enc.Encode(brandsEntry{FullURL: "urn:uuid:" + res.ID, Resource: res})
	}
	yes := true
	for _, o := range orgs {
		var epRefs []brandsReference
		for n := 0; n < o.Endpoints; n++ {
			id := b.uuid("endpoint", o.OrgID, strconv.Itoa(n))
			epRefs = append(epRefs, brandsReference{Reference: "urn:uuid:" + id})
			// A second endpoint carries an affiliate's patient-facing
			// name, as many organizations' do; display is always the
			// organization's own name.
			name := o.Name
			if n > 0 {
				name = places[int(b.hash("affiliate", o.OrgID)%uint64(len(places)))] + " Family Medicine"
			}
			put(&brandsResource{
				ResourceType:   "Endpoint",
				ID:             id,
				Status:         "active",
				ConnectionType: &brandsCoding{System: "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", Code: "hl7-fhir-rest"},
				Name:           name,
				ManagingOrganization: &brandsReference{
					Identifier: &brandsIdentifier{System: BrandsOrgIDSystem, Value: o.OrgID},
					Display:    o.Name,
				},
				PayloadType: []map[string]any{{"coding": []brandsCoding{{System: "urn:hl7-org:sdwg:ccda-structuredBody:2.1", Code: "urn:hl7-org:sdwg:ccda-structuredBody:2.1"}}}},
				Address:     BrandsBaseURL(server, o.OrgID, n),
			})
		}
		parentID := b.uuid("brand", o.ECMId)
		put(&brandsResource{
			ResourceType: "Organization",
			ID:           parentID,
			Identifier:   []brandsIdentifier{{System: BrandsIdentifierSystem, Value: o.ECMId}},
			Active:       &yes,
			Name:         o.Name,
			Endpoint:     epRefs,
		})
		// Locations point at their brand with partOf; a few carry an
		// "N-M" brand identifier of their own.
		h := b.hash("subs", o.OrgID)
		for i := 0; i < int(h%4); i++ {
			place := places[int((h>>8)+uint64(i))%len(places)]
			loc := &brandsResource{
				ResourceType: "Organization",
				ID:           b.uuid("location", o.OrgID, strconv.Itoa(i)),
				Active:       &yes,
				Name:         place + " " + []string{"Clinic", "Hospital", "Urgent Care"}[i%3],
				Address: []brandsAddress{{Type: "physical", Line: []string{strconv.Itoa(100+i*7) + " Main St"},
					City: place, State: "WI", PostalCode: fmt.Sprintf("53%03d", (h>>16)%1000), Country: "USA"}},
				PartOf: &brandsReference{Reference: "urn:uuid:" + parentID},
			}
			if (h>>24)%3 == 0 && i == 0 {
				loc.Identifier = []brandsIdentifier{{System: BrandsIdentifierSystem, Value: o.ECMId + "-" + strconv.Itoa(i+1)}}
			}
			put(loc)
		}
	}
	// What the real bundle also holds: an Endpoint that names no
	// management OrgId, and an Organization with no identifier at all.
	put(&brandsResource{ResourceType: "Endpoint", ID: b.uuid("orphan-endpoint"), Status: "active",
		Name: "Patient Access Test Endpoint", Address: strings.TrimRight(server, "/") + BrandsFHIRPrefix + "test/api/FHIR/R4"})
	put(&brandsResource{ResourceType: "Organization", ID: b.uuid("orphan-org"), Active: &yes, Name: "Independent Practice"})
	bw.WriteString("]}\n")
	bw.Flush()
}

// handleSmart answers {base}/.well-known/smart-configuration for the
// organizations' FHIR servers.
func (b *Brands) handleSmart(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	base, ok := strings.CutSuffix(path, "/.well-known/smart-configuration")
	orgID, _, _ := strings.Cut(base, "/")
	if !ok || !strings.HasSuffix(base, "/api/FHIR/R4") {
		writeHTMLError(w, http.StatusNotFound, "Not found", "No FHIR server here.")
		return
	}
	b.mu.Lock()
	if b.roleOf == nil {
		b.mu.Unlock()
		b.plan()
		b.mu.Lock()
	}
	role := b.roleOf[orgID]
	b.mu.Unlock()
	if _, listed := b.s.Org(orgID); !listed && !b.isUnknown(orgID) {
		writeHTMLError(w, http.StatusNotFound, "Not found", "No FHIR server here.")
		return
	}
	switch role {
	case brandsRoleSlow:
		if !wait(r, b.cfg.SlowDelay) {
			SetAnswer(w, AnswerCanceled)
			return
		}
	case brandsRoleFailing:
		SetAnswer(w, Answer5xx)
		writeHTMLError(w, http.StatusInternalServerError, "Server error", "The FHIR server failed.")
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	fhirBase := scheme + "://" + r.Host + BrandsFHIRPrefix + base
	oauth := strings.TrimSuffix(fhirBase, "/api/FHIR/R4") + "/oauth2"
	doc := map[string]any{
		"issuer":                                fhirBase,
		"jwks_uri":                              oauth + "/jwks",
		"authorization_endpoint":                oauth + "/authorize",
		"token_endpoint":                        oauth + "/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384", "RS256"},
		"scopes_supported":         []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access"},
		"response_types_supported": []string{"code"},
		"capabilities": []string{"launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
			"client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient", "permission-offline", "sso-openid-connect"},
		"code_challenge_methods_supported": []string{"S256"},
	}
	switch role {
	case brandsRoleNoRS384:
		doc["token_endpoint_auth_signing_alg_values_supported"] = []string{"RS256"}
	case brandsRoleUnsupported:
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic"}
		doc["token_endpoint_auth_signing_alg_values_supported"] = []string{"ES384"}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

// isUnknown reports whether orgID is one of the directory-only OrgIds.
func (b *Brands) isUnknown(orgID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.roles.Unknown {
		if u == orgID {
			return true
		}
	}
	return false
}
