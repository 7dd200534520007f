package keys

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Tunables of fetching a JWK Set URL.
const (
	// DefaultFetchTimeout bounds one GET: a JWKS is a few kilobytes, and an
	// organization's server will not wait long for it either.
	DefaultFetchTimeout = 10 * time.Second
	// DefaultMaxJWKSBytes refuses documents that cannot be a key set (a page,
	// a dump): a JWKS of a handful of RSA keys is a few kilobytes.
	DefaultMaxJWKSBytes = 1 << 20
	// DefaultFetchTries is how many GETs Load makes before giving up on
	// transient answers: a sleeping host first answers 502 or 503.
	DefaultFetchTries = 3
	// DefaultRetryDelay is the pause before the second try; it grows by the
	// same amount for each further try.
	DefaultRetryDelay = 2 * time.Second
	// DefaultMaxRedirects stops redirect loops; organizations may not follow
	// redirects at all, so every hop is recorded.
	DefaultMaxRedirects = 5
)

// AcceptJWKS is the Accept header sent with every GET.
const AcceptJWKS = "application/json, application/jwk-set+json"

// FetchInfo records how a key set was obtained, so that `jwks check` can judge
// the URL the way an organization's server sees it.
type FetchInfo struct {
	// Source is the file path or URL as given.
	Source string `json:"source"`
	// Local is set when the source is a file.
	Local bool `json:"local,omitempty"`
	// FinalURL is where the last redirect led (equal to Source without one).
	FinalURL string `json:"final_url,omitempty"`
	// StatusCode is the status of the try whose body was kept (or the last).
	StatusCode int `json:"status_code,omitempty"`
	// ContentType is the Content-Type header of that try.
	ContentType string `json:"content_type,omitempty"`
	// CacheControl is its Cache-Control header: how long organizations may
	// keep the keys.
	CacheControl string `json:"cache_control,omitempty"`
	// Expires is its Expires header.
	Expires string `json:"expires,omitempty"`
	// Redirects lists every redirect followed, in order.
	Redirects []Redirect `json:"redirects,omitempty"`
	// TLS describes the connection; nil for plain HTTP and files.
	TLS *TLSInfo `json:"tls,omitempty"`
	// Attempts lists every GET made, in order.
	Attempts []Attempt `json:"attempts,omitempty"`
	// Bytes is the size of the document read.
	Bytes int `json:"bytes"`
}

// Attempt is one GET of a JWK Set URL.
type Attempt struct {
	// StatusCode is the final status, 0 when no answer came.
	StatusCode int `json:"status_code,omitempty"`
	// Elapsed is the time to the end of the body.
	Elapsed time.Duration `json:"-"`
	// ElapsedMS is Elapsed in milliseconds, for JSON output.
	ElapsedMS int64 `json:"elapsed_ms"`
	// Err says why the try failed, empty on an answer.
	Err string `json:"error,omitempty"`
	// CertErr is set when the certificate was refused.
	CertErr bool `json:"cert_error,omitempty"`
	// TimedOut is set when no answer came within the bound.
	TimedOut bool `json:"timed_out,omitempty"`
	// RetryAfter is the server's Retry-After value, when given.
	RetryAfter string `json:"retry_after,omitempty"`
	// TooLarge is set when the body was over the size limit.
	TooLarge bool `json:"too_large,omitempty"`
}

// Redirect is one redirect hop.
type Redirect struct {
	// From is the URL that answered with the redirect.
	From string `json:"from"`
	// To is where it pointed.
	To string `json:"to"`
	// StatusCode is the redirect status (301, 302, 307, 308).
	StatusCode int `json:"status_code"`
}

// TLSInfo describes the TLS connection of the kept try.
type TLSInfo struct {
	// Version is the protocol version, e.g. "TLS 1.3".
	Version string `json:"version"`
	// Subject and Issuer name the leaf certificate and its issuer.
	Subject string `json:"subject,omitempty"`
	// Issuer is the leaf certificate's issuer.
	Issuer string `json:"issuer,omitempty"`
	// NotAfter is when the leaf certificate expires.
	NotAfter time.Time `json:"not_after"`
	// DNSNames are the host names the certificate covers.
	DNSNames []string `json:"dns_names,omitempty"`
	// NotBefore is when the leaf certificate became valid.
	NotBefore time.Time `json:"not_before"`
}

// FetchError is a JWK Set URL that did not deliver a document. Info holds
// everything that was seen, for diagnosis.
type FetchError struct {
	// Info is what the tries saw.
	Info *FetchInfo
	// Msg is the one-line problem and fix.
	Msg string
}

// Error returns the one-line message.
func (e *FetchError) Error() string { return e.Msg }

// Fetcher gets key sets from files and URLs. The zero value is not usable; set
// Client, and leave the other fields zero for the defaults.
type Fetcher struct {
	// Client makes the requests; it is copied, never modified.
	Client *http.Client
	// Timeout bounds one try (DefaultFetchTimeout when zero).
	Timeout time.Duration
	// MaxBytes bounds the document (DefaultMaxJWKSBytes when zero).
	MaxBytes int64
	// Tries is the number of GETs for transient failures (DefaultFetchTries when zero).
	Tries int
	// RetryDelay is the pause before the second try (DefaultRetryDelay when zero).
	RetryDelay time.Duration
	// EveryTry makes all Tries even after a good answer, to measure how
	// reliably the URL answers (what `jwks check` needs); the first good body
	// is kept.
	EveryTry bool
	// AllowInsecureHTTP lets a plain-http URL (or a redirect to one) on a
	// host other than loopback be fetched. Without it such a URL is
	// refused: anyone on the path could substitute the keys, which
	// activate would then upload to every organization. Checks that only
	// read the keys (`jwks check`, which reports plain http as a finding)
	// set it.
	AllowInsecureHTTP bool
}

// insecure reports a plain-http URL on a host other than loopback.
func insecure(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// insecureError refuses a plain-http key set URL.
func insecureError(shown string) error {
	return inputErrorf("the JWKS URL %s is plain http on a host other than this machine: anyone on the way could swap the keys that are then uploaded to every organization; serve it over https (or pass --insecure-http to accept the risk)", quote(shown))
}

// RedactURL is a URL as it may be shown and stored: its credentials (a
// password, or a token given as the user name), the values of its query (a
// pre-signed URL's signature, an access token) and its fragment are replaced
// by "xxxxx". Anything that is not a URL is returned as it is.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			for i := range q[k] {
				q[k][i] = "xxxxx"
			}
		}
		u.RawQuery = q.Encode()
	}
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = "xxxxx", ""
	}
	return u.String()
}

// Load reads a JWKS from a file path or an http(s) URL with the default limits.
// A source that cannot be used as given (no such file, a bad URL, too large) is
// an *InputError; a URL that does not answer 200 with a document is a
// *FetchError. The FetchInfo is returned in both cases when a URL was tried.
func Load(ctx context.Context, hc *http.Client, src string) (raw []byte, info *FetchInfo, err error) {
	return (&Fetcher{Client: hc}).Load(ctx, src)
}

// Load reads a JWKS from a file path or an http(s) URL; see the package Load.
func (f *Fetcher) Load(ctx context.Context, src string) ([]byte, *FetchInfo, error) {
	if src == "" {
		return nil, nil, inputErrorf("no JWKS source given: give a file path or an https URL")
	}
	lower := strings.ToLower(src)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return f.fetch(ctx, src)
	}
	if i := strings.Index(src, "://"); i > 0 && !strings.ContainsAny(src[:i], `/\`) {
		return nil, nil, inputErrorf("JWKS source %s has scheme %s: give a file path or an http(s) URL", quote(src), quote(src[:i]))
	}
	return f.readFile(src)
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxJWKSBytes
}

// readFile reads a local JWKS.
func (f *Fetcher) readFile(path string) ([]byte, *FetchInfo, error) {
	info := &FetchInfo{Source: path, Local: true}
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, info, inputErrorf("JWKS file %s does not exist: give the path of the JWKS file or its https URL", quote(path))
		}
		return nil, info, inputErrorf("cannot open JWKS file %s (%s): check the path and its permissions", quote(path), oneLine(errors.Unwrap(err).Error()))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, info, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, info, inputErrorf("JWKS source %s is a directory: give the path of the JWKS file", quote(path))
	}
	raw, err := io.ReadAll(io.LimitReader(fh, f.maxBytes()+1))
	if err != nil {
		return nil, info, fmt.Errorf("read JWKS file %s: %w", path, err)
	}
	if int64(len(raw)) > f.maxBytes() {
		return nil, info, inputErrorf("JWKS file %s is larger than %d bytes, too large for a key set: give the JWKS file itself", quote(path), f.maxBytes())
	}
	info.Bytes = len(raw)
	return raw, info, nil
}

// transient reports whether a status is worth another try.
func transient(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout:
		return true
	}
	return false
}

// fetch GETs a JWK Set URL, with retries for transient answers.
func (f *Fetcher) fetch(ctx context.Context, src string) ([]byte, *FetchInfo, error) {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return nil, nil, inputErrorf("the JWKS URL is not a valid URL: give it as https://host/path")
	}
	if f.Client == nil {
		return nil, nil, errors.New("fetch JWKS: no HTTP client configured")
	}
	shown := RedactURL(src)
	if insecure(u) && !f.AllowInsecureHTTP {
		return nil, nil, insecureError(shown)
	}
	info := &FetchInfo{Source: shown, FinalURL: shown}
	tries := f.Tries
	if tries <= 0 {
		tries = DefaultFetchTries
	}
	delay := f.RetryDelay
	if delay <= 0 {
		delay = DefaultRetryDelay
	}
	var body []byte
	for try := 1; try <= tries; try++ {
		if try > 1 {
			t := time.NewTimer(time.Duration(try-1) * delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, info, fmt.Errorf("fetch %s: %w", shown, ctx.Err())
			case <-t.C:
			}
		}
		b, att, stop := f.try(ctx, u, info, body == nil)
		info.Attempts = append(info.Attempts, att)
		if ctx.Err() != nil {
			return nil, info, fmt.Errorf("fetch %s: %w", shown, ctx.Err())
		}
		if b != nil && body == nil {
			body = b
		}
		if stop || (body != nil && !f.EveryTry) {
			break
		}
	}
	if body == nil {
		return nil, info, &FetchError{Info: info, Msg: fetchFailure(shown, info)}
	}
	info.Bytes = len(body)
	return body, info, nil
}

// try makes one GET. It returns the body of a 200 answer, the attempt, and
// whether trying again is pointless (a permanent failure). keep tells it to
// record the response headers into info.
func (f *Fetcher) try(ctx context.Context, u *url.URL, info *FetchInfo, keep bool) ([]byte, Attempt, bool) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var hops []Redirect
	client := *f.Client
	orig := f.Client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		prev := via[len(via)-1]
		code := 0
		if req.Response != nil {
			code = req.Response.StatusCode
		}
		hops = append(hops, Redirect{From: RedactURL(prev.URL.String()), To: RedactURL(req.URL.String()), StatusCode: code})
		if len(via) >= DefaultMaxRedirects {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if insecure(req.URL) && !f.AllowInsecureHTTP {
			return fmt.Errorf("refused a redirect to plain http (%s): serve the key set over https only", RedactURL(req.URL.String()))
		}
		if orig != nil {
			return orig(req, via)
		}
		return nil
	}
	start := time.Now()
	att := Attempt{}
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		att.Err = oneLine(err.Error())
		return nil, att, true
	}
	req.Header.Set("Accept", AcceptJWKS)
	resp, err := client.Do(req)
	if keep {
		info.Redirects = hops
	}
	if err != nil {
		att.Elapsed = time.Since(start)
		att.ElapsedMS = att.Elapsed.Milliseconds()
		att.Err, att.CertErr, att.TimedOut = describeTransportError(err, timeout)
		return nil, att, att.CertErr
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes()+1))
	att.Elapsed = time.Since(start)
	att.ElapsedMS = att.Elapsed.Milliseconds()
	att.StatusCode = resp.StatusCode
	att.RetryAfter = resp.Header.Get("Retry-After")
	if keep {
		info.StatusCode = resp.StatusCode
		info.FinalURL = RedactURL(resp.Request.URL.String())
		info.ContentType = resp.Header.Get("Content-Type")
		info.CacheControl = resp.Header.Get("Cache-Control")
		info.Expires = resp.Header.Get("Expires")
		info.TLS = tlsInfo(resp.TLS)
	}
	if readErr != nil {
		att.Err, _, att.TimedOut = describeTransportError(readErr, timeout)
		att.Err = "reading the body: " + att.Err
		return nil, att, false
	}
	if int64(len(body)) > f.maxBytes() {
		att.Err = fmt.Sprintf("the body is larger than %d bytes", f.maxBytes())
		att.TooLarge = true
		return nil, att, true
	}
	if resp.StatusCode != http.StatusOK {
		return nil, att, !transient(resp.StatusCode)
	}
	return body, att, false
}

// describeTransportError names a failed request in one line and classifies it.
func describeTransportError(err error, timeout time.Duration) (msg string, certErr, timedOut bool) {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		ierr x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr), errors.As(err, &ierr):
		return "certificate refused: " + oneLine(innermost(err)), true, false
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer within %s", timeout), false, true
	}
	return oneLine(innermost(err)), false, false
}

// isTimeout reports a net.Error timeout anywhere in the chain.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// innermost strips url.Error's method and URL prefix, which the caller
// already shows.
func innermost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// tlsInfo summarises a TLS connection state.
func tlsInfo(cs *tls.ConnectionState) *TLSInfo {
	if cs == nil {
		return nil
	}
	ti := &TLSInfo{Version: tls.VersionName(cs.Version)}
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		ti.Subject = leaf.Subject.String()
		ti.Issuer = leaf.Issuer.String()
		ti.NotAfter = leaf.NotAfter
		ti.NotBefore = leaf.NotBefore
		ti.DNSNames = leaf.DNSNames
	}
	return ti
}

// fetchFailure explains in one line why no try delivered the document.
func fetchFailure(src string, info *FetchInfo) string {
	last := info.Attempts[len(info.Attempts)-1]
	n := len(info.Attempts)
	var what, fix string
	switch {
	case last.CertErr:
		what, fix = last.Err, "serve the JWKS over https with a certificate from a public CA that matches the host name"
	case last.TimedOut:
		what, fix = last.Err, "make the host answer quickly, every time"
	case last.TooLarge:
		what, fix = last.Err+" (the limit for a key set)", "a key set is a few KB: check that the URL serves the JWKS itself, not a page or a bundle"
	case last.Err != "":
		what, fix = last.Err, "make the URL reachable from the internet without authentication"
	case last.StatusCode == http.StatusUnauthorized || last.StatusCode == http.StatusForbidden:
		what, fix = "answered "+statusText(last.StatusCode), "serve the JWKS without any authentication"
	case last.StatusCode == http.StatusNotFound:
		what, fix = "answered "+statusText(last.StatusCode), "check the path of the JWK Set URL"
	default:
		what, fix = "answered "+statusText(last.StatusCode), "make the URL answer 200 with the JWKS every time (a sleeping host answers 502/503 first)"
	}
	return sprintfOneLine("fetch JWKS %s: %s (try %d): %s", quote(src), what, n, fix)
}

// statusText renders "503 Service Unavailable".
func statusText(code int) string {
	t := http.StatusText(code)
	if t == "" {
		return strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + t
}
