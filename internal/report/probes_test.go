package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/probe"
	"github.com/activator-dev/activator/internal/store"
)

func TestBuildProbes(t *testing.T) {
	st := newState(t).org("1", 1).org("2", 1).org("3", 1).org("4", 0).sync(t0)
	if r := st.build(t0); r.Probes != nil {
		t.Fatalf("probes before any probe: %+v", r.Probes)
	}
	at := t0.Add(50 * time.Hour)
	for _, p := range []store.Probe{
		{OrgID: "1", At: at.Add(-24 * time.Hour), ActivatedAt: t0, Class: probe.NotKnown, Evidence: "old"},
		{OrgID: "1", At: at, ActivatedAt: t0, Class: probe.Live, Evidence: "known"},
		{OrgID: "2", At: at, ActivatedAt: t0.Add(36 * time.Hour), Class: probe.NotKnown, Evidence: "same as control"},
		{OrgID: "3", At: at, ActivatedAt: t0, Class: probe.NotKnown, Evidence: "same as control"},
	} {
		if err := st.s.RecordProbe(st.ctx, st.app.ID, &p); err != nil {
			t.Fatal(err)
		}
	}
	r := st.build(at)
	p := r.Probes
	if p == nil || !p.LastAt.Equal(at) {
		t.Fatalf("probes = %+v", p)
	}
	want := map[string]int{probe.Live: 1, probe.NotKnown: 2, probe.Inconclusive: 0, probe.Unreachable: 0, probe.Error: 0}
	for c, n := range want {
		if p.Counts[c] != n {
			t.Errorf("%s: %d, want %d", c, p.Counts[c], n)
		}
	}
	// The longest since activation first.
	if len(p.NotKnown) != 2 || p.NotKnown[0].OrgID != "3" || p.NotKnown[0].SinceActivationHours != 50 || p.NotKnown[1].SinceActivation() != 14*time.Hour {
		t.Fatalf("not known = %+v", p.NotKnown)
	}
	for _, o := range r.Orgs {
		if (o.Probe == nil) != (o.OrgID == "4") {
			t.Errorf("org %s probe = %+v", o.OrgID, o.Probe)
		}
	}
	var csv, html bytes.Buffer
	if err := WriteCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), ",live,") || !strings.Contains(csv.String(), "probe,probedAt,probeEvidence") {
		t.Errorf("csv lacks the probe columns:\n%s", csv.String())
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `data-probe="not-known" data-count="2"`) || !strings.Contains(html.String(), "2.1 days after activation") {
		t.Errorf("html lacks the probe section")
	}
}
