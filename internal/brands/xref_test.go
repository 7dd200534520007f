package brands

import (
	"reflect"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

func TestSameName(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"Access Community Health Network", "Access Community Health Network", true},
		{"ACCESS COMMUNITY HEALTH NETWORK", "access community health network", true},
		{"St. Luke's Hospital", "Saint Lukes Hospital", true},
		{"Hospital & Clinics of Iowa", "Hospital and Clinics of Iowa", true},
		{"UW Medicine", "UW Medicine - Washington", true},
		{"Brown University Health", "Lifespan", false},
		{"Mt. Sinai", "Mount Sinai Health System", true},
		{"Española Clinic", "Española Clinic", true},
		{"UAB", "UAB Medicine", false}, // too short to match by containment
		{"", "", true},
		{"", "X Health", false},
	}
	for _, tc := range tests {
		if got := SameName(tc.a, tc.b); got != tc.want {
			t.Errorf("SameName(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SameName(tc.b, tc.a); got != tc.want {
			t.Errorf("SameName(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestCrossReference(t *testing.T) {
	gone := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	orgs := []store.Org{
		{OrgID: "200", Name: "St. Luke's Hospital", ECMId: "55", Status: 1},
		{OrgID: "392", Name: "Brown University Health", ECMId: "1203", Status: 1},
		{OrgID: "525", Name: "Acumen Physician Solutions", ECMId: "1041", Status: 3},
		{OrgID: "1696", Name: "Access Community Health Network", ECMId: "762", Status: 1},
		{OrgID: "16770", Name: "Children's National Hospital", ECMId: "1328", Status: 1},
		{OrgID: "30875", Name: "Dickson Medical Associates", ECMId: "1441", Status: 0},
		{OrgID: "31291", Name: "Reno Orthopaedic Clinic", ECMId: "1486", Status: 3},
		{OrgID: "40000", Name: "Declined Clinic", ECMId: "1500", Status: 2},
		{OrgID: "777", Name: "Old Valley Clinic", ECMId: "9", Status: 1, GoneSince: &gone},
		{OrgID: "888", Name: "Renamed By Endpoint Only", Status: 0},
	}
	eps := map[string][]store.Endpoint{
		"200":  {{OrgID: "200", Name: "Saint Luke's Hospital", Address: "https://a/R4"}},
		"392":  {{OrgID: "392", Name: "Lifespan", Address: "https://b/R4"}},
		"525":  {{OrgID: "525", Name: "Acumen", Address: "https://c/R4"}}, // brand name matches
		"1696": {{OrgID: "1696", Address: "https://d1/R4"}, {OrgID: "1696", Address: "https://d2/R4"}},
		"777":  {{OrgID: "777", Name: "Old Valley Clinic", Address: "https://g/R4"}},
		"856":  {{OrgID: "856", Name: "Sansum Clinic", Address: "https://s/R4", ECMId: "12"}},
		"888":  {{OrgID: "888", Name: "Former Clinic Name", Address: "https://h/R4"}},
	}
	brands := map[string]store.Brand{
		"55":   {ECMId: "55", Name: "Saint Luke's Hospital"},
		"1203": {ECMId: "1203", Name: "Lifespan", SubOrgs: 1},
		"1041": {ECMId: "1041", Name: "Acumen Physician Solutions"},
		"1328": {ECMId: "1328", Name: "Children's National Hospital", SubOrgs: 4},
	}
	got := CrossReference(orgs, eps, brands)
	want := &Report{
		Listed: 9, WithEndpoint: 5, Activated: 6,
		NoEndpoint: []Missing{
			{OrgID: "16770", Name: "Children's National Hospital", ECMId: "1328", Status: 1, Brand: "Children's National Hospital", SubOrgs: 4},
			{OrgID: "31291", Name: "Reno Orthopaedic Clinic", ECMId: "1486", Status: 3},
		},
		Unknown: []Unknown{
			{OrgID: "777", Name: "Old Valley Clinic", Address: "https://g/R4", Gone: true, Former: "Old Valley Clinic"},
			{OrgID: "856", Name: "Sansum Clinic", Address: "https://s/R4", ECMId: "12"},
		},
		Renamed: []Rename{
			{OrgID: "392", ECMId: "1203", Name: "Brown University Health", Directory: "Lifespan", Source: "brand",
				Displays: []string{}, EndpointNames: []string{"Lifespan"}, Brand: "Lifespan"},
			{OrgID: "888", Name: "Renamed By Endpoint Only", Directory: "Former Clinic Name", Source: "endpoint",
				Displays: []string{}, EndpointNames: []string{"Former Clinic Name"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report:\n got %+v\nwant %+v", got, want)
	}
}

// TestRenameRules: the display (the name of the organization the keys are
// registered with) is compared first; endpoints' names are patient-facing
// brand names, often the organization's affiliates'; a difference is
// reported only when no name matches, with every name shown.
func TestRenameRules(t *testing.T) {
	ep := func(addr, display string, names ...string) store.Endpoint {
		e := store.Endpoint{OrgID: "7001", Address: addr, Display: display, Names: names}
		if len(names) > 0 {
			e.Name = names[0]
		}
		return e
	}
	tests := []struct {
		name  string
		org   string
		eps   []store.Endpoint
		brand string
		want  *Rename // nil: not reported
	}{
		{"affiliates' endpoint names, the display is the organization's", "Franklin Health System",
			[]store.Endpoint{ep("https://a/R4", "Franklin Health System", "Franklin Memorial Hospital"), ep("https://b/R4", "Franklin Health System", "Tri-Lakes Family Medicine")}, "", nil},
		{"a later endpoint on the same address carries the exact name", "Cascade Community Clinic Network",
			[]store.Endpoint{ep("https://a/R4", "", "Columbia Gorge Family Clinic", "Cascade Community Clinic Network")}, "", nil},
		{"the display differs, an endpoint name matches", "Providence Oregon",
			[]store.Endpoint{ep("https://a/R4", "Providence Health & Services", "Providence Oregon"), ep("https://b/R4", "Providence Health & Services", "Swedish")}, "", nil},
		{"the display matches despite abbreviations", "St. Mary's Med. Ctr.",
			[]store.Endpoint{ep("https://a/R4", "Saint Mary's Medical Center", "Mercy Clinics")}, "", nil},
		{"the brand matches", "Lifespan", []store.Endpoint{ep("https://a/R4", "", "Rhode Island Hospital")}, "Lifespan", nil},
		{"nothing matches: every name is shown, the display first", "Brown University Health",
			[]store.Endpoint{ep("https://a/R4", "Lifespan", "Rhode Island Hospital", "Lifespan Physician Group"), ep("https://b/R4", "Lifespan Corporation", "Rhode Island Hospital")}, "Lifespan Brand",
			&Rename{OrgID: "7001", ECMId: "1203", Name: "Brown University Health", Directory: "Lifespan", Source: "display",
				Displays: []string{"Lifespan", "Lifespan Corporation"}, EndpointNames: []string{"Rhode Island Hospital", "Lifespan Physician Group"}, Brand: "Lifespan Brand"}},
		{"affiliates' names and no display: reported, as nothing says otherwise", "Franklin Health System",
			[]store.Endpoint{ep("https://a/R4", "", "Franklin Memorial Hospital"), ep("https://b/R4", "", "Tri-Lakes Family Medicine")}, "",
			&Rename{OrgID: "7001", ECMId: "1203", Name: "Franklin Health System", Directory: "Franklin Memorial Hospital", Source: "endpoint",
				Displays: []string{}, EndpointNames: []string{"Franklin Memorial Hospital", "Tri-Lakes Family Medicine"}}},
		{"no name at all", "Anything", []store.Endpoint{ep("https://a/R4", "")}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := store.Org{OrgID: "7001", Name: tt.org, ECMId: "1203", Status: 1}
			brands := map[string]store.Brand{}
			if tt.brand != "" {
				brands["1203"] = store.Brand{ECMId: "1203", Name: tt.brand}
			}
			r := CrossReference([]store.Org{o}, map[string][]store.Endpoint{"7001": tt.eps}, brands)
			switch {
			case tt.want == nil && len(r.Renamed) != 0:
				t.Fatalf("reported as renamed: %+v", r.Renamed)
			case tt.want != nil && (len(r.Renamed) != 1 || !reflect.DeepEqual(r.Renamed[0], *tt.want)):
				t.Fatalf("renamed = %+v, want %+v", r.Renamed, *tt.want)
			}
		})
	}
}

func TestCrossReferenceEmpty(t *testing.T) {
	got := CrossReference(nil, nil, nil)
	if got.NoEndpoint == nil || got.Unknown == nil || got.Renamed == nil {
		t.Error("empty lists must be [] in JSON, not null")
	}
}
