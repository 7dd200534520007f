package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookie names. ".AspNet.Cookies" is the name OWIN cookie authentication
// gives the sign-in cookie; ASP.NET_SessionId is the session-state cookie
// an ASP.NET site sets beside it; __RequestVerificationToken is the
// anti-forgery cookie ASP.NET MVC sets with a form token.
const (
	authCookie      = ".AspNet.Cookies"
	stateCookie     = "ASP.NET_SessionId"
	antiForgeryName = "__RequestVerificationToken"
	tokenHeader     = "RequestVerificationToken"
)

// DefaultFormLifetime is how long a sign-in form (and its anti-forgery
// value) or a second-factor challenge stays usable: long enough for a
// person to type, short enough that the tables stay small.
const DefaultFormLifetime = 20 * time.Minute

// DefaultMaxPendingForms bounds the outstanding sign-in forms; past it the
// expired ones are dropped, then the table is cleared.
const DefaultMaxPendingForms = 10_000

// DefaultMaxCodeAttempts is how many wrong one-time codes a challenge
// survives before the sign-in starts over.
const DefaultMaxCodeAttempts = 5

// session is one signed-in browser.
type session struct {
	stateID     string // ASP.NET_SessionId value
	token       string // the anti-forgery form token the management page carries
	afCookie    string // the anti-forgery cookie value
	requests    int    // JSON requests made so far
	username    string
	createdAt   time.Time
	lastRequest time.Time
}

// challenge is a sign-in waiting for its second factor.
type challenge struct {
	returnURL string
	username  string
	expires   time.Time
	failures  int
	// callback is where a sign-in on the identity provider's origin hands
	// the portal its ticket; empty for a sign-in on the portal itself.
	callback string
}

// randomValue returns n random bytes, base64url: the shape of cookie and
// token values on an ASP.NET site.
func randomValue(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// safeEqual compares two secrets in constant time.
func safeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// newSessionLocked creates a session and returns the sign-in cookie value.
func (s *Sim) newSessionLocked(username string) (string, *session) {
	id := randomValue(48)
	sess := &session{
		stateID:   randomValue(18),
		token:     randomValue(64),
		afCookie:  randomValue(64),
		username:  username,
		createdAt: s.now(),
	}
	s.sessions[id] = sess
	return id, sess
}

// NewSession signs in directly, skipping the form, and returns the value of
// a Cookie header ("name=value; name2=value2") carrying the new session.
// Tests and demos use it; a client never can.
func (s *Sim) NewSession() string {
	s.mu.Lock()
	id, sess := s.newSessionLocked(s.cfg.Username)
	s.mu.Unlock()
	return cookieHeader(id, sess)
}

// cookieHeader renders a session as a Cookie header value.
func cookieHeader(id string, sess *session) string {
	return authCookie + "=" + id + "; " + stateCookie + "=" + sess.stateID
}

// ExpireSessions makes every session lapse now, as the portal does after
// some idle time nobody has measured.
func (s *Sim) ExpireSessions() {
	s.mu.Lock()
	clear(s.sessions)
	s.mu.Unlock()
}

// sessionOf returns the session the request's sign-in cookie names, if it
// is still valid. The caller holds mu.
func (s *Sim) sessionOfLocked(r *http.Request) (*session, string) {
	c, err := r.Cookie(authCookie)
	if err != nil || c.Value == "" {
		return nil, ""
	}
	sess := s.sessions[c.Value]
	if sess == nil {
		return nil, ""
	}
	return sess, c.Value
}

// setSessionCookies answers a successful sign-in with the session cookies.
func setSessionCookies(w http.ResponseWriter, id string, sess *session) {
	http.SetCookie(w, &http.Cookie{Name: authCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: sess.stateID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// localReturnURL keeps a ReturnUrl only when it is a path on this site, so
// the sign-in cannot be turned into an open redirect.
func localReturnURL(v string) string {
	if v == "" || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") {
		return "/"
	}
	if _, err := url.Parse(v); err != nil {
		return "/"
	}
	return v
}

// loginURL is the sign-in address that comes back to returnURL.
func loginURL(returnURL string) string {
	return "/Account/Login?ReturnUrl=" + url.QueryEscape(returnURL)
}

// issueFormValue creates a single-use anti-forgery value for a sign-in form.
func (s *Sim) issueFormValue() string {
	v := randomValue(64)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.forms) >= DefaultMaxPendingForms {
		for k, exp := range s.forms {
			if now.After(exp) {
				delete(s.forms, k)
			}
		}
		if len(s.forms) >= DefaultMaxPendingForms {
			clear(s.forms)
		}
	}
	s.forms[v] = now.Add(DefaultFormLifetime)
	return v
}

// useFormValue consumes a sign-in form's anti-forgery value.
func (s *Sim) useFormValue(v string) bool {
	if v == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.forms[v]
	delete(s.forms, v)
	return ok && !s.now().After(exp)
}

// handleHome serves the site's landing page, where a sign-in without a
// ReturnUrl ends.
func (s *Sim) handleHome(w *recorder, r *http.Request) {
	s.renderPage(w, http.StatusOK, homePage, homeData{SignedIn: s.hasSession(r), AppID: s.cfg.AppID})
}

// hasSession reports whether the request carries a valid session.
func (s *Sim) hasSession(r *http.Request) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, _ := s.sessionOfLocked(r)
	return sess != nil
}

// handleLogin serves the sign-in form (GET) and checks it (POST). With
// Config.SignInOrigin set, the portal has no form of its own and sends the
// browser to the identity provider instead.
func (s *Sim) handleLogin(w *recorder, r *http.Request) {
	if s.cfg.SignInOrigin != "" {
		returnURL := localReturnURL(r.URL.Query().Get("ReturnUrl"))
		w.answer = AnswerLogin
		http.Redirect(w, r, s.idpLoginURL(r, returnURL), http.StatusFound)
		return
	}
	s.login(w, r, "")
}

// login serves and checks the sign-in form, on the portal (callback empty)
// or on the identity provider's origin.
func (s *Sim) login(w *recorder, r *http.Request, callback string) {
	returnURL := localReturnURL(r.URL.Query().Get("ReturnUrl"))
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.renderLogin(w, http.StatusOK, loginAction(returnURL, callback), "", "")
	case http.MethodPost:
		action := loginAction(returnURL, callback)
		if !s.useFormValue(r.PostFormValue(antiForgeryName)) {
			w.answer = AnswerBad
			s.renderLogin(w, http.StatusBadRequest, action, "",
				"The sign-in form expired or was not sent by this site. Please try again.")
			return
		}
		user := r.PostFormValue("Username")
		pass := r.PostFormValue("Password")
		if !safeEqual(user, s.cfg.Username) || !safeEqual(pass, s.cfg.Password) {
			w.answer = AnswerLogin
			s.renderLogin(w, http.StatusOK, action, user, "The user name or password is incorrect.")
			return
		}
		if s.cfg.SecondFactor != "" {
			id := randomValue(32)
			s.mu.Lock()
			prune(s.pending, s.now())
			s.pending[id] = &challenge{returnURL: returnURL, username: user, expires: s.now().Add(DefaultFormLifetime), callback: callback}
			s.mu.Unlock()
			s.renderCode(w, http.StatusOK, id, "")
			return
		}
		s.passed(w, r, &challenge{returnURL: returnURL, username: user, callback: callback})
	default:
		s.handleNotFound(w, r)
	}
}

// prune drops the expired entries of a table of challenges, tickets or
// notices. The caller holds mu.
func prune(m map[string]*challenge, now time.Time) {
	for k, c := range m {
		if now.After(c.expires) {
			delete(m, k)
		}
	}
}

// passed ends a successful sign-in: on the identity provider it hands a
// ticket to the portal's callback, on the portal it grants the session.
func (s *Sim) passed(w *recorder, r *http.Request, c *challenge) {
	if c.callback != "" {
		s.handTicket(w, r, c)
		return
	}
	s.grant(w, r, c.username, c.returnURL)
}

// handleVerifyCode checks the one-time code of a second-factor challenge.
func (s *Sim) handleVerifyCode(w *recorder, r *http.Request) {
	if r.Method != http.MethodPost {
		s.handleNotFound(w, r)
		return
	}
	id := r.PostFormValue("Challenge")
	formOK := s.useFormValue(r.PostFormValue(antiForgeryName))
	s.mu.Lock()
	c := s.pending[id]
	if c != nil && s.now().After(c.expires) {
		delete(s.pending, id)
		c = nil
	}
	if c == nil || !formOK {
		s.mu.Unlock()
		w.answer = AnswerLogin
		s.renderLogin(w, http.StatusOK, loginAction("/", ""), "", "The sign-in expired. Please sign in again.")
		return
	}
	if !safeEqual(strings.TrimSpace(r.PostFormValue("Code")), s.cfg.SecondFactor) {
		c.failures++
		if c.failures >= DefaultMaxCodeAttempts {
			delete(s.pending, id)
			s.mu.Unlock()
			w.answer = AnswerLogin
			s.renderLogin(w, http.StatusOK, loginAction(c.returnURL, c.callback), "", "Too many wrong codes. Please sign in again.")
			return
		}
		s.mu.Unlock()
		w.answer = AnswerLogin
		s.renderCode(w, http.StatusOK, id, "The code is not valid. Check your authenticator and try again.")
		return
	}
	delete(s.pending, id)
	s.mu.Unlock()
	s.passed(w, r, c)
}

// handleLogOff ends the session and goes back to the landing page.
func (s *Sim) handleLogOff(w *recorder, r *http.Request) {
	if r.Method != http.MethodPost {
		s.handleNotFound(w, r)
		return
	}
	if c, err := r.Cookie(authCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: authCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusFound)
}

// loginAction is where the sign-in form posts: the sign-in address with its
// ReturnUrl and, on the identity provider, the portal's callback.
func loginAction(returnURL, callback string) string {
	if callback == "" {
		return loginURL(returnURL)
	}
	return loginURL(returnURL) + "&redirect_uri=" + url.QueryEscape(callback)
}

// renderLogin serves the sign-in form with a fresh anti-forgery value.
func (s *Sim) renderLogin(w http.ResponseWriter, status int, action, user, message string) {
	s.renderPage(w, status, loginPage, loginData{
		Action:   action,
		Token:    s.issueFormValue(),
		Username: user,
		Error:    message,
	})
}

// renderCode serves the second-factor page of a challenge.
func (s *Sim) renderCode(w http.ResponseWriter, status int, challengeID, message string) {
	s.renderPage(w, status, codePage, codeData{
		Token:     s.issueFormValue(),
		Challenge: challengeID,
		Error:     message,
	})
}
