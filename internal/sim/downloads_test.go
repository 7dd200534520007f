package sim

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestLoadDownloadsPaging(t *testing.T) {
	const orgs = 60
	tests := []struct {
		name     string
		form     url.Values
		pageMax  int
		wantLen  int
		wantFrom int // index, in listing order, of the first entry
	}{
		{"default page size is 20", loadForm(), 0, 20, 0},
		{"PageSize honoured", loadForm("PageSize", "50"), 0, 50, 0},
		{"pageSize is ignored", loadForm("pageSize", "50"), 0, 20, 0},
		{"PAGESIZE is ignored", loadForm("PAGESIZE", "50"), 0, 20, 0},
		{"page is zero-based", loadForm("PageSize", "25", "page", "1"), 0, 25, 25},
		{"last page is short", loadForm("PageSize", "25", "page", "2"), 0, 10, 50},
		{"page past the end is empty", loadForm("PageSize", "25", "page", "3"), 0, 0, 0},
		{"far past the end is empty", loadForm("PageSize", "1000000", "page", "9223372036854775807"), 0, 0, 0},
		{"Page is ignored", loadForm("PageSize", "25", "Page", "1"), 0, 25, 0},
		{"pageIndex is ignored", loadForm("PageSize", "25", "pageIndex", "1"), 0, 25, 0},
		{"skip and take are ignored", loadForm("skip", "40", "take", "5"), 0, 20, 0},
		{"one page holds everything", loadForm("PageSize", "500"), 0, orgs, 0},
		{"unreadable PageSize reads as absent", loadForm("PageSize", "fifty"), 0, 20, 0},
		{"zero PageSize reads as absent", loadForm("PageSize", "0"), 0, 20, 0},
		{"negative page reads as the first", loadForm("PageSize", "10", "page", "-1"), 0, 10, 0},
		{"server cap", loadForm("PageSize", "50"), 30, 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Orgs = orgs
			cfg.PageSizeMax = tt.pageMax
			s, srv := startSim(t, cfg)
			c := signedInClient(t, s, srv)
			got := c.loadPage(tt.form)
			if len(got) != tt.wantLen {
				t.Fatalf("got %d downloads, want %d", len(got), tt.wantLen)
			}
			all := s.Orgs()
			for i, d := range got {
				want := all[tt.wantFrom+i].OrgID + "_" + DefaultAppID
				if d["Id"] != want {
					t.Fatalf("entry %d is %v, want %s", i, d["Id"], want)
				}
			}
		})
	}
}

func TestLoadDownloadsIgnoresQueryString(t *testing.T) {
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	got := c.loadPageAt("/Developer/LoadDownloads?PageSize=50&page=1", loadForm())
	if len(got) != 20 || got[0]["Id"] != s.Orgs()[0].OrgID+"_"+DefaultAppID {
		t.Fatalf("query-string parameters were read: %d entries starting at %v", len(got), got[0]["Id"])
	}
}

// loadPageAt posts LoadDownloads to a path with a query string.
func (c *portalClient) loadPageAt(path string, form url.Values) []map[string]any {
	c.t.Helper()
	resp, body := c.post(path, form, nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("status %d", resp.StatusCode)
	}
	var out struct {
		Data struct{ Downloads []map[string]any }
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		c.t.Fatalf("decode: %v", err)
	}
	return out.Data.Downloads
}

// aspNetDateRE is the "\/Date(ms)\/" form, after JSON decoding.
var aspNetDateRE = regexp.MustCompile(`^/Date\(\d+\)/$`)

func TestLoadDownloadsEntries(t *testing.T) {
	s, srv := startSim(t, Config{Orgs: 500, Seed: 3})
	c := signedInClient(t, s, srv)
	var all []map[string]any
	for page := 0; ; page++ {
		got := c.loadPage(loadForm("PageSize", "64", "page", strconv.Itoa(page)))
		all = append(all, got...)
		if len(got) < 64 {
			break
		}
	}
	if len(all) != 500 {
		t.Fatalf("listed %d downloads, want 500", len(all))
	}
	orgIDs := map[string]bool{}
	for _, o := range s.Orgs() {
		orgIDs[o.OrgID] = true
	}
	ecms := map[string]bool{}
	prev := -1
	for _, d := range all {
		if _, has := d["OrgId"]; has {
			t.Fatalf("download has an OrgId field: %v", d)
		}
		id, _ := d["Id"].(string)
		orgID, app, ok := strings.Cut(id, "_")
		if !ok || app != DefaultAppID {
			t.Fatalf("Id %q is not {OrgId}_{AppId}", id)
		}
		n, err := strconv.Atoi(orgID)
		if err != nil || n <= prev {
			t.Fatalf("Id %q out of ascending OrgId order after %d", id, prev)
		}
		prev = n
		o, ok := s.Org(orgID)
		if !ok {
			t.Fatalf("Id %q names no organization", id)
		}
		ecm, ok := d["ECMId"].(float64)
		if !ok {
			t.Fatalf("ECMId %v is not a number", d["ECMId"])
		}
		e := strconv.Itoa(int(ecm))
		if e != o.ECMId || e == orgID || orgIDs[e] || ecms[e] {
			t.Fatalf("ECMId %s of %s is not a distinct number apart from every OrgId", e, orgID)
		}
		ecms[e] = true
		if d["OrgName"] != o.Name || d["Approved"] != float64(o.Approved) {
			t.Fatalf("entry %v does not match %+v", d, o)
		}
		for _, extra := range []string{"AppName", "DownloadDate", "IsAutoSync"} {
			if _, ok := d[extra]; !ok {
				t.Fatalf("entry lacks tolerated field %s", extra)
			}
		}
		if date, _ := d["DownloadDate"].(string); !aspNetDateRE.MatchString(date) {
			t.Fatalf("DownloadDate %q is not an ASP.NET date", date)
		}
	}
}

func TestLoadDownloadsRawDateForm(t *testing.T) {
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	_, body := c.post("/Developer/LoadDownloads", loadForm("PageSize", "1"), nil)
	if !strings.Contains(body, `"DownloadDate":"\/Date(`) {
		t.Fatalf("dates are not written the ASP.NET way: %s", body)
	}
}

func TestLoadDownloadsUnknownApp(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
	}{
		{"other app", url.Values{"appId": {"12345"}}},
		{"no appId", url.Values{"PageSize": {"10"}}},
		{"appid in the wrong case", url.Values{"appid": {DefaultAppID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := startSim(t, testConfig())
			c := signedInClient(t, s, srv)
			resp, body := c.post("/Developer/LoadDownloads", tt.form, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var f struct {
				Success bool
				Message string
			}
			if err := json.Unmarshal([]byte(body), &f); err != nil || f.Success || f.Message == "" {
				t.Fatalf("answer %s, want Success false with a message", body)
			}
			if got := lastCall(t, s).Answer; got != AnswerNotFound {
				t.Fatalf("recorded %q", got)
			}
		})
	}
}

func TestJSONCallsNeedTheToken(t *testing.T) {
	calls := []struct {
		path string
		form func(s *Sim) url.Values
	}{
		{"/Developer/LoadDownloads", func(*Sim) url.Values { return loadForm() }},
		{"/Developer/ApproveDownload", func(s *Sim) url.Values {
			return approveForm(s.Orgs()[0].OrgID, true, false, "", "")
		}},
	}
	tests := []struct {
		name           string
		token          func(c *portalClient) string
		antiForgery    bool // Config.RequireAntiForgeryCookie
		dropCookie     bool // remove the anti-forgery cookie from the jar
		wantStatus     int
		wantHasToken   bool
		wantTokenValid bool
	}{
		{"no token", func(*portalClient) string { return "" }, false, false, http.StatusForbidden, false, false},
		{"wrong token", func(*portalClient) string { return "bm90LXRoZS10b2tlbg" }, false, false, http.StatusForbidden, true, false},
		{"token with a changed letter", func(c *portalClient) string { return flip(c.token) }, false, false, http.StatusForbidden, true, false},
		{"right token", func(c *portalClient) string { return c.token }, false, false, http.StatusOK, true, true},
		{"right token and cookie", func(c *portalClient) string { return c.token }, true, false, http.StatusOK, true, true},
		{"right token without the cookie", func(c *portalClient) string { return c.token }, true, true, http.StatusForbidden, true, true},
	}
	for _, call := range calls {
		for _, tt := range tests {
			t.Run(call.path+"/"+tt.name, func(t *testing.T) {
				cfg := testConfig()
				cfg.RequireAntiForgeryCookie = tt.antiForgery
				s, srv := startSim(t, cfg)
				c := signedInClient(t, s, srv)
				if tt.dropCookie {
					c.hc.Jar = dropCookie(t, c, antiForgeryName)
				}
				tok := tt.token(c)
				c.token = ""
				resp, body := c.post(call.path, call.form(s), map[string]string{tokenHeader: tok})
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
				}
				if tt.wantStatus == http.StatusForbidden && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("403 answered JSON")
				}
				call := lastCall(t, s)
				if call.HasToken != tt.wantHasToken || call.TokenValid != tt.wantTokenValid || !call.HasCookie {
					t.Fatalf("recorded HasToken=%v TokenValid=%v HasCookie=%v", call.HasToken, call.TokenValid, call.HasCookie)
				}
				if tt.wantStatus == http.StatusForbidden && call.Answer != AnswerForbidden {
					t.Fatalf("recorded %q, want %q", call.Answer, AnswerForbidden)
				}
			})
		}
	}
}

// flip changes the last letter of a token.
func flip(tok string) string {
	last := tok[len(tok)-1]
	if last == 'A' {
		return tok[:len(tok)-1] + "B"
	}
	return tok[:len(tok)-1] + "A"
}

// dropCookie returns a jar holding the client's cookies but one.
func dropCookie(t *testing.T, c *portalClient, name string) http.CookieJar {
	t.Helper()
	u, _ := url.Parse(c.base)
	old := c.hc.Jar.Cookies(u)
	fresh, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	var keep []*http.Cookie
	for _, ck := range old {
		if ck.Name != name {
			keep = append(keep, ck)
		}
	}
	fresh.SetCookies(u, keep)
	return fresh
}

func TestLapsedSession(t *testing.T) {
	tests := []struct {
		name       string
		lapseHTML  bool
		xhr        bool
		sessionReq int
		expire     bool
		noCookie   bool
		okCalls    int // JSON calls that succeed before the lapse
		wantStatus int
		check      func(t *testing.T, resp *http.Response, body string)
	}{
		{
			name: "no cookie redirects", noCookie: true, wantStatus: http.StatusFound,
			check: wantLoginRedirect,
		},
		{
			name: "expired session redirects", expire: true, wantStatus: http.StatusFound,
			check: wantLoginRedirect,
		},
		{
			name: "session lapses after N requests", sessionReq: 3, okCalls: 3, wantStatus: http.StatusFound,
			check: wantLoginRedirect,
		},
		{
			name: "lapse as HTML", sessionReq: 2, okCalls: 2, lapseHTML: true, wantStatus: http.StatusOK,
			check: wantLoginPage,
		},
		{
			name: "expired session as HTML", expire: true, lapseHTML: true, wantStatus: http.StatusOK,
			check: wantLoginPage,
		},
		{
			name: "XMLHttpRequest gets an empty 200", sessionReq: 1, okCalls: 1, xhr: true, wantStatus: http.StatusOK,
			check: func(t *testing.T, resp *http.Response, body string) {
				if body != "" {
					t.Fatalf("body %q, want empty", body)
				}
				var rj struct {
					Status  int
					Headers struct{ Location string }
				}
				if err := json.Unmarshal([]byte(resp.Header.Get("X-Responded-JSON")), &rj); err != nil || rj.Status != 401 ||
					!strings.Contains(rj.Headers.Location, "/Account/Login?ReturnUrl=") {
					t.Fatalf("X-Responded-JSON %q", resp.Header.Get("X-Responded-JSON"))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.LapseAsHTML = tt.lapseHTML
			cfg.SessionRequests = tt.sessionReq
			s, srv := startSim(t, cfg)
			c := signedInClient(t, s, srv)
			hdr := map[string]string{}
			if tt.xhr {
				hdr["X-Requested-With"] = "XMLHttpRequest"
			}
			for i := range tt.okCalls {
				resp, body := c.post("/Developer/LoadDownloads", loadForm(), hdr)
				if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `{"Success":true`) {
					t.Fatalf("call %d before the lapse: status %d %.80s", i+1, resp.StatusCode, body)
				}
			}
			if tt.expire {
				s.ExpireSessions()
			}
			if tt.noCookie {
				c = newClient(t, srv)
				c.token = "some-token"
			}
			for _, path := range []string{"/Developer/LoadDownloads", "/Developer/ApproveDownload"} {
				resp, body := c.post(path, approveForm(s.Orgs()[0].OrgID, true, false, "", ""), hdr)
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("%s: status %d, want %d", path, resp.StatusCode, tt.wantStatus)
				}
				tt.check(t, resp, body)
				if got := lastCall(t, s).Answer; got != AnswerLogin {
					t.Fatalf("%s recorded %q, want %q", path, got, AnswerLogin)
				}
			}
			if o := s.Orgs()[0]; o.NonProd && o.NonProdChanged.Equal(fixedNow) {
				t.Fatalf("a call without a session changed an organization")
			}
		})
	}
}

// wantLoginRedirect checks a redirect to the sign-in page.
func wantLoginRedirect(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/Account/Login?ReturnUrl=%2FDeveloper%2F") {
		t.Fatalf("Location %q is not the sign-in page", loc)
	}
}

// wantLoginPage checks an HTML sign-in page where JSON was expected.
func wantLoginPage(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("content type %q, want text/html", ct)
	}
	if !strings.Contains(body, `id="login-submit"`) {
		t.Fatalf("body is not the sign-in page")
	}
}

func TestListingFollowsChanges(t *testing.T) {
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	before := s.Orgs()
	renamed := before[5]
	s.RenameOrg(renamed.OrgID, "Brown University Health")
	s.RemoveOrg(before[0].OrgID)
	s.AddOrg(Org{OrgID: "32586", Name: "eleHealth"})
	s.AddOrg(Org{OrgID: "1", Name: "Arrived Enabled", Approved: ApprovedBoth})

	got := c.loadPage(loadForm("PageSize", "1000"))
	if len(got) != len(before)+1 {
		t.Fatalf("listed %d, want %d", len(got), len(before)+1)
	}
	ids := make([]int, len(got))
	byID := map[string]map[string]any{}
	for i, d := range got {
		id, _, _ := strings.Cut(d["Id"].(string), "_")
		ids[i], _ = strconv.Atoi(id)
		byID[id] = d
	}
	if !sort.IntsAreSorted(ids) {
		t.Fatalf("listing is not in OrgId order after changes")
	}
	if byID[renamed.OrgID]["OrgName"] != "Brown University Health" {
		t.Fatalf("rename not listed: %v", byID[renamed.OrgID])
	}
	if _, ok := byID[before[0].OrgID]; ok {
		t.Fatalf("removed organization still listed")
	}
	if d := byID["32586"]; d == nil || d["Approved"] != float64(0) {
		t.Fatalf("new organization listed as %v", d)
	}
	if d := byID["1"]; d == nil || d["Approved"] != float64(1) {
		t.Fatalf("organization arriving enabled listed as %v", d)
	}
	if o, _ := s.Org("1"); !o.NonProd || !o.Prod || o.NonProdMode != ModeJWKSURL {
		t.Fatalf("organization arriving enabled holds %+v", o)
	}
}
