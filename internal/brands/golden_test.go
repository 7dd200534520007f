package brands

import (
	"reflect"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

// TestEpicShapeBundle reads a bundle in the exact shape Epic publishes
// (testdata/brands/epic-shape.json): parent brands with a brand-identifier
// and the endpoints they list, facilities pointing at them with partOf,
// endpoints naming the management OrgId and display on
// managingOrganization, several endpoints per OrgId and per address, every
// reference a urn:uuid. Then it applies the name rules to it.
func TestEpicShapeBundle(t *testing.T) {
	dir, err := parseFile(t, "epic-shape.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Entries: 23, Organizations: 13, Endpoints: 10, Unjoined: 1}); dir.Stats != want {
		t.Errorf("stats = %+v, want %+v", dir.Stats, want)
	}
	if want := time.Date(2026, 2, 10, 6, 0, 0, 0, time.UTC); !dir.Date.Equal(want) {
		t.Errorf("date = %v, want %v", dir.Date, want)
	}
	const (
		franklin = "https://fhir.franklinhealth.example.org/FHIR/"
		cascade  = "https://webprd.cascadeccn.example.org/FHIR/api/FHIR/R4"
		lifespan = "https://lsepprdsoap.lifespan.example.org/FHIR/"
		proxy    = "https://epicproxy.sharedhie.example.org/FHIRProxy/api/FHIR/R4"
	)
	wantEndpoints := []Endpoint{
		{OrgID: "7001", Name: "Franklin Memorial Hospital", Names: []string{"Franklin Memorial Hospital"}, Display: "Franklin Health System", Address: franklin + "FMH/api/FHIR/R4", ECMId: "2101"},
		{OrgID: "7001", Name: "Tri-Lakes Family Medicine", Names: []string{"Tri-Lakes Family Medicine"}, Display: "Franklin Health System", Address: franklin + "TLFM/api/FHIR/R4", ECMId: "2102"},
		// Three Endpoint resources on one address: one endpoint, every name kept.
		{OrgID: "7002", Name: "Columbia Gorge Family Clinic", Names: []string{"Columbia Gorge Family Clinic", "Coastal Health Partners", "Cascade Community Clinic Network"}, Address: cascade, ECMId: "2201"},
		{OrgID: "392", Name: "Rhode Island Hospital", Names: []string{"Rhode Island Hospital"}, Display: "Lifespan", Address: lifespan + "api/FHIR/R4", ECMId: "1203"},
		{OrgID: "392", Name: "Lifespan Physician Group", Names: []string{"Lifespan Physician Group"}, Display: "Lifespan", Address: lifespan + "LPG/api/FHIR/R4", ECMId: "1203"},
		// Two OrgIds behind one address.
		{OrgID: "7005", Name: "Valley Regional Medical Center", Names: []string{"Valley Regional Medical Center"}, Display: "Valley Regional Medical Center", Address: proxy, ECMId: "2301"},
		{OrgID: "7006", Name: "Northshore Pediatrics", Names: []string{"Northshore Pediatrics"}, Display: "Northshore Pediatric Associates", Address: proxy, ECMId: "2301"},
	}
	if !reflect.DeepEqual(dir.Endpoints, wantEndpoints) {
		t.Errorf("endpoints:\n got %+v\nwant %+v", dir.Endpoints, wantEndpoints)
	}
	wantBrands := []Brand{
		{ECMId: "1203", Name: "Lifespan", SubOrgs: 1},
		{ECMId: "2101", Name: "Franklin Memorial Hospital", SubOrgs: 2}, // a partOf facility and a "2101-1"
		{ECMId: "2102", Name: "Tri-Lakes Family Medicine", SubOrgs: 1},
		{ECMId: "2201", Name: "Columbia Gorge Family Clinic", SubOrgs: 1},
		{ECMId: "2202", Name: "Coastal Health Partners", SubOrgs: 1},
		{ECMId: "2203", Name: "Cascade Community Clinic Network"},
		{ECMId: "2301", Name: "Valley Regional Medical Center"},
	}
	if !reflect.DeepEqual(dir.Brands, wantBrands) {
		t.Errorf("brands:\n got %+v\nwant %+v", dir.Brands, wantBrands)
	}

	// The management page's names: only Brown University Health, still
	// "Lifespan" in the directory, differs.
	data := dir.StoreData("epic-shape.json", time.Now())
	eps := map[string][]store.Endpoint{}
	for _, e := range data.Endpoints {
		eps[e.OrgID] = append(eps[e.OrgID], e)
	}
	brands := map[string]store.Brand{}
	for _, b := range data.Brands {
		brands[b.ECMId] = b
	}
	orgs := []store.Org{
		{OrgID: "392", Name: "Brown University Health", ECMId: "1203", Status: 1},
		{OrgID: "7001", Name: "Franklin Health System", ECMId: "2101", Status: 1},
		{OrgID: "7002", Name: "Cascade Community Clinic Network", ECMId: "2203", Status: 1},
		{OrgID: "7005", Name: "Valley Regional Medical Center", ECMId: "2301", Status: 3},
		{OrgID: "7006", Name: "Northshore Pediatric Associates", ECMId: "", Status: 0},
	}
	r := CrossReference(orgs, eps, brands)
	want := []Rename{{OrgID: "392", ECMId: "1203", Name: "Brown University Health", Directory: "Lifespan", Source: "display",
		Displays: []string{"Lifespan"}, EndpointNames: []string{"Rhode Island Hospital", "Lifespan Physician Group"}, Brand: "Lifespan"}}
	if !reflect.DeepEqual(r.Renamed, want) {
		t.Errorf("renamed:\n got %+v\nwant %+v", r.Renamed, want)
	}
	if r.Listed != 5 || r.WithEndpoint != 5 || len(r.NoEndpoint) != 0 || len(r.Unknown) != 0 {
		t.Errorf("report %+v", r)
	}
}
