package doctor

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/activator-dev/activator/internal/portal"
)

// ApprovePath is the route activator posts activations to.
const ApprovePath = "/Developer/ApproveDownload"

// DefaultMaxScripts bounds how many of the page's own scripts are read
// looking for the ApproveDownload call: a page links a few, and each is a
// request.
const DefaultMaxScripts = 5

var (
	scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	srcAttr   = regexp.MustCompile(`(?is)\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	keyRe     = regexp.MustCompile(`(?:^|[{,\s])["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*:`)
)

// approveFindings looks for the ApproveDownload route in the management
// page's scripts (inline, then those it loads from the portal's origin)
// and compares the form fields the script sends with the ones activator
// sends. Nothing is posted.
func approveFindings(ctx context.Context, o Options) ([]portal.Finding, error) {
	page := o.Client.ManagementPage()
	base, err := url.Parse(o.Client.BaseURL())
	if err != nil {
		return nil, err
	}
	where, body := "", ""
	var srcs []string
	for _, m := range scriptTag.FindAllStringSubmatch(page, -1) {
		if s := srcAttr.FindStringSubmatch(m[1]); s != nil {
			srcs = append(srcs, s[1]+s[2]+s[3])
			continue
		}
		if strings.Contains(m[2], "ApproveDownload") {
			where, body = "an inline script of the management page", m[2]
			break
		}
	}
	for i, src := range srcs {
		if where != "" || i >= DefaultMaxScripts {
			break
		}
		u, err := base.Parse(src)
		if err != nil || u.Scheme+"://"+u.Host != base.Scheme+"://"+base.Host {
			continue // another origin's script (a library, a CDN): not the page's own
		}
		var status int
		var text string
		if err := o.Do(ctx, func() error {
			var err error
			status, text, err = o.Client.Fetch(ctx, u.RequestURI())
			return err
		}); err != nil {
			return nil, err
		}
		if status == 200 && strings.Contains(text, "ApproveDownload") {
			where, body = u.Path, text
		}
	}
	if where == "" {
		return []portal.Finding{
			{Verdict: portal.Unknown, Topic: "ApproveDownload route", Text: "the management page's scripts do not mention it; only a call that changes something could tell",
				Fix: "watch the first organizations of the next activate run"},
			{Verdict: portal.Unknown, Topic: "ApproveDownload fields", Text: "not found in the page's scripts"},
		}, nil
	}
	out := []portal.Finding{}
	if strings.Contains(body, ApprovePath) {
		out = append(out, portal.Finding{Verdict: portal.OK, Topic: "ApproveDownload route", Text: ApprovePath + " in " + where + " (not called)"})
	} else {
		out = append(out, portal.Finding{Verdict: portal.Differs, Topic: "ApproveDownload route",
			Text: where + " mentions ApproveDownload but not " + ApprovePath,
			Fix:  "the portal moved the route: do not run activate until activator is updated for it"})
	}
	return append(out, fieldsFinding(body)), nil
}

// fieldsFinding compares the members of the object literal the script
// sends to ApproveDownload with the thirteen fields activator sends.
func fieldsFinding(script string) portal.Finding {
	sent := portal.FormFields
	obj := approveObject(script)
	if obj == "" {
		return portal.Finding{Verdict: portal.Unknown, Topic: "ApproveDownload fields", Text: "the script's form fields could not be read"}
	}
	var keys []string
	for _, m := range keyRe.FindAllStringSubmatch(obj, -1) {
		if !slices.Contains(keys, m[1]) {
			keys = append(keys, m[1])
		}
	}
	var missing, extra []string
	for _, f := range sent {
		if !slices.Contains(keys, f) {
			missing = append(missing, f)
		}
	}
	for _, k := range keys {
		if !slices.Contains(sent, k) {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return portal.Finding{Verdict: portal.OK, Topic: "ApproveDownload fields", Text: fmt.Sprintf("the page's script sends the %d activator sends", len(sent))}
	}
	var parts []string
	if len(extra) > 0 {
		parts = append(parts, "the page's script also sends "+strings.Join(extra, ", "))
	}
	if len(missing) > 0 {
		parts = append(parts, "it does not send "+strings.Join(missing, ", "))
	}
	return portal.Finding{Verdict: portal.Differs, Topic: "ApproveDownload fields", Text: strings.Join(parts, "; "),
		Fix: "the portal changed its activation form: do not run activate until activator is updated for it"}
}

// approveObject is the innermost object literal after the ApproveDownload
// route that holds an OrgId member: the form the script sends.
func approveObject(script string) string {
	i := strings.Index(script, "ApproveDownload")
	if i < 0 {
		return ""
	}
	return orgIDObject(script[i:])
}

// orgIDObject is the body of the first object literal in s holding OrgId,
// descending into the nested literal that holds it, if any.
func orgIDObject(s string) string {
	for start := 0; start < len(s); {
		j := strings.IndexByte(s[start:], '{')
		if j < 0 {
			return ""
		}
		j += start
		end := matchBrace(s, j)
		if end < 0 {
			return ""
		}
		if obj := s[j+1 : end]; strings.Contains(obj, "OrgId") {
			if inner := orgIDObject(obj); inner != "" {
				return inner
			}
			return obj
		}
		start = end + 1
	}
	return ""
}

// matchBrace returns the index of the brace closing the one at open, or
// -1. Braces in strings are not told apart: the form literal has none.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
