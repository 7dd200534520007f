package sim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// formFields returns the hidden inputs of a page.
func formFields(body string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// loginStep is one POST of a sign-in sequence.
type loginStep struct {
	path   string            // /Account/Login (with its ReturnUrl) or /Account/VerifyCode
	fields map[string]string // visible fields; hidden ones come from the previous page
}

func TestSignIn(t *testing.T) {
	const ret = "/Developer/Management?id=" + DefaultAppID
	tests := []struct {
		name         string
		secondFactor string
		returnURL    string
		steps        []loginStep
		wantSignedIn bool
		wantLocation string
		wantText     string // on the last page when not signed in
		wantStatus   int
	}{
		{
			name:      "good password",
			returnURL: ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
			},
			wantSignedIn: true, wantLocation: ret, wantStatus: http.StatusFound,
		},
		{
			name:      "bad password shows the form again",
			returnURL: ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": "Tr0ub4dor&3"}},
			},
			wantText: "The user name or password is incorrect.", wantStatus: http.StatusOK,
		},
		{
			name:      "unknown user",
			returnURL: ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": "someone", "Password": DefaultPassword}},
			},
			wantText: "The user name or password is incorrect.", wantStatus: http.StatusOK,
		},
		{
			name:         "second factor",
			secondFactor: "246810",
			returnURL:    ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "246810"}},
			},
			wantSignedIn: true, wantLocation: ret, wantStatus: http.StatusFound,
		},
		{
			name:         "second factor wrong code then right",
			secondFactor: "246810",
			returnURL:    ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "111111"}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "246810"}},
			},
			wantSignedIn: true, wantLocation: ret, wantStatus: http.StatusFound,
		},
		{
			name:         "second factor wrong code",
			secondFactor: "246810",
			returnURL:    ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "111111"}},
			},
			wantText: "The code is not valid.", wantStatus: http.StatusOK,
		},
		{
			name:         "too many wrong codes start over",
			secondFactor: "246810",
			returnURL:    ret,
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "1"}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "2"}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "3"}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "4"}},
				{path: "/Account/VerifyCode", fields: map[string]string{"Code": "5"}},
			},
			wantText: "Too many wrong codes.", wantStatus: http.StatusOK,
		},
		{
			name:      "foreign return address goes home",
			returnURL: "//attacker.example/steal",
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
			},
			wantSignedIn: true, wantLocation: "/", wantStatus: http.StatusFound,
		},
		{
			name: "no return address goes home",
			steps: []loginStep{
				{fields: map[string]string{"Username": DefaultUsername, "Password": DefaultPassword}},
			},
			wantSignedIn: true, wantLocation: "/", wantStatus: http.StatusFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SecondFactor = tt.secondFactor
			s, srv := startSim(t, cfg)
			c := newClient(t, srv)
			path := "/Account/Login"
			if tt.returnURL != "" {
				path += "?ReturnUrl=" + url.QueryEscape(tt.returnURL)
			}
			resp, body := c.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("sign-in page: status %d", resp.StatusCode)
			}
			for _, want := range []string{`id="Username"`, `name="Username"`, `id="Password"`, `name="Password"`, `id="login-submit"`} {
				if !strings.Contains(body, want) {
					t.Fatalf("sign-in page lacks %s", want)
				}
			}
			for i, step := range tt.steps {
				form := url.Values{}
				for k, v := range formFields(body) {
					form.Set(k, v)
				}
				for k, v := range step.fields {
					form.Set(k, v)
				}
				p := path
				if step.path != "" {
					p = step.path
				}
				resp, body = c.post(p, form, nil)
				if i == 0 && tt.secondFactor != "" && resp.StatusCode == http.StatusOK {
					for _, want := range []string{`id="Code"`, `name="Code"`, `id="code-submit"`} {
						if !strings.Contains(body, want) {
							t.Fatalf("second-factor page lacks %s", want)
						}
					}
				}
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("last step: status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			var gotSession bool
			for _, ck := range resp.Cookies() {
				if ck.Name == authCookie {
					gotSession = true
					if !ck.HttpOnly {
						t.Errorf("%s cookie is not HttpOnly", ck.Name)
					}
				}
				if ck.Name == stateCookie && !ck.HttpOnly {
					t.Errorf("%s cookie is not HttpOnly", ck.Name)
				}
			}
			if gotSession != tt.wantSignedIn {
				t.Fatalf("session cookie set = %v, want %v", gotSession, tt.wantSignedIn)
			}
			if tt.wantSignedIn {
				if got := resp.Header.Get("Location"); got != tt.wantLocation {
					t.Fatalf("redirect to %q, want %q", got, tt.wantLocation)
				}
				names := map[string]bool{}
				for _, ck := range resp.Cookies() {
					names[ck.Name] = true
				}
				if !names[authCookie] || !names[stateCookie] {
					t.Fatalf("sign-in set cookies %v, want %s and %s", names, authCookie, stateCookie)
				}
				c.loadToken() // the session works
			} else if !strings.Contains(body, tt.wantText) {
				t.Fatalf("last page lacks %q", tt.wantText)
			}
			if got := lastCall(t, s).Form.Get("Password"); got != "" && got != redacted {
				t.Fatalf("call log holds a password")
			}
		})
	}
}

func TestSignInFormNeedsItsAntiForgeryValue(t *testing.T) {
	tests := []struct {
		name  string
		value func(page string) string
	}{
		{"absent", func(string) string { return "" }},
		{"made up", func(string) string { return "not-a-value-this-site-issued" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := startSim(t, testConfig())
			c := newClient(t, srv)
			_, page := c.get("/Account/Login")
			form := url.Values{"Username": {DefaultUsername}, "Password": {DefaultPassword}}
			if v := tt.value(page); v != "" {
				form.Set(antiForgeryName, v)
			}
			resp, _ := c.post("/Account/Login", form, nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if len(resp.Cookies()) != 0 {
				t.Fatalf("cookies set on a refused sign-in")
			}
		})
	}
	t.Run("single use", func(t *testing.T) {
		_, srv := startSim(t, testConfig())
		c := newClient(t, srv)
		_, page := c.get("/Account/Login")
		form := url.Values{"Username": {DefaultUsername}, "Password": {"wrong"}}
		form.Set(antiForgeryName, formFields(page)[antiForgeryName])
		if resp, _ := c.post("/Account/Login", form, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("first use: status %d", resp.StatusCode)
		}
		form.Set("Password", DefaultPassword)
		if resp, _ := c.post("/Account/Login", form, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("second use: status %d, want 400", resp.StatusCode)
		}
	})
}

func TestManagementPage(t *testing.T) {
	const page = "/Developer/Management?id=" + DefaultAppID
	tests := []struct {
		name         string
		cookie       func(s *Sim) string
		path         string
		wantStatus   int
		wantLocation string
	}{
		{"no session", func(*Sim) string { return "" }, page, http.StatusFound,
			"/Account/Login?ReturnUrl=" + url.QueryEscape(page)},
		{"unknown session", func(*Sim) string { return authCookie + "=forged; " + stateCookie + "=x" }, page, http.StatusFound,
			"/Account/Login?ReturnUrl=" + url.QueryEscape(page)},
		{"expired session", func(s *Sim) string { v := s.NewSession(); s.ExpireSessions(); return v }, page, http.StatusFound,
			"/Account/Login?ReturnUrl=" + url.QueryEscape(page)},
		{"signed in", func(s *Sim) string { return s.NewSession() }, page, http.StatusOK, ""},
		{"unknown app", func(s *Sim) string { return s.NewSession() }, "/Developer/Management?id=99999", http.StatusNotFound, ""},
		{"no app id", func(s *Sim) string { return s.NewSession() }, "/Developer/Management", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := startSim(t, testConfig())
			c := newClient(t, srv)
			if v := tt.cookie(s); v != "" {
				c.setCookieHeader(v)
			}
			resp, body := c.get(tt.path)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Location"); got != tt.wantLocation {
				t.Fatalf("Location %q, want %q", got, tt.wantLocation)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			for _, want := range []string{
				"<title>Review &amp; Manage Downloads</title>",
				DefaultAppName,
				`data-bind="foreach: Downloads"`,
				`<input name="__RequestVerificationToken" type="hidden" value="`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
		})
	}
}

func TestManagementTokenBoundToSession(t *testing.T) {
	s, srv := startSim(t, testConfig())
	a := signedInClient(t, s, srv)
	first := a.token
	a.loadToken()
	if a.token != first {
		t.Fatalf("token changed between two loads of the same session")
	}
	b := signedInClient(t, s, srv)
	if b.token == a.token {
		t.Fatalf("two sessions share a token")
	}
	// a's token does not work with b's session.
	b.token = a.token
	if resp, _ := b.post("/Developer/LoadDownloads", loadForm(), nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("token of another session: status %d, want 403", resp.StatusCode)
	}
}

func TestLogOff(t *testing.T) {
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	resp, _ := c.post("/Account/LogOff", url.Values{}, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("log off: status %d", resp.StatusCode)
	}
	resp, _ = c.post("/Developer/LoadDownloads", loadForm(), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("after log off: status %d, want the sign-in redirect", resp.StatusCode)
	}
}

func TestHomeAndUnknownPages(t *testing.T) {
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodGet, "/nothing/here", http.StatusNotFound},
		{http.MethodGet, "/Developer/LoadDownloads", http.StatusNotFound},
		{http.MethodGet, "/Developer/ApproveDownload", http.StatusNotFound},
		{http.MethodPost, "/Developer/Management?id=" + DefaultAppID, http.StatusNotFound},
		{http.MethodGet, "/Account/VerifyCode", http.StatusNotFound},
	}
	s, srv := startSim(t, testConfig())
	c := newClient(t, srv)
	c.setCookieHeader(s.NewSession())
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, _ := c.do(req)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusNotFound && lastCall(t, s).Answer != AnswerNotFound {
				t.Fatalf("recorded %q, want %q", lastCall(t, s).Answer, AnswerNotFound)
			}
		})
	}
}
