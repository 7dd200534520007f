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
		Token:       token,
		AppID:       s.cfg.AppID,
		AppName:     s.cfg.AppName,
		TokenInMeta: s.cfg.TokenInMeta,
	})
}

// ScriptPath is the management page's script, which holds the
// ApproveDownload call the page's Save button makes.
const ScriptPath = "/Scripts/manage.js"

// manageJS imitates the part of the portal's page script that sends
// ApproveDownload: the route and the thirteen form fields. Loading it does
// nothing; only the Save button would call approve.
const manageJS = `// Review & Manage Downloads
var manage = (function () {
  function token() {
    var el = document.querySelector('input[name="__RequestVerificationToken"], meta[name="__RequestVerificationToken"]');
    return el ? (el.value || el.content) : '';
  }
  function approve(vm, d) {
    return fetch('/Developer/ApproveDownload', {
      method: 'POST',
      headers: { 'RequestVerificationToken': token() },
      body: new URLSearchParams({
        OrgId: d.Id.split('_')[0],
        AppId: vm.AppId,
        Testhash: '',
        Testhash256: '',
        Prodhash: '',
        Prodhash256: '',
        NonProdOnly: vm.NonProdOnly(),
        ProdOnly: vm.ProdOnly(),
        FhirIdGenerationScheme: '',
        OverrideNonProdClientId: '',
        OverrideProdClientId: '',
        TestJWKS: vm.TestJWKS(),
        ProdJWKS: vm.ProdJWKS()
      })
    });
  }
  return { approve: approve };
})();
`

// handleScript serves the management page's script.
func (s *Sim) handleScript(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.handleNotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	_, _ = w.Write([]byte(manageJS))
}
