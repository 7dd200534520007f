// Package sim simulates the vendor management portal (the Epic on FHIR
// developer site) that activator automates, so that the tool can be built,
// tested and demonstrated without touching the real portal.
//
// A Sim is an http.Handler: tests run it inside httptest.Server, and
// cmd/portalsim serves it on loopback for demos. It follows the portal's
// notes (docs/portal.md in the repository) for every behaviour they
// record: the sign-in, the "Review & Manage Downloads" page and its
// anti-forgery token, LoadDownloads, ApproveDownload with its three
// credential shapes, the .NET re-serialisation of stored keys, the
// stragglers, renames and arrivals, and lapsed sessions. It adds faults a
// client must survive: latency, a server-side rate limit, random 5xx and
// sessions that lapse after a number of requests.
//
// Routes under /_sim/ are the simulator's own controls, for demos and
// tests; the real portal has nothing like them and a client must never call
// them. They are neither delayed nor recorded:
//
//	GET  /_sim/calls        every recorded Call, JSON
//	POST /_sim/calls/reset  forget the calls
//	POST /_sim/session      sign in; answers a Cookie header value
//	POST /_sim/expire       every session lapses
//	GET  /_sim/faults       the faults in effect, JSON (Latency as "250ms")
//	POST /_sim/faults       change faults; fields left out keep their value
//	GET  /_sim/orgs         every organization, JSON
//	POST /_sim/orgs         an organization arrives (JSON Org)
//	POST /_sim/rename       {"OrgID":"392","Name":"Brown University Health"}
//	POST /_sim/remove       {"OrgID":"392"}
//	POST /_sim/approved     {"OrgID":"392","Approved":2}
//	GET  /_sim/stragglers   OrgIDs that always refuse, JSON
//	GET  /_sim/propagation  key-change delays of the token endpoints, JSON
//	POST /_sim/propagation  {"nonProd":"0s","prod":"90s"}; fields left out keep their value
//	POST /_sim/authorize    {"OrgID":"392","Variant":"late","Delay":"1h"}: one
//	                        organization's authorization server (ServeAuthorize)
//	POST /_sim/hold         {"Mode":"after"}: hold every ApproveDownload after
//	                        (or "before") it changes the organization, until the
//	                        client goes away; {"Mode":""} releases them
//
// Other files of this package add simulated services (a token endpoint, the
// Brands bundle) through Sim.Handle.
//
// # Assumptions
//
// Where the notes say a behaviour is unknown, the simulator assumes the
// following. Each is a choice, not an observation, and a client must not
// depend on any of them beyond what the notes themselves say.
//
// Sign-in and session
//   - The sign-in form is a plain user name and password form at
//     /Account/Login (inputs Username and Password, button login-submit)
//     with its own single-use anti-forgery hidden field; a missing or reused
//     field answers 400. With Config.SecondFactor set, a correct password
//     leads to a second page (input Code, button code-submit) posting to
//     /Account/VerifyCode; five wrong codes start the sign-in over.
//   - A successful sign-in sets two HttpOnly cookies, ".AspNet.Cookies"
//     (the session) and "ASP.NET_SessionId", then redirects (302) where
//     Config.Landing says: by default to ReturnUrl when it is a local path,
//     else to "/"; with LandingHome to the portal's home page
//     /Developer/Apps whatever ReturnUrl says; with LandingNotice to a
//     notice page (/Account/Notice) whose Continue button (a plain submit
//     button without an id) posts back and only then sets the cookies and
//     redirects to ReturnUrl. Only ".AspNet.Cookies" decides whether a
//     request is signed in. Cookies are not marked Secure because the
//     simulator serves plain HTTP on loopback.
//   - With Config.SignInOrigin, the portal's /Account/Login redirects to
//     the same form served by Sim.IdentityProvider on that second origin
//     (portalsim --signin-addr), with the ReturnUrl and a redirect_uri of
//     the portal's /Account/Callback. The provider's success redirects to
//     the callback with a single-use ticket; the callback begins the
//     session and lands as above. Requests to the provider are not recorded
//     as Calls.
//   - The management page's anti-forgery token is one value per session,
//     the same on every load. The page also sets a
//     "__RequestVerificationToken" cookie, as ASP.NET MVC does; the JSON
//     calls require it only when Config.RequireAntiForgeryCookie is set.
//   - A missing or wrong RequestVerificationToken header answers 403 with
//     an HTML page (ASP.NET's real answer may differ).
//   - A JSON call without a valid session answers, in order of precedence:
//     the sign-in page itself (200 text/html) when LapseAsHTML is set; for a
//     request with "X-Requested-With: XMLHttpRequest", an empty 200 with an
//     X-Responded-JSON header holding status 401 and the sign-in location,
//     which is what OWIN cookie authentication (whose cookie name the portal
//     uses) answers to Ajax requests; otherwise a 302 to
//     /Account/Login?ReturnUrl=<the call's path>.
//   - SessionRequests counts every JSON request that reaches the session
//     check (so not those refused by the rate limit); the request after the
//     budget is spent lapses the session. Nothing else expires sessions
//     except ExpireSessions and /Account/LogOff.
//
// Management page
//   - GET /Developer/Management?id={AppId} for an app other than the
//     simulated one (or without id) answers a 404 HTML page.
//   - The page imitates the real markup (Knockout.js data-bind attributes,
//     the title, the app name, the hidden __RequestVerificationToken input;
//     a <meta> tag instead with Config.TokenInMeta). It loads one script,
//     /Scripts/manage.js, which holds the ApproveDownload route and its
//     thirteen form fields as the Save button would send them, and does
//     nothing when loaded, so the page never calls anything by itself.
//
// LoadDownloads
//   - Only the form body is read; parameters in the query string are
//     ignored, as are JSON bodies (which then lack appId).
//   - A PageSize that is not a positive whole number, or a page that is not
//     a non-negative one, reads as absent. No cap on PageSize unless
//     Config.PageSizeMax is set.
//   - Downloads are ordered by numeric OrgId, ascending.
//   - Config.RenameFields renames download members (a portal update);
//     Config.Declined sets how many organizations carry the unknown
//     Approved value 2; Config.IDWithoutApp sends Ids without "_{AppId}".
//   - ECMId is a JSON number. Besides Id, OrgName, Approved and ECMId each
//     download carries AppId, AppName, DownloadDate (in ASP.NET's
//     "\/Date(ms)\/" form) and IsAutoSync, to prove clients tolerate extra
//     fields. Nothing in the answer exposes stored keys or which
//     environment is enabled beyond Approved.
//   - An unknown or missing appId answers 200
//     {"Success":false,"Message":"..."}.
//
// ApproveDownload
//   - All thirteen fields must be present, with names matched exactly;
//     a missing one answers an outer failure
//     {"Success":false,"Message":"The request is missing the field '...'."}.
//   - NonProdOnly and ProdOnly are read as .NET reads booleans: "true" or
//     "false" in any letter case; anything else is an outer failure. Both
//     true is an outer failure.
//   - The hash, scheme and override fields are required but ignored.
//   - A wrong AppId answers like a wrong OrgId: "Download request could not
//     be found." (there is no download of that app at that organization).
//   - Both flags false with both JWKS empty (a combined JWK Set URL call)
//     is refused with an outer failure: only split calls were ever seen in
//     that mode. Both flags false with one JWKS empty is refused too.
//   - A NonProdOnly call reads only TestJWKS, a ProdOnly call only
//     ProdJWKS; the other field is ignored.
//   - A key set the portal would not accept is refused with an OUTER
//     failure naming the first problem ("JWKS key #2 uses an unsupported
//     algorithm (kty 'EC'). Only RSA keys are accepted."), so that it can
//     never be mistaken for an organization's refusal. Refused: text that
//     is not JSON; anything but an object with a non-empty "keys" array; a
//     key without kty; a kty other than RSA; any private member (d, p, q,
//     dp, dq, qi, oth, k); alg other than RS256 or RS384; use other than
//     "sig"; an RSA key under 2048 bits or that does not parse.
//   - Checks run in this order, the first failure answering: fields,
//     booleans, both-true, OrgId/AppId, credential shape and key sets, then
//     the organization (a straggler's inner failure).
//   - A straggler refuses every call, in every mode, on every run.
//   - Only production enabled reports Approved 0, as the notes' rule says
//     (1 needs both environments, 3 is non-production only). Any
//     successful call recomputes Approved from the two environments, so an
//     organization with an unknown value (2) that is activated becomes
//     0, 1 or 3.
//   - Stored key sets are re-serialised the way .NET's JsonWebKeySet and
//     JsonWebKey serialise with their property names: PascalCase members
//     in alphabetical order with nulls kept (so "D": null appears),
//     AdditionalData for members .NET does not model, KeyId beside Kid,
//     KeySize, HasPrivateKey and CryptoProviderFactory; N and E keep the
//     uploaded text. Kid and Alg are kept even though Epic's documentation
//     says an uploaded set keeps only kty, n and e. The stored form is not
//     exposed over the portal's HTTP API (where the portal exposes it is
//     not known); Sim.Org and GET /_sim/orgs show it.
//
// Faults
//   - Latency applies to every portal page and call (not to /_sim/ or
//     extension routes) and ends early when the client goes away, which is
//     recorded with the Answer "canceled". Jitter varies it per request
//     (uniform within ±Jitter) before the rate limit counts the request, so
//     arrival times jitter as across a real network.
//   - The rate limit applies to the two JSON calls only, before the session
//     check, across all clients (it is the server's limit). Retry-After is
//     the limiter's wait rounded up to whole seconds, at least 1, or the
//     RetryAfter fault when set (a portal asking for a long pause). A burst
//     of 1 (the default) refuses any call arriving sooner than 1/RateLimit
//     after the last one accepted.
//   - Injected errors apply to the two JSON calls after the session and
//     token checks and answer HTML error pages. A 502 on ApproveDownload is
//     answered after the change was made (a gateway losing the answer); 500
//     and 503 change nothing.
//   - The 429 and 5xx answers carry HTML bodies, never JSON.
//
// Data
//   - Generated organizations: OrgIds spread over 100..40,000 (four times
//     the count for larger portals), ECMIds distinct and never equal to any
//     OrgId, names composed from word lists (unique; a campus suffix is
//     added only past about 27,000), one straggler per 125 organizations
//     (at least one from 10), 10% enabled in both environments and 5% in
//     non-production only (both through the JWK Set URL), two with the
//     unknown Approved value 2, 30% unable to fetch a JWK Set URL
//     (OutboundBlocked, for simulated token endpoints), the rest 0.
//   - An organization arriving through AddOrg with Approved 1 or 3 is
//     enabled in JWK Set URL mode.
//
// Call log
//   - Every request except /_sim/ routes is recorded, including refused
//     ones, with secret form values (Password, Code, anti-forgery values,
//     client_assertion and similar) replaced by "[redacted]"; cookie and
//     header values are never recorded. The log keeps the most recent
//     DefaultMaxCalls to 2*DefaultMaxCalls entries.
package sim
