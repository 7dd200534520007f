package portal

import (
	"errors"
	"testing"
)

// FuzzParseApproveData: an ApproveDownload answer never panics, and a
// message kept is within its limit.
func FuzzParseApproveData(f *testing.F) {
	f.Add([]byte(`{"Success":true,"Message":"2026-02-11 16:37 UTC"}`))
	f.Add([]byte(`{"Success":false,"Message":"Failed to register client for download."}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := ParseApproveData(data)
		var re *RefusedError
		switch {
		case errors.As(err, &re):
			msg = re.Message
		case err != nil:
			checkTyped(t, err)
		}
		if len(msg) > MaxMessageBytes {
			t.Fatalf("message of %d bytes kept", len(msg))
		}
	})
}

// checkTyped fails unless err is one of the portal's typed errors, on one
// line.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	var (
		me *MalformedError
		se *SessionError
		pe *PortalError
	)
	if !errors.As(err, &me) && !errors.As(err, &se) && !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a typed portal error", err, err)
	}
}
