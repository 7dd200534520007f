package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testRun is what the command line runs with in a test; a zero field takes
// Run's default (an empty environment and stdin, the real clock, an HTTP
// client with a timeout).
type testRun struct {
	env    map[string]string
	stdin  string
	now    func() time.Time
	client *http.Client
	// in, when set, is stdin instead of stdin's text.
	in io.Reader
}

// runCmd runs the command line in-process, as Run does, and returns the
// exit code and both streams. Every command test goes through it. t may be
// nil (a fixture built once for several tests); otherwise the command and
// its stderr are logged, with any --cookie value hidden.
func runCmd(t testing.TB, tr testRun, args ...string) (code int, stdout, stderr string) {
	if t != nil {
		t.Helper()
	}
	var out, errOut bytes.Buffer
	if tr.now == nil {
		tr.now = time.Now
	}
	if tr.client == nil {
		tr.client = &http.Client{Timeout: time.Minute}
	}
	in := tr.in
	if in == nil {
		in = strings.NewReader(tr.stdin)
	}
	f := &Factory{
		IO:         &IOStreams{In: in, Out: &out, ErrOut: &errOut},
		Getenv:     func(k string) string { return tr.env[k] },
		Now:        tr.now,
		HTTPClient: tr.client,
	}
	start := time.Now()
	code = RunWith(context.Background(), args, f)
	if t != nil {
		shown := append([]string(nil), args...)
		for i := range shown {
			if i > 0 && shown[i-1] == "--cookie" {
				shown[i] = "[hidden]"
			}
		}
		t.Logf("activator %s: exit %d in %s\n%s", strings.Join(shown, " "), code, time.Since(start).Round(time.Millisecond), errOut.String())
	}
	return code, out.String(), errOut.String()
}
