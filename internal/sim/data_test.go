package sim

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestGeneratedData(t *testing.T) {
	tests := []struct {
		orgs                                  int
		stragglers, enabled, nonProd, unknown int
		idMax                                 int
	}{
		{orgs: 500, stragglers: 4, enabled: 50, nonProd: 25, unknown: 2, idMax: 40_000},
		{orgs: 60, stragglers: 1, enabled: 6, nonProd: 3, unknown: 2, idMax: 40_000},
		{orgs: 10, stragglers: 1, enabled: 1, nonProd: 0, unknown: 0, idMax: 40_000},
		{orgs: 1, stragglers: 0, enabled: 0, nonProd: 0, unknown: 0, idMax: 40_000},
		{orgs: 50_000, stragglers: 400, enabled: 5000, nonProd: 2500, unknown: 2, idMax: 200_000},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.orgs), func(t *testing.T) {
			s := New(Config{Orgs: tt.orgs, Seed: 1})
			orgs := s.Orgs()
			if len(orgs) != tt.orgs {
				t.Fatalf("%d organizations", len(orgs))
			}
			names, ids, ecms := map[string]bool{}, map[string]bool{}, map[string]bool{}
			var stragglers, enabled, nonProd, unknown, blocked int
			prev := 0
			for _, o := range orgs {
				n, err := strconv.Atoi(o.OrgID)
				if err != nil || n < DefaultOrgIDMin || n > tt.idMax || n <= prev {
					t.Fatalf("OrgID %s out of range or order", o.OrgID)
				}
				prev = n
				if names[o.Name] || ids[o.OrgID] || ecms[o.ECMId] {
					t.Fatalf("duplicate in %+v", o)
				}
				names[o.Name], ids[o.OrgID], ecms[o.ECMId] = true, true, true
				if strings.TrimSpace(o.Name) == "" {
					t.Fatalf("empty name for %s", o.OrgID)
				}
				switch o.Approved {
				case ApprovedBoth:
					enabled++
					if !o.NonProd || !o.Prod || o.NonProdMode != ModeJWKSURL || o.ProdMode != ModeJWKSURL {
						t.Fatalf("enabled organization %+v", o)
					}
				case ApprovedNonProd:
					nonProd++
					if !o.NonProd || o.Prod {
						t.Fatalf("non-production organization %+v", o)
					}
				case ApprovedNone:
					if o.NonProd || o.Prod {
						t.Fatalf("unanswered organization %+v", o)
					}
				default:
					unknown++
				}
				if o.Straggler {
					stragglers++
					if o.Approved != ApprovedNone {
						t.Fatalf("straggler %s was enabled", o.OrgID)
					}
				}
				if o.OutboundBlocked {
					blocked++
				}
			}
			for e := range ecms {
				if ids[e] {
					t.Fatalf("ECMId %s is also an OrgID", e)
				}
			}
			if stragglers != tt.stragglers || enabled != tt.enabled || nonProd != tt.nonProd || unknown != tt.unknown {
				t.Fatalf("stragglers %d enabled %d non-prod %d unknown %d, want %d %d %d %d",
					stragglers, enabled, nonProd, unknown, tt.stragglers, tt.enabled, tt.nonProd, tt.unknown)
			}
			if len(s.Stragglers()) != tt.stragglers {
				t.Fatalf("Stragglers() lists %d", len(s.Stragglers()))
			}
			if tt.orgs >= 500 && (blocked < tt.orgs/5 || blocked > tt.orgs*2/5) {
				t.Fatalf("%d of %d organizations block outbound requests", blocked, tt.orgs)
			}
		})
	}
}

func TestGeneratedDataIsSeeded(t *testing.T) {
	a := New(Config{Orgs: 200, Seed: 5}).Orgs()
	b := New(Config{Orgs: 200, Seed: 5}).Orgs()
	c := New(Config{Orgs: 200, Seed: 6}).Orgs()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different data")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatalf("different seeds, same data")
	}
}

func TestNamesLookReal(t *testing.T) {
	s := New(Config{Orgs: 500, Seed: 1})
	var escaping int
	for _, o := range s.Orgs() {
		if strings.ContainsAny(o.Name, "&'ñ") {
			escaping++
		}
		if strings.Contains(o.Name, "Campus") {
			t.Fatalf("a 500-organization portal needed a campus suffix: %q", o.Name)
		}
	}
	if escaping == 0 {
		t.Fatalf("no name exercises HTML or CSV escaping")
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		orgs int
	}{
		{"zero value", Config{}, DefaultOrgs},
		{"negative means none", Config{Orgs: -1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.cfg)
			if n := len(s.Orgs()); n != tt.orgs {
				t.Fatalf("%d organizations, want %d", n, tt.orgs)
			}
			if s.AppID() != DefaultAppID {
				t.Fatalf("app %s", s.AppID())
			}
		})
	}
}

func TestAddOrgKeepsECMIdsApart(t *testing.T) {
	s := New(Config{Orgs: 20, Seed: 1})
	taken := s.Orgs()[0].ECMId
	s.AddOrg(Org{OrgID: "777777", ECMId: taken})
	o, _ := s.Org("777777")
	if o.ECMId == taken || o.ECMId == "" {
		t.Fatalf("new organization got ECMId %q (taken: %s)", o.ECMId, taken)
	}
	s.AddOrg(Org{OrgID: "777777", Name: "Replaced"})
	if o2, _ := s.Org("777777"); o2.Name != "Replaced" || o2.ECMId != o.ECMId {
		t.Fatalf("replacement %+v lost its ECMId %s", o2, o.ECMId)
	}
	if len(s.Orgs()) != 21 {
		t.Fatalf("replacement duplicated the organization")
	}
	s.AddOrg(Org{OrgID: "not-a-number"})
	if len(s.Orgs()) != 21 {
		t.Fatalf("an invalid OrgID was added")
	}
	s.SetApproved("777777", ApprovedNonProd)
	if o3, _ := s.Org("777777"); o3.Approved != 3 || !o3.NonProd || o3.Prod {
		t.Fatalf("SetApproved 3 gave %+v", o3)
	}
	s.SetApproved("777777", ApprovedNone)
	if o4, _ := s.Org("777777"); o4.Approved != 0 || o4.NonProd || o4.Prod {
		t.Fatalf("SetApproved 0 gave %+v", o4)
	}
}
