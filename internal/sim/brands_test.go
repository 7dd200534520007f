package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// brandsBundle is the part of a FHIR Bundle the tests look at.
type brandsBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Timestamp    string `json:"timestamp"`
	Entry        []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ResourceType string             `json:"resourceType"`
			ID           string             `json:"id"`
			Name         string             `json:"name"`
			Identifier   []brandsIdentifier `json:"identifier"`
			Address      json.RawMessage    `json:"address"`
			Managing     *brandsReference   `json:"managingOrganization"`
			PartOf       *brandsReference   `json:"partOf"`
			Endpoint     []brandsReference  `json:"endpoint"`
		} `json:"resource"`
	} `json:"entry"`
}

func getBrandsBundle(t *testing.T, url string) brandsBundle {
	t.Helper()
	resp, err := http.Get(url + BrandsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/fhir+json") {
		t.Fatalf("bundle: HTTP %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var b brandsBundle
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBrandsBundleShape(t *testing.T) {
	date := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)
	s := New(Config{Orgs: 200, Seed: 3})
	br := s.ServeBrands(BrandsConfig{Date: date})
	srv := httptest.NewServer(s)
	defer srv.Close()
	b := getBrandsBundle(t, srv.URL)
	roles := br.Roles()

	if b.ResourceType != "Bundle" || b.Type != "collection" || b.Timestamp != "2026-02-10T08:00:00Z" {
		t.Fatalf("bundle header: %s %s %s", b.ResourceType, b.Type, b.Timestamp)
	}
	endpointsOf := map[string][]string{} // OrgID -> addresses
	endpointByRef := map[string]string{} // urn -> OrgID
	parents := map[string]string{}       // ECMId -> name
	parentRefs := map[string]bool{}
	var partOf []string
	subIDs := 0
	unjoined := 0
	for _, e := range b.Entry {
		r := e.Resource
		if e.FullURL != "urn:uuid:"+r.ID {
			t.Errorf("fullUrl %q does not name resource %q", e.FullURL, r.ID)
		}
		switch r.ResourceType {
		case "Endpoint":
			var addr string
			if err := json.Unmarshal(r.Address, &addr); err != nil {
				t.Fatalf("endpoint address %s: %v", r.Address, err)
			}
			if r.Managing == nil || r.Managing.Identifier == nil || r.Managing.Identifier.System != BrandsOrgIDSystem {
				unjoined++
				continue
			}
			id := r.Managing.Identifier.Value
			endpointsOf[id] = append(endpointsOf[id], addr)
			endpointByRef[e.FullURL] = id
		case "Organization":
			switch {
			case len(r.Identifier) > 0 && !strings.Contains(r.Identifier[0].Value, "-"):
				if r.Identifier[0].System != BrandsIdentifierSystem {
					t.Errorf("brand identifier system %q", r.Identifier[0].System)
				}
				parents[r.Identifier[0].Value] = r.Name
				parentRefs[e.FullURL] = true
				for _, ep := range r.Endpoint {
					if _, ok := endpointByRef[ep.Reference]; !ok {
						t.Errorf("brand %s lists endpoint %s that is not in the bundle before it", r.Name, ep.Reference)
					}
				}
			case len(r.Identifier) > 0:
				subIDs++
			}
			if r.PartOf != nil {
				partOf = append(partOf, r.PartOf.Reference)
			}
		default:
			t.Errorf("unexpected resource type %s", r.ResourceType)
		}
	}
	if unjoined != 1 {
		t.Errorf("%d endpoints name no OrgId, want the 1 planted", unjoined)
	}
	for _, ref := range partOf {
		if !parentRefs[ref] {
			t.Errorf("partOf %s names no parent brand", ref)
		}
	}
	if len(partOf) == 0 || subIDs == 0 {
		t.Errorf("no sub-organizations: %d partOf, %d N-M identifiers", len(partOf), subIDs)
	}

	// Every listed org is in the bundle as planned, with its ECMId as brand.
	noEndpoint, two := 0, 0
	for _, o := range s.Orgs() {
		eps := endpointsOf[o.OrgID]
		switch {
		case brandsContains(roles.NoEndpoint, o.OrgID):
			noEndpoint++
			if len(eps) != 0 {
				t.Errorf("org %s should have no endpoint, has %v", o.OrgID, eps)
			}
		case brandsContains(roles.TwoEndpoints, o.OrgID):
			two++
			if len(eps) != 2 || eps[0] == eps[1] {
				t.Errorf("org %s should have two endpoints, has %v", o.OrgID, eps)
			}
		default:
			if len(eps) != 1 || eps[0] != BrandsBaseURL(srv.URL, o.OrgID, 0) {
				t.Errorf("org %s endpoints %v", o.OrgID, eps)
			}
		}
		name, ok := parents[o.ECMId]
		switch {
		case !ok:
			t.Errorf("org %s: no parent brand %s", o.OrgID, o.ECMId)
		case brandsContains(roles.Renamed, o.OrgID) == (name == o.Name):
			t.Errorf("org %s: brand name %q vs %q (renamed: %v)", o.OrgID, name, o.Name, brandsContains(roles.Renamed, o.OrgID))
		}
	}
	// About one in 8 has no endpoint, one in 10 two (200 orgs).
	if noEndpoint < 10 || noEndpoint > 45 || two < 8 || two > 40 {
		t.Errorf("%d orgs without endpoint and %d with two: not the planned ratios", noEndpoint, two)
	}
	if len(roles.Unknown) != DefaultBrandsUnknown || len(roles.Renamed) != DefaultBrandsRenamed {
		t.Errorf("roles = %+v", roles)
	}
	for _, id := range roles.Unknown {
		if _, listed := s.Org(id); listed || len(endpointsOf[id]) != 1 {
			t.Errorf("unknown org %s: listed=%v endpoints=%v", id, listed, endpointsOf[id])
		}
	}
	parts := []string{roles.Slow, roles.Failing, roles.NoRS384, roles.Unsupported}
	sorted := append([]string(nil), parts...)
	sort.Strings(sorted)
	for i, p := range sorted {
		if p == "" || (i > 0 && p == sorted[i-1]) {
			t.Errorf("server parts not given to four distinct orgs: %v", parts)
		}
	}
}

func brandsContains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func TestBrandsBundleIsStable(t *testing.T) {
	s := New(Config{Orgs: 50, Seed: 9})
	br := s.ServeBrands(BrandsConfig{Date: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)})
	srv := httptest.NewServer(s)
	defer srv.Close()
	first, firstRoles := getBrandsBundle(t, srv.URL), br.Roles()
	second, secondRoles := getBrandsBundle(t, srv.URL), br.Roles()
	if !reflect.DeepEqual(first, second) || !reflect.DeepEqual(firstRoles, secondRoles) {
		t.Error("two requests gave different bundles")
	}
	// A rename on the portal shows in the next bundle.
	o := s.Orgs()[0]
	s.RenameOrg(o.OrgID, "Brand New Name Health")
	third := getBrandsBundle(t, srv.URL)
	found := false
	for _, e := range third.Entry {
		if e.Resource.ResourceType == "Organization" && e.Resource.Name == "Brand New Name Health" {
			found = true
		}
	}
	if !found && !brandsContains(firstRoles.Renamed, o.OrgID) {
		t.Error("the rename did not reach the bundle")
	}
}

func TestBrandsSmartConfiguration(t *testing.T) {
	s := New(Config{Orgs: 60, Seed: 5})
	br := s.ServeBrands(BrandsConfig{SlowDelay: 300 * time.Millisecond})
	srv := httptest.NewServer(s)
	defer srv.Close()
	roles := br.Roles()
	var normal string
	for _, o := range s.Orgs() {
		if !brandsContains([]string{roles.Slow, roles.Failing, roles.NoRS384, roles.Unsupported}, o.OrgID) {
			normal = o.OrgID
			break
		}
	}
	type doc struct {
		Token   string   `json:"token_endpoint"`
		Methods []string `json:"token_endpoint_auth_methods_supported"`
		Algs    []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	}
	tests := []struct {
		name        string
		path        string
		wantStatus  int
		wantMethods []string
		wantAlgs    []string
		minDelay    time.Duration
	}{
		{name: "normal", path: BrandsBaseURL("", normal, 0), wantStatus: 200,
			wantMethods: []string{"client_secret_post", "client_secret_basic", "private_key_jwt"}, wantAlgs: []string{"RS384", "ES384", "RS256"}},
		{name: "second endpoint", path: BrandsBaseURL("", normal, 1), wantStatus: 200,
			wantMethods: []string{"client_secret_post", "client_secret_basic", "private_key_jwt"}, wantAlgs: []string{"RS384", "ES384", "RS256"}},
		{name: "no RS384", path: BrandsBaseURL("", roles.NoRS384, 0), wantStatus: 200,
			wantMethods: []string{"client_secret_post", "client_secret_basic", "private_key_jwt"}, wantAlgs: []string{"RS256"}},
		{name: "unsupported", path: BrandsBaseURL("", roles.Unsupported, 0), wantStatus: 200,
			wantMethods: []string{"client_secret_basic"}, wantAlgs: []string{"ES384"}},
		{name: "failing", path: BrandsBaseURL("", roles.Failing, 0), wantStatus: 500},
		{name: "slow", path: BrandsBaseURL("", roles.Slow, 0), wantStatus: 200, minDelay: 300 * time.Millisecond,
			wantMethods: []string{"client_secret_post", "client_secret_basic", "private_key_jwt"}, wantAlgs: []string{"RS384", "ES384", "RS256"}},
		{name: "unknown org", path: BrandsBaseURL("", "99999999", 0), wantStatus: 404},
		{name: "not a smart path", path: BrandsFHIRPrefix + normal + "/metadata", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := srv.URL + tc.path
			if !strings.HasSuffix(tc.path, "/metadata") {
				url += "/.well-known/smart-configuration"
			}
			start := time.Now()
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if d := time.Since(start); d < tc.minDelay {
				t.Errorf("answered in %s, want at least %s", d, tc.minDelay)
			}
			if tc.wantStatus != 200 {
				return
			}
			var d doc
			if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Methods, tc.wantMethods) || !reflect.DeepEqual(d.Algs, tc.wantAlgs) || !strings.HasSuffix(d.Token, "/oauth2/token") {
				t.Errorf("document = %+v", d)
			}
		})
	}
	// The slow server gives up when the client does.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+BrandsBaseURL("", roles.Slow, 0)+"/.well-known/smart-configuration", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("the slow server answered within 50ms")
	}
	// Requests to the directory are recorded like any other.
	var smartCalls int
	for _, c := range s.Calls() {
		if strings.HasSuffix(c.Path, "/.well-known/smart-configuration") {
			smartCalls++
		}
	}
	if smartCalls < len(tests)-1 {
		t.Errorf("%d smart-configuration calls recorded, want at least %d", smartCalls, len(tests)-1)
	}
}

// TestBrandsTokenEndpointsExist: the token_endpoint every
// smart-configuration lists is one the simulated organizations answer at,
// for each of their endpoints.
func TestBrandsTokenEndpointsExist(t *testing.T) {
	s := New(Config{Orgs: 30, Seed: 2})
	br := s.ServeBrands(BrandsConfig{})
	s.ServeTokens(TokenConfig{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	roles := br.Roles()
	if len(roles.TwoEndpoints) == 0 {
		t.Fatal("no organization with two endpoints to try")
	}
	org := roles.TwoEndpoints[0]
	for n := range 2 {
		resp, err := http.Get(BrandsBaseURL(srv.URL, org, n) + "/.well-known/smart-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Token string `json:"token_endpoint"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || doc.Token == "" {
			t.Fatalf("endpoint %d: no token_endpoint (%v)", n, err)
		}
		tok, err := http.PostForm(doc.Token, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok.Body.Close()
		if tok.StatusCode == http.StatusNotFound || !strings.HasPrefix(tok.Header.Get("Content-Type"), "application/json") {
			t.Errorf("endpoint %d: %s answered HTTP %d %s, want an OAuth error", n, doc.Token, tok.StatusCode, tok.Header.Get("Content-Type"))
		}
	}
}
