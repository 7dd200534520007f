package brands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/activator-dev/activator/internal/pace"
)

// SmartConfigPath is where a SMART on FHIR server describes its OAuth
// endpoints and capabilities, relative to the FHIR base URL.
const SmartConfigPath = "/.well-known/smart-configuration"

// Tunables of the smart-configuration checks. Each organization runs its
// own server, so the rate is shared across servers rather than per host;
// the defaults keep a full pass over ~500 servers to a couple of minutes
// while no single server sees more than a request at a time.
const (
	// DefaultSmartRate is requests per second across all servers.
	DefaultSmartRate = 5.0
	// DefaultSmartConcurrency is how many servers are asked at once.
	DefaultSmartConcurrency = 4
	// DefaultSmartTimeout bounds one request: a healthy server answers
	// this small document in well under a second.
	DefaultSmartTimeout = 10 * time.Second
	// DefaultSmartRetries repeats a request that failed in a way that may
	// pass (no answer, 5xx): fewer than the portal's retries, since a
	// server that is down should not hold up the whole pass.
	DefaultSmartRetries = 2
	// DefaultSmartMaxBytes bounds the document read; real ones are a few
	// kilobytes.
	DefaultSmartMaxBytes = 1 << 20
)

// What a token request needs from an organization's server.
const (
	// AuthPrivateKeyJWT is the client authentication the app uses.
	AuthPrivateKeyJWT = "private_key_jwt"
	// AlgRS384 and AlgRS256 are the signature algorithms the portal's
	// organizations accept for uploaded RSA keys (RS384 preferred).
	AlgRS384 = "RS384"
	AlgRS256 = "RS256"
)

// Problem kinds of a SmartResult, stable for --output json and csv.
const (
	ProblemNoAnswer     = "no-answer"          // the server did not answer (refused, timed out, 5xx)
	ProblemNoConfig     = "no-smart-config"    // it answered, but not with a SMART configuration
	ProblemNoPrivateKey = "no-private-key-jwt" // private_key_jwt not listed
	ProblemNoRSAlg      = "no-rs-alg"          // neither RS384 nor RS256 listed
	ProblemBadAddress   = "bad-address"        // the base URL is not an http(s) URL
)

// SmartProblem is one reason a server may refuse the app's token requests.
type SmartProblem struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// SmartResult is one server's smart-configuration, or why there is none.
type SmartResult struct {
	Address               string         `json:"address"`
	CheckedAt             time.Time      `json:"checkedAt"`
	Answered              bool           `json:"answered"`
	Error                 string         `json:"error,omitempty"`
	TokenEndpoint         string         `json:"tokenEndpoint,omitempty"`
	AuthorizationEndpoint string         `json:"authorizationEndpoint,omitempty"`
	AuthMethods           []string       `json:"authMethods"`
	SigningAlgs           []string       `json:"signingAlgs"`
	Attempts              int            `json:"attempts"`
	Problems              []SmartProblem `json:"problems"`
	// Notes are worth knowing but do not stop the app: "RS384 is not
	// listed, sign with RS256".
	Notes []string `json:"notes"`
}

// SmartOptions tune CheckSmart.
type SmartOptions struct {
	// Client makes the requests; nil means http.DefaultClient. Each
	// request is bounded by Timeout whatever the client's own timeout.
	Client *http.Client
	// Pacer spaces and retries the requests of every worker.
	Pacer       *pace.Pacer
	Concurrency int
	Timeout     time.Duration
	UserAgent   string
	// Now stamps each result (time.Now when nil).
	Now func() time.Time
	// OnResult, when set, is called with each result as it completes, one
	// at a time, so that the caller can store it at once.
	OnResult func(SmartResult) error
}

// CheckSmart fetches {address}/.well-known/smart-configuration for every
// address, paced and bounded, and evaluates what each server lists. The
// results are in the order of addresses. It stops early only when ctx is
// cancelled or OnResult fails, returning that error and the results so
// far.
func CheckSmart(ctx context.Context, addresses []string, opts SmartOptions) ([]SmartResult, error) {
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Pacer == nil {
		opts.Pacer = pace.New(DefaultSmartRate, DefaultSmartRetries)
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = DefaultSmartConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultSmartTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	results := make([]SmartResult, len(addresses))
	done := make([]bool, len(addresses))
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(opts.Concurrency, max(len(addresses), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := checkOne(ctx, addresses[i], &opts)
				if ctx.Err() != nil {
					return // an interrupted check is not a result
				}
				mu.Lock()
				results[i], done[i] = r, true
				var err error
				if opts.OnResult != nil {
					err = opts.OnResult(r)
				}
				mu.Unlock()
				if err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
feed:
	for i := range addresses {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		var out []SmartResult
		for i, r := range results {
			if done[i] {
				out = append(out, r)
			}
		}
		return out, err
	}
	return results, nil
}

// checkOne asks one server, with retries, and evaluates the answer.
func checkOne(ctx context.Context, address string, opts *SmartOptions) SmartResult {
	r := SmartResult{Address: address, AuthMethods: []string{}, SigningAlgs: []string{}, Problems: []SmartProblem{}, Notes: []string{}}
	target, err := smartURL(address)
	if err != nil {
		r.CheckedAt = opts.Now()
		r.Error = err.Error()
		r.Problems = append(r.Problems, SmartProblem{ProblemBadAddress, err.Error()})
		return r
	}
	var doc *smartDoc
	r.Attempts, err = opts.Pacer.Do(ctx, func() error {
		var ferr error
		doc, ferr = fetchSmart(ctx, opts, target)
		return ferr
	})
	r.CheckedAt = opts.Now()
	if err != nil {
		r.Error = err.Error()
		var fe *fetchError
		r.Answered = errors.As(err, &fe) && fe.answered
		if pace.Retryable(err) || !r.Answered {
			what := "no answer"
			if r.Answered {
				what = "no usable answer"
			}
			r.Problems = append(r.Problems, SmartProblem{ProblemNoAnswer,
				fmt.Sprintf("%s from %s: %v (%s)", what, SmartConfigPath, err, attempts(r.Attempts))})
		} else {
			r.Problems = append(r.Problems, SmartProblem{ProblemNoConfig, err.Error()})
		}
		return r
	}
	r.Answered = true
	r.TokenEndpoint = doc.TokenEndpoint
	r.AuthorizationEndpoint = doc.AuthorizationEndpoint
	r.AuthMethods = append(r.AuthMethods, doc.AuthMethods...)
	r.SigningAlgs = append(r.SigningAlgs, doc.SigningAlgs...)
	r.evaluate()
	return r
}

// evaluate names what stops the app's token requests at this server.
func (r *SmartResult) evaluate() {
	if !Lists(r.AuthMethods, AuthPrivateKeyJWT) {
		r.Problems = append(r.Problems, SmartProblem{ProblemNoPrivateKey,
			"token_endpoint_auth_methods_supported does not list private_key_jwt: the app's signed assertions will not be accepted"})
	}
	has384, has256 := Lists(r.SigningAlgs, AlgRS384), Lists(r.SigningAlgs, AlgRS256)
	switch {
	case !has384 && !has256:
		listed := "nothing"
		if len(r.SigningAlgs) > 0 {
			listed = strings.Join(r.SigningAlgs, ", ")
		}
		r.Problems = append(r.Problems, SmartProblem{ProblemNoRSAlg,
			"token_endpoint_auth_signing_alg_values_supported lists neither RS384 nor RS256 (it lists " + listed + "): RSA keys cannot sign here"})
	case !has384:
		r.Notes = append(r.Notes, "RS384 is not listed: sign client assertions for this organization with RS256")
	}
	if r.TokenEndpoint == "" {
		r.Notes = append(r.Notes, "no token_endpoint listed")
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// Lists reports whether a smart-configuration list (auth methods,
// signing algorithms) names v, ignoring case and surrounding space, as
// servers write them.
func Lists(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), v) })
}

// smartURL is the smart-configuration URL of a FHIR base URL.
func smartURL(address string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(address))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("the endpoint address %q is not an http(s) URL", address)
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/") + SmartConfigPath
	u.RawPath = ""
	return u.String(), nil
}

// smartDoc holds the members of a smart-configuration document that matter
// for the app's token requests.
type smartDoc struct {
	TokenEndpoint         string   `json:"token_endpoint"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	AuthMethods           []string `json:"token_endpoint_auth_methods_supported"`
	SigningAlgs           []string `json:"token_endpoint_auth_signing_alg_values_supported"`
}

// fetchError is a failed fetch from an organization's own server. The
// message speaks of that server, never of the portal.
type fetchError struct {
	msg      string
	answered bool  // the server sent an HTTP answer
	retry    bool  // no answer, a 5xx or a 429: trying again may help
	cause    error // the transport error, when there was no answer
}

// Error speaks of the organization's server.
func (e *fetchError) Error() string { return e.msg }

// Unwrap exposes the transport error.
func (e *fetchError) Unwrap() error { return e.cause }

// Retryable tells the Pacer to try again (pace.RetryableError).
func (e *fetchError) Retryable() bool { return e.retry }

// fetchSmart makes one request, bounded by the options' Timeout.
func fetchSmart(ctx context.Context, opts *SmartOptions, target string) (*smartDoc, error) {
	actx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target, nil)
	if err != nil {
		return nil, &fetchError{msg: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	if opts.UserAgent != "" {
		req.Header.Set("User-Agent", opts.UserAgent)
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := unwrapURLError(err).Error()
		if errors.Is(err, context.DeadlineExceeded) || actx.Err() != nil {
			msg = fmt.Sprintf("no answer within %s", opts.Timeout)
		}
		return nil, &fetchError{msg: msg, retry: true, cause: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, DefaultSmartMaxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := "the answer broke off: " + err.Error()
		if actx.Err() != nil {
			msg = fmt.Sprintf("no complete answer within %s", opts.Timeout)
		}
		return nil, &fetchError{msg: msg, retry: true, cause: err}
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		// A 429 is retried with backoff like a 5xx: slowing the shared
		// pace for every server because one is busy would be wrong.
		return nil, &fetchError{msg: fmt.Sprintf("HTTP %d", resp.StatusCode), answered: true, retry: true}
	case resp.StatusCode != http.StatusOK:
		return nil, &fetchError{msg: fmt.Sprintf("HTTP %d for %s", resp.StatusCode, SmartConfigPath), answered: true}
	}
	if len(body) > DefaultSmartMaxBytes {
		return nil, &fetchError{msg: fmt.Sprintf("the answer is larger than %d KB: not a smart-configuration", DefaultSmartMaxBytes>>10), answered: true}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return nil, &fetchError{msg: "answered an HTML page, not a smart-configuration document", answered: true}
	}
	var doc smartDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, &fetchError{msg: "the smart-configuration is not a JSON object of the expected shape: " + err.Error(), answered: true}
	}
	return &doc, nil
}
