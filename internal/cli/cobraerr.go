package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// unknownCommand rewrites cobra's multi-line unknown-command error
// ("unknown command \"x\" for \"activator\"\n\nDid you mean this?\n\ty") as one
// readable line. Other errors are returned unchanged.
func unknownCommand(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command ") {
		return err
	}
	lines := strings.Split(msg, "\n")
	head := lines[0]
	if i := strings.Index(head, " for "); i >= 0 {
		head = head[:i]
	}
	var near []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "\t") {
			near = append(near, strings.TrimSpace(l))
		}
	}
	if len(near) > 0 {
		return fmt.Errorf("%s (did you mean %s?)", head, orList(near))
	}
	path := "activator"
	if i := strings.Index(lines[0], " for \""); i >= 0 {
		path = strings.Trim(lines[0][i+len(" for "):], `"`)
	}
	return fmt.Errorf("%s (see `%s --help`)", head, path)
}

// groupAnnotation marks a command made by group.
const groupAnnotation = "activator/group"

// isGroup reports whether cmd only groups subcommands (see group): it
// prints its help, so nothing is resolved or checked for it.
func isGroup(cmd *cobra.Command) bool { return cmd.Annotations[groupAnnotation] != "" }

// group makes cmd, which only groups subcommands, refuse an argument that
// names none of them. cobra checks unknown commands only at the top level:
// `activator orgs lsit` printed the orgs help and exited 0, so a typo in a
// cron line passed silently. With no argument, cmd prints its help.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Annotations = map[string]string{groupAnnotation: "true"}
	cmd.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	return noSubcommandArgs(cmd)
}

// noSubcommandArgs makes cmd, which has subcommands, refuse any argument
// as an unknown subcommand with the nearest names, as cobra does at the
// top level (`activator runs sho`).
func noSubcommandArgs(cmd *cobra.Command) *cobra.Command {
	cmd.SuggestionsMinimumDistance = 2 // cobra's own, set only on the root
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if near := c.SuggestionsFor(args[0]); len(near) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(near, "\n\t") + "\n"
		}
		return errors.New(msg)
	}
	return cmd
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// flagError turns a flag parsing error into one line that names the nearest
// known flag when the unknown one looks like a typo of it.
func flagError(c *cobra.Command, err error) error {
	msg := strings.TrimSpace(err.Error())
	const unknown = "unknown flag: --"
	if strings.HasPrefix(msg, unknown) {
		name := strings.TrimPrefix(msg, unknown)
		if near := nearestFlag(c, name); near != "" {
			return UsageErrorf("%s (did you mean --%s?)", msg, near)
		}
	}
	return UsageErrorf("%s (see `%s --help`)", msg, c.CommandPath())
}

// nearestFlag returns the name of c's flag closest to name, or "" when none is
// within cobra's suggestion distance (2 edits) or shares name as a prefix.
func nearestFlag(c *cobra.Command, name string) string {
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(f.Name))
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD || (d == bestD && f.Name < best) {
			best, bestD = f.Name, d
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	if bestD > 2 {
		return ""
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (with adjacent
// transpositions) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// oneArg accepts exactly one argument, what the command's usage names
// (what), refusing none or several in words rather than cobra's "accepts 1
// arg(s), received 0".
func oneArg(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return UsageErrorf("`%s` needs %s (see `%s --help`)", c.CommandPath(), what, c.CommandPath())
		case len(args) > 1:
			return UsageErrorf("`%s` takes one argument, %s; got %d: %s", c.CommandPath(), what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}
