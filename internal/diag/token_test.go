package diag

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/keys"
)

func TestRequestTokenFormat(t *testing.T) {
	var got *http.Request
	var body url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		raw, _ := io.ReadAll(r.Body)
		body, _ = url.ParseQuery(string(raw))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"secret-token","token_type":"Bearer","expires_in":3600,"scope":"system/Patient.read"}`)
	}))
	defer srv.Close()
	resp, err := RequestToken(context.Background(), srv.Client(), TokenRequest{TokenURL: srv.URL + "/oauth2/token", Assertion: "a.b.c", Scope: "system/Patient.read"}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		got.Header.Get("Accept") != "application/json" || got.URL.RawQuery != "" {
		t.Errorf("request %s %s, headers %v", got.Method, got.URL, got.Header)
	}
	want := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {ClientAssertionType},
		"client_assertion": {"a.b.c"}, "scope": {"system/Patient.read"}}
	if body.Encode() != want.Encode() {
		t.Errorf("body %v, want %v", body, want)
	}
	if !resp.OK() || resp.AccessToken != "secret-token" || resp.ExpiresIn != 3600 || resp.Scope != "system/Patient.read" {
		t.Errorf("response %+v", resp)
	}
}

func TestParseTokenBody(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		check       func(*TokenResponse) bool
	}{
		{"bare invalid_client", "application/json", `{"error":"invalid_client","error_description":null}`,
			func(r *TokenResponse) bool { return r.Error == "invalid_client" && !r.HasDescription }},
		{"with a description", "application/json", `{"error":"invalid_client","error_description":"bad key"}`,
			func(r *TokenResponse) bool { return r.ErrorDescription == "bad key" && r.HasDescription }},
		{"expires_in as a string", "application/json", `{"access_token":"t","expires_in":"300"}`,
			func(r *TokenResponse) bool { return r.ExpiresIn == 300 }},
		{"an HTML page", "text/html", "<html>\n<body>Sign in</body></html>",
			func(r *TokenResponse) bool { return strings.HasPrefix(r.BodyExcerpt, "(an HTML page) <html> <body>") }},
		{"a huge text body is cut", "text/plain", strings.Repeat("x", 5000),
			func(r *TokenResponse) bool { return len(r.BodyExcerpt) == 203 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &TokenResponse{ContentType: tt.contentType}
			parseTokenBody(r, []byte(tt.body))
			if !tt.check(r) {
				t.Fatalf("parsed %+v", r)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	local := time.Date(2026, 2, 11, 16, 37, 0, 0, time.UTC)
	ms := func(n int) time.Time { return local.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name               string
		sent, recv, server time.Time
		want               time.Duration
	}{
		{"server 2 minutes behind", local, ms(400), local.Add(-2 * time.Minute), -2 * time.Minute},
		{"server 2 minutes ahead", ms(200), ms(400), local.Add(2 * time.Minute), 2 * time.Minute},
		{"agreeing clocks", ms(200), ms(400), local, 0},
		// The server read its clock at 0.95 s, the middle of the exchange
		// is 1.0 s: the answer came across a second's boundary.
		{"agreeing clocks, the answer across a second", ms(900), ms(1100), local, 0},
		{"agreeing clocks, read after the boundary", ms(900), ms(1100), local.Add(time.Second), 0},
		{"agreeing clocks, a slow exchange", ms(300), ms(2700), local.Add(2 * time.Second), 0},
		{"server 1 second behind", ms(200), ms(400), local.Add(-time.Second), -time.Second},
		{"server 1 second ahead", ms(200), ms(400), local.Add(time.Second), time.Second},
		{"server 1 second behind, at the same instant", local, local, local.Add(-time.Second), -time.Second},
		{"server 1 second ahead, at the same instant", local, local, local.Add(time.Second), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &TokenResponse{Sent: tt.sent, Received: tt.recv, ServerDate: tt.server}
			if skew, ok := r.ClockSkew(); !ok || skew != tt.want {
				t.Fatalf("skew %v %v, want %v", skew, ok, tt.want)
			}
		})
	}
	if _, ok := (&TokenResponse{Sent: local, Received: local}).ClockSkew(); ok {
		t.Fatal("no Date header must give no skew")
	}
}

// withTimes gives a checked assertion the claims iat = nbf and exp.
func withTimes(rep *AssertionReport, iat, exp int64) *AssertionReport {
	n := func(v int64) json.Number { return json.Number(strconv.FormatInt(v, 10)) }
	rep.Claims = map[string]any{"iat": n(iat), "nbf": n(iat), "exp": n(exp)}
	return rep
}

func TestDiagnose(t *testing.T) {
	local := time.Date(2026, 2, 11, 16, 37, 0, 0, time.UTC)
	refused := func(serverOffset time.Duration, oauthErr string) *TokenResponse {
		return &TokenResponse{StatusCode: 400, Error: oauthErr, Sent: local, Received: local, ServerDate: local.Add(serverOffset)}
	}
	assertion := func(rules ...string) *AssertionReport {
		rep := &AssertionReport{}
		for _, r := range rules {
			rep.Findings = append(rep.Findings, keys.Finding{Severity: keys.SeverityError, Rule: r, Message: r + " broken", Fix: "fix " + r})
		}
		return rep
	}
	tests := []struct {
		name      string
		in        DiagnosisInput
		wantFirst string // start of the first cause
		wantLike  string // its likelihood
		want      []string
		notWant   []string
	}{
		{"clean assertion", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion()},
			"the organization fetches the app's JWK Set URL", LikelihoodPossible, []string{"has not reached", "other environment's", "listing"}, []string{"clock"}},
		{"failed checks come first, kid ones after", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(RuleKidMissing, RuleAud)},
			"jwt.aud broken", LikelihoodCertain, []string{"jwt.kid-missing broken"}, nil},
		{"key not in the key set replaces the signature finding", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(RuleSignature), KeysGiven: true},
			"the signing key's public key is not in the given key set", LikelihoodCertain, nil, []string{"jwt.signature broken"}},
		{"key set errors", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(), KeysGiven: true, KeyInSet: true, KeySetErrors: []string{"no usable RSA key"}},
			"the key set has a problem organizations refuse: no usable RSA key", LikelihoodLikely, nil, nil},
		{"local clock ahead", DiagnosisInput{Response: refused(-90*time.Second, "invalid_client"), Assertion: assertion()},
			"the server's clock is 1m30s behind this machine's: to the server, iat/nbf are 1m25s in the future", LikelihoodLikely, nil, nil},
		{"server a few seconds behind, within the margin", DiagnosisInput{Response: refused(-3*time.Second, "invalid_client"), Assertion: assertion()},
			"the organization fetches the app's JWK Set URL", LikelihoodPossible, []string{"the server's clock is 3s behind this machine's, which leaves iat/nbf only 2s in its past"}, nil},
		{"server a few seconds behind an assertion without margin", DiagnosisInput{Response: refused(-3*time.Second, "invalid_client"), Assertion: withTimes(assertion(), local.Unix(), local.Unix()+240)},
			"the server's clock is 3s behind this machine's: to the server, iat/nbf are 3s in the future", LikelihoodLikely, nil, nil},
		{"server a few seconds ahead of an assertion about to expire", DiagnosisInput{Response: refused(3*time.Second, "invalid_client"), Assertion: withTimes(assertion(), local.Unix()-240, local.Unix()+2)},
			"the server's clock is 3s ahead of this machine's: to the server, the assertion expired 1s ago", LikelihoodLikely, nil, nil},
		{"local clock far behind", DiagnosisInput{Response: refused(10*time.Minute, "invalid_client"), Assertion: assertion(), Lifetime: 4 * time.Minute},
			"the server's clock is 10m0s ahead of this machine's: to the server, the assertion has already expired", LikelihoodLikely, nil, nil},
		{"local clock a little behind", DiagnosisInput{Response: refused(time.Minute, "invalid_client"), Assertion: assertion(), Lifetime: 4 * time.Minute},
			"the organization fetches the app's JWK Set URL", LikelihoodPossible, []string{"the server's clock is 1m0s ahead of this machine's"}, nil},
		{"direct keys uploaded minutes ago: propagation first, no JWK Set URL", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(),
			Upload: &Upload{OrgID: "528", Direct: true, At: local.Add(-4 * time.Minute), Thumbprints: []string{"tA", "tB"}, SigningKey: "tA", Now: local}},
			"the keys uploaded to this organization (528) 4 minutes ago have not reached it yet: up to 56 minutes more for the sandbox (60 minutes), up to 11h56m more for production (12 hours)",
			LikelihoodLikely, []string{"other environment's", "listing"}, []string{"JWK Set URL", "never uploaded", "not among"}},
		{"direct keys uploaded hours ago: the sandbox window has passed", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(),
			Upload: &Upload{OrgID: "528", Direct: true, At: local.Add(-3*time.Hour - 20*time.Minute), Thumbprints: []string{"tA"}, SigningKey: "tA", Now: local}},
			"the keys uploaded to this organization (528) 3h20m ago have not reached it yet: the sandbox's 60 minutes have passed, up to 8h40m more for production",
			LikelihoodLikely, nil, []string{"JWK Set URL"}},
		{"direct keys uploaded days ago: no propagation, no JWK Set URL", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(),
			Upload: &Upload{OrgID: "528", Direct: true, At: local.Add(-50 * time.Hour), Thumbprints: []string{"tA"}, SigningKey: "tA", Now: local}},
			"the client ID is the other environment's", LikelihoodPossible, []string{"listing"}, []string{"JWK Set URL", "has not reached", "never uploaded"}},
		{"signing key not among the uploaded keys comes first", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(RuleKidUnknown),
			Upload: &Upload{OrgID: "528", Direct: true, At: local.Add(-4 * time.Minute), Thumbprints: []string{"tA"}, SigningKey: "tB", Now: local}},
			"the signing key is not among the keys uploaded to this organization (528, 4 minutes ago by activator)", LikelihoodCertain,
			[]string{"have not reached it yet", "jwt.kid-unknown broken"}, []string{"JWK Set URL"}},
		{"organization on the JWK Set URL: the usual order", DiagnosisInput{Response: refused(0, "invalid_client"), Assertion: assertion(),
			Upload: &Upload{OrgID: "528", At: local.Add(-4 * time.Minute), Now: local}},
			"the organization fetches the app's JWK Set URL", LikelihoodPossible, []string{"has not reached"}, []string{"not among"}},
		{"unauthorized_client", DiagnosisInput{Response: refused(0, "unauthorized_client")},
			"the organization has not mapped the client to a background user", LikelihoodCertain, nil, []string{"reached"}},
		{"not an OAuth endpoint", DiagnosisInput{Response: &TokenResponse{StatusCode: 404, BodyExcerpt: "<html>"}},
			"the token URL answered HTTP 404 without an OAuth error (not JSON)", LikelihoodCertain, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			causes, err := Diagnose(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(causes) == 0 || !strings.HasPrefix(causes[0].Cause, tt.wantFirst) || causes[0].Likelihood != tt.wantLike {
				t.Fatalf("first cause %+v, want %q (%s); all %+v", causes[0], tt.wantFirst, tt.wantLike, causes)
			}
			all := ""
			last := -1
			rank := map[string]int{LikelihoodServer: -1, LikelihoodCertain: 0, LikelihoodLikely: 1, LikelihoodPossible: 2}
			for _, c := range causes {
				all += c.Cause + "\n"
				if rank[c.Likelihood] < last {
					t.Errorf("causes not ranked: %+v", causes)
				}
				last = rank[c.Likelihood]
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("causes lack %q:\n%s", w, all)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all, w) {
					t.Errorf("causes have %q:\n%s", w, all)
				}
			}
		})
	}
	if _, err := Diagnose(DiagnosisInput{Response: &TokenResponse{StatusCode: 200, AccessToken: "t"}}); !errors.Is(err, ErrNotRefused) {
		t.Fatalf("a granted token has no causes: %v", err)
	}
}
