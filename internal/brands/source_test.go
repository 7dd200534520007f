package brands

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOpenURL(t *testing.T) {
	small, err := os.ReadFile(filepath.Join(fixture, "small.json"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); !strings.Contains(got, "application/fhir+json") {
			t.Errorf("Accept = %q, want FHIR JSON first", got)
		}
		if got := r.Header.Get("User-Agent"); got != "activator/test" {
			t.Errorf("User-Agent = %q", got)
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("Last-Modified", "Tue, 10 Feb 2026 08:00:00 GMT")
		w.Write(small)
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><body>Sign in</body></html>")
	})
	mux.HandleFunc("/html-as-json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "<!DOCTYPE html><html></html>")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) {
		// Promise the whole file, send half, hang up.
		w.Header().Set("Content-Length", strconv.Itoa(len(small)))
		w.Write(small[:len(small)/2])
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"resourceType":"Bundle","entry":[`+strings.Repeat(`{"resource":{"resourceType":"Location"}},`, 100)+`{}]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		url      string
		max      int64
		wantErr  string // "" for success, "input" or "unavailable"
		contains string
	}{
		{name: "ok", url: srv.URL + "/ok"},
		{name: "html page", url: srv.URL + "/html", wantErr: "input", contains: "answered an HTML page"},
		{name: "html labelled json", url: srv.URL + "/html-as-json", wantErr: "input", contains: "HTML page"},
		{name: "not found", url: srv.URL + "/missing", wantErr: "input", contains: "HTTP 404"},
		{name: "server down", url: srv.URL + "/down", wantErr: "unavailable", contains: "HTTP 503"},
		{name: "unreachable", url: closedURL + "/Endpoints/Brands", wantErr: "unavailable", contains: "cannot download"},
		{name: "cut short", url: srv.URL + "/cut", wantErr: "unavailable", contains: "broke off"},
		{name: "too big", url: srv.URL + "/big", max: 1000, wantErr: "input", contains: "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rc, info, err := Open(ctx, tc.url, OpenOptions{Client: &http.Client{Timeout: 5 * time.Second}, UserAgent: "activator/test", MaxBytes: tc.max})
			var dir *Directory
			if err == nil {
				defer rc.Close()
				if !info.URL || info.Name != tc.url {
					t.Errorf("source = %+v", info)
				}
				dir, err = Parse(rc)
			}
			checkErr(t, err, tc.wantErr, tc.contains)
			if tc.wantErr == "" {
				if len(dir.Endpoints) != 7 {
					t.Errorf("got %d endpoints, want 7", len(dir.Endpoints))
				}
				if want := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC); !info.LastModified.Equal(want) {
					t.Errorf("LastModified = %v, want %v", info.LastModified, want)
				}
			}
		})
	}
}

func TestOpenFile(t *testing.T) {
	tmp := t.TempDir()
	tests := []struct {
		name, src string
		wantErr   string
		contains  string
	}{
		{name: "ok", src: filepath.Join(fixture, "small.json")},
		{name: "missing", src: filepath.Join(tmp, "nope.json"), wantErr: "input", contains: "no such file"},
		{name: "directory", src: tmp, wantErr: "input", contains: "is a directory"},
		{name: "other scheme", src: "ftp://example.org/brands.json", wantErr: "input", contains: "only files and http(s) URLs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, info, err := Open(context.Background(), tc.src, OpenOptions{})
			if err == nil {
				defer rc.Close()
				if info.URL || info.Name != tc.src {
					t.Errorf("source = %+v", info)
				}
				_, err = Parse(rc)
			}
			checkErr(t, err, tc.wantErr, tc.contains)
		})
	}
}

func checkErr(t *testing.T, err error, want, contains string) {
	t.Helper()
	var ie *InputError
	var ue *UnavailableError
	switch want {
	case "":
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	case "input":
		if !errors.As(err, &ie) {
			t.Fatalf("err = %v (%T), want *InputError", err, err)
		}
	case "unavailable":
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v (%T), want *UnavailableError", err, err)
		}
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("error %q does not contain %q", err, contains)
	}
}

// TestOpenURLCancelled stops a download that never starts answering.
func TestOpenURLCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and stay silent
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = Open(ctx, "http://"+ln.Addr().String()+"/Endpoints/Brands", OpenOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

// TestOpenFileCancelled stops reading a file once the run is interrupted.
func TestOpenFileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rc, _, err := Open(ctx, filepath.Join(fixture, "small.json"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cancel()
	_, err = Parse(rc)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var ie *InputError
	if errors.As(err, &ie) {
		t.Fatalf("an interruption was reported as bad input: %v", err)
	}
}
