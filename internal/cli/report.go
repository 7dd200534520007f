package cli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// ReportOptions are `report`'s options.
type ReportOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Report gives the report's portal, app and clock: call it after
	// Store, which picks the database's only app when --app is not given.
	Report func() report.Options
	// Logf prints a progress line (unless --quiet).
	Logf   func(format string, args ...any)
	Format string
	Out    string
	// Store opens the state database for reading, with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdReport builds `report`.
func NewCmdReport(f *Factory, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{Store: f.ReadHeldAppStore}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a report of every organization: CSV, JSON or a self-contained HTML page",
		Long: `Writes a report from the state database (no portal call): every organization with its
status, mode (direct JWKS or JWK Set URL), key set, last change, last error, FHIR
base URLs and newest probe (activator probe), plus the counts per status over time from
the sync history.

  --format html  one self-contained page (inline CSS and SVG, no script, no external
                 request): summary tiles, a chart of the counts per status at each
                 sync, the organizations needing attention, the key sets, the
                 organizations still on the JWK Set URL, the probe (counts, and each
                 organization not knowing the app yet with the time since activation),
                 and the table of organizations.
  --format csv   one row per organization: ` + strings.Join(report.CSVHeader, ",") + `.
  --format json  the status fields (see ` + "`activator status --help`" + `) plus history
                 [{id, at, total, counts}] and orgs [one object per organization,
                 with its newest probe: {class, at, evidence, activatedAt}, or null].

Without --format, the format follows --out's extension (.html, .csv, .json). A file is
written atomically (a temporary file renamed over it): a new one gets mode 0644, an
existing one keeps its mode, and a symbolic link is written through to its target.
A FIFO or a device (/dev/stdout) is written to directly; a directory is refused.
--out - writes to standard output.`,
		Example: `  activator report --out report.html
  activator report --format csv --out orgs.csv
  activator report --format json --out - | jq '.orgs[] | select(.mode == "jku")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.Report = f.IO, f.Output, f.reportOptions
			opts.Logf = f.Logf
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "", "csv, json or html (default: from --out's extension, else html)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "file to write, or - for standard output (required)")
	return cmd
}

// format decides the report's format from --format or --out's extension.
func (o *ReportOptions) format() (string, error) {
	if o.Format != "" {
		fm := strings.ToLower(strings.TrimSpace(o.Format))
		if !slices.Contains(report.Formats, fm) {
			return "", UsageErrorf("--format %q is not one of %s", o.Format, strings.Join(report.Formats, ", "))
		}
		return fm, nil
	}
	switch strings.ToLower(filepath.Ext(o.Out)) {
	case ".csv":
		return report.FormatCSV, nil
	case ".json":
		return report.FormatJSON, nil
	}
	return report.FormatHTML, nil
}

// check validates the flags.
func (opts *ReportOptions) check() error {
	if opts.Out == "" {
		return UsageErrorf("no --out: give the file to write (e.g. --out report.html), or --out - for standard output")
	}
	_, err := opts.format()
	return err
}

func reportRun(ctx context.Context, opts *ReportOptions) error {
	format, err := opts.format()
	if err != nil {
		return err
	}
	if opts.Out != "-" {
		if st, err := os.Stat(opts.Out); err == nil && st.IsDir() {
			return UsageErrorf("--out %s is a directory: give a file name, e.g. --out %s", opts.Out, filepath.Join(opts.Out, "report."+format))
		}
	}
	r, err := buildReport(ctx, opts.Store, opts.Report)
	if err != nil {
		return err
	}
	if opts.Out == "-" {
		return report.Write(opts.IO.Out, format, r)
	}
	if err := report.WriteFile(opts.Out, format, r); err != nil {
		if errors.Is(err, report.ErrNoDir) {
			return UsageErrorf("--out %s: the directory %s does not exist: create it or choose another path", opts.Out, filepath.Dir(opts.Out))
		}
		if errors.Is(err, report.ErrIsDir) || errors.Is(err, report.ErrNotRegular) {
			return UsageErrorf("--out %s %v: give a file name, a symbolic link to one, a FIFO or a device such as /dev/stdout", opts.Out, errors.Unwrap(err))
		}
		if errors.Is(err, fs.ErrPermission) {
			return UsageErrorf("--out %s: permission denied: choose a path you can write", opts.Out)
		}
		return err
	}
	opts.Logf("Wrote the %s report of %s to %s.", strings.ToUpper(format), plural(len(r.Orgs), "organization"), opts.Out)
	return nil
}
