package cli

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/probe"
)

// TestNewCmdProbeFlags checks flag parsing and validation apart from the
// run, through runF.
func TestNewCmdProbeFlags(t *testing.T) {
	base := []string{"--probe-client-id", "abc", "--probe-redirect-uri", "https://app.example.com/cb"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *ProbeOptions)
	}{
		{"defaults", base, "", func(t *testing.T, o *ProbeOptions) {
			s := o.Settings
			if s.Window != probe.DefaultWindow || s.WarnAfter != 24*time.Hour || s.FailAfter != 72*time.Hour || s.HostRate != probe.DefaultHostRate ||
				s.Scope != probe.DefaultScope || s.Concurrency != probe.DefaultConcurrency || s.TimeLimit != probe.DefaultTimeLimit {
				t.Errorf("settings = %+v", s)
			}
		}},
		{"orgs and window", append(base, "--org", "1,2", "--org", "3", "--probe-window", "0s"), "", func(t *testing.T, o *ProbeOptions) {
			if len(o.Orgs) != 3 || o.Settings.Window != 0 {
				t.Errorf("orgs %v window %s", o.Orgs, o.Settings.Window)
			}
		}},
		{"no client id", []string{"--probe-redirect-uri", "https://a/cb"}, "no client id to probe with", nil},
		{"no redirect URI", []string{"--probe-client-id", "abc"}, "no redirect URI", nil},
		{"relative redirect URI", []string{"--probe-client-id", "abc", "--probe-redirect-uri", "/cb"}, "is not an absolute URL", nil},
		{"empty scope", append(base, "--probe-scope", " "), "--probe-scope is empty", nil},
		{"negative window", append(base, "--probe-window", "-1h"), "must not be negative", nil},
		{"host rate", append(base, "--probe-host-rate", "0"), "--probe-host-rate 0 is out of range", nil},
		{"concurrency", append(base, "--probe-concurrency", "65"), "--probe-concurrency 65 is out of range", nil},
		{"timeout", append(base, "--probe-timeout", "0s"), "must be above 0", nil},
		{"ECMId-looking org", append(base, "--org", "16770_50741"), "is not an OrgId", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &Factory{IO: &IOStreams{Out: &out, ErrOut: &out}, Now: time.Now}
			var got *ProbeOptions
			cmd := NewCmdProbe(f, func(o *ProbeOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				var ee *ExitError
				if !errors.As(err, &ee) || ee.Code != ExitUsage || !bytes.Contains([]byte(err.Error()), []byte(tt.wantErr)) {
					t.Fatalf("err = %v, want exit 2 with %q", err, tt.wantErr)
				}
				if got != nil {
					t.Fatal("runF ran despite bad flags")
				}
				return
			}
			if err != nil || got == nil {
				t.Fatalf("err = %v, ran %v", err, got != nil)
			}
			tt.check(t, got)
		})
	}
}
