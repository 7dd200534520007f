package portal

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// Activation is one ApproveDownload call.
//
// JWK Set URL mode leaves TestJWKS and ProdJWKS empty and takes two calls
// per organization (NonProdOnly, then ProdOnly). Direct JWKS mode fills
// them; with both filled and neither flag set, one call activates both
// environments.
type Activation struct {
	OrgID       string
	NonProdOnly bool
	ProdOnly    bool
	TestJWKS    string
	ProdJWKS    string
}

// FormFields are the names of the thirteen fields Form sends, in order.
var FormFields = []string{"OrgId", "AppId", "Testhash", "Testhash256", "Prodhash", "Prodhash256",
	"NonProdOnly", "ProdOnly", "FhirIdGenerationScheme", "OverrideNonProdClientId", "OverrideProdClientId",
	"TestJWKS", "ProdJWKS"}

// Form returns the thirteen fields the portal expects, all present,
// booleans as true/false, the unused ones empty.
func (a Activation) Form(appID string) url.Values {
	f := url.Values{}
	f.Set("OrgId", a.OrgID)
	f.Set("AppId", appID)
	f.Set("Testhash", "")
	f.Set("Testhash256", "")
	f.Set("Prodhash", "")
	f.Set("Prodhash256", "")
	f.Set("NonProdOnly", strconv.FormatBool(a.NonProdOnly))
	f.Set("ProdOnly", strconv.FormatBool(a.ProdOnly))
	f.Set("FhirIdGenerationScheme", "")
	f.Set("OverrideNonProdClientId", "")
	f.Set("OverrideProdClientId", "")
	f.Set("TestJWKS", a.TestJWKS)
	f.Set("ProdJWKS", a.ProdJWKS)
	return f
}

// Check refuses an activation the portal must never be sent: an OrgId that
// is not a number (an ECMId or a name slipped in), or both flags set.
func (a Activation) Check() error {
	if !digits(a.OrgID) {
		return fmt.Errorf("approve: OrgId %q is not a number", a.OrgID)
	}
	if a.NonProdOnly && a.ProdOnly {
		return fmt.Errorf("approve org %s: NonProdOnly and ProdOnly cannot both be set", a.OrgID)
	}
	return nil
}

// ParseApproveData decodes the Data member of a successful outer answer:
// {"Success":true,"Message":"..."} is success, Success false a refusal.
func ParseApproveData(data json.RawMessage) (string, error) {
	var d struct {
		Success *bool  `json:"Success"`
		Message string `json:"Message"`
	}
	if len(data) == 0 || string(data) == "null" {
		return "", &MalformedError{What: "ApproveDownload answer has no Data"}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return "", &MalformedError{What: "ApproveDownload data: " + err.Error()}
	}
	if d.Success == nil {
		return "", &MalformedError{What: "ApproveDownload answer has no Data.Success"}
	}
	msg, _ := CutText(d.Message, MaxMessageBytes)
	if !*d.Success {
		return "", &RefusedError{Message: msg}
	}
	return msg, nil
}
