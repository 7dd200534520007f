package brands

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// genStats is what a generated bundle holds, to compare with Parse.
type genStats struct {
	orgs, endpoints, brands, subs, joined int
}

// generateBundle writes a synthetic Brands bundle of at least size bytes,
// shaped like Epic's: per brand a parent Organization with a numeric
// brand-identifier listing its Endpoints, and many location Organizations
// (addresses, phone numbers) pointing at it with partOf, a few of them
// with an "N-M" identifier. Epic's bundle has about 150 of these per
// Endpoint.
func generateBundle(w io.Writer, size int64) (genStats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	var st genStats
	fmt.Fprint(cw, `{"resourceType":"Bundle","id":"synthetic","type":"collection","timestamp":"2026-02-10T08:00:00Z","entry":[`)
	sep := ""
	for b := 1; cw.n < size; b++ {
		ecm := strconv.Itoa(b)
		nEP := b % 3 // 0, 1 or 2 endpoints
		var refs []string
		for e := range nEP {
			id := fmt.Sprintf("ep-%d-%d", b, e)
			refs = append(refs, `{"reference":"urn:uuid:`+id+`"}`)
			fmt.Fprintf(cw, `%s{"fullUrl":"urn:uuid:%s","resource":{"resourceType":"Endpoint","id":"%s","status":"active",`+
				`"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-rest"},`+
				`"name":"Synthetic Health %d","managingOrganization":{"identifier":{"system":"%s","value":"%d"}},`+
				`"payloadType":[{"coding":[{"system":"urn:hl7-org:sdwg:ccda-structuredBody:2.1","code":"urn:hl7-org:sdwg:ccda-structuredBody:2.1"}]}],`+
				`"address":"https://fhir%d.example.org/FHIR/ORG%d/api/FHIR/R4"}}`,
				sep, id, id, b, OrgIDSystem, 10000+b, b, e)
			sep = ","
			st.endpoints++
			st.joined++
		}
		parent := "org-" + ecm
		fmt.Fprintf(cw, `%s{"fullUrl":"urn:uuid:%s","resource":{"resourceType":"Organization","id":"%s",`+
			`"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/organization-brand","extension":[{"url":"brandLogo","valueUrl":"https://open.epic.com/Content/Images/Logos/%d.png"}]}],`+
			`"identifier":[{"system":"https://open.epic.com/brand-identifier","value":"%s"}],"active":true,"name":"Synthetic Health %d",`+
			`"telecom":[{"system":"url","value":"https://www.synthetic%d.example.org"}],"endpoint":[%s]}}`,
			sep, parent, parent, b, ecm, b, b, strings.Join(refs, ","))
		sep = ","
		st.orgs++
		st.brands++
		for l := range 150 {
			id := fmt.Sprintf("loc-%d-%d", b, l)
			ident := ""
			if l%40 == 0 {
				ident = fmt.Sprintf(`"identifier":[{"system":"https://open.epic.com/brand-identifier","value":"%s-%d"}],`, ecm, l)
			}
			fmt.Fprintf(cw, `%s{"fullUrl":"urn:uuid:%s","resource":{"resourceType":"Organization","id":"%s",%s"active":true,`+
				`"name":"Synthetic Clinic %d-%d","telecom":[{"system":"phone","value":"608-555-%04d","use":"work"}],`+
				`"address":[{"type":"physical","line":["Synthetic Clinic %d-%d","%d Main Street","Suite %d"],"city":"Madison","state":"WI","postalCode":"53%03d","country":"USA"}],`+
				`"partOf":{"reference":"urn:uuid:%s"}}}`,
				sep, id, id, ident, b, l, l, b, l, 100+l, l, l%1000, parent)
			st.orgs++
			st.subs++
		}
	}
	fmt.Fprint(cw, "]}\n")
	if err := bw.Flush(); err != nil {
		return st, err
	}
	return st, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeGenerated(tb testing.TB, size int64) (string, genStats) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "brands.json")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := generateBundle(f, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path, st
}

// TestParseGeneratedBundle checks the generator and the parser agree, so
// the benchmark measures a bundle that is read correctly.
func TestParseGeneratedBundle(t *testing.T) {
	path, st := writeGenerated(t, 2<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if dir.Stats.Organizations != st.orgs || dir.Stats.Endpoints != st.endpoints || len(dir.Endpoints) != st.joined || len(dir.Brands) != st.brands {
		t.Fatalf("parsed %+v, %d endpoints, %d brands; generated %+v", dir.Stats, len(dir.Endpoints), len(dir.Brands), st)
	}
	subs := 0
	for _, b := range dir.Brands {
		subs += b.SubOrgs
		if b.SubOrgs != 150 {
			t.Fatalf("brand %s has %d sub-organizations, want 150", b.ECMId, b.SubOrgs)
		}
	}
	if subs != st.subs {
		t.Errorf("sub-organizations = %d, want %d", subs, st.subs)
	}
	for _, e := range dir.Endpoints {
		if e.ECMId == "" {
			t.Fatalf("endpoint %+v not linked to its brand", e)
		}
	}
}

// BenchmarkParse100MB streams a synthetic 100 MB bundle. Besides time and
// allocations it reports the process's peak resident memory while
// parsing (Linux), the figure the streaming design exists for: the goal
// is under 100 MB.
func BenchmarkParse100MB(b *testing.B) {
	path, st := writeGenerated(b, 100<<20)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		dir, err := Parse(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(dir.Endpoints) != st.joined {
			b.Fatalf("parsed %d endpoints, want %d", len(dir.Endpoints), st.joined)
		}
	}
	if peak, ok := peakRSS(); ok {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "bundle-MB")
}

// resetPeakRSS clears the kernel's high-water mark of resident memory
// (Linux: writing 5 to /proc/self/clear_refs), so that VmHWM measures
// what follows rather than the bundle's generation.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}
