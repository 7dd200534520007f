package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runAsPortalsim makes the test binary act as the portalsim command when a
// test starts it as a subprocess.
const runAsPortalsim = "PORTALSIM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsPortalsim) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// start runs portalsim in a real subprocess and returns it with the URL it
// announced.
func start(t *testing.T, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsPortalsim+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "portalsim: listening on ")
	if !ok {
		t.Fatalf("stdout %q", line)
	}
	return cmd, base, &stderr
}

func TestStopsCleanlyOnSignal(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"interrupt", syscall.SIGINT},
		{"terminate", syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, base, stderr := start(t, "--addr", "127.0.0.1:0", "--orgs", "25")
			resp, err := http.Get(base + "/_sim/stragglers")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err := <-waited:
				if err != nil {
					t.Fatalf("exit: %v, stderr %q", err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no exit after %v", tt.sig)
			}
			if !strings.Contains(stderr.String(), "portalsim: stopped") {
				t.Fatalf("stderr %q", stderr.String())
			}
		})
	}
}

func TestBadFlagExitsWithUsageCode(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--error-rate", "2")
	cmd.Env = append(os.Environ(), runAsPortalsim+"=1")
	out, err := cmd.CombinedOutput()
	exitErr, ok := err.(*exec.ExitError)
	if !ok || exitErr.ExitCode() != 2 {
		t.Fatalf("err %v, want exit code 2", err)
	}
	if msg := strings.TrimSpace(string(out)); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "error rate") {
		t.Fatalf("output %q, want one line naming the problem", msg)
	}
}
