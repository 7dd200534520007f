package sim

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse drives every part of the simulator from many
// goroutines at once; run with -race it proves the locking.
func TestConcurrentUse(t *testing.T) {
	cfg := testConfig()
	cfg.Orgs = 300
	cfg.SessionRequests = 40
	s, srv := startSim(t, cfg)
	jwks := fixture(t, "rsa2048.json")
	orgs := s.Orgs()

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	worker := func(w int) {
		defer wg.Done()
		c := signedInClient(t, s, srv)
		for i := range 30 {
			o := orgs[(w*31+i)%len(orgs)]
			var resp *http.Response
			if i%2 == 0 {
				resp, _ = c.post("/Developer/LoadDownloads", loadForm("PageSize", "50", "page", strconv.Itoa(i%7)), nil)
			} else {
				resp, _ = c.post("/Developer/ApproveDownload", approveForm(o.OrgID, false, false, jwks, jwks), nil)
			}
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusFound: // the session lapsed: sign in again
				c = signedInClient(t, s, srv)
			default:
				errs <- fmt.Errorf("worker %d call %d: status %d", w, i, resp.StatusCode)
				return
			}
		}
	}
	for w := range 8 {
		wg.Add(1)
		go worker(w)
	}
	wg.Add(1)
	go func() { // the portal changes underneath
		defer wg.Done()
		for i := range 50 {
			id := strconv.Itoa(500_000 + i)
			s.AddOrg(Org{OrgID: id, Name: "Arrival " + id})
			s.RenameOrg(orgs[i].OrgID, "Renamed "+strconv.Itoa(i))
			s.SetApproved(orgs[i+50].OrgID, ApprovedDeclined)
			if i%10 == 0 {
				s.RemoveOrg(id)
			}
			s.SetFaults(Faults{SessionRequests: 40, Latency: time.Duration(i%2) * time.Microsecond})
			_ = s.Calls()
			_ = s.Orgs()
			_, _ = s.Org(orgs[i].OrgID)
			_ = s.Stragglers()
			_ = s.NewSession()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.Orgs()); got != 300+45 {
		t.Fatalf("%d organizations after the changes, want %d", got, 345)
	}
	for _, o := range s.Orgs() {
		if o.TestJWKS != "" && o.Approved != ApprovedBoth && o.Approved != ApprovedDeclined {
			t.Fatalf("inconsistent organization %+v", o)
		}
	}
}
