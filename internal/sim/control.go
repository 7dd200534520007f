package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// controlPrefix starts every simulator-only route. The real portal has no
// such routes, so a client must never call them; demos and tests do.
const controlPrefix = "/_sim/"

// DefaultMaxControlBytes bounds a /_sim/ request body.
const DefaultMaxControlBytes = 1 << 20

// isControlPath reports a simulator-only route; those are neither delayed
// nor recorded as Calls.
func isControlPath(p string) bool { return strings.HasPrefix(p, controlPrefix) }

// controlRoutes registers the /_sim/ routes listed in the package
// documentation.
func (s *Sim) controlRoutes() {
	s.mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Calls())
	})
	s.mux.HandleFunc("POST /_sim/calls/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST /_sim/session", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, s.NewSession())
	})
	s.mux.HandleFunc("POST /_sim/expire", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireSessions()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Faults())
	})
	s.mux.HandleFunc("POST /_sim/faults", s.controlFaults)
	s.mux.HandleFunc("POST /_sim/hold", s.controlHold)
	s.mux.HandleFunc("GET /_sim/orgs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Orgs())
	})
	s.mux.HandleFunc("POST /_sim/orgs", func(w http.ResponseWriter, r *http.Request) {
		var o Org
		if !readControl(w, r, &o) {
			return
		}
		if err := s.addOrg(o); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		got, _ := s.Org(o.OrgID)
		writeJSON(w, got)
	})
	s.mux.HandleFunc("POST /_sim/rename", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ OrgID, Name string }
		if !readControl(w, r, &req) {
			return
		}
		if strings.TrimSpace(req.Name) == "" {
			controlError(w, http.StatusBadRequest, errors.New("rename: Name is empty; send the new organization name"))
			return
		}
		s.controlResult(w, s.renameOrg(req.OrgID, req.Name))
	})
	s.mux.HandleFunc("POST /_sim/remove", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ OrgID string }
		if !readControl(w, r, &req) {
			return
		}
		if _, ok := s.Org(req.OrgID); !ok {
			s.controlResult(w, fmt.Errorf("remove %s: %w", req.OrgID, errNoOrg))
			return
		}
		s.RemoveOrg(req.OrgID)
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST /_sim/approved", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			OrgID    string
			Approved int
		}
		if !readControl(w, r, &req) {
			return
		}
		s.controlResult(w, s.setApproved(req.OrgID, req.Approved))
	})
	s.mux.HandleFunc("GET /_sim/stragglers", func(w http.ResponseWriter, r *http.Request) {
		out := s.Stragglers()
		if out == nil {
			out = []string{}
		}
		writeJSON(w, out)
	})
	s.mux.HandleFunc(controlPrefix, func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, fmt.Errorf("no simulator route %s %s; see the sim package documentation for the list", r.Method, r.URL.Path))
	})
}

// controlFaults merges the posted fields into the faults in effect.
func (s *Sim) controlFaults(w http.ResponseWriter, r *http.Request) {
	cur := s.Faults()
	wire := faultsJSON{
		Latency: cur.Latency.String(), RateLimit: cur.RateLimit, RateBurst: cur.RateBurst,
		ErrorRate: cur.ErrorRate, SessionRequests: cur.SessionRequests, LapseAsHTML: cur.LapseAsHTML,
		Jitter: durationString(cur.Jitter), RetryAfter: durationString(cur.RetryAfter),
	}
	if !readControl(w, r, &wire) {
		return
	}
	b, _ := json.Marshal(wire)
	var f Faults
	if err := json.Unmarshal(b, &f); err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	if err := f.Validate(); err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("faults: %w", err))
		return
	}
	s.SetFaults(f)
	writeJSON(w, s.Faults())
}

// readControl decodes a JSON control body, answering 400 on bad input.
func readControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, DefaultMaxControlBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("read %s body: %v; send a JSON object", r.URL.Path, err))
		return false
	}
	return true
}

// controlResult answers 204, or 404 for an unknown organization.
func (s *Sim) controlResult(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, errNoOrg):
		controlError(w, http.StatusNotFound, err)
	default:
		controlError(w, http.StatusBadRequest, err)
	}
}

// controlError answers a one-line plain-text error.
func controlError(w http.ResponseWriter, status int, err error) {
	http.Error(w, err.Error(), status)
}
