package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/report"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// reportScreenshot keeps the browser test's screenshot of the HTML report:
// go test ./internal/cli -run HTMLReportInChromium -report-screenshot /tmp/report.png
var reportScreenshot = flag.String("report-screenshot", "", "also write the HTML report's screenshot to this PNG file")

// TestReportFiles writes each format to a file and reads it back.
func TestReportFiles(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		file   string
		format string
	}{
		{"csv", []string{"--format", "csv"}, "orgs.csv", "CSV"},
		{"json", []string{"--format", "json"}, "report.json", "JSON"},
		{"html", []string{"--format", "html"}, "report.html", "HTML"},
		{"csv from the extension", nil, "from-ext.CSV", "CSV"},
		{"json from the extension", nil, "from-ext.json", "JSON"},
		{"html by default", nil, "report.out", "HTML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			code, _, errOut := e.run(t, state, append([]string{"report", "--out", path}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if want := "Wrote the " + tt.format + " report of 41 organizations to " + path; !strings.Contains(errOut, want) {
				t.Errorf("stderr %q does not say %q", errOut, want)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkReportContent(t, tt.format, b)
		})
	}
	left, err := filepath.Glob(filepath.Join(dir, ".*"))
	if err != nil || len(left) > 0 {
		t.Errorf("temporary files left behind: %v %v", left, err)
	}
}

// checkReportContent parses a report and checks it covers every
// organization of the history.
func checkReportContent(t *testing.T, format string, b []byte) {
	t.Helper()
	switch format {
	case "CSV":
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v", err)
		}
		if len(rows) != 42 || strings.Join(rows[0], ",") != strings.Join(report.CSVHeader, ",") {
			t.Fatalf("CSV: %d rows, header %v", len(rows), rows[0])
		}
	case "JSON":
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("JSON: %v", err)
		}
		if len(r.Orgs) != 41 || len(r.History) != 7 || r.Listed != 40 || r.Gone != 1 {
			t.Fatalf("JSON: %d orgs, %d syncs, %d listed, %d gone; want 41, 7, 40, 1", len(r.Orgs), len(r.History), r.Listed, r.Gone)
		}
	case "HTML":
		s := string(b)
		if !strings.HasPrefix(s, "<!doctype html>") || !strings.Contains(s, "<svg class=\"chart\"") || !strings.Contains(s, "<style>") {
			t.Fatalf("HTML: not a page with inline CSS and an SVG chart:\n%.300s", s)
		}
		// Nothing that makes the browser fetch or run anything.
		for _, re := range []string{`(?i)<script`, `(?i)\ssrc=`, `(?i)<link`, `(?i)url\(`, `(?i)@import`, `(?i)\shref=`} {
			if m := regexp.MustCompile(re).FindString(s); m != "" {
				t.Errorf("HTML: %q found: the page must be self-contained", m)
			}
		}
	}
}

// TestReportOverwriteAndStdout replaces an existing report in place and
// writes to standard output with --out -.
func TestReportOverwriteAndStdout(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, []byte("old report"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := e.run(t, state, "report", "--out", path); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, _ := os.ReadFile(path)
	checkReportContent(t, "JSON", b)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after replacing a 0600 file, want 0600 kept", st.Mode().Perm())
	}
	code, out, errOut := e.run(t, state, "report", "--out", "-", "--format", "html")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	checkReportContent(t, "HTML", []byte(out))
	if code, _, errOut := e.run(t, state, "report", "--out", path, "--quiet"); code != ExitOK || errOut != "" {
		t.Errorf("--quiet: exit %d, stderr %q", code, errOut)
	}
}

// findChromium returns the browser to render with; a test that needs one
// and finds none fails on CI and is skipped elsewhere. -short skips it too
// (make test-short).
func findChromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium: run without -short (make test)")
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (CI=true): install the Debian package chromium")
	}
	t.Skip("no Chromium found: the HTML report is not rendered (install the Debian package chromium)")
	return ""
}

// renderedReport is what the test reads back from the rendered page.
type renderedReport struct {
	Title   string         `json:"title"`
	Scripts int            `json:"scripts"`
	Tiles   map[string]int `json:"tiles"`
	// TileText holds each tile's displayed number, to compare with its
	// data-count.
	TileText map[string]string `json:"tileText"`
	Others   map[string]int    `json:"others"`
	Legend   []string          `json:"legend"`
	Bars     []struct {
		Sync  int64          `json:"sync"`
		Total int            `json:"total"`
		Segs  map[string]int `json:"segs"`
		// Height is the drawn height of the bar's segments in pixels.
		Height float64 `json:"height"`
	} `json:"bars"`
	Rows      map[string]int `json:"rows"`
	Attention int            `json:"attention"`
	JKU       int            `json:"jku"`
	Width     float64        `json:"width"`
	Height    float64        `json:"height"`
}

const readReportJS = `(() => {
  const data = {title: document.title, scripts: document.scripts.length, tiles: {}, tileText: {}, others: {},
    legend: [], bars: [], rows: {}, attention: 0, jku: 0,
    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight};
  for (const e of document.querySelectorAll('.tile[data-status]')) {
    data.tiles[e.dataset.status] = +e.dataset.count;
    data.tileText[e.dataset.status] = e.querySelector('.n').textContent.trim();
  }
  for (const e of document.querySelectorAll('.tile[data-tile]')) data.others[e.dataset.tile] = +e.dataset.count;
  for (const e of document.querySelectorAll('[data-legend]')) data.legend.push(e.dataset.legend);
  for (const g of document.querySelectorAll('svg.chart g.bar')) {
    const bar = {sync: +g.dataset.sync, total: +g.dataset.total, segs: {}, height: 0};
    for (const r of g.querySelectorAll('rect[data-status]')) {
      bar.segs[r.dataset.status] = +r.dataset.count;
      bar.height += r.getBoundingClientRect().height;
    }
    data.bars.push(bar);
  }
  for (const r of document.querySelectorAll('#orgs tbody tr[data-listed="true"]')) data.rows[r.dataset.status] = (data.rows[r.dataset.status] || 0) + 1;
  data.attention = document.querySelectorAll('#attention tbody tr').length;
  data.jku = document.querySelectorAll('#jku tbody tr').length;
  return data;
})()`

// statusClassOf names an Approved value's class the way the page does:
// the expectation is written out here, not taken from the code under test.
func statusClassOf(s int) string {
	switch s {
	case 1:
		return "enabled"
	case 3:
		return "nonprod-only"
	case 0:
		return "not-responded"
	}
	return "unknown"
}

// TestHTMLReportInChromium renders the HTML report in headless Chromium,
// takes a screenshot, and checks that the numbers on the page are the
// database's.
func TestHTMLReportInChromium(t *testing.T) {
	browser := findChromium(t)
	e := historyState(t)
	state := e.copyState(t)
	path := filepath.Join(t.TempDir(), "report.html")
	if code, _, errOut := e.run(t, state, "report", "--out", path); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, r.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("svg.chart"))); err != nil {
		t.Fatalf("render the report: %v", err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[renderedReport](readReportJS))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "report.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if *reportScreenshot != "" {
		if err := os.WriteFile(*reportScreenshot, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	mu.Lock()
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s: it must be self-contained", u)
		}
	}
	mu.Unlock()
	if got.Scripts != 0 {
		t.Errorf("%d scripts on the page, want none", got.Scripts)
	}
	if got.Title != "Activation report · app 50741" {
		t.Errorf("title %q", got.Title)
	}

	// The database's own numbers, read with SQL.
	s, err := store.Open(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.DB().QueryContext(ctx, `SELECT o.status, COUNT(*) FROM orgs o JOIN apps a ON a.id = o.app
		WHERE a.portal = ? AND a.app_id = ? AND o.gone_since IS NULL GROUP BY o.status`, e.portal, sim.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for rows.Next() {
		var status, n int
		if err := rows.Scan(&status, &n); err != nil {
			t.Fatal(err)
		}
		want[statusClassOf(status)] += n
	}
	rows.Close()
	var gone int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs WHERE gone_since IS NOT NULL`).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{"enabled", "nonprod-only", "not-responded", "unknown"} {
		if want[class] == 0 && class == "unknown" {
			continue
		}
		if got.Tiles[class] != want[class] {
			t.Errorf("tile %s shows %d, the database has %d", class, got.Tiles[class], want[class])
		}
		if got.TileText[class] != strconv.Itoa(want[class]) {
			t.Errorf("tile %s displays %q, the database has %d", class, got.TileText[class], want[class])
		}
		if got.Rows[class] != want[class] {
			t.Errorf("the table has %d %s rows, the database %d", got.Rows[class], class, want[class])
		}
	}
	if got.Others["gone"] != gone || gone != 1 {
		t.Errorf("gone tile %d, database %d", got.Others["gone"], gone)
	}
	if got.Others["attention"] != got.Attention || got.Attention != 2 || got.Others["jku"] != got.JKU || got.JKU != 5 {
		t.Errorf("attention tile %d (%d rows), JWK Set URL tile %d (%d rows); want 2 and 5", got.Others["attention"], got.Attention, got.Others["jku"], got.JKU)
	}
	if strings.Join(got.Legend, ",") != "enabled,nonprod-only,not-responded,unknown" {
		t.Errorf("legend %v", got.Legend)
	}

	// One bar per sync, each the sync's recorded counts.
	srows, err := s.DB().QueryContext(ctx, `SELECT id, total, counts FROM syncs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type syncRow struct {
		id, total int64
		counts    map[string]int
	}
	var syncs []syncRow
	for srows.Next() {
		var r syncRow
		var counts string
		if err := srows.Scan(&r.id, &r.total, &counts); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(counts), &r.counts); err != nil {
			t.Fatal(err)
		}
		syncs = append(syncs, r)
	}
	srows.Close()
	if len(got.Bars) != len(syncs) {
		t.Fatalf("%d bars for %d syncs", len(got.Bars), len(syncs))
	}
	var tallest float64
	for i, sy := range syncs {
		bar := got.Bars[i]
		wantSegs := map[string]int{}
		for k, n := range sy.counts {
			var status int
			if err := json.Unmarshal([]byte(k), &status); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				wantSegs[statusClassOf(status)] += n
			}
		}
		if bar.Sync != sy.id || int64(bar.Total) != sy.total || !sameCounts(bar.Segs, wantSegs) {
			t.Errorf("bar %d = sync %d total %d %v; database: sync %d total %d %v", i, bar.Sync, bar.Total, bar.Segs, sy.id, sy.total, wantSegs)
		}
		if bar.Height <= 0 {
			t.Errorf("bar %d is not drawn", i)
		}
		tallest = max(tallest, bar.Height)
	}
	// Every sync listed 40 organizations: the bars are equally tall.
	for i, bar := range got.Bars {
		if d := bar.Height - tallest; d < -1 || d > 1 {
			t.Errorf("bar %d is %.1f px tall, the tallest %.1f: equal totals must draw equal bars", i, bar.Height, tallest)
		}
	}

	// The screenshot is a real picture of the page: a PNG as wide as the
	// window and as tall as the page, with the status colours drawn.
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || float64(b.Dy()) < got.Height-1 {
		t.Errorf("screenshot %dx%d, page %.0fx%.0f", b.Dx(), b.Dy(), got.Width, got.Height)
	}
	for name, c := range map[string][3]uint8{"enabled green": {0x2f, 0x9e, 0x44}, "not-responded amber": {0xf0, 0x8c, 0x00}, "header": {0x17, 0x21, 0x2b}} {
		if n := countColour(img, c); n < 500 {
			t.Errorf("screenshot: %d pixels of %s, want a visible area", n, name)
		}
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// countColour counts the pixels (one in four) within a small distance of c.
func countColour(img image.Image, c [3]uint8) int {
	n := 0
	b := img.Bounds()
	near := func(v uint32, want uint8) bool {
		d := int(v>>8) - int(want)
		return d > -6 && d < 6
	}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, c[0]) && near(g, c[1]) && near(bl, c[2]) {
				n++
			}
		}
	}
	return n
}
