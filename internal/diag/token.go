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
	// DefaultSkewResolution is the smallest clock difference with the
	// server that is reported: the Date header has one-second resolution.
	// Any larger difference is reported in the direction it works, since
	// servers allow no leeway.
	DefaultSkewResolution = time.Second
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
// Date header; ok is false without a usable Date header. The Date header is
// the server's clock cut to the second, read at some moment between Sent and
// Received: when the two clocks can have agreed at that moment the skew is
// 0, so a server whose clock agrees is never reported a second off because
// its answer came across a second's boundary (the slower the exchange, the
// more often). Otherwise it is in whole seconds from the middle of the
// exchange.
func (r *TokenResponse) ClockSkew() (skew time.Duration, ok bool) {
	if r.ServerDate.IsZero() || r.Received.IsZero() {
		return 0, false
	}
	// The server's clock read [ServerDate, ServerDate+1s) while the local
	// one read [Sent, Received].
	if !r.ServerDate.After(r.Received) && r.Sent.Before(r.ServerDate.Add(DefaultSkewResolution)) {
		return 0, true
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
	// Likelihood is "server" (the server's error_description names it),
	// "certain" (a local check failed), "likely" or "possible".
	Likelihood string `json:"likelihood"`
	// Cause names the problem.
	Cause string `json:"cause"`
	// Fix says what to do.
	Fix string `json:"fix"`
	// Rule is the check that found it, when one did.
	Rule string `json:"rule,omitempty"`
	// Server is the server's error_description this cause quotes.
	Server string `json:"server,omitempty"`
}

// Likelihoods, from the strongest.
const (
	LikelihoodServer   = "server"
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
	// KeySetName names where the key set came from (e.g. "--jwks");
	// empty means "the given key set".
	KeySetName string
	// KeySetErrors are the error findings of the key set itself.
	KeySetErrors []string
	// Upload is what the state database says was uploaded to the token
	// URL's organization; nil when unknown.
	Upload *Upload
	// Lifetime is the assertion's exp - iat.
	Lifetime time.Duration
	// Scope is the scope that was requested, empty for none.
	Scope string
}

// kidRules are the assertion rules about the kid header, which only
// organizations fetching a JWK Set URL rely on.
var kidRules = map[string]bool{RuleKidMissing: true, RuleKidUnknown: true, RuleKidAmbiguous: true, RuleKidWrongKey: true}

// keyKinds are the server causes a key change that has not arrived yet
// also explains.
var keyKinds = map[string]bool{ServerKid: true, ServerAlg: true, ServerSignature: true, ServerJWKSFetch: true}

// timeKinds are the server causes a clock difference explains.
var timeKinds = map[string]bool{ServerExpired: true, ServerNotActive: true, ServerTime: true}

// ErrNotRefused is returned by Diagnose for a successful response.
var ErrNotRefused = errors.New("the token request succeeded")

// NoScopeNote explains why `token` sends no scope unless asked.
const NoScopeNote = "activator sends no scope unless --scope is given: Epic grants a backend app the scopes configured for it, " +
	"while a made-up default would ask for more than the app is registered for"

// Diagnose ranks the likely causes of a refused token request. When the
// server's error_description names the cause, that cause comes first,
// quoting the server, followed by the failed local checks and what else
// explains the same refusal; the guesses of a bare refusal are left out.
// Otherwise: failed local checks first (certain), then what the evidence
// points to (likely), then what no local check can rule out (possible),
// in the order docs/diagnostics.md explains. The propagation note is not a
// cause; callers print PropagationNote after the list.
func Diagnose(in DiagnosisInput) ([]Cause, error) {
	r := in.Response
	if r == nil || r.OK() {
		return nil, ErrNotRefused
	}
	var out []Cause
	sc, kind, described := ServerCause(r)
	if described {
		if (kind == ServerScopeMissing || kind == ServerScopeInvalid) && in.Scope == "" {
			sc.Fix += "; " + NoScopeNote
		}
		out = append(out, sc)
	}
	if described && kind != ServerOther {
		out = append(out, localCauses(in)...)
		if timeKinds[kind] {
			out = append(out, clockCauses(in, true)...)
		}
		if keyKinds[kind] {
			out = append(out, propagationCause())
		}
		return rank(out), nil
	}
	add := func(l, cause, fix string) {
		out = append(out, Cause{Likelihood: l, Cause: cause, Fix: fix})
	}
	switch r.Error {
	case "invalid_client", "":
	case "unauthorized_client":
		add(LikelihoodCertain, "the organization has not mapped the client to a background user (unauthorized_client)",
			"ask the organization to finish the client's setup (background user and scopes)")
		return out, nil
	case "invalid_scope":
		fix := "request only the scopes the app is registered for"
		if in.Scope == "" {
			fix = "pass --scope with the system scopes the app is registered for; " + NoScopeNote
		}
		add(LikelihoodCertain, "the requested scope is missing or not granted to the client (invalid_scope)", fix)
		return out, nil
	case "invalid_request":
		add(LikelihoodCertain, "the server calls the request malformed (invalid_request)",
			"check the token URL: it must be the organization's token endpoint (POST, form-encoded)")
		return out, nil
	case "unsupported_grant_type":
		add(LikelihoodCertain, "the server does not offer client_credentials at this URL (unsupported_grant_type)",
			"use the token endpoint from the organization's .well-known/smart-configuration")
		return out, nil
	default:
		add(LikelihoodCertain, fmt.Sprintf("the server answered error %q", r.Error), "see the error description and the server's documentation")
		return out, nil
	}
	if r.Error == "" && r.StatusCode != http.StatusOK {
		what := fmt.Sprintf("the token URL answered HTTP %d without an OAuth error", r.StatusCode)
		if r.BodyExcerpt != "" {
			what += " (not JSON)"
		}
		add(LikelihoodCertain, what, "check --token-url: use the token endpoint from the organization's .well-known/smart-configuration")
		return out, nil
	}
	held, direct := uploadCauses(in.Upload)
	out = append(out, held...)
	out = append(out, localCauses(in)...)
	if direct {
		// The organization holds uploaded keys: it fetches no JWK Set URL,
		// and the keys were uploaded; propagation is said above when
		// the upload is recent enough for it.
		out = append(out, clockCauses(in, false)...)
		out = append(out, otherEnvCause())
		out = append(out, listingCause())
		return rank(out), nil
	}
	// The order of the guesses is argued in docs/diagnostics.md: the
	// JWK Set URL first (the portal's default credential, refused for
	// good by every organization that may not make outbound requests),
	// propagation second (it explains a refusal only within 12 hours of
	// a key change, and clears by itself).
	add(LikelihoodPossible, "the organization fetches the app's JWK Set URL and its servers cannot reach it (outbound HTTPS blocked): the portal's default credential, refused for good",
		"upload the public keys to the organization instead (activator activate --jwks FILE --reactivate), then wait for them to sync")
	out = append(out, propagationCause())
	out = append(out, clockCauses(in, false)...) // rank moves a likely one up
	out = append(out, otherEnvCause())
	add(LikelihoodPossible, "the organization does not hold the app's keys: they were never uploaded there",
		"upload the public keys to the organization (activator activate), then wait for them to sync")
	out = append(out, listingCause())
	return rank(out), nil
}

// otherEnvCause is the client ID of the other environment.
func otherEnvCause() Cause {
	return Cause{Likelihood: LikelihoodPossible, Cause: "the client ID is the other environment's (the production client ID against a non-production server, or the reverse)",
		Fix: "use the non-production client ID for non-production and sandbox servers, the production one for production"}
}

// listingCause is an app listing not set up for Backend Services.
func listingCause() Cause {
	return Cause{Likelihood: LikelihoodPossible, Cause: "the app listing is not set up for this flow",
		Fix: "check the listing: Backend Systems user type and OAuth 2.0 selected, and \"Require Refresh Tokens\" for apps that use JWTs with users or patients"}
}

// propagationCause is the one cause no local check can rule out.
func propagationCause() Cause {
	return Cause{Likelihood: LikelihoodPossible, Cause: "the public key has not reached the organization yet (a recent upload or key change)",
		Fix: "wait: up to 12 hours for production, up to 60 minutes for the sandbox; then try again"}
}

// localCauses are the failed local checks of the assertion and key set.
func localCauses(in DiagnosisInput) []Cause {
	var out []Cause
	if in.Assertion != nil {
		for _, f := range in.Assertion.Findings {
			switch {
			case f.Severity != keys.SeverityError:
			case f.Rule == RuleSignature && in.KeysGiven && !in.KeyInSet:
				// Said better below: the key is not in the key set at all.
			case kidRules[f.Rule]:
				// Organizations holding uploaded keys ignore the kid; those
				// fetching a JWK Set URL choose the key by it.
				out = append(out, Cause{Likelihood: LikelihoodLikely, Cause: f.Message, Fix: f.Fix, Rule: f.Rule})
			default:
				out = append(out, Cause{Likelihood: LikelihoodCertain, Cause: f.Message, Fix: f.Fix, Rule: f.Rule})
			}
		}
	}
	if in.KeysGiven && !in.KeyInSet {
		set := "the given key set"
		if in.KeySetName != "" {
			set = "the key set of " + in.KeySetName
		}
		out = append(out, Cause{Likelihood: LikelihoodCertain, Cause: "the signing key's public key is not in " + set,
			Fix: "upload the public key of the key you sign with (or sign with the key whose public key is uploaded)"})
	}
	for _, e := range in.KeySetErrors {
		out = append(out, Cause{Likelihood: LikelihoodLikely, Cause: "the key set has a problem organizations refuse: " + e,
			Fix: "fix the key set (activator jwks check), upload it again and wait for it to sync"})
	}
	return out
}

// clockCauses relate the server's clock (its Date header) to the times of
// the assertion that was sent. Any difference of a second or more is
// reported in the direction it works: a server behind sees iat and nbf
// sooner, one ahead sees exp sooner. When the assertion's times fall
// outside the window by the server's clock, that is likely the refusal;
// a difference that leaves them inside is possible (a server may also
// allow less than the whole window). named says the server already named
// a time cause: then any difference is at least likely.
func clockCauses(in DiagnosisInput, named bool) []Cause {
	r := in.Response
	skew, ok := r.ClockSkew()
	if !ok || (skew > -DefaultSkewResolution && skew < DefaultSkewResolution) {
		return nil
	}
	serverNow := r.Sent.Add(skew).Unix()
	var iat, exp int64
	var haveIat, haveExp bool
	if in.Assertion != nil && in.Assertion.Claims != nil {
		iat, haveIat = numClaim(in.Assertion.Claims, "nbf")
		if v, ok := numClaim(in.Assertion.Claims, "iat"); ok && (!haveIat || v > iat) {
			iat, haveIat = v, true
		}
		exp, haveExp = numClaim(in.Assertion.Claims, "exp")
	}
	if !haveIat {
		// What activator signs: the times of the sent assertion are not
		// at hand, so take the ones NewAssertion gives.
		iat, haveIat = r.Sent.Add(-DefaultClockMargin).Unix(), true
	}
	d := skew.Abs().Round(time.Second)
	fix := "sync this machine's clock (NTP)"
	l := LikelihoodPossible
	if named {
		l = LikelihoodLikely
	}
	if skew < 0 {
		what := fmt.Sprintf("the server's clock is %s behind this machine's", d)
		if haveIat && iat > serverNow {
			return []Cause{{Likelihood: LikelihoodLikely, Fix: fix,
				Cause: fmt.Sprintf("%s: to the server, iat/nbf are %s in the future", what, secs(iat-serverNow))}}
		}
		if haveIat {
			what += fmt.Sprintf(", which leaves iat/nbf only %s in its past", secs(serverNow-iat))
		}
		return []Cause{{Likelihood: l, Cause: what, Fix: fix}}
	}
	what := fmt.Sprintf("the server's clock is %s ahead of this machine's", d)
	if haveExp && exp <= serverNow {
		return []Cause{{Likelihood: LikelihoodLikely, Fix: fix,
			Cause: fmt.Sprintf("%s: to the server, the assertion expired %s ago", what, secs(serverNow-exp))}}
	}
	if !haveExp && in.Lifetime > 0 && skew >= in.Lifetime {
		return []Cause{{Likelihood: LikelihoodLikely, Fix: fix, Cause: what + ": to the server, the assertion has already expired"}}
	}
	if haveExp {
		what += fmt.Sprintf(", which leaves the assertion only %s before exp", secs(exp-serverNow))
	}
	return []Cause{{Likelihood: l, Cause: what, Fix: fix}}
}

// numClaim reads a whole-second time claim of a decoded assertion.
func numClaim(cl map[string]any, name string) (int64, bool) {
	n, ok := cl[name].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// rank orders causes by likelihood, keeping the order within each.
func rank(out []Cause) []Cause {
	order := map[string]int{LikelihoodServer: 0, LikelihoodCertain: 1, LikelihoodLikely: 2, LikelihoodPossible: 3}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i].Likelihood] < order[out[j].Likelihood] })
	return out
}
