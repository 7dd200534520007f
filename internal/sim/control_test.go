package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// control sends a request to a /_sim/ route and returns status and body.
func control(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestControlRoutes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path, body string
		wantStatus int
		check      func(t *testing.T, s *Sim, body string)
	}{
		{"add an organization", "POST", "/_sim/orgs", `{"OrgID":"32586","Name":"eleHealth"}`, 200,
			func(t *testing.T, s *Sim, body string) {
				o, ok := s.Org("32586")
				if !ok || o.Name != "eleHealth" || o.Approved != 0 || o.ECMId == "" || o.ECMId == "32586" {
					t.Fatalf("added %+v", o)
				}
				var echoed Org
				if err := json.Unmarshal([]byte(body), &echoed); err != nil || echoed.OrgID != "32586" {
					t.Fatalf("answer %s", body)
				}
			}},
		{"add an enabled organization", "POST", "/_sim/orgs", `{"OrgID":"392","Name":"Brown University Health","Approved":1}`, 200,
			func(t *testing.T, s *Sim, _ string) {
				if o, _ := s.Org("392"); o.Approved != 1 || !o.NonProd || !o.Prod {
					t.Fatalf("added %+v", o)
				}
			}},
		{"add with a bad OrgID", "POST", "/_sim/orgs", `{"OrgID":"392_50741"}`, 400, nil},
		{"add with a bad ECMId", "POST", "/_sim/orgs", `{"OrgID":"392","ECMId":"x"}`, 400, nil},
		{"add with an unknown field", "POST", "/_sim/orgs", `{"OrgId":"392","Colour":"red"}`, 400, nil},
		{"add with no body", "POST", "/_sim/orgs", ``, 400, nil},
		{"rename", "POST", "/_sim/rename", `{"OrgID":"FIRST","Name":"Brown University Health"}`, 204,
			func(t *testing.T, s *Sim, _ string) {
				if o := s.Orgs()[0]; o.Name != "Brown University Health" {
					t.Fatalf("renamed %+v", o)
				}
			}},
		{"rename unknown", "POST", "/_sim/rename", `{"OrgID":"99999999","Name":"X"}`, 404, nil},
		{"rename to nothing", "POST", "/_sim/rename", `{"OrgID":"FIRST","Name":" "}`, 400, nil},
		{"remove", "POST", "/_sim/remove", `{"OrgID":"FIRST"}`, 204,
			func(t *testing.T, s *Sim, _ string) {
				if len(s.Orgs()) != 59 {
					t.Fatalf("%d organizations after removal", len(s.Orgs()))
				}
			}},
		{"remove unknown", "POST", "/_sim/remove", `{"OrgID":"99999999"}`, 404, nil},
		{"set approved", "POST", "/_sim/approved", `{"OrgID":"FIRST","Approved":2}`, 204,
			func(t *testing.T, s *Sim, _ string) {
				if o := s.Orgs()[0]; o.Approved != 2 {
					t.Fatalf("approved %+v", o)
				}
			}},
		{"list organizations", "GET", "/_sim/orgs", "", 200,
			func(t *testing.T, s *Sim, body string) {
				var orgs []Org
				if err := json.Unmarshal([]byte(body), &orgs); err != nil || len(orgs) != 60 {
					t.Fatalf("listed %d: %v", len(orgs), err)
				}
			}},
		{"stragglers", "GET", "/_sim/stragglers", "", 200,
			func(t *testing.T, s *Sim, body string) {
				var ids []string
				if err := json.Unmarshal([]byte(body), &ids); err != nil || len(ids) == 0 || ids[0] != s.Stragglers()[0] {
					t.Fatalf("stragglers %s", body)
				}
			}},
		{"read faults", "GET", "/_sim/faults", "", 200,
			func(t *testing.T, s *Sim, body string) {
				if !strings.Contains(body, `"Latency":"0s"`) {
					t.Fatalf("faults %s", body)
				}
			}},
		{"change some faults", "POST", "/_sim/faults", `{"ErrorRate":0.25,"Latency":"5ms"}`, 200,
			func(t *testing.T, s *Sim, _ string) {
				if f := s.Faults(); f.ErrorRate != 0.25 || f.Latency != 5*time.Millisecond || f.SessionRequests != 4 {
					t.Fatalf("faults %+v (SessionRequests must keep its value)", f)
				}
			}},
		{"refuse bad faults", "POST", "/_sim/faults", `{"ErrorRate":2}`, 400,
			func(t *testing.T, s *Sim, body string) {
				if !strings.Contains(body, "error rate") || s.Faults().ErrorRate != 0 {
					t.Fatalf("answer %q, faults %+v", body, s.Faults())
				}
			}},
		{"refuse unknown fault", "POST", "/_sim/faults", `{"Chaos":true}`, 400, nil},
		{"new session", "POST", "/_sim/session", "", 200,
			func(t *testing.T, s *Sim, body string) {
				if !strings.HasPrefix(body, authCookie+"=") || !strings.Contains(body, "; "+stateCookie+"=") {
					t.Fatalf("cookie header %q", body)
				}
			}},
		{"unknown route", "GET", "/_sim/nothing", "", 404, nil},
		{"wrong method", "GET", "/_sim/expire", "", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SessionRequests = 4
			s, srv := startSim(t, cfg)
			body := strings.ReplaceAll(tt.body, "FIRST", s.Orgs()[0].OrgID)
			status, answer := control(t, srv.URL, tt.method, tt.path, body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, answer)
			}
			if status >= 400 && (strings.Count(strings.TrimSpace(answer), "\n") != 0 || answer == "") {
				t.Fatalf("error answer is not one line: %q", answer)
			}
			if tt.check != nil {
				tt.check(t, s, answer)
			}
			if n := len(s.Calls()); n != 0 {
				t.Fatalf("simulator-only route recorded %d calls", n)
			}
		})
	}
}

func TestControlSessionAndExpire(t *testing.T) {
	s, srv := startSim(t, testConfig())
	_, cookie := control(t, srv.URL, "POST", "/_sim/session", "")
	c := newClient(t, srv)
	c.setCookieHeader(cookie)
	c.loadToken()
	if resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("session from /_sim/session: status %d", resp.StatusCode)
	}
	if status, _ := control(t, srv.URL, "POST", "/_sim/expire", ""); status != http.StatusNoContent {
		t.Fatalf("expire: status %d", status)
	}
	if resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("after expire: status %d, want the sign-in redirect", resp.StatusCode)
	}
	if status, _ := control(t, srv.URL, "POST", "/_sim/calls/reset", ""); status != http.StatusNoContent || len(s.Calls()) != 0 {
		t.Fatalf("reset: status %d, %d calls left", status, len(s.Calls()))
	}
	c.post("/Developer/LoadDownloads", loadForm(), nil)
	_, body := control(t, srv.URL, "GET", "/_sim/calls", "")
	var calls []Call
	if err := json.Unmarshal([]byte(body), &calls); err != nil || len(calls) != 1 || calls[0].Answer != AnswerLogin {
		t.Fatalf("calls %s", body)
	}
}
