package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestCommandFormatsCoverEveryCommand: each command that runs has its
// formats listed, and each listed path is a command, so the shared check
// is never skipped by a command added later.
func TestCommandFormatsCoverEveryCommand(t *testing.T) {
	root := NewCmdRoot(&Factory{IO: &IOStreams{}})
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !isGroup(c) && c != root && c.Name() != "help" && c.Name() != "completion" {
			seen[c.CommandPath()] = true
			if _, ok := commandFormats[c.CommandPath()]; !ok {
				t.Errorf("%q has no entry in commandFormats", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for path, formats := range commandFormats {
		if !seen[path] {
			t.Errorf("commandFormats lists %q, which is not a command", path)
		}
		if len(formats) == 0 || formats[0] != OutputTable {
			t.Errorf("%q: formats %v do not start with table", path, formats)
		}
	}
}

// TestOutputFormatRefused: a format a command does not have is refused
// before the command does anything (exit 2, one line, nothing on stdout).
func TestOutputFormatRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"token", "--token-url", "https://h.example.org/oauth2/token", "--client-id", "abc", "--key", "k.pem", "-o", "csv"},
			"`activator token` has no csv output: use --output table or json"},
		{[]string{"version", "-o", "csv"}, "`activator version` has no csv output: use --output table or json"},
		{[]string{"assertion", "new", "-o", "csv"}, "`activator assertion new` has no csv output"},
		{[]string{"activate", "--output", "csv"}, "`activator activate` has no csv output"},
		{[]string{"orgs", "sync", "--output", "csv"}, "`activator orgs sync` has no csv output"},
		{[]string{"logout", "--output", "csv"}, "`activator logout` has no csv output"},
		{[]string{"status", "--output", "csv"}, "or `activator report --format csv` for one row per organization"},
		{[]string{"report", "--output", "json", "--out", "-"}, "`activator report` has no json output: use --output table; the report's own format is --format csv|json|html"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, testRun{}, tt.args...)
			if code != ExitUsage || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, tt.want)
			}
		})
	}
}
