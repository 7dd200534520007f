package sim

import (
	"net/http"
	"net/url"
	"strings"
)

// approveFields are the thirteen fields of an ApproveDownload request, all
// required, names matched exactly.
var approveFields = []string{
	"OrgId", "AppId", "Testhash", "Testhash256", "Prodhash", "Prodhash256",
	"NonProdOnly", "ProdOnly", "FhirIdGenerationScheme",
	"OverrideNonProdClientId", "OverrideProdClientId", "TestJWKS", "ProdJWKS",
}

// Messages of the ApproveDownload answers. The first two were seen on the
// portal; the rest are the simulator's wording for refusals the portal's
// notes do not record.
const (
	msgNotFound       = "Download request could not be found."
	msgRefused        = "Failed to register client for download."
	msgBothOnly       = "NonProdOnly and ProdOnly cannot both be true."
	msgURLNeedsTarget = "Choose non-production or production when using the JWK Set URL."
	msgCombinedNeeds  = "Both TestJWKS and ProdJWKS are required to activate both environments at once."
)

// innerResult is the Data of an ApproveDownload answer.
type innerResult struct {
	Success bool   `json:"Success"`
	Message string `json:"Message"`
}

// approveResult is the envelope of an answer that reached the
// organization: Success is true even when the organization refused.
type approveResult struct {
	Success bool        `json:"Success"`
	Data    innerResult `json:"Data"`
}

// approval is a validated ApproveDownload request.
type approval struct {
	orgID              string
	setNonProd         bool
	setProd            bool
	testJWKS, prodJWKS string // stored forms; empty in JWK Set URL mode
	nonProdMode        CredentialMode
	prodMode           CredentialMode
}

// handleApproveDownload uploads a client credential at one organization.
//
// Validation happens in this order, the first problem answering:
// all thirteen fields present (outer failure), booleans "true"/"false"
// in any letter case as .NET parses them (outer failure), NonProdOnly and
// ProdOnly not both true (outer failure), AppId and OrgId naming a download
// ("Download request could not be found."), the credential shape and each
// JWKS (outer failure with the reason), and finally the organization
// itself: a straggler answers the inner failure "Failed to register client
// for download." every time.
func (s *Sim) handleApproveDownload(w *recorder, r *http.Request) {
	injected, ok := s.guardJSON(w, r)
	if !ok {
		return
	}
	if injected != 0 && injected != http.StatusBadGateway {
		writeInjected(w, injected)
		return
	}
	a, msg, kind := s.validateApproval(r.PostForm)
	if msg != "" {
		if injected != 0 {
			writeInjected(w, injected)
			return
		}
		w.answer = kind
		writeJSON(w, failure{Success: false, Message: msg})
		return
	}
	if !s.holdApproval(r, HoldBefore) {
		return
	}
	stamp, outcome := s.apply(a)
	if !s.holdApproval(r, HoldAfter) {
		return
	}
	switch {
	case injected != 0:
		// A 502 from the front end after the organization was updated: the
		// change happened but the client never hears of it.
		writeInjected(w, injected)
		return
	case outcome == AnswerNotFound:
		w.answer = AnswerNotFound
		writeJSON(w, failure{Success: false, Message: msgNotFound})
		return
	case outcome == AnswerRefused:
		w.answer = AnswerRefused
		writeJSON(w, approveResult{Success: true, Data: innerResult{Success: false, Message: msgRefused}})
		return
	}
	writeJSON(w, approveResult{Success: true, Data: innerResult{Success: true, Message: stamp}})
}

// validateApproval checks a request's form. On a refusal it returns the
// message and the Answer kind to record.
func (s *Sim) validateApproval(form url.Values) (approval, string, string) {
	for _, f := range approveFields {
		if _, ok := form[f]; !ok {
			return approval{}, "The request is missing the field '" + f + "'.", AnswerBad
		}
	}
	nonProdOnly, ok1 := parseBool(form.Get("NonProdOnly"))
	prodOnly, ok2 := parseBool(form.Get("ProdOnly"))
	if !ok1 {
		return approval{}, "The value '" + form.Get("NonProdOnly") + "' is not valid for NonProdOnly.", AnswerBad
	}
	if !ok2 {
		return approval{}, "The value '" + form.Get("ProdOnly") + "' is not valid for ProdOnly.", AnswerBad
	}
	if nonProdOnly && prodOnly {
		return approval{}, msgBothOnly, AnswerBad
	}
	orgID := form.Get("OrgId")
	s.mu.RLock()
	_, known := s.orgs[orgID]
	s.mu.RUnlock()
	if form.Get("AppId") != s.cfg.AppID || !known {
		return approval{}, msgNotFound, AnswerNotFound
	}

	a := approval{orgID: orgID}
	test, prod := form.Get("TestJWKS"), form.Get("ProdJWKS")
	check := func(raw string) (string, string) {
		stored, err := s.jwksCache.check(raw)
		if err != nil {
			return "", err.Error()
		}
		return stored, ""
	}
	var msg string
	switch {
	case nonProdOnly:
		// A NonProdOnly call reads TestJWKS only; ProdJWKS is ignored.
		a.setNonProd, a.nonProdMode = true, ModeJWKSURL
		if test != "" {
			a.nonProdMode = ModeJWKS
			a.testJWKS, msg = check(test)
		}
	case prodOnly:
		a.setProd, a.prodMode = true, ModeJWKSURL
		if prod != "" {
			a.prodMode = ModeJWKS
			a.prodJWKS, msg = check(prod)
		}
	case test == "" && prod == "":
		msg = msgURLNeedsTarget
	case test == "" || prod == "":
		msg = msgCombinedNeeds
	default:
		a.setNonProd, a.setProd = true, true
		a.nonProdMode, a.prodMode = ModeJWKS, ModeJWKS
		if a.testJWKS, msg = check(test); msg == "" {
			a.prodJWKS, msg = check(prod)
		}
	}
	if msg != "" {
		return approval{}, msg, AnswerBad
	}
	return a, "", ""
}

// parseBool reads a boolean as .NET's bool.Parse does: "true" or "false",
// any letter case, surrounding spaces allowed.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// apply records a validated approval and returns the success message (the
// time in UTC, "2006-01-02 15:04 UTC"), or the Answer kind of a straggler's
// refusal or of an organization removed since validation.
func (s *Sim) apply(a approval) (string, string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[a.orgID]
	if !ok {
		return "", AnswerNotFound
	}
	if o.Straggler {
		return "", AnswerRefused
	}
	if a.setNonProd {
		o.setEnv(true, a.nonProdMode, a.testJWKS, now, true)
	}
	if a.setProd {
		o.setEnv(false, a.prodMode, a.prodJWKS, now, true)
	}
	o.Approved = approvedFor(o.NonProd, o.Prod)
	return now.UTC().Format("2006-01-02 15:04") + " UTC", ""
}
