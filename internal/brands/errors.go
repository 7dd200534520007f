package brands

// InputError is a bundle that cannot be used as given: not JSON, not a
// FHIR Bundle, truncated, an HTML page, a missing file. Its message is one
// line naming the problem and the fix; nothing is stored when it occurs.
type InputError struct {
	Msg string
}

// Error returns the one-line message.
func (e *InputError) Error() string { return e.Msg }

// UnavailableError is a bundle URL that could not be read: the host did
// not answer, answered 5xx, or the download broke off. Trying again later
// may work; nothing is stored when it occurs.
type UnavailableError struct {
	Msg string
	Err error
}

// Error names what could not be read and why.
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the transport error.
func (e *UnavailableError) Unwrap() error { return e.Err }
