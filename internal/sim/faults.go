package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// Faults are the simulator's misbehaviours that can change while it runs.
type Faults struct {
	// Latency is added to every portal request.
	Latency time.Duration
	// Jitter varies Latency per request, uniformly within ±Jitter (never
	// below zero), before the rate limit counts the request: arrival times
	// jitter as they do across a real network.
	Jitter time.Duration
	// RateLimit is requests per second allowed on the JSON calls (0 = no
	// limit); RateBurst is the limiter's burst (1 when not positive).
	RateLimit float64
	RateBurst int
	// ErrorRate is the probability of a random 500, 502 or 503 on a JSON
	// call.
	ErrorRate float64
	// SessionRequests makes a session lapse after this many JSON requests
	// (0 = never).
	SessionRequests int
	// LapseAsHTML answers a JSON call without a session with the sign-in
	// page (200 text/html) instead of a redirect.
	LapseAsHTML bool
	// RetryAfter, when set, is the Retry-After of every 429 instead of the
	// limiter's own wait: a portal asking for a long pause (hours).
	RetryAfter time.Duration
}

// faultsJSON is the wire form of Faults for /_sim/faults: Latency is a Go
// duration string such as "250ms" so that people can write it by hand.
type faultsJSON struct {
	Latency         string  `json:"Latency"`
	Jitter          string  `json:"Jitter,omitempty"`
	RateLimit       float64 `json:"RateLimit"`
	RateBurst       int     `json:"RateBurst"`
	ErrorRate       float64 `json:"ErrorRate"`
	SessionRequests int     `json:"SessionRequests"`
	LapseAsHTML     bool    `json:"LapseAsHTML"`
	RetryAfter      string  `json:"RetryAfter,omitempty"`
}

// MarshalJSON writes Latency as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency:         f.Latency.String(),
		Jitter:          durationString(f.Jitter),
		RateLimit:       f.RateLimit,
		RateBurst:       f.RateBurst,
		ErrorRate:       f.ErrorRate,
		SessionRequests: f.SessionRequests,
		LapseAsHTML:     f.LapseAsHTML,
		RetryAfter:      durationString(f.RetryAfter),
	})
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// UnmarshalJSON reads Latency as a duration string ("250ms", "1s").
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("read faults: %w", err)
	}
	var d time.Duration
	if w.Latency != "" {
		var err error
		if d, err = time.ParseDuration(w.Latency); err != nil {
			return fmt.Errorf("read faults: Latency %q is not a duration; write it like \"250ms\"", w.Latency)
		}
	}
	var jit time.Duration
	if w.Jitter != "" {
		var err error
		if jit, err = time.ParseDuration(w.Jitter); err != nil {
			return fmt.Errorf("read faults: Jitter %q is not a duration; write it like \"20ms\"", w.Jitter)
		}
	}
	var ra time.Duration
	if w.RetryAfter != "" {
		var err error
		if ra, err = time.ParseDuration(w.RetryAfter); err != nil {
			return fmt.Errorf("read faults: RetryAfter %q is not a duration; write it like \"24h\"", w.RetryAfter)
		}
	}
	*f = Faults{Latency: d, Jitter: jit, RateLimit: w.RateLimit, RateBurst: w.RateBurst, ErrorRate: w.ErrorRate,
		SessionRequests: w.SessionRequests, LapseAsHTML: w.LapseAsHTML, RetryAfter: ra}
	return nil
}

// Validate reports the first out-of-range field, naming the fix.
func (f Faults) Validate() error {
	switch {
	case f.Latency < 0:
		return fmt.Errorf("latency %v is negative; use 0 for none", f.Latency)
	case f.Jitter < 0:
		return fmt.Errorf("jitter %v is negative; use 0 for none", f.Jitter)
	case f.RateLimit < 0 || math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0):
		return fmt.Errorf("rate limit %v is not a non-negative number; use 0 for unlimited", f.RateLimit)
	case f.RateBurst < 0:
		return fmt.Errorf("rate burst %d is negative; use 0 for the default of 1", f.RateBurst)
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return fmt.Errorf("error rate %v is outside 0..1; use e.g. 0.05 for 5%%", f.ErrorRate)
	case f.SessionRequests < 0:
		return fmt.Errorf("session requests %d is negative; use 0 for sessions that never lapse", f.SessionRequests)
	case f.RetryAfter < 0:
		return fmt.Errorf("retry-after %v is negative; use 0 for the limiter's own wait", f.RetryAfter)
	}
	return nil
}

// SetFaults replaces the runtime faults. Every field takes effect for the
// next request; a zero field turns its fault off. Out-of-range values are
// clamped to the nearest valid one (the /_sim/faults route refuses them
// instead).
func (s *Sim) SetFaults(f Faults) {
	f.Latency = max(f.Latency, 0)
	f.Jitter = max(f.Jitter, 0)
	if !(f.RateLimit > 0) || math.IsInf(f.RateLimit, 0) {
		f.RateLimit = 0
	}
	f.RateBurst = max(f.RateBurst, 0)
	f.ErrorRate = min(max(f.ErrorRate, 0), 1)
	if math.IsNaN(f.ErrorRate) {
		f.ErrorRate = 0
	}
	f.SessionRequests = max(f.SessionRequests, 0)
	f.RetryAfter = max(f.RetryAfter, 0)
	s.faultMu.Lock()
	s.setFaultsLocked(f)
	s.faultMu.Unlock()
}

// setFaultsLocked installs faults and a fresh limiter. The caller holds
// faultMu (or owns s exclusively, as New does).
func (s *Sim) setFaultsLocked(f Faults) {
	s.faults = f
	s.limiter = nil
	if f.RateLimit > 0 {
		burst := f.RateBurst
		if burst <= 0 {
			burst = 1
		}
		s.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), burst)
	}
}

// Faults returns the runtime faults in effect.
func (s *Sim) Faults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// delay sleeps for the configured Latency (varied by Jitter), returning
// false when the client gave up first. Concurrent requests sleep at the
// same time.
func (s *Sim) delay(r *http.Request) bool {
	f := s.Faults()
	d := f.Latency
	if f.Jitter > 0 {
		s.faultMu.Lock()
		d += time.Duration(s.rnd.Int64N(int64(2*f.Jitter)+1)) - f.Jitter
		s.faultMu.Unlock()
	}
	if d <= 0 {
		return true
	}
	s.sleeping.Add(1)
	defer s.sleeping.Add(-1)
	return wait(r, d)
}

// wait sleeps for d, returning false when the client gave up first.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// throttle applies the rate limit. It returns the whole seconds to wait
// and false when the request must be refused.
func (s *Sim) throttle() (int, bool) {
	s.faultMu.Lock()
	lim := s.limiter
	s.faultMu.Unlock()
	if lim == nil {
		return 0, true
	}
	now := time.Now() // the limiter runs on real time even when the clock is fixed
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return 1, false
	}
	wait := res.DelayFrom(now)
	if wait <= 0 {
		return 0, true
	}
	res.CancelAt(now)
	if ra := s.Faults().RetryAfter; ra > 0 {
		wait = ra
	}
	secs := int(math.Ceil(wait.Seconds()))
	return max(secs, 1), false
}

// injectedError draws whether this JSON call fails with a random 5xx, and
// which one.
func (s *Sim) injectedError() int {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.faults.ErrorRate <= 0 || s.rnd.Float64() >= s.faults.ErrorRate {
		return 0
	}
	return [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.rnd.IntN(3)]
}

// writeInjected answers an injected server error the way the portal's
// front end would: an HTML error page, never JSON.
func writeInjected(w *recorder, code int) {
	w.answer = Answer5xx
	switch code {
	case http.StatusBadGateway:
		writeHTMLError(w, code, "502 - Web server received an invalid response while acting as a gateway or proxy server.",
			"There is a problem with the page you are looking for, and it cannot be displayed.")
	case http.StatusServiceUnavailable:
		writeHTMLError(w, code, "Service Unavailable", "The service is temporarily unavailable. Please try again later.")
	default:
		writeHTMLError(w, code, "Server Error", "An error occurred while processing your request.")
	}
}

// guardJSON applies, in order, the rules every JSON call shares: POST only,
// the rate limit, the session (and its request budget), the anti-forgery
// token, and last the injected errors. It answers the request itself and
// returns ok=false when the call must not proceed; otherwise it returns the
// injected error the handler must still answer (0 for none), so that a 502
// can come after the change was made.
func (s *Sim) guardJSON(w *recorder, r *http.Request) (injected int, ok bool) {
	if r.Method != http.MethodPost {
		s.handleNotFound(w, r)
		return 0, false
	}
	if wait, allowed := s.throttle(); !allowed {
		w.answer = AnswerRateLimit
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeHTMLError(w, http.StatusTooManyRequests, "Too Many Requests", "Too many requests. Please slow down.")
		return 0, false
	}
	faults := s.Faults()
	header := r.Header.Get(tokenHeader)
	w.hasToken = header != ""

	s.mu.Lock()
	sess, id := s.sessionOfLocked(r)
	if sess != nil {
		sess.requests++
		sess.lastRequest = s.now()
		if faults.SessionRequests > 0 && sess.requests > faults.SessionRequests {
			delete(s.sessions, id)
			sess = nil
		}
	}
	var tokenOK, cookieOK bool
	if sess != nil {
		tokenOK = header != "" && safeEqual(header, sess.token)
		cookieOK = true
		if s.cfg.RequireAntiForgeryCookie {
			c, err := r.Cookie(antiForgeryName)
			cookieOK = err == nil && safeEqual(c.Value, sess.afCookie)
		}
	}
	s.mu.Unlock()

	if sess == nil {
		s.lapsed(w, r, faults.LapseAsHTML)
		return 0, false
	}
	w.tokenValid = tokenOK
	if !tokenOK || !cookieOK {
		w.answer = AnswerForbidden
		writeHTMLError(w, http.StatusForbidden, "403 - Forbidden",
			"The required anti-forgery token was not supplied or was invalid.")
		return 0, false
	}
	return s.injectedError(), true
}

// lapsed answers a JSON call that has no valid session, in one of the
// three ways an ASP.NET site with OWIN cookie authentication does: the
// sign-in page itself, an empty 200 with an X-Responded-JSON header for
// requests that say they are XMLHttpRequests, or a redirect to sign-in.
func (s *Sim) lapsed(w *recorder, r *http.Request, asHTML bool) {
	w.answer = AnswerLogin
	login := loginURL(r.URL.Path)
	switch {
	case asHTML:
		s.renderLogin(w, http.StatusOK, loginAction(r.URL.Path, ""), "", "")
	case r.Header.Get("X-Requested-With") == "XMLHttpRequest":
		abs := "http://" + r.Host + login
		if r.TLS != nil {
			abs = "https://" + r.Host + login
		}
		b, _ := json.Marshal(map[string]any{"status": 401, "headers": map[string]string{"location": abs}})
		w.Header().Set("X-Responded-JSON", string(b))
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
	default:
		http.Redirect(w, r, login, http.StatusFound)
	}
}
