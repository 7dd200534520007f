package brands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/sim"
)

// fastPacer paces nothing and retries after a millisecond.
func fastPacer(retries int) *pace.Pacer {
	p := pace.New(10_000, retries)
	p.SetBackoff(time.Millisecond)
	return p
}

func newSimBrands(t *testing.T, cfg sim.BrandsConfig) (*sim.Sim, *sim.Brands, *httptest.Server) {
	t.Helper()
	s := sim.New(sim.Config{Orgs: 40, Seed: 7})
	b := s.ServeBrands(cfg)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, b, srv
}

func TestCheckSmartAgainstSimulator(t *testing.T) {
	// The slow server answers after sim.DefaultBrandsSlowDelay unless the
	// client goes away; the others must answer within the timeout, which
	// leaves a busy machine room.
	s, b, srv := newSimBrands(t, sim.BrandsConfig{})
	const timeout = 2 * time.Second
	roles := b.Roles()
	var normal string
	for _, o := range s.Orgs() {
		if o.OrgID != roles.Slow && o.OrgID != roles.Failing && o.OrgID != roles.NoRS384 && o.OrgID != roles.Unsupported && !contains(roles.NoEndpoint, o.OrgID) {
			normal = o.OrgID
			break
		}
	}
	tests := []struct {
		name         string
		org          string
		wantProblems []string
		wantAnswered bool
		wantAttempts int
		wantNote     string
	}{
		{name: "answers", org: normal, wantProblems: nil, wantAnswered: true, wantAttempts: 1},
		{name: "slow", org: roles.Slow, wantProblems: []string{ProblemNoAnswer}, wantAnswered: false, wantAttempts: 2},
		{name: "failing", org: roles.Failing, wantProblems: []string{ProblemNoAnswer}, wantAnswered: true, wantAttempts: 2},
		{name: "no RS384", org: roles.NoRS384, wantProblems: nil, wantAnswered: true, wantAttempts: 1, wantNote: "sign client assertions for this organization with RS256"},
		{name: "unsupported", org: roles.Unsupported, wantProblems: []string{ProblemNoPrivateKey, ProblemNoRSAlg}, wantAnswered: true, wantAttempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.org == "" {
				t.Fatal("the simulator gave no organization this part")
			}
			addr := sim.BrandsBaseURL(srv.URL, tc.org, 0)
			before := len(s.Calls())
			res, err := CheckSmart(context.Background(), []string{addr}, SmartOptions{Pacer: fastPacer(1), Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			if tc.org == roles.Slow {
				// Each request was given up at the timeout, none waited out.
				answers := recordedAnswers(t, s, before, 2)
				if len(answers) != 2 || answers[0] != sim.AnswerCanceled || answers[1] != sim.AnswerCanceled {
					t.Errorf("the slow server's requests were answered %q, want 2 given up (%q): the timeout did not bound them", answers, sim.AnswerCanceled)
				}
			}
			r := res[0]
			if got := kinds(r.Problems); strings.Join(got, ",") != strings.Join(tc.wantProblems, ",") {
				t.Errorf("problems = %v, want %v (%+v)", got, tc.wantProblems, r.Problems)
			}
			if r.Answered != tc.wantAnswered || r.Attempts != tc.wantAttempts {
				t.Errorf("answered=%v attempts=%d, want %v and %d", r.Answered, r.Attempts, tc.wantAnswered, tc.wantAttempts)
			}
			if tc.wantNote != "" && !strings.Contains(strings.Join(r.Notes, "\n"), tc.wantNote) {
				t.Errorf("notes = %v, want one with %q", r.Notes, tc.wantNote)
			}
			if tc.wantAnswered && len(tc.wantProblems) == 0 {
				oauth := srv.URL + "/fhir/" + tc.org + "/oauth2"
				if r.TokenEndpoint != oauth+"/token" || r.AuthorizationEndpoint != oauth+"/authorize" {
					t.Errorf("endpoints = %q, %q", r.TokenEndpoint, r.AuthorizationEndpoint)
				}
				if !Lists(r.AuthMethods, AuthPrivateKeyJWT) || !Lists(r.SigningAlgs, AlgRS256) {
					t.Errorf("methods %v, algs %v", r.AuthMethods, r.SigningAlgs)
				}
			}
		})
	}
}

// recordedAnswers waits until the simulator has recorded n calls after the
// first `from` (it records a call once its handler returns, which for a
// request the client gave up may be a moment after the client returned),
// and returns how they were answered.
func recordedAnswers(t *testing.T, s *sim.Sim, from, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(s.Calls()) < from+n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var answers []string
	for _, c := range s.Calls()[from:] {
		answers = append(answers, c.Answer)
	}
	return answers
}

func kinds(ps []SmartProblem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind)
	}
	return out
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func TestCheckSmartAnswers(t *testing.T) {
	var flaky atomic.Int32
	mux := http.NewServeMux()
	good := `{"token_endpoint":"https://x/token","authorization_endpoint":"https://x/authorize",
		"token_endpoint_auth_methods_supported":["private_key_jwt"],"token_endpoint_auth_signing_alg_values_supported":["rs384"]}`
	mux.HandleFunc("/good/api/FHIR/R4/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, good)
	})
	mux.HandleFunc("/flaky/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, good)
	})
	mux.HandleFunc("/busy/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	})
	mux.HandleFunc("/html/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>Sign in</html>")
	})
	mux.HandleFunc("/array/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `["not","an","object"]`)
	})
	mux.HandleFunc("/nothing/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name         string
		address      string
		wantProblems []string
		wantAttempts int
		wantError    string
	}{
		{name: "good, trailing slash, lower-case alg", address: srv.URL + "/good/api/FHIR/R4/", wantAttempts: 1},
		{name: "recovers after a 503", address: srv.URL + "/flaky", wantAttempts: 2},
		{name: "keeps answering 429", address: srv.URL + "/busy", wantProblems: []string{ProblemNoAnswer}, wantAttempts: 3, wantError: "HTTP 429"},
		{name: "404", address: srv.URL + "/missing", wantProblems: []string{ProblemNoConfig}, wantAttempts: 1, wantError: "HTTP 404"},
		{name: "html", address: srv.URL + "/html", wantProblems: []string{ProblemNoConfig}, wantAttempts: 1, wantError: "HTML page"},
		{name: "not an object", address: srv.URL + "/array", wantProblems: []string{ProblemNoConfig}, wantAttempts: 1, wantError: "not a JSON object"},
		{name: "lists nothing", address: srv.URL + "/nothing", wantProblems: []string{ProblemNoPrivateKey, ProblemNoRSAlg}, wantAttempts: 1},
		{name: "unreachable", address: closed.URL + "/api/FHIR/R4", wantProblems: []string{ProblemNoAnswer}, wantAttempts: 3, wantError: "refused"},
		{name: "not http", address: "ftp://x/api/FHIR/R4", wantProblems: []string{ProblemBadAddress}, wantAttempts: 0, wantError: "not an http(s) URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := CheckSmart(context.Background(), []string{tc.address}, SmartOptions{Pacer: fastPacer(2), Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			if got := kinds(r.Problems); strings.Join(got, ",") != strings.Join(tc.wantProblems, ",") {
				t.Errorf("problems = %v, want %v (%+v)", got, tc.wantProblems, r.Problems)
			}
			if r.Attempts != tc.wantAttempts {
				t.Errorf("attempts = %d, want %d", r.Attempts, tc.wantAttempts)
			}
			if !strings.Contains(r.Error, tc.wantError) {
				t.Errorf("error = %q, want it to contain %q", r.Error, tc.wantError)
			}
		})
	}
}

// TestCheckSmartBoundsConcurrency proves no more than Concurrency servers
// are asked at once, and every address gets its own result in order.
func TestCheckSmartBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
		fmt.Fprintf(w, `{"token_endpoint":%q,"token_endpoint_auth_methods_supported":["private_key_jwt"],"token_endpoint_auth_signing_alg_values_supported":["RS384"]}`, r.URL.Path)
	}))
	defer srv.Close()
	var addrs []string
	for i := range 10 {
		addrs = append(addrs, fmt.Sprintf("%s/org%d/api/FHIR/R4", srv.URL, i))
	}
	var mu sync.Mutex
	var seen []string
	res, err := CheckSmart(context.Background(), addrs, SmartOptions{Pacer: fastPacer(0), Concurrency: 3, Timeout: time.Second,
		OnResult: func(r SmartResult) error {
			mu.Lock()
			seen = append(seen, r.Address)
			mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency = %d, want 2..3", p)
	}
	if len(seen) != len(addrs) {
		t.Errorf("OnResult saw %d results, want %d", len(seen), len(addrs))
	}
	for i, r := range res {
		if r.Address != addrs[i] || !strings.HasPrefix(r.TokenEndpoint, fmt.Sprintf("/org%d/", i)) {
			t.Errorf("result %d = %s (%s), out of order", i, r.Address, r.TokenEndpoint)
		}
	}
}

func TestCheckSmartStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	addrs := make([]string, 20)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("%s/o%d", srv.URL, i)
	}
	t.Run("OnResult fails", func(t *testing.T) {
		stop := errors.New("disk full")
		n := 0
		res, err := CheckSmart(context.Background(), addrs, SmartOptions{Pacer: fastPacer(0), Concurrency: 1,
			OnResult: func(SmartResult) error {
				n++
				if n == 3 {
					return stop
				}
				return nil
			}})
		if !errors.Is(err, stop) {
			t.Fatalf("err = %v, want %v", err, stop)
		}
		if len(res) != 3 {
			t.Errorf("got %d results, want the 3 completed", len(res))
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		res, err := CheckSmart(ctx, addrs, SmartOptions{Pacer: fastPacer(0), Concurrency: 2,
			OnResult: func(SmartResult) error {
				if n++; n == 4 {
					cancel()
				}
				return nil
			}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(res) < 4 || len(res) >= len(addrs) {
			t.Errorf("got %d results, want the few completed before the cancel", len(res))
		}
	})
}

// TestFetchErrorsSpeakOfTheServer: an organization's own server failing is
// retried like a portal failure, but it is never a portal error: its
// message names the server's answer, and no portal type is in its chain.
func TestFetchErrorsSpeakOfTheServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/down/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name, target string
		retry        bool
	}{
		{"unreachable", closed.URL + "/.well-known/smart-configuration", true},
		{"502", srv.URL + "/down/.well-known/smart-configuration", true},
		{"404", srv.URL + "/missing/.well-known/smart-configuration", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fetchSmart(context.Background(), &SmartOptions{Client: http.DefaultClient, Timeout: time.Second}, tt.target)
			if err == nil {
				t.Fatal("no error")
			}
			if got := pace.Retryable(err); got != tt.retry {
				t.Errorf("pace.Retryable = %v, want %v (%v)", got, tt.retry, err)
			}
			var ne *portal.NetworkError
			var se *portal.ServerError
			if errors.As(err, &ne) || errors.As(err, &se) || strings.Contains(err.Error(), "portal") {
				t.Errorf("an organization's server failing reads as the portal's: %T %v", err, err)
			}
		})
	}
}
