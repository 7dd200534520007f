package sim

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMainRejectsBadUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--error-rate", "1.5"}, "error rate 1.5 is outside 0..1"},
		{[]string{"--rate-limit", "-2"}, "rate limit"},
		{[]string{"--latency", "-1s"}, "latency"},
		{[]string{"--latency", "soon"}, "invalid value"},
		{[]string{"--orgs", "-3"}, "--orgs -3 is negative"},
		{[]string{"--app", "abc"}, `--app "abc" is not a positive whole number`},
		{[]string{"--session-requests", "-1"}, "session requests"},
		{[]string{"--page-size-max", "-1"}, "--page-size-max"},
		{[]string{"--landing", "sideways"}, `--landing "sideways" is not one of return, home, notice`},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"serve"}, `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Fatalf("stderr %q lacks %q", errOut.String(), tt.want)
			}
			if strings.Contains(errOut.String(), "goroutine") || out.Len() != 0 {
				t.Fatalf("unexpected output: %q / %q", out.String(), errOut.String())
			}
		})
	}
}

func TestMainHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut.String(), "--session-file") && !strings.Contains(errOut.String(), "-session-file") {
		t.Fatalf("help lacks the flags: %q", errOut.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to write from the server goroutine
// while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMainServesUntilStopped(t *testing.T) {
	dir := t.TempDir()
	sessionFile := filepath.Join(dir, "session.txt")
	// A pre-existing file with loose permissions must end up private.
	if err := os.WriteFile(sessionFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	var errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--orgs", "30", "--seed", "2", "--session-file", sessionFile}, pw, &errOut)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (stderr %q)", err, errOut.String())
	}
	go io.Copy(io.Discard, pr)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "portalsim: listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("listening line %q", line)
	}

	info, err := os.Stat(sessionFile)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("session file mode %o, want 600", perm)
	}
	cookie, _ := os.ReadFile(sessionFile)
	req, _ := http.NewRequest(http.MethodGet, base+"/Developer/Management?id="+DefaultAppID, nil)
	req.Header.Set("Cookie", strings.TrimSpace(string(cookie)))
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("session from the session file: status %d", resp.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after stop, stderr %q", code, errOut.String())
		}
	case <-time.After(DefaultShutdownTimeout + 5*time.Second):
		t.Fatalf("did not stop")
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatalf("still serving after stop")
	}
}

// TestMainSignInOrigin serves the sign-in on a second listener: the
// portal's sign-in page sends the browser there.
func TestMainSignInOrigin(t *testing.T) {
	pr, pw := io.Pipe()
	var errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--signin-addr", "localhost:0", "--landing", "home", "--orgs", "3"}, pw, &errOut)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	first, _ := br.ReadString('\n')
	second, _ := br.ReadString('\n')
	go io.Copy(io.Discard, pr)
	idp, ok1 := strings.CutPrefix(strings.TrimSpace(first), "portalsim: sign-in on ")
	base, ok2 := strings.CutPrefix(strings.TrimSpace(second), "portalsim: listening on ")
	if !ok1 || !ok2 || !strings.HasPrefix(idp, "http://localhost:") {
		t.Fatalf("output %q %q (stderr %q)", first, second, errOut.String())
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/Account/Login?ReturnUrl=%2F")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, idp+"/Account/Login?") {
		t.Fatalf("the portal's sign-in answered %d to %q, want a redirect to %s", resp.StatusCode, loc, idp)
	}
	resp, err = client.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the sign-in origin answered %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestMainReportsBusyAddress(t *testing.T) {
	_, srv := startSim(t, testConfig())
	addr := strings.TrimPrefix(srv.URL, "http://")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--addr", addr}, &out, &errOut)
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if msg := errOut.String(); !strings.Contains(msg, "choose another --addr") || strings.Count(msg, "\n") != 1 {
		t.Fatalf("stderr %q", msg)
	}
}
