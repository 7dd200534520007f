package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleBrands(source string, at time.Time) *BrandsData {
	return &BrandsData{
		Import: BrandsImport{ImportedAt: at, Source: source, BundleDate: time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC),
			Organizations: 18, Endpoints: 11, Brands: 2, Unjoined: 2},
		Endpoints: []Endpoint{
			{OrgID: "1696", Address: "https://b/R4", Name: "Access", ECMId: "762"},
			{OrgID: "1696", Address: "https://a/R4", Name: "Access", ECMId: "762"},
			{OrgID: "525", Address: "https://c/R4", Name: "Acumen", Names: []string{"Acumen", "Acumen Clinics"}, Display: "Acumen Physician Solutions"},
			{OrgID: "525", Address: "https://c/R4", Name: "Acumen duplicate"}, // same key: kept once
		},
		Brands: []Brand{{ECMId: "762", Name: "Access", SubOrgs: 4}, {ECMId: "1041", Name: "Acumen"}},
	}
}

func TestReplaceBrandsAndRead(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, err := s.App(ctx, "https://fhir.epic.com", "50741")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.App(ctx, "https://fhir.epic.com", "99999")

	if im, err := s.LastBrandsImport(ctx, app.ID); err != nil || im != nil {
		t.Fatalf("before any import: %+v, %v; want nil, nil", im, err)
	}
	at := time.Date(2026, 2, 11, 9, 0, 0, 0, time.UTC)
	if _, err := s.ReplaceBrands(ctx, app.ID, sampleBrands("brands.json", at)); err != nil {
		t.Fatal(err)
	}
	im, err := s.LastBrandsImport(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantIm := BrandsImport{ID: im.ID, ImportedAt: at, Source: "brands.json", BundleDate: time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC),
		Organizations: 18, Endpoints: 11, Brands: 2, Unjoined: 2}
	if !reflect.DeepEqual(*im, wantIm) {
		t.Errorf("import = %+v, want %+v", *im, wantIm)
	}
	eps, err := s.Endpoints(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEps := map[string][]Endpoint{
		"525": {{OrgID: "525", Address: "https://c/R4", Name: "Acumen", Names: []string{"Acumen", "Acumen Clinics"}, Display: "Acumen Physician Solutions"}},
		// Without names given, the one name is read back as the list.
		"1696": {{OrgID: "1696", Address: "https://a/R4", Name: "Access", Names: []string{"Access"}, ECMId: "762"}, {OrgID: "1696", Address: "https://b/R4", Name: "Access", Names: []string{"Access"}, ECMId: "762"}},
	}
	if !reflect.DeepEqual(eps, wantEps) {
		t.Errorf("endpoints = %+v, want %+v", eps, wantEps)
	}
	brands, err := s.Brands(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (map[string]Brand{"762": {ECMId: "762", Name: "Access", SubOrgs: 4}, "1041": {ECMId: "1041", Name: "Acumen"}}); !reflect.DeepEqual(brands, want) {
		t.Errorf("brands = %+v, want %+v", brands, want)
	}
	// Another app sees nothing.
	if eps, _ := s.Endpoints(ctx, other.ID); len(eps) != 0 {
		t.Errorf("other app sees %d endpoints", len(eps))
	}

	// Smart configuration checks attach to endpoints and survive a new import.
	check := SmartConfig{Address: "https://c/R4", CheckedAt: at, Answered: true, TokenEndpoint: "https://c/token",
		AuthorizationEndpoint: "https://c/authorize", AuthMethods: []string{"private_key_jwt"}, SigningAlgs: []string{"RS384", "RS256"}}
	if err := s.RecordSmartConfig(ctx, app.ID, check); err != nil {
		t.Fatal(err)
	}
	failed := SmartConfig{Address: "https://a/R4", CheckedAt: at, Error: "no answer within 10s"}
	if err := s.RecordSmartConfig(ctx, app.ID, failed); err != nil {
		t.Fatal(err)
	}
	// A second check of the same address replaces the first.
	check.SigningAlgs = []string{"RS384"}
	if err := s.RecordSmartConfig(ctx, app.ID, check); err != nil {
		t.Fatal(err)
	}
	next := sampleBrands("https://open.epic.com/Endpoints/Brands", at.Add(time.Hour))
	next.Endpoints = next.Endpoints[:3]
	next.Endpoints[0].Name = "Access Renamed"
	next.Import.BundleDate = time.Time{}
	if _, err := s.ReplaceBrands(ctx, app.ID, next); err != nil {
		t.Fatal(err)
	}
	eps, err = s.Endpoints(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := eps["525"][0].Smart
	if c == nil || !reflect.DeepEqual(*c, check) {
		t.Errorf("smart config of 525 = %+v, want %+v", c, check)
	}
	a := eps["1696"][0].Smart
	if a == nil || a.Error != "no answer within 10s" || a.Answered || len(a.AuthMethods) != 0 || a.AuthMethods == nil {
		t.Errorf("smart config of 1696 = %+v", a)
	}
	if eps["1696"][1].Name != "Access Renamed" {
		t.Errorf("the new import did not replace the endpoints: %+v", eps["1696"])
	}
	im, _ = s.LastBrandsImport(ctx, app.ID)
	if im.Source != "https://open.epic.com/Endpoints/Brands" || !im.BundleDate.IsZero() {
		t.Errorf("last import = %+v", im)
	}
}

// TestReplaceBrandsIsAtomic proves a failing replacement leaves the stored
// directory as it was.
func TestReplaceBrandsIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, _ := s.App(ctx, "https://fhir.epic.com", "50741")
	at := time.Date(2026, 2, 11, 9, 0, 0, 0, time.UTC)
	if _, err := s.ReplaceBrands(ctx, app.ID, sampleBrands("first.json", at)); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Endpoints(ctx, app.ID)
	// A row that fails half way through, after the old rows were deleted
	// and some new ones inserted.
	if _, err := s.db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON brand_endpoints WHEN NEW.org_id = 'boom'
		BEGIN SELECT RAISE(ABORT, 'refused row'); END`); err != nil {
		t.Fatal(err)
	}
	bad := sampleBrands("second.json", at)
	for i := range bad.Endpoints {
		bad.Endpoints[i].Name = "Changed"
	}
	bad.Endpoints = append(bad.Endpoints, Endpoint{OrgID: "boom", Address: "https://x/R4"})
	if _, err := s.ReplaceBrands(ctx, app.ID, bad); err == nil || !strings.Contains(err.Error(), "refused row") {
		t.Fatalf("err = %v, want the refused row", err)
	}
	after, _ := s.Endpoints(ctx, app.ID)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("endpoints changed by a failed replacement:\nbefore %+v\n after %+v", before, after)
	}
	im, _ := s.LastBrandsImport(ctx, app.ID)
	if im.Source != "first.json" {
		t.Errorf("last import = %q, want first.json", im.Source)
	}
}
