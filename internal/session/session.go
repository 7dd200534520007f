// Package session keeps the portal session between commands.
//
// A session is the set of cookies a browser sign-in produced. It reaches
// activator three ways: `activator login` stores it here; scripts pass it as
// a Cookie header value (--cookie, ACTIVATOR_COOKIE); or as a file
// (--cookie-file) in Netscape cookies.txt format or as one Cookie header
// line. Stored sessions are written atomically with mode 0600 and their
// values never appear in output, logs or errors.
package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// FileName is the stored session's name inside the state directory.
const FileName = "session.json"

// MaxCookieFileBytes bounds a cookie file: a browser export of a whole
// profile can be large, but not larger than this.
const MaxCookieFileBytes = 8 << 20

// ErrNoSession means no session is stored.
var ErrNoSession = errors.New("no stored session")

// Stored is a saved session.
type Stored struct {
	// Portal is the base URL the session belongs to.
	Portal string `json:"portal"`
	// AppID is the app the sign-in was made for.
	AppID string `json:"app_id,omitempty"`
	// Cookies is a Cookie header value.
	Cookies string `json:"cookies"`
	// SavedAt is when the session was stored.
	SavedAt time.Time `json:"saved_at"`
	// Expires is the earliest expiry among persistent cookies, if any.
	Expires *time.Time `json:"expires,omitempty"`
}

// Save writes the session to path atomically, mode 0600, creating the
// directory (0700) if needed.
func Save(path string, s *Stored) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return WriteSecret(path, append(b, '\n'))
}

// WriteSecret writes data to path through a 0600 temporary file and a
// rename, so the file is never visible with wider permissions or half
// written.
func WriteSecret(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Load reads a stored session. A missing file is ErrNoSession. A file
// readable by others is tightened to 0600 before it is read.
func Load(path string) (*Stored, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read stored session: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("stored session %s is readable by others and cannot be fixed: %w", path, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stored session: %w", err)
	}
	var s Stored
	if err := json.Unmarshal(b, &s); err != nil || s.Cookies == "" {
		return nil, fmt.Errorf("stored session %s is damaged: run `activator login` again", path)
	}
	return &s, nil
}

// PortalMismatchError is a stored session that belongs to another portal.
type PortalMismatchError struct {
	Stored, Want string
}

func (e *PortalMismatchError) Error() string {
	return fmt.Sprintf("the stored session is for %s, not %s", e.Stored, e.Want)
}

// LoadFor reads the session stored at path for portal (a base URL in
// portal.NormalizeBaseURL's form): ErrNoSession when none is stored, a
// *PortalMismatchError when it belongs to another portal.
func LoadFor(path, base string) (*Stored, error) {
	st, err := Load(path)
	if err != nil {
		return nil, err
	}
	stored := strings.TrimRight(st.Portal, "/")
	if n, err := portal.NormalizeBaseURL(st.Portal); err == nil {
		stored = n // saved by an activator that kept another form
	}
	if st.Portal != "" && stored != base {
		return nil, &PortalMismatchError{Stored: st.Portal, Want: base}
	}
	return st, nil
}

// Renew stores cookies, which the portal renewed during a command (sliding
// expiration), as the session at path, keeping its portal, app and expiry.
func Renew(path, cookies string, at time.Time) error {
	st, err := Load(path)
	if err != nil {
		return err
	}
	st.Cookies, st.SavedAt = cookies, at.UTC()
	return Save(path, st)
}

// Delete removes a stored session; a missing one is not an error.
func Delete(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ReadCookieFile reads a cookie file for the portal host: Netscape
// cookies.txt (as browsers' export extensions and curl write it), or a
// single Cookie header line ("Cookie: a=b; c=d" or just "a=b; c=d").
func ReadCookieFile(path, host string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cookie file: %w (pass a readable file to --cookie-file)", unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("cookie file: %w", unwrapPath(err))
	}
	if st.IsDir() {
		return "", fmt.Errorf("cookie file %s is a directory: pass a cookies.txt file or a file holding one Cookie header line", path)
	}
	if st.Size() > MaxCookieFileBytes {
		return "", fmt.Errorf("cookie file %s is larger than %d bytes: is it a cookies file?", path, MaxCookieFileBytes)
	}
	b := make([]byte, st.Size())
	if _, err := f.Read(b); err != nil && st.Size() > 0 {
		return "", fmt.Errorf("cookie file: %w", unwrapPath(err))
	}
	v, err := ParseCookieFile(b, host)
	if err != nil {
		return "", fmt.Errorf("cookie file %s: %w", path, err)
	}
	return v, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// ParseCookieFile turns a cookie file's contents into a Cookie header value
// for host. Netscape lines for other domains, and expired ones, are skipped.
func ParseCookieFile(b []byte, host string) (string, error) {
	text := strings.TrimSpace(string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	if text == "" {
		return "", errors.New("it is empty: export the portal's cookies after signing in, or run `activator login`")
	}
	if !isNetscape(text) {
		line := strings.TrimSpace(strings.SplitN(text, "\n", 2)[0])
		line = strings.TrimSpace(strings.TrimPrefix(line, "Cookie:"))
		if _, err := http.ParseCookie(line); err != nil || !strings.Contains(line, "=") {
			return "", errors.New("it is neither a Netscape cookies.txt file nor one Cookie header line (name=value; name2=value2)")
		}
		return line, nil
	}
	var pairs []string
	now := time.Now().Unix()
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), MaxCookieFileBytes)
	for sc.Scan() {
		line := sc.Text()
		line = strings.TrimPrefix(line, "#HttpOnly_")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 7 {
			return "", errors.New("a line has fewer than 7 tab-separated fields: is it a Netscape cookies.txt file?")
		}
		domain := strings.TrimPrefix(strings.ToLower(fields[0]), ".")
		if host != "" && !domainMatch(strings.ToLower(host), domain) {
			continue
		}
		var exp int64
		fmt.Sscan(fields[4], &exp)
		if exp != 0 && exp < now {
			continue
		}
		pairs = append(pairs, fields[5]+"="+fields[6])
	}
	if len(pairs) == 0 {
		return "", fmt.Errorf("it holds no unexpired cookies for %s: sign in again and export them", host)
	}
	return strings.Join(pairs, "; "), nil
}

func isNetscape(text string) bool {
	if strings.HasPrefix(text, "# Netscape HTTP Cookie File") || strings.HasPrefix(text, "# HTTP Cookie File") {
		return true
	}
	first := strings.SplitN(text, "\n", 2)[0]
	return strings.Count(first, "\t") >= 6 || strings.HasPrefix(first, "#HttpOnly_")
}

func domainMatch(host, domain string) bool {
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return host == domain || strings.HasSuffix(host, "."+domain)
}
