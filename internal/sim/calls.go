package sim

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Answer kinds recorded in Call.Answer: a short word for what the simulator
// did, so tests can assert on behaviour without parsing bodies.
const (
	AnswerOK        = "ok"        // the request did what it asked
	AnswerRefused   = "refused"   // the organization refused (a straggler)
	AnswerNotFound  = "notfound"  // unknown route, app, or download
	AnswerRateLimit = "429"       // rejected by the rate limit
	Answer5xx       = "5xx"       // an injected server error
	AnswerLogin     = "login"     // no valid session: sign-in redirect or page, or a failed sign-in
	AnswerForbidden = "forbidden" // missing or wrong anti-forgery token
	AnswerBad       = "bad"       // malformed input refused
	AnswerCanceled  = "canceled"  // the client went away during the Latency delay
)

// DefaultMaxCalls bounds the call log. A long demo run would otherwise grow
// without limit; when the log passes twice this size the oldest entries are
// dropped so the most recent DefaultMaxCalls remain.
const DefaultMaxCalls = 200_000

// redacted replaces the value of a secret form field in the call log: the
// log shows that the field was sent, never what it held.
const redacted = "[redacted]"

// secretFields are form fields whose values are credentials. They are never
// kept in the call log.
var secretFields = map[string]bool{
	"Password":                   true,
	"Code":                       true,
	"code":                       true,
	"__RequestVerificationToken": true,
	"client_assertion":           true,
	"client_secret":              true,
	"refresh_token":              true,
	"access_token":               true,
}

// Call is one request the simulator received, kept so tests and demos can
// check what a client did. It never holds cookie, token or password values.
type Call struct {
	At     time.Time
	Method string
	Path   string
	// Form holds the query and form-body parameters, with the values of
	// secret fields replaced by "[redacted]".
	Form url.Values
	// HasToken reports a non-empty RequestVerificationToken header.
	HasToken bool
	// TokenValid reports that the header matched the session's token.
	TokenValid bool
	// HasCookie reports that the request carried the session cookie.
	HasCookie bool
	Status    int
	// Answer is one of the Answer... kinds.
	Answer string
}

// recorder captures what a handler answered so it can be recorded.
type recorder struct {
	http.ResponseWriter
	status     int
	answer     string
	hasToken   bool
	tokenValid bool
	hasCookie  bool
}

// WriteHeader remembers the status before passing it on.
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write remembers the implicit 200 status.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// SetAnswer sets the Answer kind recorded for a request. Extension routes
// registered with Handle call it with the ResponseWriter they were given;
// without it the kind is derived from the status code.
func SetAnswer(w http.ResponseWriter, kind string) {
	if rec, ok := w.(*recorder); ok {
		rec.answer = kind
	}
}

// answerFor derives an Answer kind from a status when a handler set none.
func answerFor(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return AnswerRateLimit
	case status == http.StatusNotFound:
		return AnswerNotFound
	case status == http.StatusForbidden:
		return AnswerForbidden
	case status >= 500:
		return Answer5xx
	case status >= 400:
		return AnswerBad
	default:
		return AnswerOK
	}
}

// record appends the finished request to the call log.
func (s *Sim) record(r *http.Request, rec *recorder) {
	status := rec.status
	if status == 0 && rec.answer != AnswerCanceled {
		status = http.StatusOK
	}
	answer := rec.answer
	if answer == "" {
		answer = answerFor(status)
	}
	c := Call{
		At:         s.now(),
		Method:     r.Method,
		Path:       r.URL.Path,
		Form:       loggedForm(r),
		HasToken:   rec.hasToken,
		TokenValid: rec.tokenValid,
		HasCookie:  rec.hasCookie,
		Status:     status,
		Answer:     answer,
	}
	s.callsMu.Lock()
	s.calls = append(s.calls, c)
	if len(s.calls) > 2*DefaultMaxCalls {
		s.calls = append([]Call(nil), s.calls[len(s.calls)-DefaultMaxCalls:]...)
	}
	s.callsMu.Unlock()
}

// copyValues copies parameters so callers cannot change the log.
func copyValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// loggedForm copies the request's parameters with secrets redacted.
func loggedForm(r *http.Request) url.Values {
	src := r.Form
	if src == nil {
		src = r.URL.Query()
	}
	out := make(url.Values, len(src))
	for k, vs := range src {
		if secretFields[k] {
			out[k] = []string{redacted}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Calls returns a copy of every request received so far, oldest first
// (at most the most recent 2*DefaultMaxCalls).
func (s *Sim) Calls() []Call {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Form = copyValues(c.Form)
		out[i] = c
	}
	return out
}

// ResetCalls forgets every recorded request.
func (s *Sim) ResetCalls() {
	s.callsMu.Lock()
	s.calls = nil
	s.callsMu.Unlock()
}

// bodyError is a request body the simulator refuses before routing.
type bodyError struct {
	status        int
	title, detail string
}

// parseBody reads a form-encoded body, bounded by DefaultMaxFormBytes, so
// that handlers and the call log see the same parameters.
func parseBody(w http.ResponseWriter, r *http.Request) *bodyError {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost || ct != "application/x-www-form-urlencoded" {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, DefaultMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &bodyError{http.StatusRequestEntityTooLarge, "Request too large",
				"The request body is larger than the portal accepts."}
		}
		return &bodyError{http.StatusBadRequest, "Bad request",
			"The form body could not be read: " + strings.TrimSpace(err.Error())}
	}
	return nil
}
