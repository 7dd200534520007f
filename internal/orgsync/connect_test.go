package orgsync

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/sim"
)

// TestCheckSession against the simulator: a good session is accepted, a
// lapsed one refused, and one whose confirming listing fails for another
// reason (5xx) accepted with a warning.
func TestCheckSession(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(s *sim.Sim)
		wantErr  error
		wantWarn bool
	}{
		{name: "accepted", setup: func(*sim.Sim) {}},
		{name: "lapsed", setup: func(s *sim.Sim) { s.ExpireSessions() }, wantErr: portal.ErrNotSignedIn},
		{name: "listing fails", setup: func(s *sim.Sim) { s.SetFaults(sim.Faults{ErrorRate: 1}) }, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Orgs: 3, Seed: 1})
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, err := portalhttp.New(portalhttp.Options{BaseURL: srv.URL, AppID: s.AppID(), Cookies: s.NewSession()})
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(s)
			warn, err := CheckSession(context.Background(), c, pace.New(1000, 0))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (warn != nil) != tt.wantWarn {
				t.Fatalf("warn = %v, want a warning: %v", warn, tt.wantWarn)
			}
		})
	}
}
