package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCallsRecorded(t *testing.T) {
	cfg := testConfig()
	cfg.SecondFactor = "135790"
	s, srv := startSim(t, cfg)
	c := newClient(t, srv)

	// A full browser-like sign-in, then the JSON calls.
	_, page := c.get("/Account/Login?ReturnUrl=%2FDeveloper%2FManagement%3Fid%3D" + DefaultAppID)
	form := url.Values{"Username": {DefaultUsername}, "Password": {DefaultPassword}}
	form.Set(antiForgeryName, formFields(page)[antiForgeryName])
	_, page = c.post("/Account/Login?ReturnUrl=%2F", form, nil)
	form = url.Values{"Code": {"135790"}}
	for k, v := range formFields(page) {
		form.Set(k, v)
	}
	c.post("/Account/VerifyCode", form, nil)
	c.loadToken()
	c.post("/Developer/LoadDownloads", loadForm("PageSize", "5"), nil)
	c.post("/Developer/ApproveDownload", approveForm(orgWith(t, s, fresh).OrgID, false, false, fixture(t, "rsa2048.json"), fixture(t, "rsa2048.json")), nil)
	tok := c.token
	c.token = ""
	c.post("/Developer/LoadDownloads", loadForm(), nil)
	// Simulator-only routes are not calls of the portal.
	resp, err := http.Get(srv.URL + "/_sim/calls")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	want := []struct {
		method, path, answer     string
		status                   int
		hasCookie, hasTok, tokOK bool
	}{
		{"GET", "/Account/Login", AnswerOK, 200, false, false, false},
		{"POST", "/Account/Login", AnswerOK, 200, false, false, false},
		{"POST", "/Account/VerifyCode", AnswerOK, 302, false, false, false},
		{"GET", "/Developer/Management", AnswerOK, 200, true, false, false},
		{"POST", "/Developer/LoadDownloads", AnswerOK, 200, true, true, true},
		{"POST", "/Developer/ApproveDownload", AnswerOK, 200, true, true, true},
		{"POST", "/Developer/LoadDownloads", AnswerForbidden, 403, true, false, false},
	}
	calls := s.Calls()
	if len(calls) != len(want) {
		t.Fatalf("recorded %d calls, want %d: %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		got := calls[i]
		if got.Method != w.method || got.Path != w.path || got.Answer != w.answer || got.Status != w.status ||
			got.HasCookie != w.hasCookie || got.HasToken != w.hasTok || got.TokenValid != w.tokOK {
			t.Errorf("call %d = %s %s %s %d cookie=%v token=%v valid=%v, want %+v",
				i, got.Method, got.Path, got.Answer, got.Status, got.HasCookie, got.HasToken, got.TokenValid, w)
		}
		if got.At != fixedNow {
			t.Errorf("call %d at %v", i, got.At)
		}
	}
	if calls[4].Form.Get("PageSize") != "5" || calls[5].Form.Get("TestJWKS") == "" {
		t.Errorf("forms not recorded: %v / %v", calls[4].Form, calls[5].Form)
	}
	if calls[3].Form.Get("id") != DefaultAppID {
		t.Errorf("query not recorded: %v", calls[3].Form)
	}

	// No secret value appears anywhere in the log.
	dump, _ := json.Marshal(calls)
	u, _ := url.Parse(srv.URL)
	secrets := []string{DefaultPassword, url.QueryEscape(DefaultPassword), "135790", tok}
	for _, ck := range c.hc.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	for _, secret := range secrets {
		if strings.Contains(string(dump), secret) {
			t.Errorf("call log contains a secret value (%d characters)", len(secret))
		}
	}
	if calls[1].Form.Get("Password") != redacted || calls[2].Form.Get("Code") != redacted {
		t.Errorf("secret fields not marked redacted: %v %v", calls[1].Form, calls[2].Form)
	}

	s.ResetCalls()
	if n := len(s.Calls()); n != 0 {
		t.Fatalf("%d calls after reset", n)
	}
}

func TestCallsAreCopies(t *testing.T) {
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	c.post("/Developer/LoadDownloads", loadForm(), nil)
	first := s.Calls()
	first[0].Path = "/changed"
	first[1].Form.Set("appId", "changed")
	again := s.Calls()
	if again[0].Path == "/changed" {
		t.Fatalf("Calls shares its slice")
	}
	if again[1].Form.Get("appId") != DefaultAppID {
		t.Fatalf("Calls shares its forms")
	}
}

func TestExtensionRoutes(t *testing.T) {
	s := New(testConfig())
	s.Handle("POST /oauth2/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("client_assertion") == "" {
			SetAnswer(w, AnswerBad)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_request"}`)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"abc"}`)
	}))
	srv := newTestServer(t, s)
	tests := []struct {
		form       url.Values
		wantStatus int
		wantAnswer string
	}{
		{url.Values{"client_assertion": {"eyJhbGciOi.secret.sig"}}, 200, AnswerOK},
		{url.Values{"client_assertion_type": {"jwt-bearer"}}, 400, AnswerBad},
	}
	for _, tt := range tests {
		resp, err := http.PostForm(srv.URL+"/oauth2/token", tt.form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := lastCall(t, s)
		if resp.StatusCode != tt.wantStatus || got.Status != tt.wantStatus || got.Answer != tt.wantAnswer {
			t.Fatalf("status %d, recorded %d %q", resp.StatusCode, got.Status, got.Answer)
		}
		if v := got.Form.Get("client_assertion"); v != "" && v != redacted {
			t.Fatalf("assertion recorded in the clear")
		}
	}
}
