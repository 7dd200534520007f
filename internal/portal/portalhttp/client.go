// Package portalhttp is the HTTP client for the vendor management portal's
// undocumented JSON calls: the management page (for the anti-forgery
// token), LoadDownloads and ApproveDownload. What the calls mean, their
// answers and the errors they are classified into are package portal's.
//
// The portal is a browser application, not an API: a session is a set of
// cookies from a browser sign-in, every JSON call carries the page's
// anti-forgery token, and a lapsed session shows up as a redirect to the
// sign-in page or as HTML where JSON was expected. The client never follows
// redirects, so a lapsed session is always recognised as such and never
// parsed as success. Every answer is classified into one of package
// portal's typed errors, which the caller can branch on.
//
// The client knows HTTP and JSON only. Pacing, retries and bookkeeping belong
// to its callers. Cookie and token values are never part of an error or log.
package portalhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// DefaultTimeout bounds one portal call. ApproveDownload has been seen to
// take a few seconds at busy times; a minute leaves room without letting a
// hung connection stall a run for ever.
const DefaultTimeout = 60 * time.Second

// MaxAnswerBytes bounds how much of one answer is read. A 500-organization
// page is about 100 KB; 32 MB allows pages of tens of thousands.
const MaxAnswerBytes = 32 << 20

// Options configure a Client.
type Options struct {
	// BaseURL is the portal, e.g. https://fhir.epic.com.
	BaseURL string
	// AppID is the app's numeric id on the portal.
	AppID string
	// Cookies is the session: the value of a Cookie header
	// ("name=value; name2=value2").
	Cookies string
	// HTTPClient is used for transport; its Jar and CheckRedirect are not
	// used (the client keeps its own jar and never follows redirects).
	HTTPClient *http.Client
	// UserAgent, when set, is sent on every call.
	UserAgent string
	// Trace, when set, is told about every request: method, path (no query,
	// no body, no header), the answer's status (0 when none came) and how
	// long it took. It never sees a cookie, a token or a form value.
	Trace func(method, path string, status int, took time.Duration)
}

// Client calls the portal for one app with one session.
type Client struct {
	base *url.URL
	app  string
	hc   *http.Client
	jar  *cookiejar.Jar
	ua   string
	// trace is Options.Trace.
	trace func(method, path string, status int, took time.Duration)
	// tokenMu guards token: workers share the client, and one of them may
	// reload the token while others send it. reloadMu lets one worker at a
	// time reload it; the others reuse what it got.
	tokenMu  sync.Mutex
	reloadMu sync.Mutex
	token    string
	// tokenSource and page are where the last management page held the
	// token, and that page (guarded by tokenMu).
	tokenSource, page string
	// shape is what the listing's answers looked like.
	shape *portal.Shape
}

// New returns a client. It checks the base URL and app id but does not call
// the portal; Connect does.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("portal URL %q is not an http(s) URL: use e.g. --portal %s", o.BaseURL, portal.DefaultBaseURL)
	}
	if o.AppID == "" {
		return nil, errors.New("no app id: pass --app (the number after ?id= on the app's Review & Manage Downloads page) or set ACTIVATOR_APP")
	}
	if strings.TrimFunc(o.AppID, func(r rune) bool { return r >= '0' && r <= '9' }) != "" {
		return nil, fmt.Errorf("app id %q is not a number: pass the number after ?id= on the app's Review & Manage Downloads page", o.AppID)
	}
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, ParseCookieHeader(o.Cookies))
	base := o.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: DefaultTimeout}
	}
	hc := &http.Client{
		Transport: base.Transport,
		Timeout:   base.Timeout,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &Client{base: u, app: o.AppID, hc: hc, jar: jar, ua: o.UserAgent, trace: o.Trace, shape: portal.NewShape()}, nil
}

// ParseCookieHeader parses a Cookie header value into cookies, skipping
// malformed pairs.
func ParseCookieHeader(v string) []*http.Cookie {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "Cookie:"))
	if v == "" {
		return nil
	}
	cs, err := http.ParseCookie(v)
	if err == nil {
		return cs
	}
	// Fall back to pair by pair, keeping the well-formed ones.
	var out []*http.Cookie
	for _, part := range strings.Split(v, ";") {
		if c, err := http.ParseCookie(strings.TrimSpace(part)); err == nil {
			out = append(out, c...)
		}
	}
	return out
}

// AppID is the app the client works for.
func (c *Client) AppID() string { return c.app }

// BaseURL is the portal's address.
func (c *Client) BaseURL() string { return c.base.String() }

// Cookies returns the session's cookies as a Cookie header value, including
// any the portal renewed during the calls, so a caller can store them.
func (c *Client) Cookies() string {
	var parts []string
	for _, ck := range c.jar.Cookies(c.base) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// ManagementPath is the app's Review & Manage Downloads page.
func (c *Client) ManagementPath() string {
	return "/Developer/Management?id=" + url.QueryEscape(c.app)
}

// Connect loads the management page and keeps its anti-forgery token for
// the JSON calls. It is the check that the session is signed in and the app
// id is right.
func (c *Client) Connect(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, c.ManagementPath(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/html")
	resp, body, err := c.do(req)
	if err != nil {
		return err
	}
	switch {
	case isRedirect(resp.StatusCode):
		return &portal.SessionError{Reason: "the management page redirected to " + locationPath(resp)}
	case resp.StatusCode == http.StatusNotFound:
		return &portal.AppNotFoundError{AppID: c.app}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &portal.SessionError{Reason: fmt.Sprintf("the management page answered HTTP %d", resp.StatusCode)}
	}
	if err := statusError(resp); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &portal.MalformedError{What: fmt.Sprintf("the management page answered HTTP %d", resp.StatusCode)}
	}
	tok, src := FindToken(string(body)), TokenInHiddenInput
	if tok == "" && !hasPasswordInput(string(body)) {
		// Not where the notes say; a meta tag is where ASP.NET pages that
		// send the token from script often keep it.
		if tok = FindMetaToken(string(body)); tok != "" {
			src = TokenInMetaTag
		}
	}
	if tok != "" && hasPasswordInput(string(body)) {
		// A sign-in form served in place of the management page carries an
		// anti-forgery token of its own; the management page asks for no
		// password.
		return &portal.SessionError{Reason: "the portal showed its sign-in page"}
	}
	if tok == "" {
		if looksLikeSignIn(string(body)) {
			return &portal.SessionError{Reason: "the portal showed its sign-in page"}
		}
		return &portal.MalformedError{What: "the management page has no anti-forgery token; is --portal the vendor portal (" + portal.DefaultBaseURL + ")?"}
	}
	c.setToken(tok)
	c.tokenMu.Lock()
	c.tokenSource, c.page = src, string(body)
	c.tokenMu.Unlock()
	return nil
}

// Where the management page held its anti-forgery token (TokenSource).
const (
	// TokenInHiddenInput is the hidden input __RequestVerificationToken,
	// where the notes saw it.
	TokenInHiddenInput = "hidden input"
	// TokenInMetaTag is a <meta> tag named __RequestVerificationToken,
	// RequestVerificationToken or csrf-token.
	TokenInMetaTag = "meta tag"
)

// TokenSource says where the last management page held its token, ""
// before Connect.
func (c *Client) TokenSource() string {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.tokenSource
}

// ManagementPage is the HTML of the management page Connect last loaded.
func (c *Client) ManagementPage() string {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.page
}

// HasCookie reports whether the session holds a cookie called name for the
// portal (the anti-forgery cookie, say); its value is never returned.
func (c *Client) HasCookie(name string) bool {
	for _, ck := range c.jar.Cookies(c.base) {
		if ck.Name == name {
			return true
		}
	}
	return false
}

// Fetch reads a page or script of the portal's own origin with the session
// (GET, no redirect followed). It changes nothing on the portal; `doctor`
// reads the management page's scripts with it.
func (c *Client) Fetch(ctx context.Context, path string) (status int, body string, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, b, err := c.do(req)
	if err != nil {
		return 0, "", err
	}
	if err := statusError(resp); err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, string(b), nil
}

var metaTag = regexp.MustCompile(`(?is)<meta\b[^>]*>`)

// metaTokenNames are the meta tag names a page may keep its anti-forgery
// token in.
var metaTokenNames = []string{portal.TokenField, portal.TokenHeader, "csrf-token"}

// FindMetaToken returns the anti-forgery token of a <meta> tag, or "".
func FindMetaToken(page string) string {
	for _, tag := range metaTag.FindAllString(page, -1) {
		name, content := attr(tag, "name"), html.UnescapeString(attr(tag, "content"))
		for _, n := range metaTokenNames {
			if strings.EqualFold(name, n) && content != "" {
				return content
			}
		}
	}
	return ""
}

var (
	inputTag = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRe   = regexp.MustCompile(`(?is)([a-z_:][-a-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
	signInRe = regexp.MustCompile(`(?i)type\s*=\s*["']?password|sign[ -]?in|log[ -]?in`)
)

// FindToken returns the value of the __RequestVerificationToken hidden input
// in an HTML page, or "" when there is none.
func FindToken(page string) string {
	for _, tag := range inputTag.FindAllString(page, -1) {
		name, value := attr(tag, "name"), html.UnescapeString(attr(tag, "value"))
		if name == portal.TokenField && value != "" {
			return value
		}
	}
	return ""
}

// attr returns the value of a tag's attribute key (its last, as written,
// entities left as they are), or "" when the tag has none.
func attr(tag, key string) string {
	var v string
	for _, m := range attrRe.FindAllStringSubmatch(tag, -1) {
		if strings.EqualFold(m[1], key) {
			v = m[2] + m[3] + m[4]
		}
	}
	return v
}

func looksLikeSignIn(page string) bool { return signInRe.MatchString(page) }

// hasPasswordInput reports whether the page has a password field.
func hasPasswordInput(page string) bool {
	for _, tag := range inputTag.FindAllString(page, -1) {
		for _, m := range attrRe.FindAllStringSubmatch(tag, -1) {
			if strings.EqualFold(m[1], "type") && strings.EqualFold(m[2]+m[3]+m[4], "password") {
				return true
			}
		}
	}
	return false
}

// Check proves the session: the management page, then the smallest
// LoadDownloads call. An HTML page, however convincing, is not proof; a JSON
// answer to a call that needs the session and the anti-forgery token is.
func (c *Client) Check(ctx context.Context) error {
	if err := c.Connect(ctx); err != nil {
		return err
	}
	_, err := c.LoadDownloads(ctx, 0, 1)
	return err
}

func (c *Client) newRequest(ctx context.Context, method, path string, form url.Values) (*http.Request, error) {
	u := *c.base
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimRight(c.base.Path, "/") + p
	u.RawQuery = q
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
		req.Header.Set("X-Requested-With", "XMLHttpRequest")
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	return req, nil
}

func (c *Client) do(req *http.Request) (*http.Response, []byte, error) {
	start := time.Now()
	resp, err := c.hc.Do(req)
	if c.trace != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		c.trace(req.Method, req.URL.Path, status, time.Since(start))
	}
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		return nil, nil, &portal.NetworkError{Err: stripURL(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		return nil, nil, &portal.NetworkError{Err: fmt.Errorf("read answer: %w", err)}
	}
	if len(body) > MaxAnswerBytes {
		return nil, nil, &portal.MalformedError{What: tooLarge(resp.ContentLength)}
	}
	return resp, body, nil
}

// tooLarge says how large an answer over MaxAnswerBytes was, when the
// portal said (Content-Length).
func tooLarge(length int64) string {
	if length > MaxAnswerBytes {
		return fmt.Sprintf("answer too large (%s; at most %s is read)", portal.Megabytes(length), portal.Megabytes(MaxAnswerBytes))
	}
	return fmt.Sprintf("answer too large (over %s, which is all that is read)", portal.Megabytes(MaxAnswerBytes))
}

// stripURL drops the request URL from a transport error: the message stays
// short and never carries query strings.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isRedirect(code int) bool { return code >= 300 && code < 400 }

func locationPath(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return "another page"
	}
	return loc.Host + loc.Path
}

// statusError classifies the HTTP statuses every call shares.
func statusError(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &portal.RateLimitError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case resp.StatusCode >= 500:
		return &portal.ServerError{Status: resp.StatusCode}
	}
	return nil
}

// retryAfter parses Retry-After as seconds or as an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// postJSON sends a form to a JSON call and returns the decoded outer answer.
// A 403 (anti-forgery token refused) reloads the token once and repeats the
// call: the token rotates with the session.
func (c *Client) postJSON(ctx context.Context, path string, form url.Values) (*answer, error) {
	if c.currentToken() == "" {
		if err := c.reload(ctx, ""); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := c.newRequest(ctx, http.MethodPost, path, form)
		if err != nil {
			return nil, err
		}
		sent := c.currentToken()
		req.Header.Set("Accept", "application/json, text/javascript, */*; q=0.01")
		req.Header.Set(portal.TokenHeader, sent)
		resp, body, err := c.do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusForbidden && attempt == 0 {
			if err := c.reload(ctx, sent); err != nil {
				return nil, err
			}
			continue
		}
		return parseAnswer(resp, body)
	}
}

func (c *Client) currentToken() string {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.token
}

func (c *Client) setToken(t string) {
	c.tokenMu.Lock()
	c.token = t
	c.tokenMu.Unlock()
}

// reload fetches a new token unless another worker already replaced the
// stale one while this one waited.
func (c *Client) reload(ctx context.Context, stale string) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	if cur := c.currentToken(); cur != stale {
		return nil
	}
	return c.Connect(ctx)
}

// answer is the outer envelope of every JSON call.
type answer struct {
	Success *bool           `json:"Success"`
	Message string          `json:"Message"`
	Data    json.RawMessage `json:"Data"`
}

func parseAnswer(resp *http.Response, body []byte) (*answer, error) {
	switch {
	case isRedirect(resp.StatusCode):
		return nil, &portal.SessionError{Reason: "the portal redirected to " + locationPath(resp)}
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, &portal.SessionError{Reason: "the portal answered HTTP 401"}
	case resp.StatusCode == http.StatusForbidden:
		return nil, &portal.SessionError{Reason: "the portal refused the anti-forgery token (HTTP 403)"}
	}
	if err := statusError(resp); err != nil {
		return nil, err
	}
	if code := respondedStatus(resp); code == http.StatusUnauthorized || code == http.StatusForbidden {
		// ASP.NET (OWIN) answers an XMLHttpRequest without a valid session
		// with an empty 200 and the real status in X-Responded-JSON.
		return nil, &portal.SessionError{Reason: fmt.Sprintf("the portal answered %d (X-Responded-JSON)", code)}
	}
	if isHTML(resp, body) {
		return nil, &portal.SessionError{Reason: "the portal answered with an HTML page where JSON was expected"}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &portal.MalformedError{What: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, &portal.MalformedError{What: "the answer is not JSON: " + err.Error()}
	}
	if a.Success == nil {
		return nil, &portal.MalformedError{What: "the answer has no Success member"}
	}
	if !*a.Success {
		msg, _ := portal.CutText(a.Message, portal.MaxMessageBytes)
		return nil, &portal.PortalError{Message: msg}
	}
	return &a, nil
}

// respondedStatus reads the status in an X-Responded-JSON header, 0 when
// there is none.
func respondedStatus(resp *http.Response) int {
	v := resp.Header.Get("X-Responded-JSON")
	if v == "" {
		return 0
	}
	var r struct {
		Status int `json:"status"`
	}
	if json.Unmarshal([]byte(v), &r) != nil {
		return 0
	}
	return r.Status
}

func isHTML(resp *http.Response, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return true
	}
	trimmed := strings.TrimSpace(string(body[:min(len(body), 512)]))
	return strings.HasPrefix(trimmed, "<")
}
