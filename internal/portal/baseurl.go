package portal

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrCredentialsInURL is returned for a portal URL that carries a user
// name or password: a session comes from signing in, never from the URL,
// and a URL is printed and stored.
var ErrCredentialsInURL = errors.New("a portal URL must not carry a user name or password")

// NormalizeBaseURL returns the one form of a portal's address that is
// stored and compared: scheme and host in lower case, no default port
// (:443 for https, :80 for http), no query, no fragment, no trailing slash.
// https://FHIR.epic.com:443/?x=1#top and https://fhir.epic.com are the same
// portal, with one history. A URL with a user name or password is refused
// (ErrCredentialsInURL; the error shows it redacted); so is anything that
// is not an absolute http(s) URL with a host.
func NormalizeBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: use the portal's address, e.g. %s", raw, DefaultBaseURL)
	}
	if u.User != nil {
		return "", fmt.Errorf("%w (%s): sign in with `activator login` instead", ErrCredentialsInURL, u.Redacted())
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an http(s) URL: use the portal's address, e.g. %s", raw, DefaultBaseURL)
	}
	host, port := u.Hostname(), u.Port()
	host = strings.ToLower(host)
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	u.Host = host
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}
