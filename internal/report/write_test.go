package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

// awkwardNames are organization names a report must carry unharmed.
var awkwardNames = []string{
	`St. Mary's "Mercy", Inc.`,
	"Cañon City\nRegional",
	`<script>alert("x")</script> & Sons`,
	"=HYPERLINK(\"http://evil\")",
}

// awkwardReport is a history whose organizations have awkward names.
func awkwardReport(t *testing.T) *Report {
	t.Helper()
	st := newState(t)
	for i, name := range awkwardNames {
		id := strconv.Itoa(i + 1)
		st.orgs[id] = store.Org{OrgID: id, Name: name, ECMId: "7" + id, Status: i % 4}
	}
	st.sync(t0)
	st.run(t0.Add(time.Minute), store.RunFailures, ok("2", store.EnvBoth, ModeJWKS, keysA, keysA),
		fail("1", store.ResultRefused, `Failed to register client for "download".`))
	return st.build(t0.Add(time.Hour))
}

func TestWriteCSVRoundTrip(t *testing.T) {
	r := awkwardReport(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(rows) != len(awkwardNames)+1 {
		t.Fatalf("%d rows, want a header and %d", len(rows), len(awkwardNames))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, row := range rows[1:] {
		if len(row) != len(CSVHeader) {
			t.Fatalf("row %d has %d cells, the header %d", i, len(row), len(CSVHeader))
		}
		// A formula is neutralised (OWASP: a leading single quote); the
		// rest reads back exactly.
		want := awkwardNames[i]
		if strings.HasPrefix(want, "=") {
			want = "'" + want
		}
		if row[col["name"]] != want {
			t.Errorf("row %d name %q, want %q", i, row[col["name"]], want)
		}
	}
	if got := rows[1][col["lastError"]]; got != `Failed to register client for "download".` {
		t.Errorf("last error %q", got)
	}
	if rows[1][col["attention"]] != ReasonRefused || rows[1][col["lastErrorSince"]] != "2026-05-04T08:01:01Z" {
		t.Errorf("org 1: attention %q since %q", rows[1][col["attention"]], rows[1][col["lastErrorSince"]])
	}
	if rows[2][col["mode"]] != ModeJWKS || rows[2][col["kids"]] != "key-a" || rows[2][col["lastUploadRun"]] != "1" {
		t.Errorf("org 2: mode %q kids %q run %q", rows[2][col["mode"]], rows[2][col["kids"]], rows[2][col["lastUploadRun"]])
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	r := awkwardReport(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Orgs) != len(awkwardNames) || back.Orgs[2].Name != awkwardNames[2] || len(back.History) != 1 {
		t.Errorf("round trip lost data: %d orgs, %d syncs", len(back.Orgs), len(back.History))
	}
}

// TestWriteJSONEmpty keeps every list a list, never null or missing.
func TestWriteJSONEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, newState(t).build(t0)); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"counts", "attention", "keySets", "jwkSetUrl", "history", "orgs"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s = %v, want a list", k, m[k])
		}
	}
	for _, k := range []string{"lastSync", "lastRun", "brands"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
}

// TestWriteHTMLEscapes keeps names from turning into markup.
func TestWriteHTMLEscapes(t *testing.T) {
	r := awkwardReport(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script") {
		t.Errorf("an organization name became a script element")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons") {
		t.Errorf("the name is not shown escaped")
	}
	for _, want := range []string{`data-status="enabled" data-count="1"`, `data-tile="attention" data-count="2"`, `<g class="bar" data-sync="1" data-total="4">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// TestWriteHTMLStates renders the page for an empty state and a busy one.
func TestWriteHTMLStates(t *testing.T) {
	tests := []struct {
		name  string
		build func(st *state)
		want  []string
		not   []string
	}{
		{"nothing recorded", func(st *state) {}, []string{"No sync recorded yet", "Nothing needs attention.", "No activation run yet", "No sync yet"},
			[]string{`data-tile="gone"`, `data-status="unknown"`, "<th>FHIR base URL</th>"}},
		{"brands imported", func(st *state) {
			st.org("1", 1).org("2", 0).sync(t0)
			if _, err := st.s.ReplaceBrands(st.ctx, st.app.ID, &store.BrandsData{Import: store.BrandsImport{ImportedAt: t0, Source: "b.json"},
				Endpoints: []store.Endpoint{{OrgID: "1", Address: "https://fhir.one.test/R4/"}}}); err != nil {
				st.t.Fatal(err)
			}
		}, []string{"<th>FHIR base URL</th>", "https://fhir.one.test/R4/", "FHIR base URLs from the Brands bundle imported 2026-05-04 08:00 UTC"},
			[]string{"No Brands bundle imported"}},
		{"gone and unknown", func(st *state) {
			st.org("1", 1).org("2", 9).sync(t0)
			delete(st.orgs, "1")
			st.sync(t0.Add(time.Hour), store.Event{OrgID: "1", Kind: store.EventGone})
		}, []string{`data-tile="gone" data-count="1"`, `data-status="unknown" data-count="1"`, "no longer listed", "2 syncs from"},
			[]string{"<th>FHIR base URL</th>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newState(t)
			tt.build(st)
			var buf bytes.Buffer
			if err := WriteHTML(&buf, st.build(t0.Add(2*time.Hour))); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(buf.String(), w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

// TestWriteFile writes atomically, keeping an existing file's mode (0644
// for a new one), and leaves the previous file alone when writing fails.
func TestWriteFile(t *testing.T) {
	r := awkwardReport(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.csv")
	if err := os.WriteFile(path, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		format  string
		wantErr error
		content string // prefix of the file afterwards
	}{
		{"replaces the previous report", path, FormatCSV, nil, "orgId,name,"},
		{"failed render keeps the previous file", path, "pdf", nil, "orgId,name,"},
		{"missing directory", filepath.Join(dir, "missing", "r.csv"), FormatCSV, ErrNoDir, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, tt.format, r)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			case tt.format == "pdf" && err == nil:
				t.Fatal("an unknown format was written")
			case tt.wantErr == nil && tt.format != "pdf" && err != nil:
				t.Fatal(err)
			}
			if tt.content != "" {
				b, err := os.ReadFile(tt.path)
				if err != nil || !strings.HasPrefix(string(b), tt.content) {
					t.Errorf("file holds %.40q (%v), want it to start with %q", b, err, tt.content)
				}
				st, _ := os.Stat(tt.path)
				if st.Mode().Perm() != 0o600 {
					t.Errorf("mode %v, want the previous file's 0600", st.Mode().Perm())
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// TestWriteFileKinds writes over each kind of thing a path can name:
// regular files are replaced atomically keeping their mode, symbolic links
// are written through (the link stays a link), devices and FIFOs are
// written to directly and never replaced, directories and sockets are
// refused.
func TestWriteFileKinds(t *testing.T) {
	r := awkwardReport(t)
	isReport := func(b []byte) bool { return bytes.HasPrefix(b, []byte("orgId,name,")) }
	tests := []struct {
		name string
		// setup makes the thing and returns the path to write.
		setup   func(t *testing.T, dir string) string
		wantErr error
		// check inspects dir afterwards.
		check func(t *testing.T, dir, path string)
	}{
		{"new file gets 0644", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "new.csv")
		}, nil, func(t *testing.T, dir, path string) {
			wantFile(t, path, 0o644, isReport)
		}},
		{"0600 file stays 0600", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "old.csv")
			mustWrite(t, p, "old", 0o600)
			return p
		}, nil, func(t *testing.T, dir, path string) {
			wantFile(t, path, 0o600, isReport)
		}},
		{"0664 file stays 0664", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "old.csv")
			mustWrite(t, p, "old", 0o600)
			os.Chmod(p, 0o664)
			return p
		}, nil, func(t *testing.T, dir, path string) {
			wantFile(t, path, 0o664, isReport)
		}},
		{"symlink is written through", func(t *testing.T, dir string) string {
			target := filepath.Join(dir, "sub", "target.csv")
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			mustWrite(t, target, "old", 0o640)
			link := filepath.Join(dir, "link.csv")
			if err := os.Symlink(filepath.Join("sub", "target.csv"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, nil, func(t *testing.T, dir, path string) {
			wantLink(t, path)
			wantFile(t, filepath.Join(dir, "sub", "target.csv"), 0o640, isReport)
		}},
		{"dangling symlink creates its target", func(t *testing.T, dir string) string {
			link := filepath.Join(dir, "link.csv")
			if err := os.Symlink("later.csv", link); err != nil {
				t.Fatal(err)
			}
			return link
		}, nil, func(t *testing.T, dir, path string) {
			wantLink(t, path)
			wantFile(t, filepath.Join(dir, "later.csv"), 0o644, isReport)
		}},
		{"FIFO is written to, not replaced", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "pipe")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			got := make(chan []byte, 1)
			go func() {
				b, _ := os.ReadFile(p)
				got <- b
			}()
			t.Cleanup(func() {
				if b := <-got; !isReport(b) {
					t.Errorf("the FIFO's reader got %.40q", b)
				}
			})
			return p
		}, nil, func(t *testing.T, dir, path string) {
			if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("the FIFO was replaced: %v %v", st.Mode(), err)
			}
		}},
		{"full device says so and stays a device", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "full")
			if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|7); err != nil {
				t.Skip("cannot make a device node here (not root):", err)
			}
			return p
		}, syscall.ENOSPC, func(t *testing.T, dir, path string) {
			if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
				t.Errorf("the device node was replaced: %v %v", st.Mode(), err)
			}
		}},
		{"null device", func(t *testing.T, dir string) string {
			return os.DevNull
		}, nil, func(t *testing.T, dir, path string) {
			if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
				t.Errorf("%s was replaced: %v %v", path, st.Mode(), err)
			}
		}},
		{"directory is refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d")
			os.Mkdir(p, 0o755)
			return p
		}, ErrIsDir, func(t *testing.T, dir, path string) {
			if st, err := os.Stat(path); err != nil || !st.IsDir() {
				t.Errorf("the directory was replaced")
			}
		}},
		{"socket is refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "sock")
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Skip("no unix sockets here:", err)
			}
			t.Cleanup(func() { l.Close() })
			return p
		}, ErrNotRegular, func(t *testing.T, dir, path string) {
			if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeSocket == 0 {
				t.Errorf("the socket was replaced")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			err := WriteFile(path, FormatCSV, r)
			if tt.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			tt.check(t, dir, path)
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

func mustWrite(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, path string, mode fs.FileMode, ok func([]byte) bool) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("%s is not a regular file: %v", path, err)
	}
	if st.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", path, st.Mode().Perm(), mode)
	}
	if b, _ := os.ReadFile(path); !ok(b) {
		t.Errorf("%s holds %.40q", path, b)
	}
}

func wantLink(t *testing.T, path string) {
	t.Helper()
	if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link", path)
	}
}

// bigState is a large history: orgs organizations, syncs syncs, one run
// that activated every organization.
func bigState(b *testing.B, orgs, syncs int) *state {
	b.Helper()
	st := newState(b)
	for i := range orgs {
		st.org(strconv.Itoa(1000+i), 0)
	}
	for i := range syncs {
		if i == syncs/2 {
			for id, o := range st.orgs {
				o.Status = 1
				st.orgs[id] = o
			}
		}
		st.sync(t0.Add(time.Duration(i) * 24 * time.Hour))
	}
	var calls []call
	for id := range st.orgs {
		calls = append(calls, ok(id, store.EnvBoth, ModeJWKS, keysA, keysA))
	}
	st.run(t0.Add(time.Duration(syncs/2)*24*time.Hour), store.RunDone, calls...)
	return st
}

// BenchmarkReport measures building the report and rendering each format
// for 5,000 organizations and a year of daily syncs: ten times the usual
// app, so a nightly report stays instant.
func BenchmarkReport(b *testing.B) {
	st := bigState(b, 5000, 365)
	r, err := Build(st.ctx, st.s, st.app, Options{Now: t0})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Build(st.ctx, st.s, st.app, Options{Now: t0}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(io.Discard, format, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
