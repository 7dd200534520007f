package diag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/keys"
)

// Tunables of token requests.
const (
	// DefaultMaxTokenResponse bounds the token endpoint's answer: a token
	// response is a few kilobytes even with an id_token.
	DefaultMaxTokenResponse = 1 << 20
	// DefaultSkewTolerance is the clock difference with the server below
	// which clocks are called in agreement: the Date header has one-second
	// resolution and the round trip adds more.
	DefaultSkewTolerance = 5 * time.Second
)

// PropagationNote ends every invalid_client diagnosis: the one cause no
// local check can rule out.
const PropagationNote = "Key changes take up to 12 hours to reach an organization's production system (up to 60 minutes for the sandbox): " +
	"if the keys changed recently, a correct assertion is refused until then."

// TokenRequest is a SMART Backend Services token request.
type TokenRequest struct {
	// TokenURL is the organization's token endpoint.
	TokenURL string
	// Assertion is the signed client assertion.
	Assertion string
	// Scope is the space-separated scope, empty for none.
	Scope string
}

// TokenResponse is what the token endpoint answered. AccessToken is a secret:
// callers print it only when asked to.
type TokenResponse struct {
	// StatusCode is the HTTP status.
	StatusCode int `json:"status_code"`
	// ContentType is the Content-Type header.
	ContentType string `json:"content_type,omitempty"`
	// Error is the OAuth error member.
	Error string `json:"error,omitempty"`
	// ErrorDescription is the OAuth error_description member.
	ErrorDescription string `json:"error_description,omitempty"`
	// HasDescription tells a null or absent description from an empty one.
	HasDescription bool `json:"-"`
	// AccessToken is the token itself (never printed by default).
	AccessToken string `json:"-"`
	// TokenType is the token_type member (Bearer).
	TokenType string `json:"token_type,omitempty"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in,omitempty"`
	// Scope is the granted scope.
	Scope string `json:"scope,omitempty"`
	// ServerDate is the Date header; zero when absent or unreadable.
	ServerDate time.Time `json:"server_date,omitzero"`
	// Sent is the local clock when the request left.
	Sent time.Time `json:"sent"`
	// Received is the local clock when the answer was read.
	Received time.Time `json:"received"`
	// BodyExcerpt is the start of a body that is not an OAuth JSON answer.
	BodyExcerpt string `json:"body_excerpt,omitempty"`
}

// OK reports a successful token response.
func (r *TokenResponse) OK() bool {
	return r.StatusCode == http.StatusOK && r.AccessToken != "" && r.Error == ""
}

// ClockSkew is the server's clock minus the local one at the answer, from the
// Date header; ok is false without a usable Date header.
func (r *TokenResponse) ClockSkew() (skew time.Duration, ok bool) {
	if r.ServerDate.IsZero() || r.Received.IsZero() {
		return 0, false
	}
	mid := r.Sent.Add(r.Received.Sub(r.Sent) / 2)
	return r.ServerDate.Sub(mid.Truncate(time.Second)), true
}

// RequestToken POSTs a client_credentials grant with the assertion, exactly as
// organizations require: form-encoded body, Accept: application/json, the
// parameter names spelled client_assertion and client_assertion_type, and no
// client secret. now is the local clock. Only a failure to get an answer is
// an error; any answer, error or not, is a TokenResponse.
func RequestToken(ctx context.Context, hc *http.Client, req TokenRequest, now func() time.Time) (*TokenResponse, error) {
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("client_assertion_type", ClientAssertionType)
	form.Set("client_assertion", req.Assertion)
	if req.Scope != "" {
		form.Set("scope", req.Scope)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build token request for %s: %w", req.TokenURL, err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	resp := &TokenResponse{Sent: now()}
	hresp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("token request to %s: %w", req.TokenURL, err)
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, DefaultMaxTokenResponse))
	resp.Received = now()
	if err != nil {
		return nil, fmt.Errorf("read token response from %s: %w", req.TokenURL, err)
	}
	resp.StatusCode = hresp.StatusCode
	resp.ContentType = hresp.Header.Get("Content-Type")
	if d, err := http.ParseTime(hresp.Header.Get("Date")); err == nil {
		resp.ServerDate = d
	}
	parseTokenBody(resp, body)
	return resp, nil
}

// parseTokenBody reads an OAuth JSON answer; anything else is kept as a
// short, one-line excerpt.
func parseTokenBody(resp *TokenResponse, body []byte) {
	var m map[string]json.RawMessage
	mt, _, _ := mime.ParseMediaType(resp.ContentType)
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		excerpt := oneLine(string(body))
		if len(excerpt) > 200 {
			excerpt = excerpt[:200] + "..."
		}
		if mt == "text/html" {
			excerpt = "(an HTML page) " + excerpt
		}
		resp.BodyExcerpt = excerpt
		return
	}
	str := func(name string) (string, bool) {
		v, ok := m[name]
		if !ok || string(v) == "null" {
			return "", false
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return oneLine(string(v)), true
		}
		return s, true
	}
	resp.Error, _ = str("error")
	resp.ErrorDescription, resp.HasDescription = str("error_description")
	resp.AccessToken, _ = str("access_token")
	resp.TokenType, _ = str("token_type")
	resp.Scope, _ = str("scope")
	if v, ok := m["expires_in"]; ok {
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			resp.ExpiresIn, _ = n.Int64()
		} else {
			var s string
			if json.Unmarshal(v, &s) == nil {
				_, _ = fmt.Sscan(s, &resp.ExpiresIn)
			}
		}
	}
}

// Cause is one possible reason for a refused token request, ranked.
type Cause struct {
	// Likelihood is "certain" (a local check failed), "likely" or "possible".
	Likelihood string `json:"likelihood"`
	// Cause names the problem.
	Cause string `json:"cause"`
	// Fix says what to do.
	Fix string `json:"fix"`
	// Rule is the check that found it, when one did.
	Rule string `json:"rule,omitempty"`
}

// Likelihoods, from the strongest.
const (
	LikelihoodCertain  = "certain"
	LikelihoodLikely   = "likely"
	LikelihoodPossible = "possible"
)

// DiagnosisInput is everything known about a refused token request.
type DiagnosisInput struct {
	// Response is the token endpoint's answer.
	Response *TokenResponse
	// Assertion is the local check of the assertion that was sent.
	Assertion *AssertionReport
	// KeysGiven is set when a key set was checked (--jwks).
	KeysGiven bool
	// KeyInSet reports whether the signing key's thumbprint is in that key
	// set (meaningful only with KeysGiven).
	KeyInSet bool
	// KeySetErrors are the error findings of the key set itself.
	KeySetErrors []string
	// Lifetime is the assertion's exp - iat.
	Lifetime time.Duration
}

// kidRules are the assertion rules about the kid header, which only
// organizations fetching a JWK Set URL rely on.
var kidRules = map[string]bool{RuleKidMissing: true, RuleKidUnknown: true, RuleKidAmbiguous: true, RuleKidWrongKey: true}

// ErrNotRefused is returned by Diagnose for a successful response.
var ErrNotRefused = errors.New("the token request succeeded")

// Diagnose ranks the likely causes of a refused token request: failed local
// checks first (certain), then what the evidence points to (likely), then
// what no local check can rule out (possible). The propagation note is not a
// cause; callers print PropagationNote after the list.
func Diagnose(in DiagnosisInput) ([]Cause, error) {
	r := in.Response
	if r == nil || r.OK() {
		return nil, ErrNotRefused
	}
	var out []Cause
	add := func(l, cause, fix, rule string) {
		out = append(out, Cause{Likelihood: l, Cause: cause, Fix: fix, Rule: rule})
	}
	switch r.Error {
	case "invalid_client", "":
	case "unauthorized_client":
		add(LikelihoodCertain, "the organization has not mapped the client to a background user (unauthorized_client)",
			"ask the organization to finish the client's setup (background user and scopes)", "")
		return out, nil
	case "invalid_scope":
		add(LikelihoodCertain, "the requested scope is not granted to the client (invalid_scope)",
			"request only the scopes the app is registered for, or none", "")
		return out, nil
	case "invalid_request":
		add(LikelihoodCertain, "the server calls the request malformed (invalid_request)",
			"check the token URL: it must be the organization's token endpoint (POST, form-encoded)", "")
		return out, nil
	case "unsupported_grant_type":
		add(LikelihoodCertain, "the server does not offer client_credentials at this URL (unsupported_grant_type)",
			"use the token endpoint from the organization's .well-known/smart-configuration", "")
		return out, nil
	default:
		add(LikelihoodCertain, fmt.Sprintf("the server answered error %q", r.Error), "see the error description and the server's documentation", "")
		return out, nil
	}
	if r.Error == "" && r.StatusCode != http.StatusOK {
		what := fmt.Sprintf("the token URL answered HTTP %d without an OAuth error", r.StatusCode)
		if r.BodyExcerpt != "" {
			what += " (not JSON)"
		}
		add(LikelihoodCertain, what, "check --token-url: use the token endpoint from the organization's .well-known/smart-configuration", "")
		return out, nil
	}
	if in.Assertion != nil {
		for _, f := range in.Assertion.Findings {
			switch {
			case f.Severity != keys.SeverityError:
			case f.Rule == RuleSignature && in.KeysGiven && !in.KeyInSet:
				// Said better below: the key is not in the key set at all.
			case kidRules[f.Rule]:
				// Organizations holding uploaded keys ignore the kid; those
				// fetching a JWK Set URL choose the key by it.
				add(LikelihoodLikely, f.Message, f.Fix, f.Rule)
			default:
				add(LikelihoodCertain, f.Message, f.Fix, f.Rule)
			}
		}
	}
	if in.KeysGiven && !in.KeyInSet {
		add(LikelihoodCertain, "the signing key's public key is not in the given key set",
			"upload the public key of the key you sign with (or sign with the key whose public key is uploaded)", "")
	}
	for _, e := range in.KeySetErrors {
		add(LikelihoodLikely, "the key set has a problem organizations refuse: "+e, "fix the key set (activator jwks check), upload it again and wait for it to sync", "")
	}
	var slowClock *Cause
	if skew, ok := r.ClockSkew(); ok {
		switch {
		case skew < -DefaultSkewTolerance:
			add(LikelihoodLikely, fmt.Sprintf("this machine's clock is %s ahead of the server's: to the server, iat and nbf are in the future", (-skew).Round(time.Second)),
				"sync this machine's clock (NTP)", "")
		case skew > DefaultSkewTolerance && (in.Lifetime == 0 || skew >= in.Lifetime):
			add(LikelihoodLikely, fmt.Sprintf("this machine's clock is %s behind the server's: to the server, the assertion has already expired", skew.Round(time.Second)),
				"sync this machine's clock (NTP)", "")
		case skew > DefaultSkewTolerance:
			slowClock = &Cause{Likelihood: LikelihoodPossible, Cause: fmt.Sprintf("this machine's clock is %s behind the server's, which shortens the assertion's life", skew.Round(time.Second)),
				Fix: "sync this machine's clock (NTP)"}
		}
	}
	add(LikelihoodPossible, "the public key has not reached the organization yet (a recent upload or key change)",
		"wait: up to 12 hours for production, up to 60 minutes for the sandbox; then try again", "")
	if slowClock != nil {
		out = append(out, *slowClock)
	}
	add(LikelihoodPossible, "the client ID is the other environment's (the production client ID against a non-production server, or the reverse)",
		"use the non-production client ID for non-production and sandbox servers, the production one for production", "")
	add(LikelihoodPossible, "the organization does not hold the app's keys: the key was never uploaded there, or the organization fetches a JWK Set URL its servers cannot reach",
		"upload the public keys to the organization (activator activate), then wait for them to sync", "")
	add(LikelihoodPossible, "the app listing is not set up for this flow",
		"check the listing: Backend Systems user type and OAuth 2.0 selected, and \"Require Refresh Tokens\" for apps that use JWTs with users or patients", "")
	rank := map[string]int{LikelihoodCertain: 0, LikelihoodLikely: 1, LikelihoodPossible: 2}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Likelihood] < rank[out[j].Likelihood] })
	return out, nil
}
