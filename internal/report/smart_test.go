package report

import (
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

// TestBuildSmartSurvey: the survey counts the activated organizations whose
// servers answered, and names those that do not list private_key_jwt or
// RS384; organizations not activated are left out.
func TestBuildSmartSurvey(t *testing.T) {
	st := newState(t).org("1", 1).org("2", 1).org("3", 3).org("4", 1).org("5", 0).org("6", 1).sync(t0)
	if r := st.build(t0); r.Smart != nil {
		t.Fatalf("survey before any check: %+v", r.Smart)
	}
	addr := func(id string) string { return "https://fhir.example.org/" + id + "/api/FHIR/R4" }
	data := &store.BrandsData{Import: store.BrandsImport{ImportedAt: t0, Source: "test"}}
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		data.Endpoints = append(data.Endpoints, store.Endpoint{OrgID: id, Address: addr(id), Name: "Org " + id})
	}
	if _, err := st.s.ReplaceBrands(st.ctx, st.app.ID, data); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	good := []string{"client_secret_basic", "private_key_jwt"}
	for _, c := range []store.SmartConfig{
		{Address: addr("1"), CheckedAt: at, Answered: true, AuthMethods: good, SigningAlgs: []string{"RS384", "RS256"}},
		{Address: addr("2"), CheckedAt: at, Answered: true, AuthMethods: good, SigningAlgs: []string{"RS256"}},
		{Address: addr("3"), CheckedAt: at.Add(time.Minute), Answered: true, AuthMethods: []string{"client_secret_basic"}, SigningAlgs: []string{"ES384"}},
		{Address: addr("4"), CheckedAt: at, Error: "no answer within 10s"},
		{Address: addr("5"), CheckedAt: at, Answered: true, AuthMethods: []string{"client_secret_basic"}}, // not activated
	} {
		if err := st.s.RecordSmartConfig(st.ctx, st.app.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	sv := st.build(at.Add(time.Hour)).Smart
	if sv == nil {
		t.Fatal("no survey")
	}
	// Activated: 1, 2, 3 (non-production only), 4, 6; 6 has no endpoint;
	// 4's server did not answer.
	if sv.Activated != 5 || sv.WithEndpoint != 4 || sv.Checked != 4 || sv.Answered != 3 || !sv.LastChecked.Equal(at.Add(time.Minute)) {
		t.Errorf("survey %+v", sv)
	}
	if len(sv.NoPrivateKeyJWT) != 1 || sv.NoPrivateKeyJWT[0].OrgID != "3" || sv.NoPrivateKeyJWT[0].Address != addr("3") {
		t.Errorf("no private_key_jwt: %+v", sv.NoPrivateKeyJWT)
	}
	if len(sv.NoRS384) != 2 || sv.NoRS384[0].OrgID != "2" || sv.NoRS384[1].OrgID != "3" || sv.NoRS384[0].SigningAlgs[0] != "RS256" {
		t.Errorf("no RS384: %+v", sv.NoRS384)
	}
}
