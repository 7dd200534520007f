package probe

import "fmt"

// Classes of a probe, stable for --output json and the state database.
const (
	// Live: the app's answer differs from the control's the way a known
	// client's does.
	Live = "live"
	// NotKnown: the same answer as the control's: the server does not
	// know the app's client id, or not yet.
	NotKnown = "not-known"
	// Inconclusive: the answers say nothing about the client id.
	Inconclusive = "inconclusive"
	// Unreachable: the server did not answer.
	Unreachable = "unreachable"
	// Error: the server failed, or refused the app's request with an
	// error of its own.
	Error = "error"
)

// Classes lists the classes in the order reports show them.
var Classes = []string{Live, NotKnown, Inconclusive, Unreachable, Error}

// Classify compares the app's answer with the control's and says what
// the difference means, with the evidence in one line. It decides on the
// difference alone, never on what a page's text says.
func Classify(app, control Answer) (class, evidence string) {
	both := func(what string) string {
		return fmt.Sprintf("%s; app and control alike: %s", what, app.Describe())
	}
	pair := func(what string) string {
		return fmt.Sprintf("%s; app: %s; control: %s", what, app.Describe(), control.Describe())
	}
	switch {
	case !app.answered() && !control.answered():
		return Unreachable, pair("no answer")
	case !app.answered() || !control.answered():
		return Unreachable, pair("only one of the two requests was answered, nothing to compare")
	case app.Status >= 500:
		return Error, pair("the server failed")
	case control.Status >= 500:
		return Error, pair("the server failed on the control")
	case app.Stopped == StopTooManyRedirects || control.Stopped == StopTooManyRedirects:
		return Error, pair("the redirects did not end")
	}
	if app.shape() == control.shape() {
		switch {
		case app.erred():
			return NotKnown, both("the same answer as a client id no server knows")
		case app.Stopped == StopOtherHost:
			return Inconclusive, both("both are handed to the same host, which decides there")
		case app.SignInForm:
			return Inconclusive, both("both reach the same sign-in page: this server checks the client only later")
		}
		return Inconclusive, both("the same answer, with no error and no sign-in form")
	}
	switch {
	case app.signIn() && control.erred():
		return Live, pair("the app's client id is known")
	case app.Stopped == StopRedirectURI:
		return Error, pair("the server knows the app but refuses this request (check the redirect URI and scope)")
	case app.erred() && !control.erred():
		return Error, pair("the app is refused where a client id no server knows is not")
	case app.erred() && control.erred():
		return Error, pair("the app gets another error than a client id no server knows: the server likely knows the app but refuses this request (check the redirect URI and scope)")
	}
	return Inconclusive, pair("the answers differ, but not the way a known client's does")
}
