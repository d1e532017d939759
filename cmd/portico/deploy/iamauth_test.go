package deploy

import (
	"strings"
	"testing"
)

// TestHTTPAPIIAMNeedsEnableIamAuthorizer: an HttpApi's DefaultAuthorizer, or
// an HttpApi event's Authorizer, of AWS_IAM without Auth.EnableIamAuthorizer:
// true is refused with SAM's message, as SAM refuses the template; with it,
// the template deploys.
func TestHTTPAPIIAMNeedsEnableIamAuthorizer(t *testing.T) {
	dir := fixture(t)
	withDefault := strings.Replace(httpAuth, "        DefaultAuthorizer: Lam\n", "        DefaultAuthorizer: AWS_IAM\n", 1)
	onEvent := strings.Replace(httpAuth, "              Authorizer: NONE\n", "              Authorizer: AWS_IAM\n", 1)
	enable := func(text string) string {
		return strings.Replace(text, "      Auth:\n        Default", "      Auth:\n        EnableIamAuthorizer: true\n        Default", 1)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"default", withDefault, "Http Auth: Unable to set DefaultAuthorizer because 'AWS_IAM' was not defined in 'Authorizers'."},
		{"default, disabled", strings.Replace(withDefault, "      Auth:\n        Default", "      Auth:\n        EnableIamAuthorizer: false\n        Default", 1),
			"Unable to set DefaultAuthorizer because 'AWS_IAM' was not defined in 'Authorizers'."},
		{"event", onEvent, "Unable to set Authorizer [AWS_IAM] on API method [get] for path [/open] because it wasn't defined in the API's Authorizers."},
		{"default, enabled", enable(withDefault), ""},
		{"event, enabled", enable(onEvent), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, dir, "s", tc.text, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}
