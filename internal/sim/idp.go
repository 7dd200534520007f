package sim

import (
	"net/http"
	"net/url"
	"strings"
)

// CallbackPath is the portal's address where a sign-in on the identity
// provider's origin (Config.SignInOrigin) hands over its ticket.
const CallbackPath = "/Account/Callback"

// IdentityProvider is the sign-in hosted on a second origin, for
// Config.SignInOrigin: serve it on a second listener whose host differs from
// the portal's (localhost beside 127.0.0.1, say), so the two hold separate
// cookies as an identity provider on another host would. Its sign-in form,
// second factor and error messages are the portal's own; success redirects
// to the portal's CallbackPath with a single-use ticket, and the portal then
// begins the session and lands where Config.Landing says. Its requests are
// not recorded as Calls.
func (s *Sim) IdentityProvider() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/Account/Login", func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		callback, ok := validCallback(r.URL.Query().Get("redirect_uri"))
		if !ok {
			writeHTMLError(rec, http.StatusBadRequest, "Bad request", "The sign-in request has no valid redirect_uri.")
			return
		}
		s.login(rec, r, callback)
	})
	mux.HandleFunc("/Account/VerifyCode", func(w http.ResponseWriter, r *http.Request) {
		s.handleVerifyCode(&recorder{ResponseWriter: w}, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.handleNotFound(&recorder{ResponseWriter: w}, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseBody(w, r); err != nil {
			writeHTMLError(w, err.status, err.title, err.detail)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// validCallback accepts a redirect_uri that is an http(s) URL of the
// portal's CallbackPath.
func validCallback(v string) (string, bool) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != CallbackPath {
		return "", false
	}
	return u.String(), true
}

// idpLoginURL is the identity provider's sign-in address for a sign-in
// that began at the portal (r) and returns to returnURL.
func (s *Sim) idpLoginURL(r *http.Request, returnURL string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	callback := scheme + "://" + r.Host + CallbackPath
	return strings.TrimRight(s.cfg.SignInOrigin, "/") + loginAction(returnURL, callback)
}

// handTicket ends a sign-in on the identity provider: a single-use ticket
// goes to the portal's callback, which begins the session.
func (s *Sim) handTicket(w *recorder, r *http.Request, c *challenge) {
	id := randomValue(32)
	s.mu.Lock()
	prune(s.tickets, s.now())
	s.tickets[id] = &challenge{returnURL: c.returnURL, username: c.username, expires: s.now().Add(DefaultFormLifetime)}
	s.mu.Unlock()
	http.Redirect(w, r, c.callback+"?ticket="+url.QueryEscape(id), http.StatusFound)
}

// handleCallback takes the identity provider's ticket and begins the
// session; an unknown or used ticket starts the sign-in over.
func (s *Sim) handleCallback(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		s.handleNotFound(w, r)
		return
	}
	id := r.URL.Query().Get("ticket")
	s.mu.Lock()
	c := s.tickets[id]
	delete(s.tickets, id)
	s.mu.Unlock()
	if c == nil || s.now().After(c.expires) {
		w.answer = AnswerLogin
		http.Redirect(w, r, loginURL("/"), http.StatusFound)
		return
	}
	s.grant(w, r, c.username, c.returnURL)
}
