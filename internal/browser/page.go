package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// pageState is what one look at the page finds. It never carries a value
// of an input, only whether inputs are there.
type pageState struct {
	// Doc identifies the document, so a page replaced by a form submission
	// is told apart from the one still showing.
	Doc     string `json:"doc"`
	Loading bool   `json:"loading"`
	// Origin, Host and Path say where the page is (never its query, which
	// may carry a ticket or a code); Title is its title.
	Origin string `json:"origin"`
	Host   string `json:"host"`
	Path   string `json:"path"`
	Title  string `json:"title"`
	// Management: the address is the app's management page.
	Management bool `json:"management"`
	// Which sign-in inputs are visible.
	User       bool `json:"user"`
	Pass       bool `json:"pass"`
	Submit     bool `json:"submit"`
	Code       bool `json:"code"`
	CodeSubmit bool `json:"codeSubmit"`
	// Continue: a visible button that moves on from a notice page.
	Continue bool `json:"continue"`
	// Error is the visible text of the page's error message, if any.
	Error string `json:"error"`
}

func (p pageState) signInForm() bool { return p.User || p.Pass || p.Code }

// where names the page for a person: its title and host and path.
func (p pageState) where() string {
	title := strings.Join(strings.Fields(p.Title), " ")
	if len(title) > MaxMessageLen {
		title = title[:MaxMessageLen] + "..."
	}
	if title == "" {
		return "a page without a title at " + p.Host + p.Path
	}
	return fmt.Sprintf("%q at %s%s", title, p.Host, p.Path)
}

// continueJS finds the Continue control: the first visible element of the
// Continue selector, else a visible button or link whose text starts with
// "Continue". It is shared by the probe and the click.
const continueJS = `const findContinue = (cfg, q, vis) => {
  const el = q(cfg.cont);
  if (vis(el)) return el;
  for (const c of document.querySelectorAll('button, input[type="submit"], input[type="button"], a')) {
    const t = String(c.innerText || c.value || c.textContent || '').trim();
    if (/^continue\b/i.test(t) && vis(c)) return c;
  }
  return null;
};`

// probeJS looks at the page. It is given the portal's base URL, the
// management path and app id and the selectors as a JSON object.
const probeJS = `(() => {
  const cfg = %s;
  const q = (s) => { try { return s ? document.querySelector(s) : null; } catch (e) { return null; } };
  const vis = (el) => !!el && !el.disabled && !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  ` + continueJS + `
  let management = false;
  try {
    const here = new URL(location.href), base = new URL(cfg.base);
    management = here.origin === base.origin && here.pathname.toLowerCase() === cfg.path.toLowerCase() &&
      here.searchParams.get('id') === cfg.app;
  } catch (e) {}
  const err = q(cfg.error);
  return {
    doc: String(performance.timeOrigin),
    loading: document.readyState === 'loading',
    origin: location.origin, host: location.host, path: location.pathname,
    title: String(document.title || ''),
    management: management,
    user: vis(q(cfg.user)), pass: vis(q(cfg.pass)), submit: vis(q(cfg.submit)),
    code: vis(q(cfg.code)), codeSubmit: vis(q(cfg.codeSubmit)),
    continue: !!findContinue(cfg, q, vis),
    error: vis(err) ? String(err.innerText || err.textContent || '').trim() : '',
  };
})()`

// clickContinueJS presses the Continue control the probe saw.
const clickContinueJS = `(() => {
  const cfg = %s;
  const q = (s) => { try { return s ? document.querySelector(s) : null; } catch (e) { return null; } };
  const vis = (el) => !!el && !el.disabled && !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  ` + continueJS + `
  const el = findContinue(cfg, q, vis);
  if (!el) return false;
  el.click();
  return true;
})()`

// config is the JSON object probeJS and clickContinueJS are given.
func (s *signIn) config() []byte {
	cfg, _ := json.Marshal(map[string]string{
		"base": s.base.String(), "path": s.mgmt.Path, "app": s.o.AppID,
		"user": s.sel.Username, "pass": s.sel.Password, "submit": s.sel.Submit,
		"code": s.sel.Code, "codeSubmit": s.sel.CodeSubmit, "cont": s.sel.Continue, "error": s.sel.Error,
	})
	return cfg
}

// probe looks at the page once.
func (s *signIn) probe() (pageState, error) {
	ctx, cancel := context.WithTimeout(s.bctx, DefaultStepTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[pageState](fmt.Sprintf(probeJS, s.config())))
}

// tell says in the terminal what the browser shows, once per page.
func (s *signIn) tell(st pageState) {
	key := st.Origin + st.Path + "\x00" + st.Title + "\x00" + fmt.Sprint(st.signInForm(), st.Code, st.Continue)
	if key == s.told {
		return
	}
	s.told = key
	onPortal := st.Origin == s.origin()
	var what string
	switch {
	case st.Code:
		if s.o.Mode == Interactive {
			s.o.Logf("The portal asks for a second factor: enter it in the browser window (%s).", st.where())
			return
		}
		what = "a one-time code page"
	case st.signInForm():
		what = "a sign-in page"
		if s.o.Mode == Interactive {
			what += "; waiting for you to sign in"
		}
	case st.Continue:
		what = "a page with a Continue button"
		if s.o.Mode == Interactive {
			what += "; waiting for you to press it"
		}
	case st.Management:
		what = "the app's management page; checking the session"
	case onPortal:
		what = "a page of the portal; checking the session"
	default:
		what = "a page of another site; waiting for it to come back to the portal"
	}
	s.o.Logf("The browser shows %s: %s.", st.where(), what)
}

// origin is the portal's origin as a browser writes location.origin.
func (s *signIn) origin() string { return s.base.Scheme + "://" + s.base.Host }
