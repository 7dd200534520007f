package sim

import (
	"bytes"
	"crypto"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// update rewrites golden files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestApproveDownloadAnswers(t *testing.T) {
	good := "rsa2048.json"
	type want struct {
		outer   bool   // Success
		inner   bool   // Data.Success, when Data is present
		message string // substring of the message at the level that answered
		answer  string // recorded Answer kind
	}
	tests := []struct {
		name string
		form func(t *testing.T, s *Sim) map[string][]string
		want want
	}{
		{
			name: "combined direct JWKS succeeds",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).OrgID, false, false, fixture(t, good), fixture(t, good))
			},
			want: want{outer: true, inner: true, message: "2026-02-11 16:37 UTC", answer: AnswerOK},
		},
		{
			name: "straggler refuses",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(s.Stragglers()[0], false, false, fixture(t, good), fixture(t, good))
			},
			want: want{outer: true, inner: false, message: "Failed to register client for download.", answer: AnswerRefused},
		},
		{
			name: "straggler refuses JWK Set URL too",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(s.Stragglers()[0], true, false, "", "")
			},
			want: want{outer: true, inner: false, message: "Failed to register client for download.", answer: AnswerRefused},
		},
		{
			name: "unknown OrgId",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm("99999999", true, false, "", "")
			},
			want: want{message: "Download request could not be found.", answer: AnswerNotFound},
		},
		{
			name: "ECMId sent as OrgId",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).ECMId, true, false, "", "")
			},
			want: want{message: "Download request could not be found.", answer: AnswerNotFound},
		},
		{
			name: "composite Id sent as OrgId",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).OrgID+"_"+DefaultAppID, true, false, "", "")
			},
			want: want{message: "Download request could not be found.", answer: AnswerNotFound},
		},
		{
			name: "other app",
			form: func(t *testing.T, s *Sim) map[string][]string {
				f := approveForm(orgWith(t, s, fresh).OrgID, true, false, "", "")
				f["AppId"] = []string{"12345"}
				return f
			},
			want: want{message: "Download request could not be found.", answer: AnswerNotFound},
		},
		{
			name: "both Only flags",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).OrgID, true, true, "", "")
			},
			want: want{message: "cannot both be true", answer: AnswerBad},
		},
		{
			name: "boolean that is not true or false",
			form: func(t *testing.T, s *Sim) map[string][]string {
				f := approveForm(orgWith(t, s, fresh).OrgID, true, false, "", "")
				f["NonProdOnly"] = []string{"1"}
				return f
			},
			want: want{message: "is not valid for NonProdOnly", answer: AnswerBad},
		},
		{
			name: "empty boolean",
			form: func(t *testing.T, s *Sim) map[string][]string {
				f := approveForm(orgWith(t, s, fresh).OrgID, true, false, "", "")
				f["ProdOnly"] = []string{""}
				return f
			},
			want: want{message: "is not valid for ProdOnly", answer: AnswerBad},
		},
		{
			name: "booleans in .NET letter case are read",
			form: func(t *testing.T, s *Sim) map[string][]string {
				f := approveForm(orgWith(t, s, fresh).OrgID, true, false, "", "")
				f["NonProdOnly"], f["ProdOnly"] = []string{"True"}, []string{"False"}
				return f
			},
			want: want{outer: true, inner: true, message: "UTC", answer: AnswerOK},
		},
		{
			name: "JWK Set URL without a target environment",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).OrgID, false, false, "", "")
			},
			want: want{message: "Choose non-production or production", answer: AnswerBad},
		},
		{
			name: "combined call missing ProdJWKS",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).OrgID, false, false, fixture(t, good), "")
			},
			want: want{message: "Both TestJWKS and ProdJWKS are required", answer: AnswerBad},
		},
		{
			name: "combined call missing TestJWKS",
			form: func(t *testing.T, s *Sim) map[string][]string {
				return approveForm(orgWith(t, s, fresh).OrgID, false, false, "", fixture(t, good))
			},
			want: want{message: "Both TestJWKS and ProdJWKS are required", answer: AnswerBad},
		},
		{
			name: "lower-case field name is missing",
			form: func(t *testing.T, s *Sim) map[string][]string {
				f := approveForm(orgWith(t, s, fresh).OrgID, true, false, "", "")
				f["orgId"] = f["OrgId"]
				delete(f, "OrgId")
				return f
			},
			want: want{message: "missing the field 'OrgId'", answer: AnswerBad},
		},
	}
	for _, field := range approveFields {
		tests = append(tests, struct {
			name string
			form func(t *testing.T, s *Sim) map[string][]string
			want want
		}{
			name: "missing " + field,
			form: func(t *testing.T, s *Sim) map[string][]string {
				f := approveForm(orgWith(t, s, fresh).OrgID, true, false, "", "")
				delete(f, field)
				return f
			},
			want: want{message: "missing the field '" + field + "'", answer: AnswerBad},
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := startSim(t, testConfig())
			c := signedInClient(t, s, srv)
			before := s.Orgs()
			for attempt := range 2 { // every answer is the same the second time
				a := c.approve(tt.form(t, s))
				if a.Success != tt.want.outer {
					t.Fatalf("attempt %d: Success %v, want %v (%+v)", attempt, a.Success, tt.want.outer, a)
				}
				msg := a.Message
				if tt.want.outer {
					if a.Data == nil {
						t.Fatalf("attempt %d: no Data in %+v", attempt, a)
					}
					if a.Data.Success != tt.want.inner {
						t.Fatalf("attempt %d: Data.Success %v, want %v", attempt, a.Data.Success, tt.want.inner)
					}
					msg = a.Data.Message
				} else if a.Data != nil {
					t.Fatalf("attempt %d: outer failure carries Data", attempt)
				}
				if !strings.Contains(msg, tt.want.message) {
					t.Fatalf("attempt %d: message %q lacks %q", attempt, msg, tt.want.message)
				}
				if got := lastCall(t, s).Answer; got != tt.want.answer {
					t.Fatalf("attempt %d: recorded %q, want %q", attempt, got, tt.want.answer)
				}
			}
			if !tt.want.inner || !tt.want.outer {
				after := s.Orgs()
				for i := range before {
					if before[i].Approved != after[i].Approved || before[i].NonProd != after[i].NonProd || before[i].Prod != after[i].Prod {
						t.Fatalf("a refused call changed %s", before[i].OrgID)
					}
				}
			}
		})
	}
}

func TestApproveDownloadRefusesBadKeySets(t *testing.T) {
	tests := []struct {
		fixture string
		message string
	}{
		{"ec.json", "JWKS key #1 uses an unsupported algorithm (kty 'EC')"},
		{"rsa_and_ec.json", "JWKS key #2 uses an unsupported algorithm (kty 'EC')"},
		{"rsa_private.json", "JWKS key #2 contains private key material ('d')"},
		{"oct.json", "JWKS key #1 contains private key material ('k')"},
		{"rsa1024.json", "JWKS key #1 is a 1024-bit RSA key"},
		{"rs512.json", "unsupported algorithm ('RS512')"},
		{"use_enc.json", "only signing keys"},
		{"missing_kty.json", "JWKS key #1 is missing 'kty' property."},
		{"no_keys.json", "does not contain any keys"},
		{"single_jwk.json", "with a 'keys' array"},
		{"not_json.txt", "not valid JSON"},
	}
	modes := []struct {
		name string
		form func(orgID, bad, good string) map[string][]string
	}{
		{"combined, bad TestJWKS", func(id, bad, good string) map[string][]string { return approveForm(id, false, false, bad, good) }},
		{"combined, bad ProdJWKS", func(id, bad, good string) map[string][]string { return approveForm(id, false, false, good, bad) }},
		{"non-production", func(id, bad, good string) map[string][]string { return approveForm(id, true, false, bad, "") }},
		{"production", func(id, bad, good string) map[string][]string { return approveForm(id, false, true, "", bad) }},
	}
	s, srv := startSim(t, testConfig())
	c := signedInClient(t, s, srv)
	target := orgWith(t, s, fresh)
	good := fixture(t, "rsa2048.json")
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.fixture+"/"+m.name, func(t *testing.T) {
				a := c.approve(m.form(target.OrgID, fixture(t, tt.fixture), good))
				if a.Success || a.Data != nil {
					t.Fatalf("answer %+v, want an outer failure", a)
				}
				if !strings.Contains(a.Message, tt.message) {
					t.Fatalf("message %q lacks %q", a.Message, tt.message)
				}
				if got := lastCall(t, s).Answer; got != AnswerBad {
					t.Fatalf("recorded %q", got)
				}
				if o, _ := s.Org(target.OrgID); o.NonProd || o.Prod || o.TestJWKS != "" || o.ProdJWKS != "" {
					t.Fatalf("refused key set changed the organization: %+v", o)
				}
			})
		}
	}
}

// step is one ApproveDownload call of a transition test and what the
// organization looks like after it.
type step struct {
	nonProdOnly, prodOnly bool
	test, prod            string // fixture names; "" for none
	approved              int
	nonProdMode, prodMode CredentialMode
}

func TestApproveDownloadTransitions(t *testing.T) {
	const a, b = "rsa2048.json", "rsa2048_second.json"
	tests := []struct {
		name  string
		start func(o Org) bool
		steps []step
	}{
		{"JWK Set URL, non-production then production", fresh, []step{
			{nonProdOnly: true, approved: 3, nonProdMode: ModeJWKSURL},
			{prodOnly: true, approved: 1, nonProdMode: ModeJWKSURL, prodMode: ModeJWKSURL},
		}},
		{"JWK Set URL, production first", fresh, []step{
			{prodOnly: true, approved: 0, prodMode: ModeJWKSURL},
			{nonProdOnly: true, approved: 1, nonProdMode: ModeJWKSURL, prodMode: ModeJWKSURL},
		}},
		{"direct JWKS combined", fresh, []step{
			{test: a, prod: b, approved: 1, nonProdMode: ModeJWKS, prodMode: ModeJWKS},
		}},
		{"direct JWKS split", fresh, []step{
			{nonProdOnly: true, test: a, approved: 3, nonProdMode: ModeJWKS},
			{prodOnly: true, prod: b, approved: 1, nonProdMode: ModeJWKS, prodMode: ModeJWKS},
		}},
		{"non-production call ignores ProdJWKS", fresh, []step{
			{nonProdOnly: true, prod: b, approved: 3, nonProdMode: ModeJWKSURL},
		}},
		{"production call ignores TestJWKS", fresh, []step{
			{prodOnly: true, test: a, approved: 0, prodMode: ModeJWKSURL},
		}},
		{"switch an enabled organization to direct JWKS", func(o Org) bool { return o.Approved == ApprovedBoth }, []step{
			{test: a, prod: a, approved: 1, nonProdMode: ModeJWKS, prodMode: ModeJWKS},
		}},
		{"finish a non-production-only organization", func(o Org) bool { return o.Approved == ApprovedNonProd }, []step{
			{prodOnly: true, prod: a, approved: 1, nonProdMode: ModeJWKSURL, prodMode: ModeJWKS},
		}},
		{"activate an organization with an unknown status", func(o Org) bool { return o.Approved == ApprovedDeclined }, []step{
			{test: a, prod: a, approved: 1, nonProdMode: ModeJWKS, prodMode: ModeJWKS},
		}},
		{"back from direct JWKS to the URL", fresh, []step{
			{test: a, prod: a, approved: 1, nonProdMode: ModeJWKS, prodMode: ModeJWKS},
			{nonProdOnly: true, approved: 1, nonProdMode: ModeJWKSURL, prodMode: ModeJWKS},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := fixedNow
			cfg := testConfig()
			cfg.Now = func() time.Time { return clock }
			s, srv := startSim(t, cfg)
			c := signedInClient(t, s, srv)
			o := orgWith(t, s, tt.start)
			for i, st := range tt.steps {
				clock = clock.Add(time.Hour)
				test, prod := "", ""
				if st.test != "" {
					test = fixture(t, st.test)
				}
				if st.prod != "" {
					prod = fixture(t, st.prod)
				}
				prev, _ := s.Org(o.OrgID)
				ans := c.approve(approveForm(o.OrgID, st.nonProdOnly, st.prodOnly, test, prod))
				if !ans.Success || ans.Data == nil || !ans.Data.Success {
					t.Fatalf("step %d: %+v", i, ans)
				}
				got, _ := s.Org(o.OrgID)
				if got.Approved != st.approved || got.NonProdMode != st.nonProdMode || got.ProdMode != st.prodMode {
					t.Fatalf("step %d: Approved %d modes %q/%q, want %d %q/%q",
						i, got.Approved, got.NonProdMode, got.ProdMode, st.approved, st.nonProdMode, st.prodMode)
				}
				if got.NonProd != (st.nonProdMode != ModeNone) || got.Prod != (st.prodMode != ModeNone) {
					t.Fatalf("step %d: flags %v/%v disagree with modes", i, got.NonProd, got.Prod)
				}
				checkStored(t, i, "TestJWKS", got.TestJWKS, got.NonProdMode, storedSource(st.nonProdOnly || !st.prodOnly, st.test, prev.TestJWKS))
				checkStored(t, i, "ProdJWKS", got.ProdJWKS, got.ProdMode, storedSource(st.prodOnly || !st.nonProdOnly, st.prod, prev.ProdJWKS))
				checkChanged(t, i, "non-production", st.nonProdOnly || !st.prodOnly,
					prev.NonProdMode != got.NonProdMode || prev.TestJWKS != got.TestJWKS || !prev.NonProd,
					prev.NonProdChanged, got.NonProdChanged, clock)
				checkChanged(t, i, "production", st.prodOnly || !st.nonProdOnly,
					prev.ProdMode != got.ProdMode || prev.ProdJWKS != got.ProdJWKS || !prev.Prod,
					prev.ProdChanged, got.ProdChanged, clock)
			}
			list := c.loadPage(loadForm("PageSize", "1000"))
			for _, d := range list {
				if d["Id"] == o.OrgID+"_"+DefaultAppID && d["Approved"] != float64(tt.steps[len(tt.steps)-1].approved) {
					t.Fatalf("LoadDownloads reports Approved %v", d["Approved"])
				}
			}
		})
	}
}

// storedSource names the fixture an environment's stored key set must come
// from after a step: the uploaded one when the step set the environment,
// else whatever was stored before (marked with a leading "=").
func storedSource(touched bool, fixtureName, before string) string {
	if touched {
		return fixtureName
	}
	return "=" + before
}

// checkStored compares a stored key set with the fixture it came from.
func checkStored(t *testing.T, step int, field, stored string, mode CredentialMode, source string) {
	t.Helper()
	if rest, ok := strings.CutPrefix(source, "="); ok {
		if stored != rest {
			t.Fatalf("step %d: %s changed though the call did not touch it", step, field)
		}
		return
	}
	if mode != ModeJWKS {
		if stored != "" {
			t.Fatalf("step %d: %s holds keys in mode %q", step, field, mode)
		}
		return
	}
	want, err := checkJWKS(fixture(t, source))
	if err != nil {
		t.Fatalf("fixture %s: %v", source, err)
	}
	if stored != want {
		t.Fatalf("step %d: %s is not the stored form of %s", step, field, source)
	}
}

// checkChanged checks an environment's change time: moved to now when the
// step changed its credential, kept otherwise.
func checkChanged(t *testing.T, step int, env string, touched, differs bool, before, after, now time.Time) {
	t.Helper()
	want := before
	if touched && differs {
		want = now
	}
	if !after.Equal(want) {
		t.Fatalf("step %d: %s changed at %v, want %v", step, env, after, want)
	}
}

func TestStoredJWKSIsPascalCase(t *testing.T) {
	tests := []struct {
		fixture string
		golden  string
	}{
		{"rsa2048.json", "rsa2048.stored.json"},
		{"rsa_two_keys.json", "rsa_two_keys.stored.json"},
		{"rsa_extra_members.json", "rsa_extra_members.stored.json"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s, srv := startSim(t, testConfig())
			c := signedInClient(t, s, srv)
			o := orgWith(t, s, fresh)
			up := fixture(t, tt.fixture)
			if a := c.approve(approveForm(o.OrgID, false, false, up, up)); a.Data == nil || !a.Data.Success {
				t.Fatalf("upload refused: %+v", a)
			}
			got, _ := s.Org(o.OrgID)
			if got.TestJWKS != got.ProdJWKS {
				t.Fatalf("the same upload was stored two ways")
			}
			golden := filepath.Join("testdata", "jwks", tt.golden)
			if *update {
				var pretty bytes.Buffer
				_ = json.Indent(&pretty, []byte(got.TestJWKS), "", "  ")
				if err := os.WriteFile(golden, append(pretty.Bytes(), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden: %v (run with -update to create it)", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatalf("golden is not JSON: %v", err)
			}
			if compact.String() != got.TestJWKS {
				t.Fatalf("stored form differs from %s:\n%s", golden, got.TestJWKS)
			}

			var stored struct{ Keys []map[string]any }
			if err := json.Unmarshal([]byte(got.TestJWKS), &stored); err != nil {
				t.Fatalf("stored form is not JSON: %v", err)
			}
			var uploaded jose.JSONWebKeySet
			if err := json.Unmarshal([]byte(up), &uploaded); err != nil {
				t.Fatal(err)
			}
			if len(stored.Keys) != len(uploaded.Keys) {
				t.Fatalf("stored %d keys, uploaded %d", len(stored.Keys), len(uploaded.Keys))
			}
			for i, k := range stored.Keys {
				for _, lower := range []string{"kty", "n", "e", "kid", "alg", "use"} {
					if _, ok := k[lower]; ok {
						t.Fatalf("key %d keeps lower-case %q", i, lower)
					}
				}
				for _, member := range []string{"Kty", "N", "E", "CryptoProviderFactory", "HasPrivateKey", "KeySize", "AdditionalData", "D"} {
					if _, ok := k[member]; !ok {
						t.Fatalf("key %d lacks %q", i, member)
					}
				}
				if k["HasPrivateKey"] != false || k["KeySize"] != float64(2048) || k["D"] != nil {
					t.Fatalf("key %d framework members %v %v %v", i, k["HasPrivateKey"], k["KeySize"], k["D"])
				}
				// The stored key still is the uploaded key once case is folded.
				var back jose.JSONWebKey
				folded, _ := json.Marshal(map[string]any{"kty": k["Kty"], "n": k["N"], "e": k["E"]})
				if err := back.UnmarshalJSON(folded); err != nil {
					t.Fatalf("key %d does not validate after folding case: %v", i, err)
				}
				tb, _ := back.Thumbprint(crypto.SHA256)
				tu, _ := uploaded.Keys[i].Thumbprint(crypto.SHA256)
				if !bytes.Equal(tb, tu) {
					t.Fatalf("key %d is not the uploaded key", i)
				}
			}
		})
	}
}

func TestSuccessMessageIsUTCMinutes(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{fixedNow, "2026-02-11 16:37 UTC"},
		{time.Date(2026, 2, 11, 10, 37, 59, 0, time.FixedZone("CST", -6*3600)), "2026-02-11 16:37 UTC"},
		{time.Date(2026, 12, 31, 23, 59, 0, 0, time.FixedZone("HST", -10*3600)), "2027-01-01 09:59 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			cfg := testConfig()
			cfg.Now = func() time.Time { return tt.at }
			s, srv := startSim(t, cfg)
			c := signedInClient(t, s, srv)
			a := c.approve(approveForm(orgWith(t, s, fresh).OrgID, true, false, "", ""))
			if a.Data == nil || a.Data.Message != tt.want {
				t.Fatalf("answer %+v, want message %q", a, tt.want)
			}
		})
	}
}

func TestApproveDownloadReadsOnlyTheFormBody(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        func(form string) string
		path        func(form string) string
	}{
		{"query string", "application/x-www-form-urlencoded",
			func(string) string { return "" },
			func(form string) string { return "/Developer/ApproveDownload?" + form }},
		{"JSON body", "application/json",
			func(form string) string {
				b, _ := json.Marshal(map[string]string{"OrgId": "1", "AppId": DefaultAppID})
				return string(b)
			},
			func(string) string { return "/Developer/ApproveDownload" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := startSim(t, testConfig())
			c := signedInClient(t, s, srv)
			o := orgWith(t, s, fresh)
			form := approveForm(o.OrgID, true, false, "", "").Encode()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path(form), strings.NewReader(tt.body(form)))
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set(tokenHeader, c.token)
			resp, body := c.do(req)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "missing the field 'OrgId'") {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got, _ := s.Org(o.OrgID); got.NonProd {
				t.Fatalf("parameters outside the form body were read")
			}
		})
	}
}
