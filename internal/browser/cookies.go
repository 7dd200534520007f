package browser

import (
	"math"
	"net"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
)

// portalCookies keeps the cookies that belong to host (a URL's host, with
// or without a port) and are not expired at now, and renders them as a
// Cookie header value. expires is the earliest expiry among the persistent
// ones (nil when all are session cookies); names lists the cookies kept, for
// messages that must never show values.
func portalCookies(all []*network.Cookie, host string, now time.Time) (header string, expires *time.Time, names []string) {
	h := strings.ToLower(hostOnly(host))
	var pairs []string
	for _, c := range all {
		if c == nil || c.Name == "" {
			continue
		}
		if !domainMatch(h, strings.ToLower(c.Domain)) {
			continue
		}
		if !c.Session && c.Expires > 0 && !math.IsInf(c.Expires, 0) {
			sec, frac := math.Modf(c.Expires)
			t := time.Unix(int64(sec), int64(frac*1e9)).UTC()
			if !t.After(now) {
				continue
			}
			if expires == nil || t.Before(*expires) {
				expires = &t
			}
		}
		pairs = append(pairs, c.Name+"="+c.Value)
		names = append(names, c.Name)
	}
	return strings.Join(pairs, "; "), expires, names
}

// hostOnly drops a port from host.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// domainMatch reports whether a cookie for domain (as the browser reports
// it: "example.com" for a host-only cookie, ".example.com" for a domain
// cookie) is sent to host.
func domainMatch(host, domain string) bool {
	if domain == "" {
		return false
	}
	if strings.HasPrefix(domain, ".") {
		d := domain[1:]
		return host == d || strings.HasSuffix(host, domain)
	}
	return host == domain
}
