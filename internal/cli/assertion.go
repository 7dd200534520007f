package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/diag"
	"github.com/activator-dev/activator/internal/keys"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"
)

// DefaultMaxAssertionInput bounds an assertion read from stdin: a client
// assertion is well under 2 KB.
const DefaultMaxAssertionInput = 64 << 10

// NewCmdAssertion groups the client assertion commands.
func NewCmdAssertion(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assertion",
		Short: "Create or check a client assertion (the JWT of SMART Backend Services)",
		Example: `  activator assertion new --client-id ID --token-url https://ehr.example.org/oauth2/token --key private.pem
  activator assertion check "$JWT" --client-id ID --token-url https://ehr.example.org/oauth2/token --jwks jwks.json
  activator assertion new --client-id ID --token-url URL --key private.pem --jwks jwks.json |
    activator assertion check - --client-id ID --token-url URL --jwks jwks.json`,
	}
	cmd.AddCommand(NewCmdAssertionNew(f, nil), NewCmdAssertionCheck(f, nil))
	return group(cmd)
}

// AssertionNewOptions are `assertion new`'s options.
type AssertionNewOptions struct {
	DiagEnv
	// ClientID goes into iss and sub.
	ClientID string
	// TokenURL goes into aud.
	TokenURL string
	// Key is the private key file, or env:NAME.
	Key string
	// Kid is the kid header (default: the key's own, the matching key's in
	// JWKS, else the key's RFC 7638 thumbprint).
	Kid string
	// JWKS is the file or URL of the published keys, for the default kid
	// and alg.
	JWKS string
	// JWKSSource names where JWKS came from in messages: "--jwks", its
	// environment variable, or the config file's jwks setting.
	JWKSSource string
	// Alg is the signature algorithm.
	Alg string
	// Aud is the aud claim when it differs from TokenURL (a proxy).
	Aud string
	// Lifetime is exp - iat.
	Lifetime time.Duration
}

// NewCmdAssertionNew builds `assertion new`.
func NewCmdAssertionNew(f *Factory, runF func(*AssertionNewOptions) error) *cobra.Command {
	opts := &AssertionNewOptions{}
	cmd := &cobra.Command{
		Use:   "new --client-id ID --token-url URL --key FILE",
		Short: "Print a correct client assertion",
		Long: `Signs and prints a client assertion that organizations accept: iss = sub = the
client ID, aud = the token URL (or --aud), a random jti, iat and nbf 5 seconds ago
(so a server whose clock is a little behind does not see them in the future), exp
--lifetime after iat (at most 5 minutes), typ JWT. The kid header is --kid, else the
private JWK's own, else the kid of the key of --jwks that matches --key, else the key's
RFC 7638 thumbprint (the kid ` + "`activator jwks from-pem`" + ` publishes); the one chosen is said on
stderr. So ` + "`assertion new ... | assertion check - ...`" + ` passes with the same inputs.

The key is read forgivingly, and what was repaired is said on stderr: PEM with CRLF
line ends, a PEM held in an environment variable with literal \n (--key env:NAME),
PKCS#1 or PKCS#8, a private JWK. A public key, or an EC key for an RS algorithm, is
refused.

The assertion is a credential for its short life: do not paste it into tickets.`,
		Example: `  activator assertion new --client-id 6c12dff4-... --token-url https://fhir.example.org/oauth2/token --key private.pem --kid np-2026-02
  activator assertion new --client-id 6c12dff4-... --token-url https://fhir.example.org/oauth2/token --key env:EPIC_PRIVATE_KEY`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DiagEnv = f.diagEnv()
			opts.JWKSSource = f.flagSource("jwks")
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return assertionNewRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	bindAssertionFlags(fl, &opts.ClientID, &opts.TokenURL, &opts.Key, &opts.Kid, &opts.Alg, &opts.Aud, &opts.Lifetime)
	fl.StringVar(&opts.JWKS, "jwks", "", "the published public keys, a file or URL (FILE|URL): the kid and alg of the key matching --key are used")
	return cmd
}

// flagSet is the part of pflag.FlagSet the shared flag binding needs.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
	DurationVar(p *time.Duration, name string, value time.Duration, usage string)
}

// bindAssertionFlags binds the flags `assertion new` and `token` share.
func bindAssertionFlags(fl flagSet, clientID, tokenURL, key, kid, alg, aud *string, lifetime *time.Duration) {
	fl.StringVar(clientID, "client-id", "", "the app's client ID for the environment called (required)")
	fl.StringVar(tokenURL, "token-url", "", "the organization's token endpoint, exactly as requested (required)")
	fl.StringVar(key, "key", "", "the private key: a PEM or JWK file, or env:NAME for an environment variable (required)")
	fl.StringVar(kid, "kid", "", "the kid header (default: the key's kid, or the matching key's kid in --jwks)")
	fl.StringVar(alg, "alg", "", "signature algorithm: RS384 or RS256, ES256/ES384 for EC keys behind a JWK Set URL (default: the matching key's alg in --jwks, else "+diag.DefaultAlg+")")
	fl.StringVar(aud, "aud", "", "the aud claim, when the server sees another token URL than --token-url (a proxy); default --token-url")
	fl.DurationVar(lifetime, "lifetime", diag.DefaultAssertionLifetime, "time from iat to exp, at most 5m")
}

// DiagEnv is what the diagnostic commands (token, assertion new, assertion
// check) take from outside, filled from the Factory by NewCmdX: the
// streams, --output, the clock, the HTTP client (for a --jwks URL and the
// token request) and the environment (for --key env:NAME).
type DiagEnv struct {
	IO         *IOStreams
	Output     string
	Now        func() time.Time
	HTTPClient *http.Client
	Getenv     func(string) string
}

// diagEnv is the diagnostic commands' DiagEnv for this command line.
func (f *Factory) diagEnv() DiagEnv {
	return DiagEnv{IO: f.IO, Output: f.Output, Now: f.Now, HTTPClient: f.HTTPClient, Getenv: f.Getenv}
}

// loadSigningKey reads --key and says on stderr what was repaired.
func loadSigningKey(env *DiagEnv, src, kid string) (*keys.SigningKey, error) {
	if src == "" {
		return nil, UsageErrorf("no --key: pass the private key file (PEM or JWK) or env:NAME")
	}
	k, err := keys.LoadSigningKey(src, kid, env.Getenv)
	if err != nil {
		var ie *keys.InputError
		if errors.As(err, &ie) {
			return nil, UsageError(err)
		}
		return nil, err
	}
	for _, r := range k.Repairs {
		fmt.Fprintf(env.IO.ErrOut, "activator: repaired the key: %s\n", r)
	}
	return k, nil
}

// requireFlags refuses missing required values with one message.
func requireFlags(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) > 0 {
		return UsageErrorf("missing %s: see --help", strings.Join(missing, ", "))
	}
	return nil
}

// inputError maps an *keys.InputError to the bad-input exit code.
func inputError(err error) error {
	var ie *keys.InputError
	if errors.As(err, &ie) {
		return UsageError(err)
	}
	return err
}

// check validates the flags.
func (opts *AssertionNewOptions) check() error {
	return requireFlags("client-id", opts.ClientID, "token-url", opts.TokenURL, "key", opts.Key)
}

func assertionNewRun(ctx context.Context, opts *AssertionNewOptions) error {
	env := &opts.DiagEnv
	k, err := loadSigningKey(env, opts.Key, opts.Kid)
	if err != nil {
		return err
	}
	ks, err := keySetFrom(ctx, env, opts.JWKS, opts.JWKSSource, "the published keys (for the kid and alg)", k)
	if err != nil {
		return err
	}
	if ks != nil && !ks.hasSigningKey {
		fmt.Fprintf(env.IO.ErrOut, "activator: warning: %s %s does not hold the public half of --key: an organization holding it refuses this assertion\n", ks.source, keys.RedactURL(opts.JWKS))
	}
	kid, alg, notes := chooseKidAlg(k, ks, opts.Kid, opts.Alg)
	a, err := diag.NewAssertion(diag.AssertionParams{ClientID: opts.ClientID, TokenURL: opts.TokenURL, Aud: opts.Aud, Key: k,
		Kid: kid, Alg: alg, Lifetime: opts.Lifetime, Now: env.Now()})
	if err != nil {
		return inputError(err)
	}
	for _, n := range notes {
		fmt.Fprintln(env.IO.ErrOut, "activator: "+n)
	}
	if env.Output == OutputJSON {
		return writeJSON(env.IO.Out, a)
	}
	_, err = fmt.Fprintln(env.IO.Out, a.JWT)
	return err
}

// AssertionCheckOptions are `assertion check`'s options.
type AssertionCheckOptions struct {
	DiagEnv
	// Assertion is the JWT, or "-" to read it from stdin.
	Assertion string
	// ClientID is the expected iss and sub.
	ClientID string
	// TokenURL is the expected aud.
	TokenURL string
	// JWKS is the file or URL of the keys the organization holds.
	JWKS string
	// JWKSURL is the JWK Set URL registered for the app: a jku header must
	// equal it.
	JWKSURL string
}

// NewCmdAssertionCheck builds `assertion check`.
func NewCmdAssertionCheck(f *Factory, runF func(*AssertionCheckOptions) error) *cobra.Command {
	opts := &AssertionCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check JWT|- --client-id ID --token-url URL [--jwks FILE|URL]",
		Short: "Check a client assertion against every rule behind invalid_client",
		Long: `Decodes a client assertion and checks everything Epic's invalid_client list and
SMART Backend Services require: alg supported, fitting the key and equal to the alg
the key is published with; typ JWT (required); kid present, in the key set and
naming exactly one key; a jku header (an error when it is not --jwks-url); iss,
sub and aud exact; exp in whole seconds (not milliseconds), in the future and at most
5 minutes after iat and nbf; iat and nbf not in the future (with the clock skew);
jti present and at most 151 characters; the signature, with the --jwks keys.

Each failure names the rule it breaks and how to fix it. Pass - to read the
assertion from stdin. Exit status: 0 no errors, 1 errors found, 2 bad input.`,
		Example: `  activator assertion check eyJhbGciOi... --client-id 6c12dff4-... --token-url https://fhir.example.org/oauth2/token --jwks jwks.json
  pbpaste | activator assertion check - --client-id 6c12dff4-... --token-url https://fhir.example.org/oauth2/token`,
		Args: oneArg("the assertion: a JWT, or - to read it from stdin"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Assertion, opts.DiagEnv = args[0], f.diagEnv()
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return assertionCheckRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.ClientID, "client-id", "", "the client ID expected in iss and sub (required)")
	fl.StringVar(&opts.TokenURL, "token-url", "", "the token URL expected in aud (required)")
	fl.StringVar(&opts.JWKS, "jwks", "", "the public keys the organization holds: a file or URL (checks kid, alg and signature)")
	fl.StringVar(&opts.JWKSURL, "jwks-url", "", "the JWK Set URL registered for the app: a jku header that differs is an error")
	return cmd
}

// check validates the flags.
func (opts *AssertionCheckOptions) check() error {
	return requireFlags("client-id", opts.ClientID, "token-url", opts.TokenURL)
}

func assertionCheckRun(ctx context.Context, opts *AssertionCheckOptions) error {
	env := &opts.DiagEnv
	token := opts.Assertion
	if token == "-" {
		b, err := io.ReadAll(io.LimitReader(env.IO.In, DefaultMaxAssertionInput))
		if err != nil {
			return fmt.Errorf("read the assertion from stdin: %w", err)
		}
		token = string(b)
	}
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "client_assertion="))
	exp := diag.Expect{ClientID: opts.ClientID, TokenURL: opts.TokenURL, Now: env.Now(), JWKSURL: opts.JWKSURL}
	if opts.JWKS != "" {
		_, ks, err := loadPublicKeys(ctx, env, opts.JWKS)
		if err != nil {
			return err
		}
		exp.Keys = ks
	}
	rep := diag.CheckAssertion(token, exp)
	switch env.Output {
	case OutputJSON:
		if err := writeJSON(env.IO.Out, rep); err != nil {
			return err
		}
	case OutputCSV:
		if err := writeFindingCSV(env.IO.Out, rep.Findings); err != nil {
			return err
		}
	default:
		writeAssertionReport(env.IO.Out, rep)
	}
	if rep.ErrorCount > 0 {
		return SilentExit(ExitFailures)
	}
	return nil
}

// loadPublicKeys reads the key set of --jwks (`assertion check` and
// `token`): the document as read, and its public keys.
func loadPublicKeys(ctx context.Context, env *DiagEnv, src string) ([]byte, []jose.JSONWebKey, error) {
	// Only read and compared here, never uploaded: plain http is allowed.
	raw, _, err := (&keys.Fetcher{Client: env.HTTPClient, AllowInsecureHTTP: true}).Load(ctx, src)
	if err != nil {
		var fe *keys.FetchError
		if errors.As(err, &fe) {
			return nil, nil, UsageErrorf("--jwks: %v", err)
		}
		return nil, nil, inputError(err)
	}
	pub, err := keys.PublicKeys(raw)
	if err != nil {
		return nil, nil, UsageErrorf("--jwks %s: %v: give the public key set the organization holds", keys.RedactURL(src), err)
	}
	return raw, pub, nil
}

// writeAssertionReport prints the decoded assertion and the findings.
func writeAssertionReport(w io.Writer, rep *diag.AssertionReport) {
	if rep.Header != nil {
		fmt.Fprintf(w, "Header:  %s\n", compactJSON(rep.Header))
		fmt.Fprintf(w, "Claims:  %s\n", compactJSON(rep.Claims))
	}
	switch {
	case rep.SignatureValid:
		fmt.Fprintf(w, "Signature: verified with key %s\n", rep.VerifiedBy)
	case rep.SignatureChecked:
		fmt.Fprintln(w, "Signature: NOT verified")
	}
	fmt.Fprintln(w)
	writeFindingLines(w, rep.Findings)
}

// compactJSON renders a decoded JSON object on one line.
func compactJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}
