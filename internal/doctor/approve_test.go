package doctor

import (
	"slices"
	"strings"
	"testing"

	"github.com/activator-dev/activator/internal/portal"
)

// TestFormFieldsAreWhatActivatorSends keeps portal.FormFields, which the
// doctor compares with the page's script, equal to what Approve sends.
func TestFormFieldsAreWhatActivatorSends(t *testing.T) {
	form := portal.Activation{OrgID: "1"}.Form("2")
	var sent []string
	for k := range form {
		sent = append(sent, k)
	}
	want := slices.Clone(portal.FormFields)
	slices.Sort(sent)
	slices.Sort(want)
	if !slices.Equal(sent, want) {
		t.Fatalf("Form sends %v, FormFields lists %v", sent, want)
	}
}

// TestFieldsFinding reads the form a page's script sends to ApproveDownload
// and compares it with the thirteen fields.
func TestFieldsFinding(t *testing.T) {
	all := func(drop string, add ...string) string {
		var parts []string
		for _, f := range portal.FormFields {
			if f != drop {
				parts = append(parts, f+": x")
			}
		}
		for _, f := range add {
			parts = append(parts, f+": y")
		}
		return strings.Join(parts, ",\n  ")
	}
	tests := []struct {
		name, script string
		want         string
	}{
		{"jQuery post", `$.post('/Developer/ApproveDownload', {` + all("") + `});`,
			"ok      ApproveDownload fields: the page's script sends the 13 activator sends"},
		{"quoted keys, nested in options", `$.ajax({url: "/Developer/ApproveDownload", headers: {"RequestVerificationToken": t}, data: {"` + strings.ReplaceAll(all(""), ": x", `": x`) + `}})`,
			"ok      ApproveDownload fields: the page's script sends the 13 activator sends"},
		{"a field more, one less", `post("/Developer/ApproveDownload", {` + all("Prodhash256", "ClientType") + `})`,
			"differs ApproveDownload fields: the page's script also sends ClientType; it does not send Prodhash256 -> the portal changed its activation form: do not run activate until activator is updated for it"},
		{"no object", `post("/Developer/ApproveDownload", form)`,
			"unknown ApproveDownload fields: the script's form fields could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsFinding(tt.script).String(); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
