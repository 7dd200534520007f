package sim

import (
	"net/http"
)

// handleManagement serves the app's "Review & Manage Downloads" page, the
// one place a client can read the session's anti-forgery token.
//
// Without a session it redirects to the sign-in page, which comes back
// here. An app id other than the simulated app's answers a 404 page: the
// real portal's answer for someone else's app is not known.
func (s *Sim) handleManagement(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.handleNotFound(w, r)
		return
	}
	s.mu.RLock()
	sess, _ := s.sessionOfLocked(r)
	var token, afCookie string
	if sess != nil {
		token, afCookie = sess.token, sess.afCookie
	}
	s.mu.RUnlock()
	if sess == nil {
		w.answer = AnswerLogin
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
		return
	}
	if r.URL.Query().Get("id") != s.cfg.AppID {
		s.handleNotFound(w, r)
		return
	}
	if c, err := r.Cookie(antiForgeryName); err != nil || c.Value != afCookie {
		http.SetCookie(w, &http.Cookie{Name: antiForgeryName, Value: afCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	s.renderPage(w, http.StatusOK, managementPage, managementData{
		Token:   token,
		AppID:   s.cfg.AppID,
		AppName: s.cfg.AppName,
	})
}
