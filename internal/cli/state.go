package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// StateCheckOptions are `state check`'s options.
type StateCheckOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// StatePath is --state: the database to check ("" for the default).
	StatePath string
}

// NewCmdState builds `state` and its subcommands.
func NewCmdState(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "state",
		Short:   "Look after the state database",
		Example: "  activator state check",
	}
	opts := &StateCheckOptions{}
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the state database for corruption (SQLite quick_check); read-only",
		Long: `Runs SQLite's quick_check over the whole state database: the same check every
command that changes something (activate, orgs sync, brands, login) makes before it
starts, and refuses to go on, calling no portal, when it fails. It only reads (a
read-only file system works) and takes well under a second at any usual size.

Exit 0 when the database is sound (or there is none yet), 1 when it is corrupt, with
what SQLite found and what to do: move the file aside, rebuild the organization list
from the portal with ` + "`activator orgs sync`" + `, and salvage the run history with the
sqlite3 shell's .recover.

--output json: {path, exists, ok, problems: [...], pages, bytes, schemaVersion}.`,
		Example: `  activator state check
  activator state check --state /srv/activator/state.db --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.StatePath = f.IO, f.Output, f.StatePath
			return stateCheckRun(cmd.Context(), opts)
		},
	}
	cmd.AddCommand(check)
	return group(cmd)
}

// StateCheckJSON is `state check --output json`.
type StateCheckJSON struct {
	Path          string   `json:"path"`
	Exists        bool     `json:"exists"`
	OK            bool     `json:"ok"`
	Problems      []string `json:"problems"`
	Pages         int64    `json:"pages"`
	Bytes         int64    `json:"bytes"`
	SchemaVersion int      `json:"schemaVersion"`
}

func stateCheckRun(ctx context.Context, opts *StateCheckOptions) error {
	path := opts.StatePath
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return UsageError(err)
		}
		path = p
	}
	out := StateCheckJSON{Path: path, Problems: []string{}}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && st.Size() == 0):
		// Nothing recorded yet: nothing to check.
	case err != nil:
		return fmt.Errorf("%s: %w (%v)", path, store.ErrStateAccess, err)
	default:
		out.Exists = true
		s, err := store.OpenRead(ctx, path)
		if err != nil {
			return err
		}
		res, err := s.Check(ctx)
		s.Close()
		if err != nil {
			return err
		}
		out.OK, out.Pages, out.Bytes, out.SchemaVersion = res.OK, res.Pages, res.Bytes, res.Schema
		if res.Problems != nil {
			out.Problems = res.Problems
		}
	}
	if opts.Output == OutputJSON {
		if err := writeJSON(opts.IO.Out, out); err != nil {
			return err
		}
	} else {
		printStateCheck(opts.IO.Out, out)
	}
	if out.Exists && !out.OK {
		return &ExitError{Code: ExitFailures, Err: store.CorruptError(path, out.Problems[0])}
	}
	return nil
}

func printStateCheck(w io.Writer, out StateCheckJSON) {
	switch {
	case !out.Exists:
		fmt.Fprintf(w, "No state database at %s yet: nothing to check.\n", out.Path)
	case out.OK:
		fmt.Fprintf(w, "ok: %s passes SQLite's quick_check (%d pages, %s, schema version %d).\n", out.Path, out.Pages, sizeText(out.Bytes), out.SchemaVersion)
	default:
		fmt.Fprintf(w, "CORRUPT: %s fails SQLite's quick_check:\n", out.Path)
		for _, p := range out.Problems {
			fmt.Fprintf(w, "  %s\n", printable(p))
		}
	}
}

// sizeText writes a size in KB or MB.
func sizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KB", (n+1023)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
