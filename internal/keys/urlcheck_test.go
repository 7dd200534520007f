package keys

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// checkServer serves the test key set in the ways a JWK Set URL can go wrong.
func checkServer(t *testing.T) (tlsSrv, plainSrv *httptest.Server) {
	t.Helper()
	doc := readFixture(t, "keys/test-rsa-a.jwks.json")
	var sleepy atomic.Int32
	serve := func(ct, cc string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			if cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
			_, _ = w.Write([]byte(doc))
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/good", serve("application/json", "public, max-age=3600"))
	mux.Handle("/jwk-set", serve("application/jwk-set+json", "max-age=600"))
	mux.Handle("/no-cache-control", serve("application/json", ""))
	mux.Handle("/no-store", serve("application/json", "no-store"))
	mux.Handle("/long-cache", serve("application/json", "max-age=200000"))
	mux.Handle("/text", serve("text/plain; charset=utf-8", "max-age=60"))
	mux.HandleFunc("/sleepy", func(w http.ResponseWriter, r *http.Request) {
		if sleepy.Add(1) == 1 {
			http.Error(w, "waking up", http.StatusServiceUnavailable)
			return
		}
		serve("application/json", "max-age=60")(w, r)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	})
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "sign in", http.StatusUnauthorized)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/good", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/protected", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/Account/Login?ReturnUrl=%2Fprotected", http.StatusFound)
	})
	mux.HandleFunc("/Account/Login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><form>Sign in</form></body></html>"))
	})
	tlsSrv = httptest.NewUnstartedServer(mux)
	// The untrusted-certificate case makes the server log handshake errors.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plainSrv = httptest.NewServer(mux)
	t.Cleanup(plainSrv.Close)
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		// The same machine under another host name.
		http.Redirect(w, r, strings.Replace(plainSrv.URL, "127.0.0.1", "localhost", 1)+"/good", http.StatusFound)
	})
	return tlsSrv, plainSrv
}

func TestCheckURL(t *testing.T) {
	tlsSrv, plainSrv := checkServer(t)
	tests := []struct {
		name       string
		url        string
		untrusted  bool
		wantErrors bool
		wantRules  []string
	}{
		{"good", tlsSrv.URL + "/good", false, false, []string{RuleURLCacheMaxAge}},
		{"jwk-set content type", tlsSrv.URL + "/jwk-set", false, false, []string{RuleURLCacheMaxAge}},
		{"no cache control", tlsSrv.URL + "/no-cache-control", false, false, []string{RuleURLCacheMissing}},
		{"no-store", tlsSrv.URL + "/no-store", false, false, []string{RuleURLCacheNoStore}},
		{"cache longer than organizations keep keys", tlsSrv.URL + "/long-cache", false, false, []string{RuleURLCacheOverLimit}},
		{"text content type", tlsSrv.URL + "/text", false, false, []string{RuleURLContentType}},
		{"sleeping host", tlsSrv.URL + "/sleepy", false, true, []string{RuleURLUnreliable}},
		{"host down", tlsSrv.URL + "/down", false, true, []string{RuleURLStatus}},
		{"authentication required", tlsSrv.URL + "/private", false, true, []string{RuleURLAuth}},
		{"redirect", tlsSrv.URL + "/moved", false, false, []string{RuleURLRedirect}},
		{"redirect to sign-in", tlsSrv.URL + "/protected", false, true, []string{RuleURLSignIn, RuleURLContentType, RuleNotJSON}},
		{"redirect to another host", tlsSrv.URL + "/elsewhere", false, true, []string{RuleURLRedirectHost, RuleURLNotHTTPS}},
		{"plain http", plainSrv.URL + "/good", false, true, []string{RuleURLNotHTTPS}},
		{"untrusted certificate", tlsSrv.URL + "/good", true, true, []string{RuleURLCertificate}},
		{"nobody listening", "https://127.0.0.1:1/jwks.json", false, true, []string{RuleURLUnreachable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tlsSrv.Client()
			if tt.untrusted {
				client = &http.Client{}
			}
			f := &Fetcher{Client: client, Tries: 3, RetryDelay: time.Millisecond, EveryTry: true}
			rep, err := Check(context.Background(), f, tt.url, time.Now())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := rep.ErrorCount > 0; got != tt.wantErrors {
				t.Errorf("errors = %d, want errors: %v; findings %v", rep.ErrorCount, tt.wantErrors, rep.Findings)
			}
			for _, rule := range tt.wantRules {
				if !hasRule(rep.Findings, rule) {
					t.Errorf("rule %s not found in %v", rule, rep.Findings)
				}
			}
			if rep.Fetch == nil || len(rep.Fetch.Attempts) == 0 {
				t.Errorf("no fetch record")
			}
		})
	}
}

func TestCheckFile(t *testing.T) {
	rep, err := Check(context.Background(), &Fetcher{Client: http.DefaultClient}, "testdata/keys/test-rsa-ab.jwks.json", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ErrorCount != 0 || len(rep.Keys) != 2 || rep.Fetch != nil {
		t.Fatalf("report = %+v", rep)
	}
	if _, err := Check(context.Background(), &Fetcher{Client: http.DefaultClient}, "testdata/none.json", time.Now()); err == nil {
		t.Fatal("a missing file must be an error")
	}
}

func TestCheckFetchTimingAndCertificate(t *testing.T) {
	now := time.Date(2026, 2, 11, 16, 37, 0, 0, time.UTC)
	ok := []Attempt{{StatusCode: 200}}
	tests := []struct {
		name string
		info FetchInfo
		rule string
		sev  Severity
	}{
		{"slow answer", FetchInfo{Source: "https://h/j", ContentType: "application/json", Attempts: []Attempt{{StatusCode: 200, Elapsed: 4 * time.Second}}}, RuleURLSlow, SeverityWarning},
		{"certificate expires soon", FetchInfo{Source: "https://h/j", ContentType: "application/json", Attempts: ok, TLS: &TLSInfo{Version: "TLS 1.3", NotAfter: now.Add(10 * 24 * time.Hour)}}, RuleURLCertExpiry, SeverityWarning},
		{"certificate expired", FetchInfo{Source: "https://h/j", ContentType: "application/json", Attempts: ok, TLS: &TLSInfo{Version: "TLS 1.3", NotAfter: now.Add(-time.Hour)}}, RuleURLCertExpiry, SeverityError},
		{"old TLS", FetchInfo{Source: "https://h/j", ContentType: "application/json", Attempts: ok, TLS: &TLSInfo{Version: "TLS 1.0", NotAfter: now.AddDate(1, 0, 0)}}, RuleURLTLSVersion, SeverityWarning},
		{"timeout", FetchInfo{Source: "https://h/j", Attempts: []Attempt{{Err: "no answer within 10s", TimedOut: true}}}, RuleURLTimeout, SeverityError},
		{"max-age not a number", FetchInfo{Source: "https://h/j", ContentType: "application/json", CacheControl: "max-age=soon", Attempts: ok}, RuleURLCacheMaxAge, SeverityWarning},
		{"no-cache", FetchInfo{Source: "https://h/j", ContentType: "application/json", CacheControl: "no-cache", Attempts: ok}, RuleURLCacheNoStore, SeverityWarning},
		{"missing content type", FetchInfo{Source: "https://h/j", Attempts: ok}, RuleURLContentType, SeverityWarning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := CheckFetch(&tt.info, now)
			for _, f := range fs {
				if f.Rule == tt.rule && f.Severity == tt.sev {
					return
				}
			}
			t.Fatalf("no %s %s in %v", tt.sev, tt.rule, fs)
		})
	}
}

// hasRule reports whether a finding of the rule is present.
func hasRule(fs []Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}
