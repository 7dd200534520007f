package sim

import (
	"net/http"
	"net/url"
	"strings"
)

// Where a successful sign-in lands (Config.Landing). The portal's notes say
// nothing about it; portals seen elsewhere do all three.
const (
	// LandingReturn goes back to the page that asked for the sign-in (the
	// ReturnUrl, usually the management page). It is the default.
	LandingReturn = ""
	// LandingHome goes to the portal's own home page, HomePath, whatever
	// page asked for the sign-in.
	LandingHome = "home"
	// LandingNotice shows a notice page with a Continue button first; the
	// session begins only when Continue is pressed, then the browser goes
	// back to the ReturnUrl.
	LandingNotice = "notice"
)

// Landings lists the valid Config.Landing values, for flags and messages.
var Landings = []string{"return", LandingHome, LandingNotice}

// HomePath is the signed-in portal's home page, where LandingHome ends.
const HomePath = "/Developer/Apps"

// NoticePath is the notice page of LandingNotice.
const NoticePath = "/Account/Notice"

// ParseLanding reads a landing name as portalsim's --landing flag takes it:
// "return" (or empty), "home" or "notice".
func ParseLanding(v string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "return", "management":
		return LandingReturn, true
	case LandingHome:
		return LandingHome, true
	case LandingNotice:
		return LandingNotice, true
	}
	return "", false
}

const appsHTML = `{{template "top" "My Apps - Epic on FHIR"}}
<h1>My Apps</h1>
<table class="table" id="apps-table">
<thead><tr><th>App</th><th></th></tr></thead>
<tbody><tr><td>{{.AppName}}</td><td><a href="/Developer/Management?id={{.AppID}}">Review &amp; Manage Downloads</a></td></tr></tbody>
</table>
{{template "bottom"}}`

const noticeHTML = `{{template "top" "Before you continue"}}
<h2>Before you continue</h2>
<p class="notice-text">The terms of use of the developer site changed on 1 December. By continuing you accept them.</p>
<form action="{{.Action}}" method="post" id="notice-form">
<input name="__RequestVerificationToken" type="hidden" value="{{.Token}}" />
<input name="n" type="hidden" value="{{.Notice}}" />
<button type="submit" class="btn btn-primary">Continue</button>
</form>
{{template "bottom"}}`

var (
	appsPage   = mustPage("apps", appsHTML)
	noticePage = mustPage("notice", noticeHTML)
)

type (
	appsData struct {
		AppID, AppName string
	}
	noticeData struct {
		Action, Token, Notice string
	}
)

// grant begins the session of a user who passed the sign-in and sends the
// browser where Config.Landing says.
func (s *Sim) grant(w *recorder, r *http.Request, user, returnURL string) {
	if s.cfg.Landing == LandingNotice {
		id := randomValue(32)
		s.mu.Lock()
		prune(s.notices, s.now())
		s.notices[id] = &challenge{returnURL: returnURL, username: user, expires: s.now().Add(DefaultFormLifetime)}
		s.mu.Unlock()
		http.Redirect(w, r, NoticePath+"?n="+url.QueryEscape(id), http.StatusFound)
		return
	}
	s.mu.Lock()
	id, sess := s.newSessionLocked(user)
	s.mu.Unlock()
	setSessionCookies(w, id, sess)
	target := returnURL
	if s.cfg.Landing == LandingHome {
		target = HomePath
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// handleNotice shows the notice (GET) and begins the session when its
// Continue button posts it back.
func (s *Sim) handleNotice(w *recorder, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get("n")
		s.mu.RLock()
		c := s.notices[id]
		s.mu.RUnlock()
		if c == nil {
			w.answer = AnswerLogin
			http.Redirect(w, r, loginURL("/"), http.StatusFound)
			return
		}
		s.renderPage(w, http.StatusOK, noticePage, noticeData{Action: NoticePath, Token: s.issueFormValue(), Notice: id})
	case http.MethodPost:
		formOK := s.useFormValue(r.PostFormValue(antiForgeryName))
		id := r.PostFormValue("n")
		s.mu.Lock()
		c := s.notices[id]
		delete(s.notices, id)
		s.mu.Unlock()
		if c == nil || !formOK || s.now().After(c.expires) {
			w.answer = AnswerLogin
			s.renderLogin(w, http.StatusOK, loginAction("/", ""), "", "The sign-in expired. Please sign in again.")
			return
		}
		s.mu.Lock()
		sid, sess := s.newSessionLocked(c.username)
		s.mu.Unlock()
		setSessionCookies(w, sid, sess)
		http.Redirect(w, r, c.returnURL, http.StatusFound)
	default:
		s.handleNotFound(w, r)
	}
}

// handleApps is the signed-in portal's home page, listing the app with a
// link to its management page.
func (s *Sim) handleApps(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.handleNotFound(w, r)
		return
	}
	if !s.hasSession(r) {
		w.answer = AnswerLogin
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
		return
	}
	s.renderPage(w, http.StatusOK, appsPage, appsData{AppID: s.cfg.AppID, AppName: s.cfg.AppName})
}
