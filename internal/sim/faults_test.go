package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name      string
		rate      float64
		burst     int
		allowed   int // calls that pass before the first 429
		wantAfter int // Retry-After seconds of the first 429
	}{
		// Slow rates keep the test independent of how fast the machine is:
		// no token comes back while it runs.
		{"one every ten seconds", 0.1, 1, 1, 10},
		{"one every hundred seconds", 0.01, 1, 1, 100},
		{"burst of three", 0.05, 3, 3, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.RateLimit, cfg.RateBurst = tt.rate, tt.burst
			s, srv := startSim(t, cfg)
			c := signedInClient(t, s, srv) // the management page is not limited
			for i := range tt.allowed {
				if resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode != http.StatusOK {
					t.Fatalf("call %d within the limit: status %d", i+1, resp.StatusCode)
				}
			}
			resp, body := c.post("/Developer/ApproveDownload", approveForm(orgWith(t, s, fresh).OrgID, true, false, "", ""), nil)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("over the limit: status %d, want 429", resp.StatusCode)
			}
			after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil {
				t.Fatalf("Retry-After %q is not whole seconds", resp.Header.Get("Retry-After"))
			}
			if after < tt.wantAfter-2 || after > tt.wantAfter {
				t.Fatalf("Retry-After %d, want about %d", after, tt.wantAfter)
			}
			if strings.HasPrefix(body, "{") {
				t.Fatalf("429 answered JSON")
			}
			if got := lastCall(t, s).Answer; got != AnswerRateLimit {
				t.Fatalf("recorded %q", got)
			}
			if o := orgWith(t, s, func(Org) bool { return true }); o.NonProdChanged.Equal(fixedNow) {
				t.Fatalf("a refused call changed an organization")
			}
		})
	}
}

func TestErrorInjection(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		calls int
		want  func(t *testing.T, codes map[int]int)
	}{
		{"never", 0, 40, func(t *testing.T, codes map[int]int) {
			if codes[http.StatusOK] != 40 {
				t.Fatalf("codes %v, want only 200", codes)
			}
		}},
		{"always", 1, 60, func(t *testing.T, codes map[int]int) {
			for _, code := range []int{500, 502, 503} {
				if codes[code] == 0 {
					t.Fatalf("codes %v lack %d", codes, code)
				}
			}
			if codes[500]+codes[502]+codes[503] != 60 {
				t.Fatalf("codes %v, want only 5xx", codes)
			}
		}},
		{"sometimes", 0.3, 200, func(t *testing.T, codes map[int]int) {
			errs := codes[500] + codes[502] + codes[503]
			if errs == 0 || codes[http.StatusOK] == 0 || errs+codes[http.StatusOK] != 200 {
				t.Fatalf("codes %v, want a mix of 200 and 5xx", codes)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ErrorRate = tt.rate
			s, srv := startSim(t, cfg)
			c := signedInClient(t, s, srv)
			codes := map[int]int{}
			for range tt.calls {
				resp, body := c.post("/Developer/LoadDownloads", loadForm(), nil)
				codes[resp.StatusCode]++
				if resp.StatusCode >= 500 {
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || strings.HasPrefix(body, "{") {
						t.Fatalf("5xx answered %q %.40s", ct, body)
					}
					if got := lastCall(t, s).Answer; got != Answer5xx {
						t.Fatalf("recorded %q", got)
					}
				}
			}
			tt.want(t, codes)
		})
	}
}

func TestErrorInjectionIsSeeded(t *testing.T) {
	sequence := func(seed int64) []int {
		cfg := testConfig()
		cfg.Seed, cfg.ErrorRate = seed, 0.5
		s, srv := startSim(t, cfg)
		c := signedInClient(t, s, srv)
		var out []int
		for range 30 {
			resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil)
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a, b, other := sequence(11), sequence(11), sequence(12)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Fatalf("different seeds, same faults: %v", a)
	}
}

func TestInjected502MayFollowTheChange(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate = 1
	s, srv := startSim(t, cfg)
	c := signedInClient(t, s, srv)
	seen := map[int]bool{}
	for _, o := range s.Orgs() {
		if !fresh(o) {
			continue
		}
		resp, _ := c.post("/Developer/ApproveDownload", approveForm(o.OrgID, true, false, "", ""), nil)
		after, _ := s.Org(o.OrgID)
		switch resp.StatusCode {
		case http.StatusBadGateway:
			if after.Approved != ApprovedNonProd {
				t.Fatalf("502 on %s: the change was not made", o.OrgID)
			}
		case http.StatusInternalServerError, http.StatusServiceUnavailable:
			if after.Approved != ApprovedNone {
				t.Fatalf("%d on %s: the change was made", resp.StatusCode, o.OrgID)
			}
		default:
			t.Fatalf("status %d with ErrorRate 1", resp.StatusCode)
		}
		seen[resp.StatusCode] = true
	}
	if len(seen) != 3 {
		t.Fatalf("saw only %v", seen)
	}
}

func TestLatencyOverlapsAndHonoursCancel(t *testing.T) {
	const n = 4
	cfg := testConfig()
	cfg.Latency = time.Hour // only a cancelled request can finish
	s, srv := startSim(t, cfg)
	cookie := s.NewSession()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/Developer/LoadDownloads", strings.NewReader("appId="+DefaultAppID))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", cookie)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				errs <- errors.New("a request finished inside an hour of latency")
				return
			}
			errs <- nil
		}()
	}
	// All n requests are inside the delay at once: they do not queue.
	deadline := time.Now().Add(20 * time.Second)
	for s.sleeping.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests were delayed at the same time", s.sleeping.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The server side notices the cancellation and records it.
	for len(s.Calls()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("cancelled requests were not recorded")
		}
		time.Sleep(time.Millisecond)
	}
	for _, c := range s.Calls() {
		if c.Answer != AnswerCanceled {
			t.Fatalf("recorded %q, want %q", c.Answer, AnswerCanceled)
		}
	}
}

func TestSetFaultsAtRuntime(t *testing.T) {
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	if resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before faults: %d", resp.StatusCode)
	}
	s.SetFaults(Faults{ErrorRate: 1})
	if resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode < 500 {
		t.Fatalf("with ErrorRate 1: %d", resp.StatusCode)
	}
	s.SetFaults(Faults{SessionRequests: 1}) // this session already made 2
	if resp, _ := c.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("with an exhausted request budget: %d", resp.StatusCode)
	}
	s.SetFaults(Faults{RateLimit: -3, ErrorRate: 7, Latency: -time.Second})
	if f := s.Faults(); f.RateLimit != 0 || f.ErrorRate != 1 || f.Latency != 0 {
		t.Fatalf("out-of-range faults not clamped: %+v", f)
	}
}

func TestFaultsJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Faults
		wantErr string
	}{
		{`{"Latency":"250ms","RateLimit":2,"RateBurst":3,"ErrorRate":0.1,"SessionRequests":9,"LapseAsHTML":true}`,
			Faults{Latency: 250 * time.Millisecond, RateLimit: 2, RateBurst: 3, ErrorRate: 0.1, SessionRequests: 9, LapseAsHTML: true}, ""},
		{`{}`, Faults{}, ""},
		{`{"Latency":"soon"}`, Faults{}, "not a duration"},
		{`{"Latency":250}`, Faults{}, "read faults"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var f Faults
			err := json.Unmarshal([]byte(tt.in), &f)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || f != tt.want {
				t.Fatalf("got %+v, %v", f, err)
			}
			b, _ := json.Marshal(f)
			var back Faults
			if err := json.Unmarshal(b, &back); err != nil || back != f {
				t.Fatalf("round trip %s gave %+v, %v", b, back, err)
			}
		})
	}
}

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		f    Faults
		want string
	}{
		{Faults{}, ""},
		{Faults{Latency: -1}, "latency"},
		{Faults{RateLimit: -1}, "rate limit"},
		{Faults{RateBurst: -1}, "rate burst"},
		{Faults{ErrorRate: 1.5}, "error rate"},
		{Faults{ErrorRate: -0.1}, "error rate"},
		{Faults{SessionRequests: -2}, "session requests"},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.f, err, tt.want)
		}
	}
}
