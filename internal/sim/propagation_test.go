package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestPropagationControl: the key-change delay is set at run time through
// POST /_sim/propagation, for changes already made too.
func TestPropagationControl(t *testing.T) {
	ts := newTokenSetup(t, TokenConfig{})
	keyA := tokenTestKeys()[0]
	token := func(env string) int {
		t.Helper()
		return ts.post(t, http.MethodPost, TokenPath(ts.org.OrgID, env), "application/x-www-form-urlencoded",
			form(signClaims(t, keyA, jose.RS384, "key-a", ts.claims(env))).Encode()).status
	}
	control := func(method, body string) (int, map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.srv.URL+"/_sim/propagation", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&got)
		return resp.StatusCode, got
	}
	if code, got := control(http.MethodGet, ""); code != http.StatusOK || got["nonProd"] != "1h0m0s" || got["prod"] != "12h0m0s" {
		t.Fatalf("GET /_sim/propagation = %d %v, want the defaults", code, got)
	}
	if token(EnvProd) == http.StatusOK {
		t.Fatal("production token right after the upload with 12h propagation")
	}
	if code, got := control(http.MethodPost, `{"prod":"0s"}`); code != http.StatusOK || got["prod"] != "0s" || got["nonProd"] != "1h0m0s" {
		t.Fatalf("POST prod 0s = %d %v", code, got)
	}
	if code := token(EnvProd); code != http.StatusOK {
		t.Fatalf("production token after propagation 0s: %d", code)
	}
	if code := token(EnvNonProd); code == http.StatusOK {
		t.Fatal("non-production token although its propagation is still 1h")
	}
	if code, _ := control(http.MethodPost, `{"nonProd":"-1s"}`); code != http.StatusBadRequest {
		t.Fatalf("POST a negative delay: %d, want 400", code)
	}
	if np, p := ts.tokens.Propagation(); np.String() != "1h0m0s" || p != 0 {
		t.Fatalf("Propagation() = %s, %s after a refused change", np, p)
	}
}
