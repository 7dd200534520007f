package portalhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/sim"
)

func newClient(t *testing.T, cfg sim.Config) (*sim.Sim, *portalhttp.Client) {
	t.Helper()
	s := sim.New(cfg)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := portalhttp.New(portalhttp.Options{BaseURL: srv.URL, AppID: s.AppID(), Cookies: s.NewSession()})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestListAllAgainstSimulator(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sim.Config
		size    int
		wantLen int
		calls   int
	}{
		{"one page and the empty one", sim.Config{Orgs: 30, Seed: 1}, 100, 30, 2},
		{"exact multiple", sim.Config{Orgs: 40, Seed: 1}, 20, 40, 3},
		{"short last page", sim.Config{Orgs: 45, Seed: 1}, 20, 45, 4},
		// A portal that caps the page size below the one asked for: a short
		// page is not trusted to be the last.
		{"capped page size", sim.Config{Orgs: 45, Seed: 1, PageSizeMax: 10}, 100, 45, 6},
		{"no organizations", sim.Config{Orgs: -1, Seed: 1}, 100, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newClient(t, tt.cfg)
			ds, err := portal.ListAll(context.Background(), c.LoadDownloads, tt.size, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != tt.wantLen {
				t.Fatalf("listed %d, want %d", len(ds), tt.wantLen)
			}
			n := 0
			for _, call := range s.Calls() {
				if call.Path == "/Developer/LoadDownloads" {
					n++
					if !call.TokenValid {
						t.Error("a call without a valid anti-forgery token")
					}
				}
			}
			if n != tt.calls {
				t.Errorf("%d LoadDownloads calls, want %d", n, tt.calls)
			}
			seen := map[string]bool{}
			for _, d := range ds {
				o, ok := s.Org(d.OrgID)
				if !ok {
					t.Fatalf("OrgId %s (from Id %s) unknown to the portal", d.OrgID, d.ID)
				}
				if d.ECMId == d.OrgID || d.ECMId != o.ECMId || d.OrgName != o.Name || int(d.Approved) != o.Approved {
					t.Fatalf("download %+v does not match org %+v", d, o)
				}
				if seen[d.OrgID] {
					t.Fatalf("org %s listed twice", d.OrgID)
				}
				seen[d.OrgID] = true
			}
		})
	}
}

func TestApproveAnswersAgainstSimulator(t *testing.T) {
	s, c := newClient(t, sim.Config{Orgs: 60, Seed: 1})
	ctx := context.Background()
	stragglers := s.Stragglers()
	if len(stragglers) == 0 {
		t.Fatal("simulator has no straggler")
	}
	var pending string
	for _, o := range s.Orgs() {
		if o.Approved == 0 && !o.Straggler {
			pending = o.OrgID
			break
		}
	}
	msg, err := c.Approve(ctx, portal.Activation{OrgID: pending, NonProdOnly: true})
	if err != nil || msg == "" {
		t.Fatalf("approve = %q, %v", msg, err)
	}
	if o, _ := s.Org(pending); portal.Status(o.Approved) != portal.StatusNonProdOnly {
		t.Fatalf("status after non-production = %d", o.Approved)
	}
	_, err = c.Approve(ctx, portal.Activation{OrgID: stragglers[0], NonProdOnly: true})
	var re *portal.RefusedError
	if !errors.As(err, &re) || re.Message != "Failed to register client for download." || re.OrgID != stragglers[0] {
		t.Fatalf("straggler: %v", err)
	}
	_, err = c.Approve(ctx, portal.Activation{OrgID: "99999999", NonProdOnly: true})
	var pe *portal.PortalError
	if !errors.As(err, &pe) || !pe.NotFound() {
		t.Fatalf("unknown org: %v", err)
	}
	ec := `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"ec"}]}`
	_, err = c.Approve(ctx, portal.Activation{OrgID: pending, TestJWKS: ec, ProdJWKS: ec})
	if err == nil || pace.Retryable(err) || errors.Is(err, portal.ErrNotSignedIn) {
		t.Fatalf("EC key set: %v", err)
	}
}

func TestSessionLapseKinds(t *testing.T) {
	for _, asHTML := range []bool{false, true} {
		s, c := newClient(t, sim.Config{Orgs: 5, Seed: 1, SessionRequests: 1, LapseAsHTML: asHTML})
		ctx := context.Background()
		if _, err := c.LoadDownloads(ctx, 0, 20); err != nil {
			t.Fatal(err)
		}
		_, err := c.LoadDownloads(ctx, 1, 20)
		if !errors.Is(err, portal.ErrNotSignedIn) {
			t.Fatalf("asHTML=%v: lapse not recognised: %v", asHTML, err)
		}
		if strings.Contains(err.Error(), "AspNet") {
			t.Fatal("error names a cookie")
		}
		s.ExpireSessions()
		if err := c.Connect(ctx); !errors.Is(err, portal.ErrNotSignedIn) {
			t.Fatalf("connect after expiry: %v", err)
		}
	}
}

func TestFaultsAreTyped(t *testing.T) {
	s, c := newClient(t, sim.Config{Orgs: 5, Seed: 1})
	ctx := context.Background()
	s.SetFaults(sim.Faults{RateLimit: 0.01, RateBurst: 1})
	c.LoadDownloads(ctx, 0, 20)
	_, err := c.LoadDownloads(ctx, 0, 20)
	var rl *portal.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || !pace.Retryable(err) {
		t.Fatalf("rate limit: %v", err)
	}
	s.SetFaults(sim.Faults{ErrorRate: 1})
	_, err = c.LoadDownloads(ctx, 0, 20)
	var se *portal.ServerError
	if !errors.As(err, &se) || se.Status < 500 || !pace.Retryable(err) {
		t.Fatalf("5xx: %v", err)
	}
}

func TestUnknownApp(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 5, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, _ := portalhttp.New(portalhttp.Options{BaseURL: srv.URL, AppID: "1", Cookies: s.NewSession()})
	var ae *portal.AppNotFoundError
	if err := c.Connect(context.Background()); !errors.As(err, &ae) {
		t.Fatalf("unknown app: %v", err)
	}
}

// TestListAllRestartsWhenTheListShifts: an organization arriving during a
// listing pushes one onto the next page; the listing starts over and
// returns every organization once.
func TestListAllRestartsWhenTheListShifts(t *testing.T) {
	s, c := newClient(t, sim.Config{Orgs: 30, Seed: 1})
	added := false
	load := func(ctx context.Context, page, size int) ([]portal.Download, error) {
		ds, err := c.LoadDownloads(ctx, page, size)
		if page == 0 && !added {
			added = true
			s.AddOrg(sim.Org{OrgID: "1", Name: "Arrived Mid-Listing"})
		}
		return ds, err
	}
	ds, err := portal.ListAll(context.Background(), load, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 31 {
		t.Fatalf("listed %d, want 31", len(ds))
	}

	// A portal that ignores the page number never ends: an error, not a loop.
	ignore := func(ctx context.Context, page, size int) ([]portal.Download, error) {
		return c.LoadDownloads(ctx, 0, size)
	}
	_, err = portal.ListAll(context.Background(), ignore, 10, nil)
	if err == nil || !strings.Contains(err.Error(), "ignored the page number") {
		t.Fatalf("err = %v", err)
	}
}

// TestCheckNeedsMoreThanAPageWithAToken: sign-in forms carry anti-forgery
// tokens too. A sign-in page served in place of the management page (HTTP
// 200) is not signed in, and neither is a convincing management page whose
// JSON calls answer HTML.
func TestCheckNeedsMoreThanAPageWithAToken(t *testing.T) {
	const token = `<input name="__RequestVerificationToken" type="hidden" value="tok-123" />`
	tests := []struct {
		name       string
		page       string
		json       string
		connectErr bool
	}{
		{"sign-in form at the management address", `<form><input id="Email" name="Email" /><input name="Password" type="password" />` + token + `</form>`, `{"Success":true,"Data":{"Downloads":[]}}`, true},
		{"sign-in form, unquoted type", `<form><input name=Password type=PASSWORD>` + token + `</form>`, `{"Success":true,"Data":{"Downloads":[]}}`, true},
		{"management page, JSON calls answer HTML", `<h1>Review &amp; Manage Downloads</h1>` + token, `<html>Please sign in</html>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					w.Header().Set("Content-Type", "text/html")
					w.Write([]byte(tt.page))
					return
				}
				w.Header().Set("Content-Type", "text/html")
				if strings.HasPrefix(tt.json, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.Write([]byte(tt.json))
			}))
			defer srv.Close()
			c, _ := portalhttp.New(portalhttp.Options{BaseURL: srv.URL, AppID: "50741", Cookies: "a=b"})
			err := c.Connect(context.Background())
			if tt.connectErr != (err != nil) {
				t.Fatalf("Connect: %v", err)
			}
			if err := c.Check(context.Background()); !errors.Is(err, portal.ErrNotSignedIn) {
				t.Fatalf("Check: %v, want not signed in", err)
			}
		})
	}
	// The real management page passes.
	_, c := newClient(t, sim.Config{Orgs: 3, Seed: 1})
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check against the simulator: %v", err)
	}
}

// TestHugeAnswers: a 20 MB organization name is cut on the way in (and
// said so); a listing page over the answer limit is refused as too large,
// not as broken JSON.
func TestHugeAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds answers of tens of megabytes")
	}
	tests := []struct {
		name     string
		nameSize int
		wantErr  string
	}{
		{"20 MB name is cut", 20 << 20, ""},
		{"page over the limit", portalhttp.MaxAnswerBytes + 1<<20, "answer too large (33 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newClient(t, sim.Config{Orgs: 3, Seed: 1})
			s.AddOrg(sim.Org{OrgID: "777", Name: strings.Repeat("A", tt.nameSize)})
			if err := c.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			ds, err := c.LoadDownloads(context.Background(), 0, 100)
			if tt.wantErr != "" {
				var me *portal.MalformedError
				if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want a MalformedError saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.OrgID != "777" {
					if len(d.Cut) > 0 {
						t.Errorf("org %s cut: %v", d.OrgID, d.Cut)
					}
					continue
				}
				if len(d.OrgName) > portal.MaxNameBytes || len(d.Cut) != 1 || d.Cut[0] != "name of 20 MB cut to 1000 bytes" {
					t.Errorf("name of %d bytes kept, cut %q", len(d.OrgName), d.Cut)
				}
				return
			}
			t.Fatal("org 777 not listed")
		})
	}
}
