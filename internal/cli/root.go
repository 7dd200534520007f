// Package cli is activator's command line.
//
// Each command has an options struct holding its flags and dependencies, a
// NewCmdX(f, runF) that binds flags into it and checks them in RunE, and an
// xRun(ctx, opts) that does the work with no *cobra.Command: tests pass a
// runF to see the checked options, so flag parsing and behaviour are tested
// apart. Commands with no flags of their own (whoami, version, state check:
// only the global ones, which the Factory checks) have nothing to check and
// take no runF. The Factory resolves the global flags and builds the
// dependencies (IO streams, HTTP client, clock, state store, portal client),
// which NewCmdX puts into the options' fields in RunE, so that xRun needs no
// Factory and a test can call it with its own streams and clock (activate,
// orgs sync, login and whoami still reach some of them through the options'
// F, the Factory itself). The work itself lives in the packages.
// Commands return errors; only Main prints them and maps them to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// Exit codes, documented in the README.
const (
	ExitOK          = 0   // done
	ExitFailures    = 1   // finished with per-organization failures (or findings)
	ExitUsage       = 2   // bad usage or bad input
	ExitSession     = 3   // not signed in, or the session lapsed
	ExitUnavailable = 4   // portal unavailable or run aborted
	ExitInternal    = 5   // a bug in activator (details written to a file)
	ExitInterrupted = 130 // interrupted (Ctrl-C)
)

// ExitError carries an exit code. With a nil Err, Main prints nothing: the
// command already said what happened (a summary with failures, findings).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ExitError) Unwrap() error { return e.Err }

// UsageErrorf is a bad-usage or bad-input error (exit 2). The message should
// name the problem and the fix.
func UsageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// UsageError marks err as bad input (exit 2).
func UsageError(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// SilentExit ends the command with code and no further message.
func SilentExit(code int) error { return &ExitError{Code: code} }

// IOStreams are the command's standard streams and what they are attached to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY and OutTTY say whether stdin and stdout are terminals: prompts
	// need the first, progress bars and colour the second.
	InTTY, OutTTY, ErrTTY bool
	// NoColor is set by NO_COLOR.
	NoColor bool
}

// SystemIO returns the process's streams.
func SystemIO() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY: isTerminal(os.Stdin), OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr),
		NoColor: os.Getenv("NO_COLOR") != "",
	}
}

// Main runs the command line with the process's arguments and returns the
// exit code. It is the only place that prints errors.
func Main() int {
	ctx, stop := interruptContext(os.Stderr)
	defer stop()
	return Run(ctx, os.Args[1:], SystemIO(), os.Getenv)
}

// Run runs the command line with args and returns the exit code.
func Run(ctx context.Context, args []string, ios *IOStreams, getenv func(string) string) int {
	return RunWith(ctx, args, &Factory{IO: ios, Getenv: getenv, Now: time.Now, HTTPClient: &http.Client{Timeout: 60 * time.Second}})
}

// RunWith runs the command line with a prepared Factory (tests inject a
// clock or an HTTP client this way) and returns the exit code.
func RunWith(ctx context.Context, args []string, f *Factory) (code int) {
	defer f.Close()
	defer func() {
		if v := recover(); v != nil {
			code = internalError(f.IO.ErrOut, v, debug.Stack())
		}
	}()
	ios := f.IO
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if !f.ran {
		// cobra refused the arguments before any command ran.
		err = UsageError(unknownCommand(err))
	}
	if errors.Is(err, portal.ErrNotSignedIn) && passedSession(f.session) && !strings.Contains(err.Error(), "activator login") {
		err = &ExitError{Code: ExitSession, Err: fmt.Errorf("%w: the session from %s is not accepted: %s", err, f.session, sessionAdvice(f.session))}
	}
	if store.IsCorrupt(err) && !errors.Is(err, store.ErrCorrupt) {
		// A read met a malformed page: say corrupt, and what to do.
		err = &ExitError{Code: ExitUsage, Err: store.CorruptError(f.statePath(), err.Error())}
	}
	code, msg := classify(err)
	if msg != "" {
		fmt.Fprintln(ios.ErrOut, "activator: "+printable(strings.TrimSpace(msg)))
	}
	return code
}

// internalError reports a bug without a stack trace on the terminal: one
// line naming a 0600 file that holds the details for a bug report.
func internalError(w io.Writer, v any, stack []byte) int {
	if p, ok := v.(interface{ PanicStack() []byte }); ok {
		stack = p.PanicStack() // a worker's panic, raised again here
	}
	msg := fmt.Sprintf("activator: internal error: %s", printable(oneLine(fmt.Sprint(v))))
	if f, err := os.CreateTemp("", "activator-crash-*.txt"); err == nil {
		fmt.Fprintf(f, "activator %s (%s)\npanic: %v\n\n%s", Version, runtime.Version(), v, stack)
		f.Close()
		msg += "; details in " + f.Name() + " (please attach it to a bug report)"
	}
	fmt.Fprintln(w, msg)
	return ExitInternal
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "activator",
		Short: "Activate a SMART on FHIR app at every organization on Epic's vendor portal",
		Long: `activator keeps a patient-facing SMART on FHIR app activated at every organization
listed on Epic's vendor management portal: it lists the organizations, uploads the
app's RSA public keys (direct JWKS) to each one, paced and resumable, records every
step in a local SQLite database, and notices new and renamed organizations.`,
		Example: `  activator login --app 50741
  activator orgs sync
  activator activate --jwks https://app.example.com/.well-known/jwks.json --dry-run
  activator activate --jwks https://app.example.com/.well-known/jwks.json --yes`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.ran = true
			if isGroup(cmd) {
				return nil
			}
			return f.resolve(cmd)
		},
	}
	f.bindGlobalFlags(root)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		NewCmdOrgs(f),
		NewCmdActivate(f, nil),
		NewCmdBrands(f, nil),
		NewCmdProbe(f, nil),
		NewCmdJWKS(f),
		NewCmdAssertion(f),
		NewCmdToken(f, nil),
		NewCmdStatus(f, nil), NewCmdRuns(f, nil), NewCmdReport(f, nil), NewCmdState(f),
		NewCmdLogin(f, nil), NewCmdLogout(f, nil), NewCmdWhoami(f),
		NewCmdDoctor(f, nil),
		NewCmdVersion(f),
	)
	return root
}

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// NewCmdVersion prints the version.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print activator's version",
		Example: `  activator version
  activator version --output json   # {"version": "...", "go": "..."}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Output == OutputJSON {
				return writeJSON(f.IO.Out, struct {
					Version string `json:"version"`
					Go      string `json:"go"`
				}{Version, runtime.Version()})
			}
			fmt.Fprintln(f.IO.Out, "activator "+Version)
			return nil
		},
	}
}
