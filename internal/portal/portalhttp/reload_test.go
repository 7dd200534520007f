package portalhttp

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/activator-dev/activator/internal/sim"
)

// TestConcurrentTokenReload: workers sharing a client whose token went
// stale all succeed, and only one of them reloads the management page.
func TestConcurrentTokenReload(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 10, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, AppID: s.AppID(), Cookies: s.NewSession()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.setToken("stale")
	s.ResetCalls()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.LoadDownloads(context.Background(), 0, 5); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	pages := 0
	for _, call := range s.Calls() {
		if call.Path == "/Developer/Management" {
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("management page loaded %d times, want 1", pages)
	}
}
