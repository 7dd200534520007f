package portal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		id, org, app string
		bad          bool
	}{
		{id: "16770_50741", org: "16770", app: "50741"},
		{id: "392_50741", org: "392", app: "50741"},
		{id: "16770", bad: true},
		{id: "_50741", bad: true},
		{id: "16770_", bad: true},
		{id: "abc_50741", bad: true},
		{id: "", bad: true},
	}
	for _, tt := range tests {
		org, app, err := ParseID(tt.id)
		if (err != nil) != tt.bad {
			t.Errorf("ParseID(%q) error = %v, want bad=%v", tt.id, err, tt.bad)
			continue
		}
		if org != tt.org || app != tt.app {
			t.Errorf("ParseID(%q) = %q, %q; want %q, %q", tt.id, org, app, tt.org, tt.app)
		}
	}
}

func TestParseDownloads(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		want  []Download
		error string
	}{
		{
			name: "composite id, ECMId is not the OrgId",
			data: `{"Downloads":[{"Id":"16770_50741","OrgName":"UnityPoint Health","Approved":1,"ECMId":1328,"Extra":{"x":1}}]}`,
			want: []Download{{ID: "16770_50741", OrgID: "16770", OrgName: "UnityPoint Health", Approved: 1, ECMId: "1328"}},
		},
		{
			name: "strings for numbers, unknown status kept",
			data: `{"Downloads":[{"Id":"392_50741","OrgName":"Brown University Health","Approved":"2","ECMId":"77"}]}`,
			want: []Download{{ID: "392_50741", OrgID: "392", OrgName: "Brown University Health", Approved: 2, ECMId: "77"}},
		},
		{name: "empty page", data: `{"Downloads":[]}`, want: []Download{}},
		{name: "no downloads member", data: `{"Other":[]}`, error: "no Data.Downloads"},
		{name: "bad id", data: `{"Downloads":[{"Id":"1328","OrgName":"x","Approved":0}]}`, error: "not of the form"},
		{name: "other app", data: `{"Downloads":[{"Id":"1_999","OrgName":"x","Approved":0}]}`, error: "belongs to app 999"},
		{name: "status not a number is unknown, not fatal", data: `{"Downloads":[{"Id":"1_50741","OrgName":"x","Approved":"Declined"},{"Id":"2_50741","OrgName":"y","Approved":null},{"Id":"3_50741","OrgName":"z","Approved":true}]}`,
			want: []Download{{ID: "1_50741", OrgID: "1", OrgName: "x", Approved: StatusUnreadable}, {ID: "2_50741", OrgID: "2", OrgName: "y", Approved: StatusUnreadable}, {ID: "3_50741", OrgID: "3", OrgName: "z", Approved: StatusUnreadable}}},
		{name: "not an object", data: `[1,2]`, error: "LoadDownloads data"},
		{name: "huge name and ECMId are cut, and said so",
			data: `{"Downloads":[{"Id":"5_50741","OrgName":"` + strings.Repeat("é", 1500) + `","Approved":0,"ECMId":"` + strings.Repeat("9", 100) + `"}]}`,
			want: []Download{{ID: "5_50741", OrgID: "5", OrgName: strings.Repeat("é", 498) + "…", ECMId: strings.Repeat("9", 61) + "…",
				Cut: []string{"name of 3000 bytes cut to 1000 bytes", "ECMId of 100 bytes cut to 64"}}}},
		{name: "huge Id is refused", data: `{"Downloads":[{"Id":"1` + strings.Repeat("0", 100) + `_50741","OrgName":"x","Approved":0}]}`, error: "an Id of 107 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDownloads([]byte(tt.data), "50741")
			if tt.error != "" {
				var me *MalformedError
				if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("error = %v, want MalformedError containing %q", err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d downloads, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tt.want[i]) {
					t.Errorf("download %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseApproveData(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		msg     string
		refused string
		bad     bool
	}{
		{name: "success", data: `{"Success":true,"Message":"2026-02-11 16:37 UTC"}`, msg: "2026-02-11 16:37 UTC"},
		{name: "refused", data: `{"Success":false,"Message":"Failed to register client for download."}`, refused: "Failed to register client for download."},
		{name: "no data", data: ``, bad: true},
		{name: "null data", data: `null`, bad: true},
		{name: "no success", data: `{"Message":"x"}`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := ParseApproveData([]byte(tt.data))
			var re *RefusedError
			var me *MalformedError
			switch {
			case tt.refused != "":
				if !errors.As(err, &re) || re.Message != tt.refused {
					t.Fatalf("err = %v, want refusal %q", err, tt.refused)
				}
			case tt.bad:
				if !errors.As(err, &me) {
					t.Fatalf("err = %v, want MalformedError", err)
				}
			default:
				if err != nil || msg != tt.msg {
					t.Fatalf("= %q, %v; want %q", msg, err, tt.msg)
				}
			}
		})
	}
}

func TestActivationFormHasThirteenFields(t *testing.T) {
	f := Activation{OrgID: "16770", TestJWKS: "{}", ProdJWKS: "{}"}.Form("50741")
	want := []string{"OrgId", "AppId", "Testhash", "Testhash256", "Prodhash", "Prodhash256", "NonProdOnly", "ProdOnly",
		"FhirIdGenerationScheme", "OverrideNonProdClientId", "OverrideProdClientId", "TestJWKS", "ProdJWKS"}
	if len(f) != len(want) {
		t.Fatalf("form has %d fields, want %d", len(f), len(want))
	}
	for _, k := range want {
		if _, ok := f[k]; !ok {
			t.Errorf("form lacks %s", k)
		}
	}
	if f.Get("NonProdOnly") != "false" || f.Get("ProdOnly") != "false" || f.Get("OrgId") != "16770" || f.Get("AppId") != "50741" {
		t.Errorf("form = %v", f)
	}
}
