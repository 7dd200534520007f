package probe

import "testing"

func TestClassify(t *testing.T) {
	signIn := Answer{Status: 200, Final: "https://h/oauth2/signin?request=1", Title: "Login", SignInForm: true}
	signIn2 := signIn
	signIn2.Final = "https://h/oauth2/signin?request=2" // another request id: the same place
	unknown := Answer{Status: 400, Final: "https://h/oauth2/authorize?client_id={client_id}", Title: "Unknown client {client_id}"}
	unknown200 := Answer{Status: 200, Final: "https://h/oauth2/authorize", Title: "Error", OAuthError: "invalid_client"}
	badRedirect := Answer{Status: 400, Final: "https://h/oauth2/authorize", Title: "Invalid redirect URI"}
	handedOn := Answer{Status: 302, Final: "https://idp.example/login", Stopped: StopOtherHost}
	backToApp := Answer{Status: 302, Final: "https://app/cb?error=invalid_scope", Stopped: StopRedirectURI, OAuthError: "invalid_scope"}
	failed := Answer{Status: 500, Final: "https://h/oauth2/authorize", Title: "Server Error"}
	none := Answer{Failure: "no answer within 15s"}
	plain := Answer{Status: 200, Final: "https://h/oauth2/authorize", Title: "Welcome"}
	loop := Answer{Status: 302, Stopped: StopTooManyRedirects}
	tests := []struct {
		name         string
		app, control Answer
		want         string
	}{
		{"known: sign-in page against an error page", signIn, unknown, Live},
		{"known: sign-in against an error in a 200 page", signIn, unknown200, Live},
		{"known: handed on to a sign-in host, control refused", handedOn, unknown, Live},
		{"same error as the control", unknown, unknown, NotKnown},
		{"same OAuth error as the control", unknown200, unknown200, NotKnown},
		{"both reach the sign-in page (request ids differ)", signIn, signIn2, Inconclusive},
		{"both handed on to the same host", handedOn, handedOn, Inconclusive},
		{"the same page without error or form", plain, plain, Inconclusive},
		{"the control signs in, the app does not", plain, signIn, Inconclusive},
		{"the app refused differently: redirect URI", badRedirect, unknown, Error},
		{"the app sent back to the redirect URI with an error", backToApp, unknown, Error},
		{"the app refused, the control not", unknown, plain, Error},
		{"server error", failed, failed, Error},
		{"server error on the control only", signIn, failed, Error},
		{"redirect loop", loop, unknown, Error},
		{"no answer", none, none, Unreachable},
		{"only the app answered", signIn, none, Unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, evidence := Classify(tt.app, tt.control)
			if got != tt.want {
				t.Errorf("got %s (%s), want %s", got, evidence, tt.want)
			}
			if evidence == "" {
				t.Error("no evidence")
			}
		})
	}
}
