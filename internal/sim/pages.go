package sim

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// The pages imitate the portal's markup closely enough for a browser
// sign-in and a scraper of the management page: the same ids, input names
// and Knockout.js data-bind attributes. They load no scripts, so the page
// never issues requests of its own.
const pageLayout = `{{define "top"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
</head>
<body>
<header class="navbar navbar-default"><a class="navbar-brand" href="/">Epic on FHIR</a></header>
<div class="container body-content" id="content">
{{end}}
{{define "bottom"}}</div>
<footer><p>&copy; Epic Systems Corporation (simulated)</p></footer>
</body>
</html>
{{end}}`

const homeHTML = `{{template "top" "Epic on FHIR"}}
<h1>Epic on FHIR</h1>
{{if .SignedIn}}<p><a id="manage-link" href="/Developer/Management?id={{.AppID}}">Review &amp; Manage Downloads</a></p>
<form action="/Account/LogOff" method="post"><button type="submit" id="logoff">Log out</button></form>
{{else}}<p><a id="login-link" href="/Account/Login">Log in</a></p>{{end}}
{{template "bottom"}}`

const loginHTML = `{{template "top" "Log in"}}
<h2>Log in</h2>
<form action="{{.Action}}" method="post" id="login-form" class="form-horizontal" role="form">
<input name="__RequestVerificationToken" type="hidden" value="{{.Token}}" />
{{if .Error}}<div class="validation-summary-errors text-danger" id="login-error"><ul><li>{{.Error}}</li></ul></div>{{end}}
<div class="form-group">
<label for="Username">User name</label>
<input class="form-control" id="Username" name="Username" type="text" autocomplete="username" value="{{.Username}}" />
</div>
<div class="form-group">
<label for="Password">Password</label>
<input class="form-control" id="Password" name="Password" type="password" autocomplete="current-password" />
</div>
<button type="submit" id="login-submit" class="btn btn-primary">Log in</button>
</form>
{{template "bottom"}}`

const codeHTML = `{{template "top" "Verify your identity"}}
<h2>Verify your identity</h2>
<p>Enter the code from your authenticator app.</p>
<form action="/Account/VerifyCode" method="post" id="code-form">
<input name="__RequestVerificationToken" type="hidden" value="{{.Token}}" />
<input name="Challenge" type="hidden" value="{{.Challenge}}" />
{{if .Error}}<div class="validation-summary-errors text-danger" id="code-error"><ul><li>{{.Error}}</li></ul></div>{{end}}
<div class="form-group">
<label for="Code">Code</label>
<input class="form-control" id="Code" name="Code" type="text" inputmode="numeric" autocomplete="one-time-code" />
</div>
<button type="submit" id="code-submit" class="btn btn-primary">Verify</button>
</form>
{{template "bottom"}}`

const managementHTML = `{{template "top" "Review & Manage Downloads"}}
{{if .TokenInMeta}}<meta name="__RequestVerificationToken" content="{{.Token}}" />
{{else}}<form id="__AjaxAntiForgeryForm" action="#" method="post"><input name="__RequestVerificationToken" type="hidden" value="{{.Token}}" /></form>
{{end}}<script src="/Scripts/manage.js"></script>
<div id="manage-downloads" data-app-id="{{.AppID}}">
<h1>Review &amp; Manage Downloads</h1>
<h2 class="app-name" data-bind="text: AppName">{{.AppName}}</h2>
<p class="help-block">Organizations that have downloaded your app through auto-sync are listed below. Upload a client credential to activate your app at each organization.</p>
<div class="loading" data-bind="visible: IsLoading">Loading&hellip;</div>
<table class="table table-striped" id="downloads-table" data-bind="visible: Downloads().length > 0">
<thead><tr><th>Organization</th><th>Status</th><th></th></tr></thead>
<tbody data-bind="foreach: Downloads">
<tr>
<td data-bind="text: OrgName"></td>
<td data-bind="text: $parent.statusText(Approved)"></td>
<td><button type="button" class="btn btn-default" data-bind="click: $parent.openApproveModal, text: Approved === 1 ? 'Review' : 'Activate'"></button></td>
</tr>
</tbody>
</table>
<div class="pager" data-bind="visible: PageCount() > 1">
<button type="button" data-bind="click: previousPage, enable: Page() > 0">Previous</button>
<span data-bind="text: (Page() + 1) + ' / ' + PageCount()"></span>
<button type="button" data-bind="click: nextPage, enable: Page() + 1 < PageCount()">Next</button>
</div>
<div class="modal" id="approve-modal" data-bind="with: SelectedDownload">
<h3 data-bind="text: OrgName"></h3>
<label><input type="radio" name="credentialType" value="url" data-bind="checked: $parent.CredentialType" /> JWK Set URL (Recommended)</label>
<label><input type="radio" name="credentialType" value="other" data-bind="checked: $parent.CredentialType" /> Other</label>
<p class="text-warning" data-bind="visible: $parent.CredentialType() === 'other'"><strong>We recommend using a JWK Set URL instead of these options.</strong></p>
<textarea id="TestJWKS" data-bind="value: $parent.TestJWKS"></textarea>
<textarea id="ProdJWKS" data-bind="value: $parent.ProdJWKS"></textarea>
<button type="button" class="btn btn-primary" data-bind="click: $parent.approve">Save</button>
</div>
</div>
{{template "bottom"}}`

const notFoundHTML = `{{template "top" "Page not found"}}
<h1>Page not found</h1>
<p>The page you requested could not be found.</p>
{{template "bottom"}}`

const errorHTML = `{{template "top" .Title}}
<h1>{{.Title}}</h1>
<p>{{.Detail}}</p>
{{template "bottom"}}`

// Parsed page templates.
var (
	homePage       = mustPage("home", homeHTML)
	loginPage      = mustPage("login", loginHTML)
	codePage       = mustPage("code", codeHTML)
	managementPage = mustPage("management", managementHTML)
	notFoundPage   = mustPage("notfound", notFoundHTML)
	errorPage      = mustPage("error", errorHTML)
)

// mustPage parses a page with the shared layout; the templates are
// constants, so a parse error is a bug caught by any test.
func mustPage(name, body string) *template.Template {
	return template.Must(template.Must(template.New(name).Parse(pageLayout)).Parse(body))
}

// Page data.
type (
	homeData struct {
		SignedIn bool
		AppID    string
	}
	loginData struct {
		Action, Token, Username, Error string
	}
	codeData struct {
		Token, Challenge, Error string
	}
	managementData struct {
		Token, AppID, AppName string
		TokenInMeta           bool
	}
	errorData struct {
		Title, Detail string
	}
)

// renderPage writes an HTML page with its status.
func (s *Sim) renderPage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "page rendering failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeHTMLError answers an error status with a small HTML page, as IIS and
// ASP.NET do: never JSON, so a client must check before decoding.
func writeHTMLError(w http.ResponseWriter, status int, title, detail string) {
	var buf bytes.Buffer
	_ = errorPage.Execute(&buf, errorData{Title: title, Detail: detail})
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// handleNotFound answers an unknown route.
func (s *Sim) handleNotFound(w *recorder, r *http.Request) {
	w.answer = AnswerNotFound
	s.renderPage(w, http.StatusNotFound, notFoundPage, nil)
}
