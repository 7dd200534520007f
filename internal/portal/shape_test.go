package portal

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestShapeCheck finds each listing difference that stops activate, and
// none in the listing the notes describe.
func TestShapeCheck(t *testing.T) {
	page := func(downloads ...string) json.RawMessage {
		return json.RawMessage(`{"Downloads":[` + strings.Join(downloads, ",") + `]}`)
	}
	good := `{"Id":"16770_50741","OrgName":"A","Approved":0,"ECMId":1328,"Extra":true}`
	tests := []struct {
		name    string
		data    json.RawMessage
		matters []string // topics that must differ and matter
	}{
		{"as documented", page(good, good), nil},
		{"Id without the app id", page(`{"Id":"16770","OrgName":"A","Approved":0,"ECMId":1}`, good), []string{"Id"}},
		{"a missing field", page(`{"Id":"16770_50741","Approved":0,"ECMId":1}`), []string{"download fields"}},
		{"a field of another type", page(`{"Id":16770,"OrgName":"A","Approved":0,"ECMId":1}`), []string{"download fields", "Id"}},
		{"unknown statuses on many", page(strings.Repeat(`{"Id":"1_50741","OrgName":"A","Approved":"Enabled","ECMId":1},`, 5) + good), []string{"Approved values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewShape()
			s.Observe(tt.data, "50741")
			var got []string
			for _, f := range s.Check() {
				if f.Verdict == Differs && f.Matters {
					got = append(got, f.Topic)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.matters, ",") {
				t.Fatalf("differences that matter: %v, want %v\n%v", got, tt.matters, s.Check())
			}
		})
	}
}

// TestFingerprint is the same for listings of the same shape and names
// what changed otherwise.
func TestFingerprint(t *testing.T) {
	fp := func(data string) string {
		s := NewShape()
		s.Observe(json.RawMessage(data), "")
		return s.Fingerprint()
	}
	a := fp(`{"Downloads":[{"Id":"1_2","OrgName":"A","Approved":0,"ECMId":5},{"Id":"3_2","OrgName":"B","Approved":1,"ECMId":6}]}`)
	b := fp(`{"Downloads":[{"Id":"7_2","OrgName":"C","Approved":1,"ECMId":8},{"Id":"9_2","OrgName":"D","Approved":0,"ECMId":9}]}`)
	if a != b || a != "Approved:number ECMId:number Id:string OrgName:string | Approved 0 1" {
		t.Fatalf("fingerprints %q and %q, want both the same documented shape", a, b)
	}
	c := fp(`{"Downloads":[{"Id":"1_2","Name":"A","Approved":2,"ECMId":"5"}]}`)
	want := "fields +ECMId:string +Name:string -ECMId:number -OrgName:string; Approved values +2"
	if got := FingerprintChange(a, c); got != want {
		t.Fatalf("change %q, want %q", got, want)
	}
	// Values that went away are the list's progress; a value seen once is
	// remembered, so its return is no news either.
	d := fp(`{"Downloads":[{"Id":"1_2","OrgName":"A","Approved":1,"ECMId":5}]}`)
	if got := FingerprintChange(a, d); got != "" {
		t.Fatalf("change %q, want none: only status 0 went away", got)
	}
	merged := MergeFingerprint(a, d)
	if merged != a || FingerprintChange(merged, a) != "" {
		t.Fatalf("merged %q, want %q", merged, a)
	}
}

// BenchmarkShapeObserve is what checking the listing's shape adds to each
// LoadDownloads page of 100 downloads (a second decode of the page).
func BenchmarkShapeObserve(b *testing.B) {
	var downloads []string
	for i := range 100 {
		downloads = append(downloads, fmt.Sprintf(`{"Id":"%d_50741","OrgName":"Organization %d","Approved":%d,"ECMId":%d,"AppId":50741,"AppName":"Sample Patient Access App","DownloadDate":"\/Date(1768230000000)\/","IsAutoSync":true}`, 100+i, i, i%4, 5000+i))
	}
	data := json.RawMessage(`{"Downloads":[` + strings.Join(downloads, ",") + `]}`)
	s := NewShape()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(data, "50741")
	}
}
