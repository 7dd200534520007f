package cli

import (
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelpAndExamples walks the command tree.
func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	root := NewCmdRoot(&Factory{IO: &IOStreams{}})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || sub.Parent().Name() == "completion" {
				continue
			}
			if sub.Short == "" {
				t.Errorf("%s has no short help", sub.CommandPath())
			}
			if sub.Example == "" {
				t.Errorf("%s has no examples", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}
