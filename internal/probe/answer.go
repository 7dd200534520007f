package probe

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Where a chain of redirects stopped before reaching a page.
const (
	// StopRedirectURI: the server sent the browser to the app's redirect
	// URI, which the probe never loads.
	StopRedirectURI = "redirect-uri"
	// StopOtherHost: the server handed on to a host that is not the
	// organization's, which the probe does not follow.
	StopOtherHost = "other-host"
	// StopTooManyRedirects: more redirects than DefaultMaxRedirects.
	StopTooManyRedirects = "too-many-redirects"
)

// Hop is one request of a chain.
type Hop struct {
	URL    string `json:"url"` // with the client id, state and challenge masked
	Status int    `json:"status"`
}

// Answer is what one authorize request led to. Client ids and the random
// values the probe sent are masked ({client_id}, {state}, ...) everywhere,
// so that two answers can be compared and stored without either id.
type Answer struct {
	Hops []Hop `json:"hops"`
	// Status is the last HTTP status received, 0 when there was none.
	Status int `json:"status"`
	// Final is the last URL loaded or, when the chain stopped at a
	// redirect, the URL it pointed to.
	Final string `json:"final"`
	// Stopped says why the chain ended on a redirect (StopRedirectURI,
	// StopOtherHost, StopTooManyRedirects); empty when it ended on a page.
	Stopped string `json:"stopped,omitempty"`
	// OAuthError and Description are the error and error_description of
	// the final URL, of a redirect to the redirect URI, or of a JSON body.
	OAuthError  string `json:"error,omitempty"`
	Description string `json:"errorDescription,omitempty"`
	Title       string `json:"title,omitempty"`
	// SignInForm is set when the page holds a password field.
	SignInForm bool `json:"signInForm"`
	// Failure says why there was no answer (time limit, connection).
	Failure string `json:"failure,omitempty"`

	// cut is set when the probe's own time limit or an interruption
	// ended the chain: that says nothing about the server.
	cut bool
}

// Requests is the number of requests the chain made.
func (a Answer) Requests() int { return len(a.Hops) }

// answered reports whether the server sent anything at all.
func (a Answer) answered() bool { return a.Status != 0 }

// erred reports whether the answer is an error: an error status, an OAuth
// error parameter, or a redirect to the redirect URI (which a server only
// sends without a code when it refuses the request).
func (a Answer) erred() bool {
	return a.Status >= 400 || a.OAuthError != "" || a.Stopped == StopRedirectURI
}

// signIn reports whether the answer looks like the start of a sign-in: a
// page with a password field, or a hand-over to another host.
func (a Answer) signIn() bool {
	return !a.erred() && (a.SignInForm || a.Stopped == StopOtherHost)
}

// shape is what two answers are compared on: the final status, where the
// chain ended (host and path, without the query, which carries volatile
// values), why it stopped, the error parameter, the title and the form.
type shape struct {
	Status     int
	Where      string
	Stopped    string
	OAuthError string
	Title      string
	SignInForm bool
	Failed     bool
}

func (a Answer) shape() shape {
	where := a.Final
	if u, err := url.Parse(a.Final); err == nil {
		where = strings.ToLower(u.Host) + strings.TrimRight(u.Path, "/")
	}
	return shape{Status: a.Status, Where: where, Stopped: a.Stopped, OAuthError: a.OAuthError,
		Title: strings.Join(strings.Fields(a.Title), " "), SignInForm: a.SignInForm, Failed: a.Failure != ""}
}

// Describe says in a few words what the answer was.
func (a Answer) Describe() string {
	if a.Failure != "" {
		return "no answer: " + a.Failure
	}
	var parts []string
	switch a.Stopped {
	case StopRedirectURI:
		parts = append(parts, "sent to the redirect URI")
	case StopOtherHost:
		host := a.Final
		if u, err := url.Parse(a.Final); err == nil {
			host = u.Host
		}
		parts = append(parts, "handed on to "+host+" (not followed)")
	case StopTooManyRedirects:
		parts = append(parts, "too many redirects")
	default:
		parts = append(parts, fmt.Sprintf("HTTP %d", a.Status))
		if u, err := url.Parse(a.Final); err == nil && u.Path != "" {
			parts = append(parts, "at "+u.Path)
		}
	}
	if a.Title != "" {
		parts = append(parts, fmt.Sprintf("%q", a.Title))
	}
	if a.SignInForm {
		parts = append(parts, "sign-in form")
	}
	if a.OAuthError != "" {
		e := "error=" + a.OAuthError
		if a.Description != "" {
			e += fmt.Sprintf(" (%s)", a.Description)
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

// request is one authorize request to send: the parameters of a SMART
// standalone launch with PKCE, and the values to mask in what comes back.
type request struct {
	target   Target
	clientID string
	masks    *strings.Replacer
	url      string
}

// newRequest builds the authorize URL. state and the PKCE challenge are
// fresh random values, as a browser-based app's would be.
func newRequest(t Target, clientID, redirectURI, scope string, masks []string) (*request, error) {
	u, err := url.Parse(t.AuthorizeURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the authorize endpoint %q is not an http(s) URL", t.AuthorizeURL)
	}
	state, verifier := randomString(16), randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	q.Set("redirect_uri", redirectURI)
	q.Set("scope", scope)
	q.Set("state", state)
	q.Set("aud", t.BaseURL)
	q.Set("code_challenge", challenge)
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	pairs := []string{state, "{state}", challenge, "{code_challenge}"}
	for _, id := range masks {
		if id != "" {
			pairs = append(pairs, id, "{client_id}", url.QueryEscape(id), "{client_id}")
		}
	}
	return &request{target: t, clientID: clientID, masks: strings.NewReplacer(pairs...), url: u.String()}, nil
}

// randomString is n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomClientID is a client id no server knows: a random UUID, the shape
// Epic's client ids have.
func randomClientID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// send loads the authorize URL and follows redirects within the
// organization's hosts, one paced GET at a time.
func (p *prober) send(ctx context.Context, r *request) Answer {
	a := Answer{Hops: []Hop{}}
	allowed := allowedHosts(r.target)
	jar, _ := cookiejar.New(nil)
	next := r.url
	for hop := 0; ; hop++ {
		u, err := url.Parse(next)
		if err != nil {
			a.Failure = "a redirect to an unreadable address"
			return a
		}
		if hop > p.opts.MaxRedirects {
			a.Stopped, a.Final = StopTooManyRedirects, r.masks.Replace(next)
			return a
		}
		done, err := p.pace.wait(ctx, u.Host)
		if err != nil {
			// The wait would outlast the time limit, or was interrupted.
			a.Failure, a.cut = "not sent: "+contextReason(ctx, err), true
			return a
		}
		status, loc, page, err := p.get(ctx, jar, u)
		done()
		a.Hops = append(a.Hops, Hop{URL: r.masks.Replace(next), Status: status})
		if err != nil {
			a.Failure, a.cut = err.Error(), ctx.Err() != nil
			return a
		}
		a.Status, a.Final = status, r.masks.Replace(next)
		if loc == nil {
			a.Title, a.SignInForm = r.masks.Replace(page.title), page.password
			a.OAuthError, a.Description = oauthError(u.Query(), r.masks)
			if a.OAuthError == "" {
				a.OAuthError, a.Description = page.oauthErr, r.masks.Replace(page.oauthDesc)
			}
			return a
		}
		target := u.ResolveReference(loc)
		if sameEndpoint(target, p.redirect) {
			a.Stopped, a.Final = StopRedirectURI, r.masks.Replace(target.String())
			a.OAuthError, a.Description = oauthError(target.Query(), r.masks)
			return a
		}
		if !allowed[strings.ToLower(target.Host)] || (target.Scheme != "https" && target.Scheme != "http") {
			a.Stopped, a.Final = StopOtherHost, r.masks.Replace(target.String())
			return a
		}
		next = target.String()
	}
}

// page is what the probe reads of an HTML or JSON answer.
type page struct {
	title               string
	password            bool
	oauthErr, oauthDesc string
}

// get makes one GET and returns the status and either the redirect's
// Location or what the page holds.
func (p *prober) get(ctx context.Context, jar http.CookieJar, u *url.URL) (int, *url.URL, page, error) {
	rctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, page{}, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if p.opts.UserAgent != "" {
		req.Header.Set("User-Agent", p.opts.UserAgent)
	}
	for _, c := range jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, page{}, errors.New("not answered: " + contextReason(ctx, ctx.Err()))
		}
		if rctx.Err() != nil {
			return 0, nil, page{}, fmt.Errorf("no answer within %s", p.opts.Timeout)
		}
		return 0, nil, page{}, errors.New(networkReason(err))
	}
	defer resp.Body.Close()
	if rc := resp.Cookies(); len(rc) > 0 {
		jar.SetCookies(u, rc)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if l := resp.Header.Get("Location"); l != "" {
			loc, err := url.Parse(l)
			if err != nil {
				return resp.StatusCode, nil, page{}, errors.New("a redirect to an unreadable address")
			}
			return resp.StatusCode, loc, page{}, nil
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxPageBytes))
	if err != nil && len(body) == 0 {
		if rctx.Err() != nil {
			return resp.StatusCode, nil, page{}, fmt.Errorf("no complete answer within %s", p.opts.Timeout)
		}
		return resp.StatusCode, nil, page{}, errors.New("the answer broke off: " + networkReason(err))
	}
	return resp.StatusCode, nil, readPage(resp.Header.Get("Content-Type"), body), nil
}

// readPage finds the title and any password field of an HTML page, or
// the error members of a JSON answer.
func readPage(contentType string, body []byte) page {
	var pg page
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil {
			pg.oauthErr, pg.oauthDesc = e.Error, e.Description
		}
		return pg
	}
	z := html.NewTokenizer(strings.NewReader(string(body)))
	inTitle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			pg.title = strings.Join(strings.Fields(pg.title), " ")
			return pg
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "title":
				inTitle = pg.title == ""
			case "input":
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "type" && strings.EqualFold(string(v), "password") {
						pg.password = true
					}
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "title" {
				inTitle = false
			}
		case html.TextToken:
			if inTitle {
				pg.title += string(z.Text())
			}
		}
	}
}

// oauthError reads the error parameters of a URL's query.
func oauthError(q url.Values, masks *strings.Replacer) (string, string) {
	return masks.Replace(q.Get("error")), masks.Replace(q.Get("error_description"))
}

// allowedHosts are the organization's hosts: those of its authorize
// endpoint and of its FHIR base URL.
func allowedHosts(t Target) map[string]bool {
	out := map[string]bool{}
	for _, s := range []string{t.AuthorizeURL, t.BaseURL} {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			out[strings.ToLower(u.Host)] = true
		}
	}
	return out
}

// sameEndpoint reports whether u points at the redirect URI (scheme, host
// and path; the query and fragment do not matter).
func sameEndpoint(u, redirect *url.URL) bool {
	if redirect == nil {
		return false
	}
	return strings.EqualFold(u.Scheme, redirect.Scheme) && strings.EqualFold(u.Host, redirect.Host) &&
		strings.TrimRight(u.Path, "/") == strings.TrimRight(redirect.Path, "/")
}

// contextReason says why a request was not made or not answered: the
// probe's time limit, or an interruption.
func contextReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, errPastDeadline), errors.Is(context.Cause(ctx), ErrTimeLimit):
		return "the probe's time limit was reached"
	case ctx.Err() != nil:
		return "interrupted"
	}
	return err.Error()
}

// networkReason is a network error without the URL, which the evidence
// already names.
func networkReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
