package cli

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/activate"
	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/activator-dev/activator/internal/store"
)

// doctorDefault is doctor's report on the simulator's default portal of 40
// organizations: every assumption holds.
var doctorDefault = []string{
	"ok      session: the portal accepts it for app 50741",
	"ok      management page: /Developer/Management?id=50741",
	"ok      anti-forgery token: in the hidden input __RequestVerificationToken; the page also sets a __RequestVerificationToken cookie",
	`ok      LoadDownloads answer: {"Success":true,"Data":{"Downloads":[...]}}`,
	"ok      download fields: Id string, OrgName string, Approved number, ECMId number",
	"ok      Id: {OrgId}_{AppId} of this app in all 40",
	"ok      other fields (not used): AppId, AppName, DownloadDate, IsAutoSync",
	"ok      Approved values: 0 for 33, 1 for 4, 3 for 2; unknown: 2 for 1 (never acted on)",
	"ok      page size: asked for 100 a page, all 40 organizations came on the first (no cap below 40)",
	"ok      paging: zero-based (page 0 is the first page)",
	"ok      total: 40 organizations on 1 page of at most 100",
	"ok      ApproveDownload route: /Developer/ApproveDownload in /Scripts/manage.js (not called)",
	"ok      ApproveDownload fields: the page's script sends the 13 activator sends",
}

// TestDoctor runs doctor against the simulator's default portal and
// against each difference the simulator can produce, asserting every line:
// exactly the changed assumptions differ, each with what to do, and the
// exit code says whether anything differs.
func TestDoctor(t *testing.T) {
	with := func(changes map[int]string) []string {
		out := append([]string(nil), doctorDefault...)
		for i, line := range changes {
			out[i] = line
		}
		return out
	}
	tests := []struct {
		name string
		cfg  sim.Config
		want []string
		code int
	}{
		{"default", sim.Config{}, doctorDefault, ExitOK},
		{"a field renamed", sim.Config{RenameFields: map[string]string{"OrgName": "Name"}}, with(map[int]string{
			4: "differs download fields: OrgName missing from 40 of 40 downloads -> the portal changed its listing: do not run activate until activator is updated for it",
			6: "ok      other fields (not used): AppId, AppName, DownloadDate, IsAutoSync, Name",
		}), ExitFailures},
		{"an unknown status on many", sim.Config{Declined: 10}, with(map[int]string{
			7: "differs Approved values: 0 for 24, 1 for 4, 3 for 2; unknown: 2 for 10 (never acted on); 10 of 40 organizations have a value outside 0/1/3 -> the statuses may have changed meaning: do not run activate until activator is updated for them",
		}), ExitFailures},
		{"a page size cap", sim.Config{PageSizeMax: 25}, with(map[int]string{
			8:  "differs page size: asked for 100 a page, the portal returns at most 25 -> nothing to do: activator reads on until an empty page, so no organization is missed; it only takes more calls",
			10: "ok      total: 40 organizations on 2 pages of at most 100",
		}), ExitFailures},
		{"Ids without the app id", sim.Config{IDWithoutApp: true}, with(map[int]string{
			3:  `differs LoadDownloads answer: load page 0: unexpected answer from the portal: download 0: download Id "701" is not of the form {OrgId}_{AppId} -> the portal changed its listing: do not run activate until activator is updated for it`,
			5:  `differs Id: 40 of 40 Ids are not {OrgId}_{AppId} of this app (first: "701") -> the portal changed its listing: do not run activate until activator is updated for it`,
			8:  "unknown page size: not checked: the listing failed",
			9:  "unknown paging: not checked: the listing failed",
			10: "unknown total: not counted: the listing failed",
		}), ExitFailures},
		{"the token in a meta tag", sim.Config{TokenInMeta: true}, with(map[int]string{
			2: "differs anti-forgery token: in a meta tag, not in the hidden input __RequestVerificationToken; the page also sets a __RequestVerificationToken cookie -> activator reads it there too; if calls then fail with HTTP 403, report it",
		}), ExitFailures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Orgs = 40
			s := sim.New(cfg)
			srv := httptest.NewServer(s)
			defer srv.Close()
			env := loginEnv(srv.URL, t.TempDir(), "ACTIVATOR_COOKIE", s.NewSession())
			code, stdout, stderr := runCmd(t, testRun{env: env}, "doctor", "--rate", "50")
			got := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("doctor printed:\n%s\nwant:\n%s", stdout, strings.Join(tt.want, "\n"))
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			for _, c := range s.Calls() {
				if c.Path == "/Developer/ApproveDownload" || c.Method != "GET" && c.Path != "/Developer/LoadDownloads" {
					t.Errorf("doctor made a call that may change something: %s %s", c.Method, c.Path)
				}
			}
			if n := len(s.Calls()); n > 10 {
				t.Errorf("doctor made %d requests, want a handful", n)
			}
		})
	}
}

// TestRunSummaryShapeWarning: a nightly run whose listing changed shape
// says so in its summary, in the table and in the JSON line, and the exit
// code stays the outcome's.
func TestRunSummaryShapeWarning(t *testing.T) {
	since := time.Date(2026, 11, 30, 3, 17, 0, 0, time.UTC)
	rr := &activate.RunResult{Sync: &orgsync.Report{Total: 40}, Plan: &plan.Plan{}, Started: true, RunID: 7,
		Outcome: store.RunDone, ShapeChange: "fields +Status:string", ShapeSince: since}
	sum := newRunSummary(rr, "jwks")
	var table, line bytes.Buffer
	printRunSummary(&table, sum, rr.Plan)
	want := "Warning: the portal's listing changed shape since 2026-11-30 03:17 UTC (fields +Status:string): run `activator doctor` to see what else changed.\n"
	if !strings.HasSuffix(table.String(), want) {
		t.Fatalf("summary:\n%s\nwant it to end with:\n%s", table.String(), want)
	}
	if err := writeJSONLine(&line, sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line.String(), `"shapeChanged":"fields +Status:string","shapeSince":"2026-11-30T03:17:00Z"`) {
		t.Fatalf("JSON line %s lacks the shape change", line.String())
	}
	if outcomeCode(sum.Outcome) != ExitOK {
		t.Fatalf("a shape change changed the exit code")
	}
}

// TestDoctorJSON gives the same findings as JSON, one object each.
func TestDoctorJSON(t *testing.T) {
	s := sim.New(sim.Config{Orgs: 40, PageSizeMax: 25})
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, stdout, stderr := runCmd(t, testRun{env: loginEnv(srv.URL, t.TempDir(), "ACTIVATOR_COOKIE", s.NewSession())}, "doctor", "--output", "json")
	var got []DoctorFinding
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != ExitFailures {
		t.Fatalf("exit %d, output %q (%v)\n%s", code, stdout, err, stderr)
	}
	if len(got) != len(doctorDefault) {
		t.Fatalf("%d findings, want %d", len(got), len(doctorDefault))
	}
	for i, f := range got {
		want := DoctorFinding{Verdict: "ok", Topic: strings.SplitN(strings.TrimSpace(doctorDefault[i][8:]), ":", 2)[0]}
		if i == 8 {
			want.Verdict = "differs"
		}
		if f.Verdict != want.Verdict || f.Topic != want.Topic || f.Matters {
			t.Errorf("finding %d = %+v, want verdict %q topic %q", i, f, want.Verdict, want.Topic)
		}
	}
	if got[8].Fix == "" || !strings.Contains(got[8].Text, "at most 25") {
		t.Errorf("page size finding %+v", got[8])
	}
}
