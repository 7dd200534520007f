package brands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultMaxBundleBytes bounds what is read from a bundle: Epic's is
// about 85 MB, so 1 GiB leaves room for years of growth while stopping an
// endless or mistaken download.
const DefaultMaxBundleBytes = 1 << 30

// Source is where a bundle was read from.
type Source struct {
	// Name is the file path or URL as given.
	Name string
	// URL is set for a downloaded bundle.
	URL bool
	// LastModified is the server's Last-Modified header, zero when absent
	// or for a file.
	LastModified time.Time
}

// OpenOptions tune Open.
type OpenOptions struct {
	// Client downloads a URL. Its Timeout must cover the whole download
	// (an 85 MB body); nil means http.DefaultClient.
	Client *http.Client
	// UserAgent is sent with a download.
	UserAgent string
	// MaxBytes bounds the size read (DefaultMaxBundleBytes when 0).
	MaxBytes int64
}

// Open returns a reader of the bundle at src, a file path or an http(s)
// URL, streaming: nothing is buffered beyond the transport's own. A
// problem with src itself is an *InputError; a host that cannot be
// reached, or answers 5xx, an *UnavailableError.
func Open(ctx context.Context, src string, opts OpenOptions) (io.ReadCloser, *Source, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBundleBytes
	}
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return openURL(ctx, src, opts, max)
	}
	if strings.Contains(src, "://") {
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %q: only files and http(s) URLs can be read; download it first or use %s", src, DefaultBundleURL)}
	}
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %s: no such file; give the path of a downloaded Brands bundle or its URL, e.g. %s", src, DefaultBundleURL)}
	}
	if err != nil {
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %s: %v", src, err)}
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %s is a directory: give the bundle file itself", src)}
	}
	return &limitedFile{File: f, ctx: ctx, r: io.LimitReader(f, max+1), max: max, name: src}, &Source{Name: src}, nil
}

func openURL(ctx context.Context, src string, opts OpenOptions, max int64) (io.ReadCloser, *Source, error) {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %q is not a valid URL: use e.g. %s", src, DefaultBundleURL)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %q: %v", src, err)}
	}
	req.Header.Set("Accept", "application/fhir+json, application/json;q=0.9")
	if opts.UserAgent != "" {
		req.Header.Set("User-Agent", opts.UserAgent)
	}
	hc := opts.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, &UnavailableError{Msg: "cannot download the bundle from " + u.Host, Err: unwrapURLError(err)}
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		resp.Body.Close()
		return nil, nil, &UnavailableError{Msg: fmt.Sprintf("%s answered HTTP %d for the bundle (try again later)", u.Host, resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %s answered HTTP %d: check the URL (Epic publishes the bundle at %s)", src, resp.StatusCode, DefaultBundleURL)}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" {
		resp.Body.Close()
		return nil, nil, &InputError{Msg: fmt.Sprintf("--bundle %s answered an HTML page, not a FHIR Bundle (a sign-in or error page?): use the bundle's own address, e.g. %s", src, DefaultBundleURL)}
	}
	info := &Source{Name: src, URL: true}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.LastModified = lm.UTC()
	}
	return &downloadBody{body: resp.Body, r: io.LimitReader(resp.Body, max+1), max: max, host: u.Host}, info, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// downloadBody turns a broken download into an UnavailableError (so that
// it is not mistaken for a truncated file) and enforces the size bound.
type downloadBody struct {
	body io.ReadCloser
	r    io.Reader
	max  int64
	n    int64
	host string
}

// Read reads the body, classifying its failures.
func (d *downloadBody) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.n > d.max {
		return n, &InputError{Msg: fmt.Sprintf("the bundle from %s is larger than %d MB: check the URL", d.host, d.max>>20)}
	}
	if err != nil && err != io.EOF {
		if errors.Is(err, context.Canceled) {
			return n, err
		}
		return n, &UnavailableError{Msg: fmt.Sprintf("the download from %s broke off after %d bytes", d.host, d.n), Err: err}
	}
	return n, err
}

// Close closes the response body.
func (d *downloadBody) Close() error { return d.body.Close() }

// limitedFile enforces the size bound on a file and stops reading when
// ctx is cancelled (Ctrl-C during a large file).
type limitedFile struct {
	*os.File
	ctx  context.Context
	r    io.Reader
	max  int64
	n    int64
	name string
}

// Read reads the file within the size bound.
func (f *limitedFile) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	if f.n > f.max {
		return n, &InputError{Msg: fmt.Sprintf("--bundle %s is larger than %d MB: is it the Brands bundle?", f.name, f.max>>20)}
	}
	return n, err
}
