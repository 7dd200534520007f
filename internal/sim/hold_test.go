package sim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHoldApprovals: HoldAfter changes the organization and holds the
// answer until the client goes away; HoldBefore holds before any change
// and, once released, answers as usual.
func TestHoldApprovals(t *testing.T) {
	tests := []struct {
		mode        string
		changedHeld bool // the org is changed while the call is held
		release     bool // release the hold (else the client gives up)
	}{
		{HoldAfter, true, false},
		{HoldBefore, false, false},
		{HoldBefore, false, true},
	}
	for _, tt := range tests {
		name := tt.mode
		if tt.release {
			name += " released"
		}
		t.Run(name, func(t *testing.T) {
			s, srv := startSim(t, testConfig())
			c := signedInClient(t, s, srv)
			org := orgWith(t, s, fresh)
			if err := s.HoldApprovals(tt.mode); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			form := approveForm(org.OrgID, false, false, fixture(t, "rsa2048.json"), fixture(t, "rsa2048.json"))
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/Developer/ApproveDownload", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(tokenHeader, c.token)
			done := make(chan int, 1)
			go func() {
				resp, err := c.hc.Do(req)
				if err != nil {
					done <- 0
					return
				}
				resp.Body.Close()
				done <- resp.StatusCode
			}()
			waitFor(t, func() bool { return s.Held() == 1 })
			got, _ := s.Org(org.OrgID)
			if changed := got.Approved != org.Approved; changed != tt.changedHeld {
				t.Errorf("org changed while held: %v, want %v", changed, tt.changedHeld)
			}
			if tt.release {
				if err := s.HoldApprovals(HoldNone); err != nil {
					t.Fatal(err)
				}
				if code := <-done; code != http.StatusOK {
					t.Fatalf("released call answered %d", code)
				}
				if got, _ := s.Org(org.OrgID); got.Approved != ApprovedBoth {
					t.Errorf("released call left Approved %d", got.Approved)
				}
				return
			}
			cancel() // the client goes away, as a killed process does
			if code := <-done; code != 0 {
				t.Fatalf("a held call answered %d", code)
			}
			waitFor(t, func() bool { return s.Held() == 0 })
			got, _ = s.Org(org.OrgID)
			if changed := got.Approved != org.Approved; changed != tt.changedHeld {
				t.Errorf("org changed after the client went away: %v, want %v", changed, tt.changedHeld)
			}
		})
	}
	s := New(testConfig())
	if err := s.HoldApprovals("sometimes"); err == nil {
		t.Error("an unknown hold mode was accepted")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
