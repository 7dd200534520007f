package portalhttp

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/activator-dev/activator/internal/portal"
)

// FuzzLoadDownloadsPage feeds arbitrary answers to what reads a
// LoadDownloads page: the outer envelope, then the downloads. None may
// panic; every refusal is a typed error; every download accepted has a
// numeric OrgId of this app and fields within their size limits.
func FuzzLoadDownloadsPage(f *testing.F) {
	f.Add("application/json", []byte(`{"Success":true,"Data":{"Downloads":[{"Id":"16770_50741","OrgName":"UnityPoint Health","Approved":1,"ECMId":1328}]}}`))
	f.Add("application/json", []byte(`{"Success":true,"Data":{"Downloads":[{"Id":"1_50741","OrgName":"x\u001b[2J","Approved":"3","ECMId":"7"},{"Id":"2_50741","Approved":null}]}}`))
	f.Add("application/json", []byte(`{"Success":false,"Message":"Download request could not be found."}`))
	f.Add("application/json", []byte(`{"Success":true,"Data":null}`))
	f.Add("text/html", []byte(`<html><form><input type="password"></form></html>`))
	f.Add("", []byte(`{"Success":true,"Data":{"Downloads":[{"Id":1,"OrgName":2}]}}`))
	f.Add("application/json", []byte(`{"Success":true,"Data":{"Downloads":[{"Id":"99_50741","OrgName":"`+strings.Repeat("é", 600)+`"}]}}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}
		resp.Header.Set("Content-Type", contentType)
		a, err := parseAnswer(resp, body)
		if err != nil {
			checkTyped(t, err)
			return
		}
		ds, err := portal.ParseDownloads(a.Data, "50741")
		if err != nil {
			checkTyped(t, err)
			return
		}
		for _, d := range ds {
			if org, app, err := portal.ParseID(d.ID); err != nil || org != d.OrgID || app != "50741" {
				t.Fatalf("download %+v: OrgId %q of Id %q", d, d.OrgID, d.ID)
			}
			if len(d.ID) > portal.MaxIDBytes || len(d.OrgName) > portal.MaxNameBytes || len(d.ECMId) > portal.MaxIDBytes {
				t.Fatalf("a field over its limit: Id %d, name %d, ECMId %d bytes", len(d.ID), len(d.OrgName), len(d.ECMId))
			}
			if utf8.ValidString(string(body)) && !utf8.ValidString(d.OrgName) {
				t.Fatalf("cutting made the name %q invalid UTF-8", d.OrgName)
			}
		}
	})
}

// FuzzFindToken feeds arbitrary pages to what reads the management page:
// the anti-forgery token and the sign-in checks. None may panic, and a
// token found is the value of a __RequestVerificationToken input.
func FuzzFindToken(f *testing.F) {
	f.Add(`<input name="__RequestVerificationToken" type="hidden" value="abc&amp;def" />`)
	f.Add(`<INPUT value='x' NAME=__RequestVerificationToken>`)
	f.Add(`<form><input type="password" name="p"><input name="__RequestVerificationToken" value="t"></form>`)
	f.Add(`<input name="__RequestVerificationToken" value="">`)
	f.Add(`<input name="__RequestVerificationToken" value="` + strings.Repeat("<", 100) + `">`)
	f.Fuzz(func(t *testing.T, page string) {
		tok := FindToken(page)
		_ = hasPasswordInput(page)
		_ = looksLikeSignIn(page)
		if tok != "" && !strings.Contains(page, portal.TokenField) {
			t.Fatalf("token %q found in a page without %s", tok, portal.TokenField)
		}
	})
}

// checkTyped fails unless err is one of the portal's typed errors, on one
// line.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	var (
		me *portal.MalformedError
		se *portal.SessionError
		pe *portal.PortalError
	)
	if !errors.As(err, &me) && !errors.As(err, &se) && !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a typed portal error", err, err)
	}
}
