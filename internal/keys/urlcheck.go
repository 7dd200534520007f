package keys

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Tunables of judging a JWK Set URL.
const (
	// DefaultSlowFetch is the answer time past which a JWK Set URL is called
	// slow: organizations' fetch timeouts are not published, and a key set
	// of a few kilobytes should come back in well under a second.
	DefaultSlowFetch = 3 * time.Second
	// DefaultKeyCacheMax is how long organizations keep keys fetched from a
	// JWK Set URL unless Cache-Control says less (Epic's OAuth documentation).
	DefaultKeyCacheMax = 29 * time.Hour
	// DefaultCertExpiryWarning is how close to its expiry a certificate gets
	// a warning: renewal automation usually acts 30 days ahead.
	DefaultCertExpiryWarning = 30 * 24 * time.Hour
	// DefaultProbeTries is how many GETs `jwks check` makes to see whether
	// the URL answers every time, not just once.
	DefaultProbeTries = 3
	// DefaultProbeDelay is the pause between probing GETs.
	DefaultProbeDelay = time.Second
)

// Rule names of the JWK Set URL checks.
const (
	RuleURLNotHTTPS       = "url.not-https"
	RuleURLCertificate    = "url.certificate"
	RuleURLCertExpiry     = "url.cert-expiry"
	RuleURLTLSVersion     = "url.tls-version"
	RuleURLUnreachable    = "url.unreachable"
	RuleURLTimeout        = "url.timeout"
	RuleURLStatus         = "url.status"
	RuleURLAuth           = "url.auth-required"
	RuleURLSignIn         = "url.sign-in"
	RuleURLRedirect       = "url.redirect"
	RuleURLRedirectHost   = "url.redirect-other-host"
	RuleURLContentType    = "url.content-type"
	RuleURLUnreliable     = "url.unreliable"
	RuleURLSlow           = "url.slow"
	RuleURLCacheMissing   = "url.cache-missing"
	RuleURLCacheNoStore   = "url.cache-no-store"
	RuleURLCacheMaxAge    = "url.cache-max-age"
	RuleURLCacheOverLimit = "url.cache-over-limit"
)

// KeySummary describes one key of a checked key set.
type KeySummary struct {
	// Kid is the key's kid, empty when it has none.
	Kid string `json:"kid,omitempty"`
	// Kty is the key type as written.
	Kty string `json:"kty,omitempty"`
	// Thumbprint is the RFC 7638 SHA-256 thumbprint, empty for a key that
	// cannot be read.
	Thumbprint string `json:"thumbprint,omitempty"`
	// Bits is the RSA modulus length.
	Bits int `json:"bits,omitempty"`
	// Alg and Use are the alg and use members as written.
	Alg string `json:"alg,omitempty"`
	// Use is the use member as written.
	Use string `json:"use,omitempty"`
}

// Report is the outcome of `jwks check`: how the key set was obtained, what
// it holds, and every finding.
type Report struct {
	// Source is the file or URL as given.
	Source string `json:"source"`
	// Fetch records how a URL answered; nil for a file.
	Fetch *FetchInfo `json:"fetch,omitempty"`
	// Keys lists the keys of the document, when it is a key set.
	Keys []KeySummary `json:"keys"`
	// Findings are every finding, URL ones first.
	Findings []Finding `json:"findings"`
	// ErrorCount is the number of error findings.
	ErrorCount int `json:"errors"`
}

// Check loads a key set from a file or URL and judges it: the document as
// CheckDocument does, and for a URL also what organizations need in order to
// fetch it. The fetcher should have EveryTry set (see NewProbe). Only a source
// that cannot be used at all (a missing file, a malformed URL) is an error;
// a URL that fails to deliver is reported as findings.
func Check(ctx context.Context, f *Fetcher, src string, now time.Time) (*Report, error) {
	raw, info, err := f.Load(ctx, src)
	var ie *InputError
	if errors.As(err, &ie) {
		return nil, err
	}
	var fe *FetchError
	if err != nil && !errors.As(err, &fe) {
		return nil, err
	}
	rep := &Report{Source: RedactURL(src), Keys: []KeySummary{}, Findings: []Finding{}}
	if info != nil && !info.Local {
		rep.Fetch = info
		rep.Findings = append(rep.Findings, CheckFetch(info, now)...)
	}
	if raw != nil {
		rep.Keys = Summarize(raw)
		rep.Findings = append(rep.Findings, CheckDocument(raw)...)
	}
	rep.ErrorCount = Errors(rep.Findings)
	return rep, nil
}

// Summarize lists the keys of a document that parses as a key set.
func Summarize(raw []byte) []KeySummary {
	entries, err := parseDocument(raw)
	if err != nil {
		return []KeySummary{}
	}
	out := make([]KeySummary, 0, len(entries))
	for _, e := range entries {
		if e.notObject {
			continue
		}
		out = append(out, KeySummary{Kid: e.kid, Kty: e.kty, Thumbprint: e.thumb, Bits: e.bits, Alg: e.alg, Use: e.use})
	}
	return out
}

// CheckFetch judges how a JWK Set URL answered, the way an organization's
// server fetching it would experience it.
func CheckFetch(info *FetchInfo, now time.Time) []Finding {
	var out []Finding
	add := func(sev Severity, rule, msg, fix string, args ...any) {
		out = append(out, Finding{Severity: sev, Rule: rule, Message: sprintfOneLine(msg, args...), Fix: oneLine(fix)})
	}
	src, _ := url.Parse(info.Source)
	if src != nil && !strings.EqualFold(src.Scheme, "https") {
		add(SeverityError, RuleURLNotHTTPS, "the JWK Set URL is not https", "serve the key set over https with a valid certificate")
	}
	for _, r := range info.Redirects {
		from, _ := url.Parse(r.From)
		to, _ := url.Parse(r.To)
		if from == nil || to == nil {
			continue
		}
		if looksLikeSignIn(to) {
			add(SeverityError, RuleURLSignIn, "the URL redirects to a sign-in page (%s)", "serve the key set without authentication, at a URL that needs no sign-in", quote(r.To))
			continue
		}
		plain := true
		if !strings.EqualFold(from.Hostname(), to.Hostname()) {
			plain = false
			add(SeverityError, RuleURLRedirectHost, "the URL redirects to another host (%s)", "register the final URL itself, on the host that serves the key set", quote(to.Host))
		}
		if !strings.EqualFold(to.Scheme, "https") && strings.EqualFold(from.Scheme, "https") {
			plain = false
			add(SeverityError, RuleURLNotHTTPS, "the URL redirects to plain http (%s)", "serve the key set over https only", quote(r.To))
		}
		if plain {
			add(SeverityWarning, RuleURLRedirect, "the URL answers %s with a redirect to %s; organizations may not follow redirects", "register the final URL itself", statusText(r.StatusCode), quote(r.To))
		}
	}
	good, bad := 0, 0
	var slowest time.Duration
	var lastBad Attempt
	for _, a := range info.Attempts {
		if a.StatusCode == http.StatusOK && a.Err == "" {
			good++
		} else {
			bad++
			lastBad = a
		}
		slowest = max(slowest, a.Elapsed)
	}
	switch {
	case len(info.Attempts) == 0:
	case good == 0:
		out = append(out, failureFinding(lastBad))
	case bad > 0:
		what := lastBad.Err
		if what == "" {
			what = "answered " + statusText(lastBad.StatusCode)
		}
		add(SeverityError, RuleURLUnreliable, "%d of %d tries failed (%s): an organization that fetches at that moment rejects the app's tokens with invalid_client",
			"keep the host awake and answering every time (a sleeping host answers 502/503 first), or upload the keys instead", bad, len(info.Attempts), what)
	}
	if good > 0 && slowest > DefaultSlowFetch {
		add(SeverityWarning, RuleURLSlow, "the slowest try took %s", "serve the key set from a host that answers in well under a second", slowest.Round(time.Millisecond))
	}
	if info.TLS != nil {
		checkTLS(info.TLS, now, add)
	}
	if good == 0 {
		return out
	}
	ct := info.ContentType
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/json" || mt == "application/jwk-set+json":
	case mt == "text/html":
		add(SeverityError, RuleURLContentType, "the URL answers with an HTML page (Content-Type %s)", "serve the key set itself as application/json", quote(ct))
	case ct == "":
		add(SeverityWarning, RuleURLContentType, "the answer has no Content-Type", "send Content-Type: application/json")
	default:
		add(SeverityWarning, RuleURLContentType, "the answer's Content-Type is %s, not a JSON type", "send Content-Type: application/json (or application/jwk-set+json)", quote(ct))
	}
	checkCache(info.CacheControl, add)
	return out
}

// failureFinding describes a URL none of whose tries answered 200.
func failureFinding(a Attempt) Finding {
	f := Finding{Severity: SeverityError}
	switch {
	case a.CertErr:
		f.Rule, f.Message, f.Fix = RuleURLCertificate, a.Err, "use a certificate from a public CA, valid today, that names the host"
	case a.TimedOut:
		f.Rule, f.Message, f.Fix = RuleURLTimeout, a.Err, "make the host answer quickly, every time"
	case a.Err != "":
		f.Rule, f.Message, f.Fix = RuleURLUnreachable, "the URL cannot be reached: "+a.Err, "publish the key set on a host reachable from the internet"
	case a.StatusCode == http.StatusUnauthorized || a.StatusCode == http.StatusForbidden:
		f.Rule, f.Message, f.Fix = RuleURLAuth, "the URL answers "+statusText(a.StatusCode), "serve the key set without any authentication"
	default:
		f.Rule, f.Message, f.Fix = RuleURLStatus, "the URL answers "+statusText(a.StatusCode), "make the URL answer 200 with the key set"
		if a.StatusCode == http.StatusBadGateway || a.StatusCode == http.StatusServiceUnavailable {
			f.Fix = "keep the host awake and answering (a sleeping host answers 502/503), or upload the keys instead"
		}
	}
	f.Message = oneLine(f.Message)
	return f
}

// looksLikeSignIn recognises the usual sign-in page paths.
func looksLikeSignIn(u *url.URL) bool {
	p := strings.ToLower(u.Path)
	for _, w := range []string{"login", "signin", "sign-in", "sign_in", "logon", "/auth", "sso", "oauth2/authorize"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return u.Query().Has("ReturnUrl") || u.Query().Has("returnUrl") || u.Query().Has("redirect_uri")
}

// checkTLS judges the certificate's dates and the protocol version.
func checkTLS(t *TLSInfo, now time.Time, add func(Severity, string, string, string, ...any)) {
	if !t.NotAfter.IsZero() {
		left := t.NotAfter.Sub(now)
		switch {
		case left <= 0:
			add(SeverityError, RuleURLCertExpiry, "the certificate expired on %s", "renew the certificate", t.NotAfter.UTC().Format(time.DateOnly))
		case left < DefaultCertExpiryWarning:
			add(SeverityWarning, RuleURLCertExpiry, "the certificate expires on %s, in %d days", "renew the certificate (automate renewal)", t.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
		}
	}
	switch t.Version {
	case tls.VersionName(tls.VersionTLS10), tls.VersionName(tls.VersionTLS11):
		add(SeverityWarning, RuleURLTLSVersion, "the server speaks %s", "enable TLS 1.2 or 1.3", t.Version)
	}
}

// checkCache explains what Cache-Control means for organizations' key caches.
func checkCache(cc string, add func(Severity, string, string, string, ...any)) {
	if strings.TrimSpace(cc) == "" {
		add(SeverityInfo, RuleURLCacheMissing, "no Cache-Control: organizations keep fetched keys for up to %d hours", "", int(DefaultKeyCacheMax.Hours()))
		return
	}
	dirs := map[string]string{}
	for _, part := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		dirs[strings.ToLower(strings.TrimSpace(name))] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	if _, ok := dirs["no-store"]; ok {
		add(SeverityWarning, RuleURLCacheNoStore, "Cache-Control: no-store makes organizations fetch the keys for every token request, so any outage of the host fails every token request",
			"in production send a max-age (e.g. max-age=3600); keep no-store only while rotating keys")
		return
	}
	if _, ok := dirs["no-cache"]; ok {
		add(SeverityWarning, RuleURLCacheNoStore, "Cache-Control: no-cache makes organizations revalidate the keys for every token request",
			"in production send a max-age (e.g. max-age=3600)")
		return
	}
	v, ok := dirs["max-age"]
	if !ok {
		add(SeverityInfo, RuleURLCacheMaxAge, "Cache-Control %s has no max-age: organizations keep fetched keys for up to %d hours", "", quote(cc), int(DefaultKeyCacheMax.Hours()))
		return
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 0 {
		add(SeverityWarning, RuleURLCacheMaxAge, "Cache-Control max-age %s is not a number of seconds", "send max-age as whole seconds, e.g. max-age=3600", quote(v))
		return
	}
	age := time.Duration(secs) * time.Second
	if age > DefaultKeyCacheMax {
		add(SeverityInfo, RuleURLCacheOverLimit, "max-age is %s, but organizations keep keys for at most %d hours", "", age, int(DefaultKeyCacheMax.Hours()))
		return
	}
	add(SeverityInfo, RuleURLCacheMaxAge, "organizations refetch the keys after %s (max-age=%d): a new key reaches them within that time", "", age, secs)
}

// String renders a finding on one line for people.
func (f Finding) String() string {
	s := string(f.Severity) + " " + f.Rule + ": "
	if f.Subject != "" {
		s += f.Subject + " "
	}
	s += f.Message
	if f.Fix != "" {
		s += fmt.Sprintf(" (fix: %s)", f.Fix)
	}
	return s
}
