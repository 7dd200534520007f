package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/keys"
	"github.com/spf13/cobra"
)

// JWKSCheckOptions are `jwks check`'s options.
type JWKSCheckOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// HTTPClient fetches a URL; Now is the clock certificates and caching
	// are judged by.
	HTTPClient *http.Client
	Now        func() time.Time
	// Source is the file path or URL to check.
	Source string
	// Tries is the number of GETs of a URL.
	Tries int
	// Interval is the pause before the second GET (it grows with each try).
	Interval time.Duration
	// Timeout bounds each GET.
	Timeout time.Duration
}

// NewCmdJWKS groups the key set commands.
func NewCmdJWKS(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jwks",
		Short: "Check a JSON Web Key Set the way organizations will use it",
		Example: `  activator jwks check https://app.example.com/.well-known/jwks.json
  activator jwks check jwks.json --output json`,
	}
	cmd.AddCommand(NewCmdJWKSCheck(f, nil), NewCmdJWKSFromPEM(f, nil))
	return group(cmd)
}

// JWKSFromPEMOptions are `jwks from-pem`'s options.
type JWKSFromPEMOptions struct {
	// IO is where the key set is printed.
	IO *IOStreams
	// Path is the PEM file.
	Path string
	// Kid overrides the key's kid (default: its RFC 7638 thumbprint).
	Kid string
	// Alg is the alg of RSA keys.
	Alg string
}

// NewCmdJWKSFromPEM builds `jwks from-pem`.
func NewCmdJWKSFromPEM(f *Factory, runF func(*JWKSFromPEMOptions) error) *cobra.Command {
	opts := &JWKSFromPEMOptions{}
	cmd := &cobra.Command{
		Use:   "from-pem KEY.pem",
		Short: "Print the public JWKS of a PEM key or certificate (never a private member)",
		Long: `Reads PEM blocks (a public key, a certificate, or a private key, whose public half
alone is used) and prints a public JSON Web Key Set, one key per block, each with kid
(its RFC 7638 thumbprint unless --kid), alg (--alg for RSA keys, ES256/ES384 for EC) and
use "sig". Private key members are never printed. The output is what
` + "`activator activate --jwks FILE`" + ` uploads and ` + "`activator jwks check`" + ` checks.`,
		Example: `  activator jwks from-pem private.pem > jwks.json
  activator jwks from-pem public.pem --kid key-2026 --alg RS256`,
		Args: oneArg("a PEM key file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path, opts.IO = args[0], f.IO
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return jwksFromPEMRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kid, "kid", "", "the kid (default: the key's RFC 7638 thumbprint)")
	cmd.Flags().StringVar(&opts.Alg, "alg", keys.DefaultRSAAlg, "alg of RSA keys: RS384 or RS256")
	return cmd
}

// check validates --alg before the key file is read ("" is the default).
func (opts *JWKSFromPEMOptions) check() error {
	if opts.Alg != "" && opts.Alg != "RS256" && opts.Alg != "RS384" {
		return UsageErrorf("--alg %q: organizations accept RS384 or RS256 for RSA keys", opts.Alg)
	}
	return nil
}

func jwksFromPEMRun(opts *JWKSFromPEMOptions) error {
	data, err := os.ReadFile(opts.Path)
	if err != nil {
		return UsageErrorf("cannot read %s: %v (give the PEM file's path)", opts.Path, unwrapPathError(err))
	}
	out, err := keys.FromPEM(data, opts.Kid, opts.Alg)
	if err != nil {
		return UsageError(fmt.Errorf("%s: %w", opts.Path, err))
	}
	_, err = opts.IO.Out.Write(out)
	return err
}

// unwrapPathError drops the path from an *fs.PathError, which the message
// already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// NewCmdJWKSCheck builds `jwks check`.
func NewCmdJWKSCheck(f *Factory, runF func(*JWKSCheckOptions) error) *cobra.Command {
	opts := &JWKSCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check FILE|URL",
		Short: "Find what makes organizations refuse a key set (or its URL)",
		Long: `Checks a JSON Web Key Set as organizations use it and prints each finding with
its severity, the rule it breaks and a one-line fix: not JSON or not a JWKS, no keys,
EC or symmetric keys (organizations accept only RSA keys per organization), private
members (publishing them is a breach), missing or duplicate kid, RSA moduli under
2048 bits, unusual exponents, alg missing or not RS256/RS384, use or key_ops not
meant for signatures, the same key under two kids (RFC 7638 thumbprints).

For a URL it also checks what organizations need to fetch it: https with a valid
certificate, 200 without authentication or a redirect to a sign-in page, a JSON
content type, an answer every time within a bound (it asks --tries times; a sleeping
host first answers 502/503), no redirect to another host, and what Cache-Control
implies (organizations keep keys for up to 29 hours unless told less).

Exit status: 0 no errors, 1 errors found, 2 the source cannot be read.`,
		Example: `  activator jwks check jwks.json
  activator jwks check https://app.example.com/.well-known/jwks.json
  activator jwks check https://app.example.com/.well-known/jwks.json --output json`,
		Args: oneArg("a key set file or URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Source = args[0]
			opts.IO, opts.Output, opts.HTTPClient, opts.Now = f.IO, f.Output, f.HTTPClient, f.Now
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return jwksCheckRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.Tries, "tries", keys.DefaultProbeTries, "GETs of a URL, to see whether it answers every time")
	fl.DurationVar(&opts.Interval, "interval", keys.DefaultProbeDelay, "pause between the GETs of a URL (grows with each try)")
	fl.DurationVar(&opts.Timeout, "timeout", keys.DefaultFetchTimeout, "time limit of one GET")
	return cmd
}

// check validates the flags.
func (opts *JWKSCheckOptions) check() error {
	if opts.Tries < 1 || opts.Tries > 10 {
		return UsageErrorf("--tries %d is out of range: use 1 to 10", opts.Tries)
	}
	if opts.Interval < 0 || opts.Timeout <= 0 {
		return UsageErrorf("--interval must not be negative and --timeout must be positive")
	}
	return nil
}

func jwksCheckRun(ctx context.Context, opts *JWKSCheckOptions) error {
	// A check reports plain http as a finding rather than refusing it.
	fetcher := &keys.Fetcher{Client: opts.HTTPClient, Tries: opts.Tries, RetryDelay: max(opts.Interval, time.Nanosecond), Timeout: opts.Timeout, EveryTry: true,
		AllowInsecureHTTP: true}
	rep, err := keys.Check(ctx, fetcher, opts.Source, opts.Now())
	if err != nil {
		var ie *keys.InputError
		if errors.As(err, &ie) {
			return UsageError(err)
		}
		return err
	}
	if err := writeJWKSReport(opts.IO.Out, opts.Output, rep); err != nil {
		return err
	}
	if rep.ErrorCount > 0 {
		return SilentExit(ExitFailures)
	}
	return nil
}

// writeJWKSReport prints a report in the chosen output format.
func writeJWKSReport(w io.Writer, output string, rep *keys.Report) error {
	switch output {
	case OutputJSON:
		return writeJSON(w, rep)
	case OutputCSV:
		return writeFindingCSV(w, rep.Findings)
	}
	if fi := rep.Fetch; fi != nil {
		fmt.Fprintf(w, "Fetched %s: %s\n", fi.Source, fetchSummary(fi))
	} else {
		fmt.Fprintf(w, "Read %s\n", rep.Source)
	}
	if len(rep.Keys) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, false, "KID", "KTY", "BITS", "ALG", "USE", "THUMBPRINT")
		for _, k := range rep.Keys {
			bits := ""
			if k.Bits > 0 {
				bits = fmt.Sprint(k.Bits)
			}
			t.add(cellOrDash(k.Kid), cellOrDash(k.Kty), cellOrDash(bits), cellOrDash(k.Alg), cellOrDash(k.Use), cellOrDash(k.Thumbprint))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	writeFindingLines(w, rep.Findings)
	return nil
}

// fetchSummary describes the tries of a URL in one line.
func fetchSummary(fi *keys.FetchInfo) string {
	var tries []string
	for _, a := range fi.Attempts {
		if a.Err != "" {
			tries = append(tries, oneLine(a.Err))
			continue
		}
		tries = append(tries, fmt.Sprintf("%d in %dms", a.StatusCode, a.ElapsedMS))
	}
	s := countWord(len(fi.Attempts), "try") + " (" + strings.Join(tries, ", ") + ")"
	if fi.ContentType != "" {
		s += ", Content-Type " + fi.ContentType
	}
	if fi.CacheControl != "" {
		s += ", Cache-Control " + fi.CacheControl
	}
	return s
}

// writeFindingLines prints findings for people, errors first, with a summary.
func writeFindingLines(w io.Writer, fs []keys.Finding) {
	counts := map[keys.Severity]int{}
	for _, sev := range []keys.Severity{keys.SeverityError, keys.SeverityWarning, keys.SeverityInfo} {
		for _, fd := range fs {
			if fd.Severity != sev {
				continue
			}
			counts[sev]++
			subject := ""
			if fd.Subject != "" {
				subject = fd.Subject + ": "
			}
			fmt.Fprintf(w, "%-7s %s  %s%s\n", strings.ToUpper(string(sev)), fd.Rule, printable(subject), printable(fd.Message))
			if fd.Fix != "" {
				fmt.Fprintf(w, "        fix: %s\n", printable(fd.Fix))
			}
		}
	}
	if len(fs) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s, %s, %s\n", countWord(counts[keys.SeverityError], "error"), countWord(counts[keys.SeverityWarning], "warning"), countWord(counts[keys.SeverityInfo], "note"))
}

// writeFindingCSV prints findings as CSV rows.
func writeFindingCSV(w io.Writer, fs []keys.Finding) error {
	t := newTable(w, true, "severity", "rule", "subject", "message", "fix")
	for _, fd := range fs {
		t.add(fd.Severity, fd.Rule, fd.Subject, fd.Message, fd.Fix)
	}
	return t.flush()
}

// countWord is plural for words that are not organizations.
func countWord(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// cellOrDash shows "-" for an empty cell.
func cellOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
