package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// commandFormats are the --output formats each command has, by command
// path. A command missing here prints tables only. Every command is
// checked against this list before it runs (Factory.resolve), so that a
// format a command does not have is refused rather than silently
// answered with a table.
var commandFormats = map[string][]string{
	"activator activate":        {OutputTable, OutputJSON},
	"activator assertion new":   {OutputTable, OutputJSON},
	"activator assertion check": {OutputTable, OutputJSON, OutputCSV},
	"activator brands":          {OutputTable, OutputJSON, OutputCSV},
	"activator jwks check":      {OutputTable, OutputJSON, OutputCSV},
	"activator jwks from-pem":   {OutputTable, OutputJSON}, // the key set is JSON either way
	"activator login":           {OutputTable, OutputJSON, OutputCSV},
	"activator whoami":          {OutputTable, OutputJSON, OutputCSV},
	"activator doctor":          {OutputTable, OutputJSON},
	"activator logout":          {OutputTable, OutputJSON},
	"activator orgs sync":       {OutputTable, OutputJSON},
	"activator orgs list":       {OutputTable, OutputJSON, OutputCSV},
	"activator orgs show":       {OutputTable, OutputJSON, OutputCSV},
	"activator probe":           {OutputTable, OutputJSON},
	"activator runs":            {OutputTable, OutputJSON, OutputCSV},
	"activator runs list":       {OutputTable, OutputJSON, OutputCSV},
	"activator runs show":       {OutputTable, OutputJSON, OutputCSV},
	"activator status":          {OutputTable, OutputJSON},
	"activator state check":     {OutputTable, OutputJSON},
	"activator token":           {OutputTable, OutputJSON},
	"activator version":         {OutputTable, OutputJSON},
	"activator report":          {OutputTable}, // the file's format is --format
}

// formatHints say where the output a command lacks can be had instead.
var formatHints = map[string]string{
	"activator status": "or `activator report --format csv` for one row per organization",
	"activator report": "the report's own format is --format csv|json|html",
	"activator probe":  "or `activator report --format csv` for one row per organization with its newest probe",
}

// outputFormats are the --output formats of a command.
func outputFormats(cmd *cobra.Command) []string {
	if f, ok := commandFormats[cmd.CommandPath()]; ok {
		return f
	}
	return []string{OutputTable}
}

// checkOutputFormat refuses an --output format the command does not have.
func checkOutputFormat(cmd *cobra.Command, output string) error {
	formats := outputFormats(cmd)
	if slices.Contains(formats, output) {
		return nil
	}
	msg := "`" + cmd.CommandPath() + "` has no " + output + " output: use --output " + strings.Join(formats, " or ")
	if hint := formatHints[cmd.CommandPath()]; hint != "" {
		msg += "; " + hint
	}
	return UsageErrorf("%s", msg)
}
