package brands

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fixture is the root testdata directory holding the synthetic bundles.
const fixture = "../../testdata/brands"

func parseFile(t *testing.T, name string) (*Directory, error) {
	t.Helper()
	f, err := os.Open(filepath.Join(fixture, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(f)
}

func TestParseSmallBundle(t *testing.T) {
	dir, err := parseFile(t, "small.json")
	if err != nil {
		t.Fatal(err)
	}
	wantStats := Stats{Entries: 30, Organizations: 18, Endpoints: 11, Unjoined: 2, NoAddress: 1, Other: 1}
	if dir.Stats != wantStats {
		t.Errorf("stats = %+v, want %+v", dir.Stats, wantStats)
	}
	if want := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC); !dir.Date.Equal(want) {
		t.Errorf("date = %v, want %v (Bundle.timestamp wins over meta.lastUpdated)", dir.Date, want)
	}
	wantEndpoints := []Endpoint{
		{OrgID: "1696", Name: "Access Community Health Network", Names: []string{"Access Community Health Network"}, Address: "https://eprescribing.accesscommunityhealth.net/FHIR/ACCESS/api/FHIR/R4", ECMId: "762"},
		{OrgID: "1696", Name: "Access Community Health Network", Names: []string{"Access Community Health Network"}, Address: "https://fhir.accesscommunityhealth.net/FHIR/ACCESS2/api/FHIR/R4/", ECMId: "762"},
		{OrgID: "525", Name: "Acumen Physician Solutions", Names: []string{"Acumen Physician Solutions"}, Address: "https://fhir.acumenmd.com/FHIR/api/FHIR/R4", ECMId: "1041"},
		{OrgID: "1108", Name: "AdvantageCare Physicians", Names: []string{"AdvantageCare Physicians"}, Address: "https://epicproxy.acpny.com/FHIRProxy/api/FHIR/R4", ECMId: "901"},
		{OrgID: "392", Name: "Lifespan", Names: []string{"Lifespan"}, Address: "https://lsepprdsoap.lifespan.org/FHIR/api/FHIR/R4", ECMId: "1203"},
		{OrgID: "200", Name: "Saint Luke's Hospital", Names: []string{"Saint Luke's Hospital"}, Address: "https://fhir.stlukes.example.org/api/FHIR/R4", ECMId: "55"},
		{OrgID: "856", Name: "Sansum Clinic", Names: []string{"Sansum Clinic"}, Address: "https://wavesurescripts.sansumclinic.org/FHIR/api/FHIR/R4"},
	}
	if !reflect.DeepEqual(dir.Endpoints, wantEndpoints) {
		t.Errorf("endpoints:\n got %+v\nwant %+v", dir.Endpoints, wantEndpoints)
	}
	wantBrands := []Brand{
		{ECMId: "55", Name: "Saint Luke's Hospital"},
		{ECMId: "762", Name: "Access Community Health Network", SubOrgs: 4},
		{ECMId: "901", Name: "AdvantageCare Physicians"},
		{ECMId: "1041", Name: "Acumen Physician Solutions"},
		{ECMId: "1203", Name: "Lifespan", SubOrgs: 1},
		{ECMId: "1328", Name: "Children's National Hospital", SubOrgs: 4},
	}
	if !reflect.DeepEqual(dir.Brands, wantBrands) {
		t.Errorf("brands:\n got %+v\nwant %+v", dir.Brands, wantBrands)
	}
}

// TestParseSmallBundleInSmallReads proves the decoder copes with a source
// that hands out one byte at a time, as a slow network does.
func TestParseSmallBundleInSmallReads(t *testing.T) {
	f, err := os.Open(filepath.Join(fixture, "small.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir, err := Parse(iotest.OneByteReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Endpoints) != 7 || len(dir.Brands) != 6 {
		t.Fatalf("got %d endpoints and %d brands, want 7 and 6", len(dir.Endpoints), len(dir.Brands))
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	tests := []struct {
		name, file, inline string
		want               string // in the one-line message
	}{
		{name: "truncated", file: "truncated.json", want: "ends early"},
		{name: "not a bundle", file: "not-bundle.json", want: "is a FHIR Patient, not a Bundle"},
		{name: "a JWKS", file: "jwks.json", want: "no resourceType"},
		{name: "html page", file: "page.html", want: "HTML page"},
		{name: "entry not an array", file: "entry-not-array.json", want: "entry member is not an array"},
		{name: "trailing data", file: "trailing.json", want: "more data after its closing brace"},
		{name: "empty", inline: "", want: "is empty"},
		{name: "blank", inline: " \n\t ", want: "is empty"},
		{name: "array", inline: `[{"resourceType":"Bundle"}]`, want: "JSON array"},
		{name: "not json", inline: `resourceType: Bundle`, want: "not JSON"},
		{name: "syntax error", inline: `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Endpoint",}}]}`, want: "not valid JSON at byte"},
		{name: "resourceType late and wrong", inline: `{"entry":[],"resourceType":"Organization"}`, want: "is a FHIR Organization"},
		{name: "resourceType not a string", inline: `{"resourceType":7}`, want: "resourceType is not a string"},
		{name: "cut inside the top object", inline: `{"resourceType":"Bundle","type":"coll`, want: "ends early"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.file != "" {
				_, err = parseFile(t, tc.file)
			} else {
				_, err = Parse(strings.NewReader(tc.inline))
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v (%T), want an *InputError", err, err)
			}
			if !strings.Contains(ie.Msg, tc.want) {
				t.Errorf("message %q does not contain %q", ie.Msg, tc.want)
			}
			if strings.Contains(ie.Msg, "\n") {
				t.Errorf("message is not one line: %q", ie.Msg)
			}
		})
	}
}

func TestParseTolerates(t *testing.T) {
	tests := []struct {
		name          string
		bundle        string
		wantEndpoints []Endpoint
		wantBrands    []Brand
		wantIrregular int
		wantDate      time.Time
	}{
		{
			name: "members in any order, byte order mark, meta date",
			bundle: "\ufeff" + `{"entry":[{"resource":{"address":"https://a/R4","managingOrganization":{"identifier":{"value":"7","system":"` + OrgIDSystem + `"}},"resourceType":"Endpoint"}}],
				"meta":{"lastUpdated":"2026-01-02"},"resourceType":"Bundle"}`,
			wantEndpoints: []Endpoint{{OrgID: "7", Address: "https://a/R4"}},
			wantBrands:    []Brand{},
			wantDate:      time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "identifier as an array on the reference",
			bundle: `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Endpoint","address":"https://b/R4",
				"managingOrganization":{"identifier":[{"system":"x","value":"1"},{"system":"` + OrgIDSystem + `","value":"8"}]}}}]}`,
			wantEndpoints: []Endpoint{{OrgID: "8", Address: "https://b/R4"}},
			wantBrands:    []Brand{},
		},
		{
			name: "a value of the wrong type is skipped, the rest used",
			bundle: `{"resourceType":"Bundle","entry":[
				{"resource":{"resourceType":"Organization","name":"Odd","identifier":{"system":"https://open.epic.com/brand-identifier","value":"3"}}},
				{"resource":{"resourceType":"Organization","name":"Good","identifier":[{"system":"https://open.epic.com/brand-identifier","value":"4"}]}},
				{"resource":"not an object"},
				{"resource":{"resourceType":"Endpoint","address":42,"managingOrganization":{"identifier":{"system":"` + OrgIDSystem + `","value":"9"}}}}]}`,
			wantEndpoints: []Endpoint{},
			wantBrands:    []Brand{{ECMId: "4", Name: "Good"}},
			wantIrregular: 3,
		},
		{
			name:          "brand identifier system matched by suffix, case folded",
			bundle:        `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Organization","name":"X","identifier":[{"system":"urn:example:Brand-Identifier","value":" 12 "}]}}]}`,
			wantEndpoints: []Endpoint{},
			wantBrands:    []Brand{{ECMId: "12", Name: "X"}},
		},
		{
			name:          "no entries",
			bundle:        `{"resourceType":"Bundle","type":"collection","entry":null,"link":[{"a":[1,{"b":[]}]}]}`,
			wantEndpoints: []Endpoint{},
			wantBrands:    []Brand{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := Parse(strings.NewReader(tc.bundle))
			if err != nil {
				t.Fatal(err)
			}
			eps := dir.Endpoints
			if eps == nil {
				eps = []Endpoint{}
			}
			if !reflect.DeepEqual(eps, tc.wantEndpoints) {
				t.Errorf("endpoints = %+v, want %+v", eps, tc.wantEndpoints)
			}
			if !reflect.DeepEqual(dir.Brands, tc.wantBrands) {
				t.Errorf("brands = %+v, want %+v", dir.Brands, tc.wantBrands)
			}
			if dir.Stats.Irregular != tc.wantIrregular {
				t.Errorf("irregular = %d, want %d", dir.Stats.Irregular, tc.wantIrregular)
			}
			if !dir.Date.Equal(tc.wantDate) {
				t.Errorf("date = %v, want %v", dir.Date, tc.wantDate)
			}
		})
	}
}

// TestParsePassesReadErrorsThrough keeps a broken download apart from a
// truncated file: the first may pass on a retry, the second is bad input.
func TestParsePassesReadErrorsThrough(t *testing.T) {
	broken := &UnavailableError{Msg: "the download broke off"}
	r := iotest.TimeoutReader(strings.NewReader(`{"resourceType":"Bundle","entry":[`))
	_, err := Parse(&errAfter{r: r, err: broken})
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want the reader's *UnavailableError", err, err)
	}
	var ie *InputError
	if errors.As(err, &ie) {
		t.Fatalf("a read error was reported as bad input: %v", err)
	}
}

// errAfter returns err once r has nothing more to give.
type errAfter struct {
	r   interface{ Read([]byte) (int, error) }
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		return n, e.err
	}
	return n, nil
}

func TestSplitBrandID(t *testing.T) {
	tests := []struct {
		in, parent, sub string
		ok              bool
	}{
		{"762", "762", "", true},
		{"432-112", "432", "112", true},
		{"", "", "", false},
		{"abc", "", "", false},
		{"12-", "", "", false},
		{"-3", "", "", false},
		{"1-2-3", "", "", false},
	}
	for _, tc := range tests {
		p, s, ok := splitBrandID(tc.in)
		if p != tc.parent || s != tc.sub || ok != tc.ok {
			t.Errorf("splitBrandID(%q) = %q, %q, %v; want %q, %q, %v", tc.in, p, s, ok, tc.parent, tc.sub, tc.ok)
		}
	}
}

func TestNormRef(t *testing.T) {
	tests := []struct{ in, want string }{
		{"urn:uuid:abc", "urn:uuid:abc"},
		{"Organization/1", "Organization/1"},
		{"https://host/base/Organization/1", "Organization/1"},
		{"https://host/base/Organization/1/_history/3", "Organization/1"},
		{"#contained", "#contained"},
		{" Organization/2/ ", "Organization/2"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := normRef(tc.in); got != tc.want {
			t.Errorf("normRef(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
