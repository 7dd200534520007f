package sim

import (
	"fmt"
	"net/http"
	"sync"
)

// Hold modes for ApproveDownload (see HoldApprovals).
const (
	HoldNone = ""
	// HoldBefore holds a call before the organization is changed: the
	// client never hears an answer, and nothing happened.
	HoldBefore = "before"
	// HoldAfter changes the organization, then holds the answer: the
	// portal accepted an upload the client never hears of.
	HoldAfter = "after"
)

// holdState is the ApproveDownload hold: what it holds, how many calls it
// holds now, and a channel closed to release them.
type holdState struct {
	mu      sync.Mutex
	mode    string
	held    int
	release chan struct{}
}

// HoldApprovals makes every ApproveDownload call wait, before (HoldBefore)
// or after (HoldAfter) it changes the organization, until the client goes
// away (a process killed mid-call) or HoldApprovals(HoldNone) releases it,
// which lets the held calls answer. A real portal's calls hang at times;
// this makes the moment exact for crash tests.
func (s *Sim) HoldApprovals(mode string) error {
	switch mode {
	case HoldNone, HoldBefore, HoldAfter:
	default:
		return fmt.Errorf("hold %q: use %q, %q or \"\" (release)", mode, HoldBefore, HoldAfter)
	}
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release != nil && mode != h.mode {
		close(h.release)
		h.release = nil
	}
	h.mode = mode
	if mode != HoldNone && h.release == nil {
		h.release = make(chan struct{})
	}
	return nil
}

// Held is how many ApproveDownload calls are being held now.
func (s *Sim) Held() int {
	s.hold.mu.Lock()
	defer s.hold.mu.Unlock()
	return s.hold.held
}

// holdApproval waits when the hold is set for this moment (HoldBefore or
// HoldAfter). It returns false when the client went away while held.
func (s *Sim) holdApproval(r *http.Request, moment string) bool {
	h := &s.hold
	h.mu.Lock()
	if h.mode != moment || h.release == nil {
		h.mu.Unlock()
		return true
	}
	release := h.release
	h.held++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.held--
		h.mu.Unlock()
	}()
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		return false
	}
}

// controlHold is POST /_sim/hold {"Mode":"after"}; "" releases.
func (s *Sim) controlHold(w http.ResponseWriter, r *http.Request) {
	var req struct{ Mode string }
	if !readControl(w, r, &req) {
		return
	}
	if err := s.HoldApprovals(req.Mode); err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, map[string]any{"Mode": req.Mode, "Held": s.Held()})
}
