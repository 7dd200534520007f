package brands

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// Report is the join of the management page with the public directory:
// what a patient cannot find, what the app is not delivered to, and what
// was renamed.
type Report struct {
	// Listed is the number of organizations the last sync listed.
	Listed int `json:"listed"`
	// WithEndpoint of them have at least one endpoint in the directory.
	WithEndpoint int `json:"withEndpoint"`
	// Activated of them have the app enabled (both environments or
	// non-production only).
	Activated int `json:"activated"`
	// NoEndpoint are activated organizations without any endpoint in the
	// directory: patients cannot discover them there.
	NoEndpoint []Missing `json:"noEndpoint"`
	// Unknown are directory endpoints whose OrgId the management page does
	// not list (any more).
	Unknown []Unknown `json:"unknownEndpoints"`
	// Renamed are organizations whose management name matches none of the
	// directory's names for them: likely renames.
	Renamed []Rename `json:"renamed"`
}

// Missing is an activated organization the directory has no endpoint for.
type Missing struct {
	OrgID  string `json:"orgId"`
	Name   string `json:"name"`
	ECMId  string `json:"ecmId"`
	Status int    `json:"status"`
	// Brand is the directory's brand name for the ECMId, empty when the
	// directory lacks the brand too.
	Brand   string `json:"brand,omitempty"`
	SubOrgs int    `json:"subOrgs,omitempty"`
}

// Unknown is a directory endpoint for an OrgId that is not on the
// management page.
type Unknown struct {
	OrgID   string `json:"orgId"`
	Name    string `json:"name"` // the Endpoint's name
	Address string `json:"address"`
	ECMId   string `json:"ecmId,omitempty"`
	// Gone is set when the management page listed the org once; Former is
	// the name it had there.
	Gone   bool   `json:"gone,omitempty"`
	Former string `json:"formerName,omitempty"`
}

// Rename is an organization named differently in the two sources: its
// management name matches neither the name of the organization its keys
// are registered with (Endpoint.managingOrganization.display) nor any of
// its endpoints' names, nor its brand's.
type Rename struct {
	OrgID string `json:"orgId"`
	ECMId string `json:"ecmId"`
	// Name is the management page's name; Directory the directory's first
	// name for the organization: the display when one is given, else the
	// brand's name, else an endpoint's.
	Name      string `json:"name"`
	Directory string `json:"directoryName"`
	Source    string `json:"directorySource"` // "display", "brand" or "endpoint"
	// Displays, EndpointNames and Brand are every name the directory has
	// for the organization, none of which matches.
	Displays      []string `json:"displays"`
	EndpointNames []string `json:"endpointNames"`
	Brand         string   `json:"brand,omitempty"`
}

// CrossReference joins the stored organizations with the stored
// directory. Organizations the last sync no longer listed count as not
// on the management page.
func CrossReference(orgs []store.Org, endpoints map[string][]store.Endpoint, brands map[string]store.Brand) *Report {
	r := &Report{NoEndpoint: []Missing{}, Unknown: []Unknown{}, Renamed: []Rename{}}
	byID := make(map[string]store.Org, len(orgs))
	for _, o := range orgs {
		byID[o.OrgID] = o
		if o.GoneSince != nil {
			continue
		}
		r.Listed++
		eps := endpoints[o.OrgID]
		brand, hasBrand := brands[o.ECMId]
		if o.ECMId == "" {
			hasBrand = false
		}
		if len(eps) > 0 {
			r.WithEndpoint++
		}
		if portal.Status(o.Status).Activated() {
			r.Activated++
			if len(eps) == 0 {
				m := Missing{OrgID: o.OrgID, Name: o.Name, ECMId: o.ECMId, Status: o.Status}
				if hasBrand {
					m.Brand, m.SubOrgs = brand.Name, brand.SubOrgs
				}
				r.NoEndpoint = append(r.NoEndpoint, m)
			}
		}
		if rn, ok := rename(o, eps, brand, hasBrand); ok {
			r.Renamed = append(r.Renamed, rn)
		}
	}
	for id, eps := range endpoints {
		o, known := byID[id]
		if known && o.GoneSince == nil {
			continue
		}
		for _, e := range eps {
			u := Unknown{OrgID: id, Name: e.Name, Address: e.Address, ECMId: e.ECMId}
			if known {
				u.Gone, u.Former = true, o.Name
			}
			r.Unknown = append(r.Unknown, u)
		}
	}
	sort.Slice(r.Unknown, func(i, j int) bool {
		a, b := r.Unknown[i], r.Unknown[j]
		if a.OrgID != b.OrgID {
			return portal.CompareOrgID(a.OrgID, b.OrgID) < 0
		}
		return a.Address < b.Address
	})
	return r
}

// rename compares the management name with the directory's names for the
// same organization, the display first: an organization's endpoints often
// carry its affiliates' names (one OrgId serves many brands), while display
// is the organization's own. Any match clears it; with no directory name
// there is nothing to compare.
func rename(o store.Org, eps []store.Endpoint, brand store.Brand, hasBrand bool) (Rename, bool) {
	rn := Rename{OrgID: o.OrgID, ECMId: o.ECMId, Name: o.Name, Displays: []string{}, EndpointNames: []string{}}
	add := func(list []string, n string) []string {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(list, n) {
			list = append(list, n)
		}
		return list
	}
	for _, e := range eps {
		rn.Displays = add(rn.Displays, e.Display)
		for _, n := range e.Names {
			rn.EndpointNames = add(rn.EndpointNames, n)
		}
		rn.EndpointNames = add(rn.EndpointNames, e.Name)
	}
	if hasBrand {
		rn.Brand = strings.TrimSpace(brand.Name)
	}
	var all []string
	all = append(append(all, rn.Displays...), rn.EndpointNames...)
	if rn.Brand != "" {
		all = append(all, rn.Brand)
	}
	if len(all) == 0 {
		return Rename{}, false
	}
	for _, n := range all {
		if SameName(o.Name, n) {
			return Rename{}, false
		}
	}
	switch {
	case len(rn.Displays) > 0:
		rn.Directory, rn.Source = rn.Displays[0], "display"
	case rn.Brand != "":
		rn.Directory, rn.Source = rn.Brand, "brand"
	default:
		rn.Directory, rn.Source = rn.EndpointNames[0], "endpoint"
	}
	return rn, true
}

// nameWords maps abbreviations to one spelling so that "St. Luke's" and
// "Saint Luke's" compare equal.
var nameWords = map[string]string{
	"st": "saint", "mt": "mount", "ctr": "center", "centre": "center", "hosp": "hospital",
	"med": "medical", "univ": "university", "hlth": "health", "sys": "system",
}

// nameStopWords carry no identity.
var nameStopWords = map[string]bool{"and": true, "the": true, "of": true, "inc": true, "llc": true}

// normalName folds a name to its identifying letters and digits.
func normalName(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}) {
		w = strings.ReplaceAll(w, "'", "")
		if nameStopWords[w] || w == "" {
			continue
		}
		if v, ok := nameWords[w]; ok {
			w = v
		}
		b.WriteString(w)
	}
	return b.String()
}

// minNameContain is the shortest folded name that may match by being
// contained in the other ("UW Medicine" in "UW Medicine - Washington"):
// shorter ones would match by accident.
const minNameContain = 5

// SameName reports whether two names plausibly name the same
// organization: equal once case, punctuation, common abbreviations and
// filler words are folded, or one contained in the other.
func SameName(a, b string) bool {
	na, nb := normalName(a), normalName(b)
	if na == "" || nb == "" {
		return na == nb
	}
	if na == nb {
		return true
	}
	if len(na) > len(nb) {
		na, nb = nb, na
	}
	return len(na) >= minNameContain && strings.Contains(nb, na)
}

// StoreData converts a parsed bundle into what the store keeps, stamped
// with where and when it was read.
func (d *Directory) StoreData(source string, importedAt time.Time) *store.BrandsData {
	out := &store.BrandsData{
		Import: store.BrandsImport{
			ImportedAt: importedAt, Source: source, BundleDate: d.Date,
			Organizations: d.Stats.Organizations, Endpoints: d.Stats.Endpoints,
			Brands: len(d.Brands), Unjoined: d.Stats.Unjoined,
		},
		Endpoints: make([]store.Endpoint, len(d.Endpoints)),
		Brands:    make([]store.Brand, len(d.Brands)),
	}
	for i, e := range d.Endpoints {
		out.Endpoints[i] = store.Endpoint{OrgID: e.OrgID, Address: e.Address, Name: e.Name, Names: e.Names, Display: e.Display, ECMId: e.ECMId}
	}
	for i, b := range d.Brands {
		out.Brands[i] = store.Brand{ECMId: b.ECMId, Name: b.Name, SubOrgs: b.SubOrgs}
	}
	return out
}
