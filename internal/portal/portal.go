// Package portal describes the vendor management portal (the Epic on FHIR
// developer site) that activator automates: what its calls take and answer,
// an organization's Status, how OrgIds compare, and the typed errors every
// answer is classified into. docs/portal.md tells what is known of the
// portal and what is assumed.
//
// The package holds no HTTP code, so the pure planner and the reports can
// use its types; the HTTP client is package portalhttp.
package portal

// DefaultBaseURL is Epic's developer portal.
const DefaultBaseURL = "https://fhir.epic.com"

// TokenHeader is the request header that carries the anti-forgery token on
// every JSON call.
const TokenHeader = "RequestVerificationToken"

// TokenField is the hidden input on the management page that holds it.
const TokenField = "__RequestVerificationToken"
