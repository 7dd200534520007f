package keys

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer serves the test key set over TLS; answers lists the status of
// each successive GET (200 once the list is used up).
func jwksServer(t *testing.T, answers []int, header http.Header) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	doc := readFixture(t, "keys/test-rsa-a.jwks.json")
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		if r.Header.Get("Accept") != AcceptJWKS {
			http.Error(w, "bad accept", http.StatusNotAcceptable)
			return
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		if n <= len(answers) && answers[n-1] != http.StatusOK {
			http.Error(w, "asleep", answers[n-1])
			return
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		_, _ = w.Write([]byte(doc))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/jwks.json", http.StatusFound)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/Account/Login?ReturnUrl=%2Fjwks", http.StatusFound)
	})
	mux.HandleFunc("/Account/Login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Sign in</body></html>"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat(" ", 4096)))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	// The untrusted-certificate case makes the server log handshake errors.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{"fixture", filepath.Join("testdata", "keys", "test-rsa-a.jwks.json"), ""},
		{"missing", filepath.Join(dir, "nope.json"), "does not exist"},
		{"directory", dir, "is a directory"},
		{"too large", big, "larger than 1024 bytes"},
		{"empty source", "", "no JWKS source given"},
		{"other scheme", "ftp://example.org/jwks.json", `scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Fetcher{Client: http.DefaultClient, MaxBytes: 1024}
			raw, info, err := f.Load(context.Background(), tt.src)
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want an *InputError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !info.Local || info.Bytes != len(raw) || len(raw) == 0 {
				t.Errorf("info = %+v for %d bytes", info, len(raw))
			}
		})
	}
}

func TestLoadURL(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		answers   []int
		tries     int
		everyTry  bool
		plain     bool // use a client that does not trust the test CA
		timeout   time.Duration
		wantErr   string
		wantHits  int32
		wantRedir int
		check     func(t *testing.T, info *FetchInfo)
	}{
		{name: "ok first try", path: "/jwks.json", wantHits: 1, check: func(t *testing.T, info *FetchInfo) {
			if info.TLS == nil || info.TLS.Version == "" || info.TLS.NotAfter.IsZero() {
				t.Errorf("TLS info missing: %+v", info.TLS)
			}
			if info.ContentType != "application/json" || info.CacheControl != "max-age=3600" || info.StatusCode != 200 {
				t.Errorf("headers not recorded: %+v", info)
			}
		}},
		{name: "sleeping host answers after retries", path: "/jwks.json", answers: []int{503, 502, 200}, tries: 3, wantHits: 3, check: func(t *testing.T, info *FetchInfo) {
			if len(info.Attempts) != 3 || info.Attempts[0].StatusCode != 503 || info.Attempts[2].StatusCode != 200 {
				t.Errorf("attempts = %+v", info.Attempts)
			}
		}},
		{name: "every try probes", path: "/jwks.json", answers: []int{200, 503, 200}, tries: 3, everyTry: true, wantHits: 3},
		{name: "still asleep", path: "/jwks.json", answers: []int{503, 503}, tries: 2, wantHits: 2, wantErr: "answered 503 Service Unavailable (try 2)"},
		{name: "not found is not retried", path: "/nothing", tries: 3, wantErr: "404 Not Found (try 1): check the path", check: func(t *testing.T, info *FetchInfo) {
			if len(info.Attempts) != 1 {
				t.Errorf("made %d tries of a permanent failure, want 1", len(info.Attempts))
			}
		}},
		{name: "authentication required", path: "/jwks.json", answers: []int{401}, tries: 3, wantHits: 1, wantErr: "without any authentication"},
		{name: "redirect recorded", path: "/moved", wantHits: 1, wantRedir: 1},
		{name: "sign-in redirect delivers HTML", path: "/login", wantRedir: 1, check: func(t *testing.T, info *FetchInfo) {
			if !strings.HasPrefix(info.ContentType, "text/html") || !strings.Contains(info.FinalURL, "/Account/Login") {
				t.Errorf("final = %s %s", info.FinalURL, info.ContentType)
			}
		}},
		{name: "body too large", path: "/big", wantErr: "larger than 1024 bytes"},
		{name: "untrusted certificate", path: "/jwks.json", plain: true, tries: 3, wantErr: "certificate refused", check: func(t *testing.T, info *FetchInfo) {
			if len(info.Attempts) != 1 {
				t.Errorf("made %d tries of a permanent failure, want 1", len(info.Attempts))
			}
		}},
		{name: "no answer in time", path: "/slow", tries: 1, timeout: 50 * time.Millisecond, wantErr: "no answer within 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := jwksServer(t, tt.answers, http.Header{"Cache-Control": {"max-age=3600"}})
			client := srv.Client()
			if tt.plain {
				client = &http.Client{}
			}
			f := &Fetcher{Client: client, Tries: tt.tries, RetryDelay: time.Millisecond, EveryTry: tt.everyTry, MaxBytes: 1024, Timeout: tt.timeout}
			raw, info, err := f.Load(context.Background(), srv.URL+tt.path)
			if tt.wantErr != "" {
				var fe *FetchError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want a *FetchError containing %q", err, tt.wantErr)
				}
				if fe.Info == nil || len(fe.Info.Attempts) == 0 {
					t.Fatalf("FetchError without attempts")
				}
			} else if err != nil || len(raw) == 0 {
				t.Fatalf("Load = %d bytes, %v", len(raw), err)
			}
			if tt.wantHits > 0 && hits.Load() != tt.wantHits {
				t.Errorf("server saw %d GETs, want %d", hits.Load(), tt.wantHits)
			}
			if len(info.Redirects) != tt.wantRedir {
				t.Errorf("redirects = %+v, want %d", info.Redirects, tt.wantRedir)
			}
			if tt.check != nil {
				tt.check(t, info)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	srv, _ := jwksServer(t, nil, nil)
	raw, info, err := Load(context.Background(), srv.Client(), srv.URL+"/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ForUpload(raw); err != nil {
		t.Fatalf("fetched key set refused: %v", err)
	}
	if info.Source != srv.URL+"/jwks.json" || len(info.Attempts) != 1 {
		t.Errorf("info = %+v", info)
	}
}

func TestLoadCancelled(t *testing.T) {
	srv, _ := jwksServer(t, []int{503, 503, 503}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fetcher{Client: srv.Client(), Tries: 3, RetryDelay: time.Hour}
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, _, err := f.Load(ctx, srv.URL+"/jwks.json")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load error = %v, want context.Canceled", err)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://app.example.com/.well-known/jwks.json", "https://app.example.com/.well-known/jwks.json"},
		{"https://u:secret@app.example.com/jwks.json", "https://u:xxxxx@app.example.com/jwks.json"},
		{"https://bucket.example.com/jwks.json?X-Amz-Signature=abc123&X-Amz-Expires=300", "https://bucket.example.com/jwks.json?X-Amz-Expires=xxxxx&X-Amz-Signature=xxxxx"},
		{"https://ghp_TOKEN@raw.example.com/jwks.json", "https://xxxxx@raw.example.com/jwks.json"},
		{"https://app.example.com/jwks.json#access_token=abc", "https://app.example.com/jwks.json#xxxxx"},
		{"testdata/jwks.json", "testdata/jwks.json"},
		{"C:\\keys\\jwks.json", "C:\\keys\\jwks.json"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
