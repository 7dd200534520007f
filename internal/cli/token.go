package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/diag"
	"github.com/activator-dev/activator/internal/keys"
	"github.com/activator-dev/activator/internal/store"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"
)

// TokenOptions are `token`'s options.
type TokenOptions struct {
	DiagEnv
	// TokenURL is the organization's token endpoint (and the aud).
	TokenURL string
	// ClientID is the iss and sub.
	ClientID string
	// Key is the private key file, or env:NAME.
	Key string
	// Kid is the kid header (default: the key's own, or the matching key's
	// kid in JWKS).
	Kid string
	// Alg is the signature algorithm (default: the matching key's alg in
	// JWKS, else diag.DefaultAlg).
	Alg string
	// Aud is the aud claim when it differs from TokenURL (a proxy).
	Aud string
	// Lifetime is the assertion's exp - iat.
	Lifetime time.Duration
	// Scope is the space-separated scope asked for.
	Scope string
	// JWKS is the file or URL of the keys the organization should hold.
	JWKS string
	// JWKSSource names where JWKS came from in messages: "--jwks", its
	// environment variable, or the config file's jwks setting with the
	// file's path.
	JWKSSource string
	// ShowToken prints the access token itself.
	ShowToken bool
	// Org is the organization the token URL belongs to (--org); empty:
	// matched through the endpoints stored by `activator brands`.
	Org string
	// Store opens the state database read-only: what activator uploaded
	// to the organization is evidence for a refusal.
	Store func(context.Context) (*store.Store, store.App, error)
}

// NewCmdToken builds `token`.
func NewCmdToken(f *Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{Store: f.ReadAppStore}
	cmd := &cobra.Command{
		Use:   "token --token-url URL --client-id ID --key FILE",
		Short: "Request a Backend Services token and explain an invalid_client",
		Long: `Makes a real SMART Backend Services token request (POST, form-encoded,
grant_type=client_credentials with a freshly signed client assertion, no client
secret) and reports the outcome.

The assertion's iat and nbf are back-dated 5 seconds, so a server whose clock is a
few seconds behind this one does not see them in the future; exp is --lifetime
after iat. With --jwks, the kid and the alg are those of the key of the set that
matches --key (unless --kid or --alg say otherwise), so the assertion never names
a key or an algorithm the set does not publish. --aud sets the audience when the
server sees another token URL than the one requested (a proxy in between).

No scope is sent unless --scope is given. Epic's backend services grant the app the
scopes configured for it on the portal and need none in the request, while any
default this tool chose (system/*.read) would ask for more than the app is
registered for, which a strict server refuses. SMART Backend Services makes scope
required: for other servers, pass --scope with the app's system scopes.

On success it prints the token's type, lifetime and scopes; the token itself only
with --show-token. On a refusal, the server's error_description, when it gives one,
is the first evidence: its cause is ranked first and quoted. Then every local check
of the assertion (and of --jwks, the keys the organization should hold), the
server's clock (Date header) against this one, reported in the direction that
explains the refusal, and for a bare invalid_client the likely causes in the order
the README explains, ending with how long key changes take to arrive.

What activator uploaded to the token URL's organization (--org, else the one whose
endpoint stored by "activator brands" the token URL sits beside) is evidence too: for
an organization holding uploaded keys, a --key not among them comes first, then a
recent upload that has not arrived, with the time left; the JWK Set URL cause is
left out. Without --jwks, the key set of ACTIVATOR_JWKS or the config file's jwks is
used, and said so.

Exit status: 0 token granted, 1 refused, 2 bad input, 4 no answer.`,
		Example: `  activator token --token-url https://fhir.example.org/oauth2/token --client-id 6c12dff4-... --key private.pem --jwks jwks.json
  activator token --token-url https://fhir.example.org/oauth2/token --client-id 6c12dff4-... --key env:EPIC_PRIVATE_KEY --scope system/Patient.read`,
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
			return tokenRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	bindAssertionFlags(fl, &opts.ClientID, &opts.TokenURL, &opts.Key, &opts.Kid, &opts.Alg, &opts.Aud, &opts.Lifetime)
	fl.StringVar(&opts.Scope, "scope", "", "space-separated scopes to request (default: none, see above)")
	fl.StringVar(&opts.JWKS, "jwks", "", "the public keys the organization should hold: a file or URL (checked on failure)")
	fl.StringVar(&opts.Org, "org", "", "the OrgId the token URL belongs to (default: matched through the endpoints stored by activator brands)")
	fl.BoolVar(&opts.ShowToken, "show-token", false, "print the access token itself (it is a credential)")
	return cmd
}

// tokenResult is `token`'s JSON output.
type tokenResult struct {
	OK               bool                  `json:"ok"`
	StatusCode       int                   `json:"status_code"`
	Error            string                `json:"error,omitempty"`
	ErrorDescription string                `json:"error_description,omitempty"`
	TokenType        string                `json:"token_type,omitempty"`
	ExpiresIn        int64                 `json:"expires_in,omitempty"`
	Scope            string                `json:"scope,omitempty"`
	AccessToken      string                `json:"access_token,omitempty"`
	ClockSkewSeconds *float64              `json:"clock_skew_seconds,omitempty"`
	Assertion        *diag.AssertionReport `json:"assertion,omitempty"`
	KeySet           []keys.Finding        `json:"key_set_findings,omitempty"`
	KeySetSource     string                `json:"key_set_source,omitempty"`
	Causes           []diag.Cause          `json:"causes,omitempty"`
	Note             string                `json:"note,omitempty"`
}

// check validates the flags.
func (opts *TokenOptions) check() error {
	return requireFlags("token-url", opts.TokenURL, "client-id", opts.ClientID, "key", opts.Key)
}

func tokenRun(ctx context.Context, opts *TokenOptions) error {
	env := &opts.DiagEnv
	k, err := loadSigningKey(env, opts.Key, opts.Kid)
	if err != nil {
		return err
	}
	// The key set the organization should hold: read first, so that a kid
	// can be taken from it and bad input stops the command before any request.
	ks, err := opts.keySet(ctx, k)
	if err != nil {
		return err
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
	resp, err := diag.RequestToken(ctx, env.HTTPClient, diag.TokenRequest{TokenURL: opts.TokenURL, Assertion: a.JWT, Scope: opts.Scope}, env.Now)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &ExitError{Code: ExitUnavailable, Err: fmt.Errorf("%w (check --token-url and the network)", err)}
	}
	res := &tokenResult{OK: resp.OK(), StatusCode: resp.StatusCode, Error: resp.Error, ErrorDescription: resp.ErrorDescription,
		TokenType: resp.TokenType, ExpiresIn: resp.ExpiresIn, Scope: resp.Scope}
	if skew, ok := resp.ClockSkew(); ok {
		s := skew.Seconds()
		res.ClockSkewSeconds = &s
	}
	if res.OK {
		if opts.ShowToken {
			res.AccessToken = resp.AccessToken
		}
		return writeTokenResult(env, res)
	}
	exp := diag.Expect{ClientID: opts.ClientID, TokenURL: a.Claims.Aud, Now: env.Now()}
	in := diag.DiagnosisInput{Response: resp, Lifetime: opts.Lifetime, Scope: opts.Scope}
	if ks != nil {
		exp.Keys, exp.KeySetName, in.KeySetName = ks.public, ks.source, ks.source
		res.KeySetSource = ks.source
		in.KeysGiven, in.KeyInSet = true, ks.hasSigningKey
		res.KeySet = ks.findings
		for _, fd := range ks.findings {
			if fd.Severity == keys.SeverityError {
				in.KeySetErrors = append(in.KeySetErrors, strings.TrimSpace(fd.Subject+" "+fd.Message))
			}
		}
	}
	res.Assertion = diag.CheckAssertion(a.JWT, exp)
	in.Assertion = res.Assertion
	var note string
	if in.Upload, note = tokenUpload(ctx, opts, k.Thumbprint()); note != "" {
		fmt.Fprintln(env.IO.ErrOut, "activator: "+note)
	}
	res.Causes, _ = diag.Diagnose(in)
	if _, kind, described := diag.ServerCause(resp); (resp.Error == "invalid_client" || resp.Error == "") &&
		(!described || kind == diag.ServerOther) {
		res.Note = diag.PropagationNote
	}
	if err := writeTokenResult(env, res); err != nil {
		return err
	}
	return SilentExit(ExitFailures)
}

// keySet reads the key set the organization should hold (--jwks, or the
// environment's or config file's jwks, said so on stderr); nil without one.
func (opts *TokenOptions) keySet(ctx context.Context, k *keys.SigningKey) (*tokenKeySet, error) {
	return keySetFrom(ctx, &opts.DiagEnv, opts.JWKS, opts.JWKSSource, "the keys the organization should hold", k)
}

// keySetFrom reads the key set jwks names, from source ("--jwks", or the
// environment variable or config file it came from; "" is --jwks), and
// says on stderr when it was not given on the command line: the set may be
// the one kept for another purpose (activate's). what names the set in
// that note. It returns nil without a set.
func keySetFrom(ctx context.Context, env *DiagEnv, jwks, source, what string, k *keys.SigningKey) (*tokenKeySet, error) {
	if jwks == "" {
		return nil, nil
	}
	if source == "" {
		source = "--jwks"
	}
	if source != "--jwks" {
		fmt.Fprintf(env.IO.ErrOut, "activator: no --jwks given: taking %s from %s: %s (pass --jwks to use another key set)\n",
			what, source, keys.RedactURL(jwks))
	}
	return readTokenKeySet(ctx, env, jwks, source, k)
}

// chooseKidAlg picks the assertion's kid and alg, saying on stderr where a
// default came from (notes, said once the assertion is made). The kid is --kid, else the private JWK's own, else that
// of the key of --jwks matching --key, else the key's RFC 7638 thumbprint
// (what `activator jwks from-pem` publishes as kid): an assertion always
// names its key. The alg is --alg, else the matching key's published alg.
func chooseKidAlg(k *keys.SigningKey, ks *tokenKeySet, kid, alg string) (string, string, []string) {
	var notes []string
	switch {
	case kid != "" || k.Kid != "":
	case ks != nil && ks.matchKid != "":
		kid = ks.matchKid
		notes = append(notes, fmt.Sprintf("using kid %q, the key of %s that matches --key", kid, ks.source))
	case ks != nil && ks.hasSigningKey:
		kid = k.Thumbprint()
		notes = append(notes, fmt.Sprintf("using kid %q, the RFC 7638 thumbprint of --key: its key in %s has no kid (pass --kid to name another)", kid, ks.source))
	case ks != nil:
		kid = k.Thumbprint()
		notes = append(notes, fmt.Sprintf("using kid %q, the RFC 7638 thumbprint of --key: %s does not hold its public key (pass --kid to name another)", kid, ks.source))
	default:
		kid = k.Thumbprint()
		notes = append(notes, fmt.Sprintf("using kid %q, the RFC 7638 thumbprint of --key (pass --kid, or --jwks to take the published kid)", kid))
	}
	if alg == "" && ks != nil && slices.Contains(diag.SupportedAlgs, ks.matchAlg) {
		alg = ks.matchAlg
		notes = append(notes, fmt.Sprintf("using alg %s, the published alg of the key of %s that matches --key", alg, ks.source))
	}
	return kid, alg, notes
}

// tokenKeySet is what --jwks says about the signing key.
type tokenKeySet struct {
	source        string // where the set came from, for messages
	public        []jose.JSONWebKey
	findings      []keys.Finding
	hasSigningKey bool
	matchKid      string
	matchAlg      string
}

// readTokenKeySet loads --jwks, checks it, and finds the signing key in it.
// source names where src came from (--jwks or the config file's jwks).
func readTokenKeySet(ctx context.Context, env *DiagEnv, src, source string, k *keys.SigningKey) (*tokenKeySet, error) {
	raw, pub, err := loadPublicKeys(ctx, env, src)
	if err != nil {
		return nil, err
	}
	ks := &tokenKeySet{source: source, public: pub, findings: keys.CheckDocument(raw)}
	if len(keys.Summarize(raw)) == 0 && len(pub) > 0 {
		// Readable only without regard to case: the portal's stored
		// (.NET) form, which is not a JWKS to judge but still holds keys.
		ks.findings = nil
		fmt.Fprintf(env.IO.ErrOut, "activator: %s %s is in the portal's stored form; using its keys as they are\n", source, keys.RedactURL(src))
	}
	want := k.Thumbprint()
	for _, p := range pub {
		if keys.Thumbprint(p) == want {
			ks.hasSigningKey, ks.matchKid, ks.matchAlg = true, p.KeyID, p.Algorithm
			break
		}
	}
	return ks, nil
}

// writeTokenResult prints the outcome in the chosen format.
func writeTokenResult(env *DiagEnv, res *tokenResult) error {
	if env.Output == OutputJSON {
		return writeJSON(env.IO.Out, res)
	}
	w := env.IO.Out
	if res.OK {
		fmt.Fprintf(w, "Token granted: %s, expires in %s, scope %q\n", printable(cellOrDash(res.TokenType)), time.Duration(res.ExpiresIn)*time.Second, res.Scope)
		if res.AccessToken != "" {
			fmt.Fprintln(w, res.AccessToken)
		} else {
			fmt.Fprintln(w, "(the token itself is printed only with --show-token)")
		}
		return nil
	}
	if res.ErrorDescription != "" {
		fmt.Fprintf(w, "Server says: %s\n", printable(res.ErrorDescription))
	}
	what := res.Error
	if what == "" {
		what = "no OAuth error"
	}
	fmt.Fprintf(w, "Token refused: HTTP %d, %s\n", res.StatusCode, printable(what))
	if res.ClockSkewSeconds != nil {
		skew := time.Duration(*res.ClockSkewSeconds * float64(time.Second)).Round(time.Second)
		switch {
		case skew >= diag.DefaultSkewResolution:
			fmt.Fprintf(w, "Server clock: %s ahead of this machine's (the assertion expires that much sooner for it)\n", skew)
		case skew <= -diag.DefaultSkewResolution:
			fmt.Fprintf(w, "Server clock: %s behind this machine's (iat and nbf are that much later for it; they are back-dated %s)\n", -skew, diag.DefaultClockMargin)
		default:
			fmt.Fprintln(w, "Server clock: agrees with this machine's, to the second")
		}
	} else {
		fmt.Fprintln(w, "Server clock: unknown (no Date header)")
	}
	if res.Assertion != nil {
		fmt.Fprintln(w, "\nLocal checks of the assertion that was sent:")
		writeFindingLines(indent(w), res.Assertion.Findings)
	}
	if len(res.KeySet) > 0 {
		fmt.Fprintf(w, "\nChecks of %s:\n", printable(cellOrDash(res.KeySetSource)))
		writeFindingLines(indent(w), res.KeySet)
	}
	if len(res.Causes) > 0 {
		fmt.Fprintln(w, "\nLikely causes, most likely first:")
		for i, c := range res.Causes {
			like := c.Likelihood
			if like == diag.LikelihoodServer {
				like = "server says"
			}
			fmt.Fprintf(w, "%2d. [%s] %s\n      fix: %s\n", i+1, like, c.Cause, c.Fix)
		}
	}
	if res.Note != "" {
		fmt.Fprintf(w, "\n%s\n", res.Note)
	}
	return nil
}

// indentWriter prefixes every line with two spaces.
type indentWriter struct {
	w   io.Writer
	bol bool
}

func indent(w io.Writer) io.Writer { return &indentWriter{w: w, bol: true} }

// Write copies p, indenting each line.
func (iw *indentWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if iw.bol {
			if _, err := io.WriteString(iw.w, "  "); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(iw.w, line); err != nil {
			return 0, err
		}
		iw.bol = strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}
