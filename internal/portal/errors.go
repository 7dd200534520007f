package portal

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotSignedIn marks every error that means the session is missing,
// expired or rejected. Callers stop and ask for a new sign-in: retrying with
// the same cookies cannot succeed.
var ErrNotSignedIn = errors.New("not signed in to the portal")

// SessionError says why the portal no longer accepts the session.
type SessionError struct {
	Reason string
}

func (e *SessionError) Error() string { return "not signed in to the portal: " + e.Reason }

// Unwrap makes errors.Is(err, ErrNotSignedIn) true.
func (e *SessionError) Unwrap() error { return ErrNotSignedIn }

// RefusedError is the organization's refusal: the portal accepted the call
// but could not register the client there ("Failed to register client for
// download."). It is seen at a few organizations every time, likely not yet
// provisioned; worth trying on a later run, never in a tight loop.
type RefusedError struct {
	OrgID   string
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("organization %s refused: %s", e.OrgID, e.Message)
}

// PortalError is the portal's outer failure ({"Success":false,"Message":...}),
// for example "Download request could not be found." for an unknown OrgId.
type PortalError struct {
	Message string
}

func (e *PortalError) Error() string {
	if e.Message == "" {
		return "the portal answered Success=false without a message"
	}
	return "the portal answered: " + e.Message
}

// NotFoundMessage is the portal's answer for an OrgId it does not know.
const NotFoundMessage = "Download request could not be found."

// NotFound reports whether the portal did not recognise the organization.
func (e *PortalError) NotFound() bool { return e.Message == NotFoundMessage }

// RateLimitError is a 429 answer. RetryAfter is the portal's Retry-After,
// zero when it gave none.
type RateLimitError struct {
	RetryAfter time.Duration
}

// Throttled returns RetryAfter: the pace waits it out (pace.ThrottleError).
func (e *RateLimitError) Throttled() time.Duration { return e.RetryAfter }

// Retryable is true: the call may succeed after the wait
// (pace.RetryableError).
func (e *RateLimitError) Retryable() bool { return true }

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("rate limited by the portal (429, retry after %s)", e.RetryAfter)
	}
	return "rate limited by the portal (429)"
}

// ServerError is a 5xx answer.
type ServerError struct {
	Status int
}

func (e *ServerError) Error() string { return fmt.Sprintf("portal server error (HTTP %d)", e.Status) }

// Retryable is true: a 5xx may pass later (pace.RetryableError).
func (e *ServerError) Retryable() bool { return true }

// NetworkError is a failure to reach the portal at all: DNS, connection,
// TLS, or a time-out.
type NetworkError struct {
	Err error
}

func (e *NetworkError) Error() string { return "cannot reach the portal: " + e.Err.Error() }

// Unwrap returns the transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Retryable is true: the portal may be reachable later
// (pace.RetryableError).
func (e *NetworkError) Retryable() bool { return true }

// MalformedError is an answer that is not what the portal sends: unexpected
// status, JSON of the wrong shape, a missing anti-forgery token.
type MalformedError struct {
	What string
}

func (e *MalformedError) Error() string { return "unexpected answer from the portal: " + e.What }

// AppNotFoundError is the management page answering 404 for the app id.
type AppNotFoundError struct {
	AppID string
}

func (e *AppNotFoundError) Error() string {
	return fmt.Sprintf("the portal has no management page for app %q: check --app (the numeric id in the page's URL, ?id=...) and that --portal is the vendor portal", e.AppID)
}
