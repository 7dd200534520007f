package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/sim"
)

// simServer is a simulator with the organizations' authorization servers.
func simServer(t *testing.T, cfg sim.AuthorizeConfig) (*sim.Sim, *sim.Authorize, *httptest.Server) {
	t.Helper()
	s := sim.New(sim.Config{Orgs: 12, Seed: 3})
	s.ServeBrands(sim.BrandsConfig{})
	a := s.ServeAuthorize(cfg)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, a, srv
}

func target(srv *httptest.Server, orgID string) Target {
	return Target{OrgID: orgID, BaseURL: sim.BrandsBaseURL(srv.URL, orgID, 0), AuthorizeURL: srv.URL + sim.AuthorizePath(orgID)}
}

func TestRunClassifiesEachServer(t *testing.T) {
	s, a, srv := simServer(t, sim.AuthorizeConfig{Instant: true, SlowDelay: 5 * time.Second})
	orgs := s.Orgs()
	cases := []struct {
		name    string
		setup   func(id string)
		want    string
		inProof string // a word the evidence must hold
	}{
		{"known", func(id string) { s.SetApproved(id, sim.ApprovedBoth) }, Live, "sign-in form"},
		{"production not enabled", func(id string) { s.SetApproved(id, sim.ApprovedNonProd) }, NotKnown, "alike"},
		{"not propagated yet", func(id string) { s.SetApproved(id, sim.ApprovedBoth); a.SetDelay(id, time.Hour) }, NotKnown, "Unknown client {client_id}"},
		{"never picks the keys up", func(id string) { s.SetApproved(id, sim.ApprovedBoth); a.SetVariant(id, sim.AuthorizeNever) }, NotKnown, "alike"},
		{"checks clients later", func(id string) { s.SetApproved(id, sim.ApprovedBoth); a.SetVariant(id, sim.AuthorizeLate) }, Inconclusive, "same sign-in page"},
		{"shared identity host", func(id string) { s.SetApproved(id, sim.ApprovedBoth); a.SetVariant(id, sim.AuthorizeIdentity) }, Inconclusive, "identity.example.org"},
		{"errors for every client", func(id string) { s.SetApproved(id, sim.ApprovedBoth); a.SetVariant(id, sim.AuthorizeFailing) }, Error, "HTTP 500"},
		{"times out", func(id string) { s.SetApproved(id, sim.ApprovedBoth); a.SetVariant(id, sim.AuthorizeSlow) }, Unreachable, "no answer within"},
	}
	var targets []Target
	want := map[string]int{}
	for i, c := range cases {
		id := orgs[i].OrgID
		c.setup(id)
		targets = append(targets, target(srv, id))
		want[id] = i
	}
	sum, err := Run(context.Background(), targets, Options{ClientID: sim.DefaultProdClientID, RedirectURI: sim.DefaultRedirectURI,
		HostRate: 1000, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != len(cases) || sum.NotReached != 0 {
		t.Fatalf("%d results, %d not reached; want %d, 0", len(sum.Results), sum.NotReached, len(cases))
	}
	for _, r := range sum.Results {
		c := cases[want[r.OrgID]]
		t.Logf("%s: %s: %s", c.name, r.Class, r.Evidence)
		if r.Class != c.want || !strings.Contains(r.Evidence, c.inProof) {
			t.Errorf("%s: %s (%s), want %s with %q", c.name, r.Class, r.Evidence, c.want, c.inProof)
		}
		if strings.Contains(r.Evidence, sim.DefaultProdClientID) {
			t.Errorf("%s: the evidence shows the client id: %s", c.name, r.Evidence)
		}
	}
	for _, call := range s.Calls() {
		if call.Method != http.MethodGet {
			t.Errorf("the probe sent %s %s: only GET is allowed", call.Method, call.Path)
		}
		if !strings.HasSuffix(call.Path, "/oauth2/authorize") && !strings.HasSuffix(call.Path, "/oauth2/signin") {
			t.Errorf("the probe loaded %s", call.Path)
		}
	}
}

func TestRunWrongRedirectURIIsAnError(t *testing.T) {
	s, _, srv := simServer(t, sim.AuthorizeConfig{Instant: true})
	id := s.Orgs()[0].OrgID
	s.SetApproved(id, sim.ApprovedBoth)
	sum, err := Run(context.Background(), []Target{target(srv, id)}, Options{ClientID: sim.DefaultProdClientID,
		RedirectURI: "https://app.example.com/other", HostRate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if r := sum.Results[0]; r.Class != Error || !strings.Contains(r.Evidence, "Invalid redirect URI") {
		t.Fatalf("%s: %s", r.Class, r.Evidence)
	}
}

func TestRunStopsAtTheRedirectURI(t *testing.T) {
	// A server that sends the known client straight back to the redirect
	// URI (here with an error) is never followed there.
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") == "app" {
			http.Redirect(w, r, q.Get("redirect_uri")+"?error=invalid_scope&state="+q.Get("state"), http.StatusFound)
			return
		}
		http.Error(w, "unknown client", http.StatusBadRequest)
	})
	redirectHits := 0
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) { redirectHits++ })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sum, err := Run(context.Background(), []Target{{OrgID: "1", BaseURL: srv.URL + "/fhir", AuthorizeURL: srv.URL + "/authorize"}},
		Options{ClientID: "app", RedirectURI: srv.URL + "/callback", HostRate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Results[0]
	if redirectHits != 0 {
		t.Fatalf("the redirect URI was loaded %d times", redirectHits)
	}
	if r.Class != Error || r.App.Stopped != StopRedirectURI || r.App.OAuthError != "invalid_scope" {
		t.Fatalf("%s %+v: %s", r.Class, r.App, r.Evidence)
	}
}

func TestRunTimeLimit(t *testing.T) {
	s, _, srv := simServer(t, sim.AuthorizeConfig{Instant: true})
	var targets []Target
	for _, o := range s.Orgs() {
		targets = append(targets, target(srv, o.OrgID))
	}
	// One host at 2 requests a second: the limit leaves most unprobed,
	// and none of them half-probed.
	sum, err := Run(context.Background(), targets, Options{ClientID: "x", RedirectURI: sim.DefaultRedirectURI,
		HostRate: 2, Concurrency: 2, TimeLimit: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.TimedOut || sum.NotReached == 0 || len(sum.Results)+sum.NotReached != len(targets) {
		t.Fatalf("timedOut %v, %d results, %d not reached of %d", sum.TimedOut, len(sum.Results), sum.NotReached, len(targets))
	}
	for _, r := range sum.Results {
		if r.Class != NotKnown {
			t.Errorf("%s: %s (%s)", r.OrgID, r.Class, r.Evidence)
		}
	}
}
