package sim

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is the Debian package's browser.
const chromiumPath = "/usr/bin/chromium"

// TestSignInWithARealBrowser signs in through the simulator's pages in
// headless Chromium, second factor included, and reads the management
// page's token the way a browser-driven sign-in does.
func TestSignInWithARealBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no browser at %s", chromiumPath)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	cfg := testConfig()
	cfg.SecondFactor = "864209"
	s, srv := startSim(t, cfg)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTime()

	manage := srv.URL + "/Developer/Management?id=" + DefaultAppID
	if err := chromedp.Do(ctx,
		chromedp.Navigate(manage),
		chromedp.WaitVisible(chromedp.ID("Username")),
		chromedp.SendKeys(chromedp.ID("Username"), DefaultUsername),
		chromedp.SendKeys(chromedp.ID("Password"), "wrong password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("login-error")),
		chromedp.SetValue(chromedp.ID("Password"), DefaultPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("Code")),
		chromedp.SendKeys(chromedp.ID("Code"), cfg.SecondFactor),
		chromedp.Click(chromedp.ID("code-submit")),
		chromedp.WaitVisible(chromedp.ID("downloads-table")),
	); err != nil {
		t.Fatalf("browser sign-in: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != manage {
		t.Fatalf("ended at %q (%v), want %q", loc, err, manage)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "Review & Manage Downloads" {
		t.Fatalf("title %q (%v)", title, err)
	}
	tok, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`input[name="__RequestVerificationToken"]`), "value"))
	if err != nil || !tok.Exists || tok.Value == "" {
		t.Fatalf("token %+v (%v)", tok, err)
	}
	// The browser's token is the session's: a JSON call from the page works.
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/Developer/LoadDownloads", {
		method: "POST",
		headers: {"Content-Type": "application/x-www-form-urlencoded", "RequestVerificationToken": `+"`"+tok.Value+"`"+`},
		body: "appId=`+DefaultAppID+`&PageSize=5&page=0"
	}).then(r => r.status)`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil || status != 200 {
		t.Fatalf("LoadDownloads from the browser: %d (%v)", status, err)
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if last.Path != "/Developer/LoadDownloads" || !last.TokenValid || last.Answer != AnswerOK {
		t.Fatalf("last call %+v", last)
	}
	for _, c := range calls {
		if strings.Contains(c.Form.Encode(), DefaultPassword) || strings.Contains(c.Form.Encode(), cfg.SecondFactor) {
			t.Fatalf("a secret reached the call log")
		}
	}
}
