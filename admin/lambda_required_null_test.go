package admin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestMissingRequiredMembersAreNull (lambda29 #1): CreateFunction without
// Code and CreateAlias without FunctionVersion answered
// InvalidParameterValueException "X is required", where every other missing
// required member of Lambda's model is ValidationException "Value null at
// ...", as docs/cli.md promises.
func TestMissingRequiredMembersAreNull(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	base := env.AdminURL + "/2015-03-31/functions"
	for _, tc := range []struct{ url, body, member string }{
		{base, `{"FunctionName":"x1","Role":"arn:aws:iam::000000000000:role/x"}`, "code"},
		{base + "/nofn/aliases", `{"Name":"zz"}`, "functionVersion"},
	} {
		resp, err := http.Post(tc.url, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		want := "Value null at '" + tc.member + "' failed to satisfy constraint: Member must not be null"
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "ValidationException" || !strings.Contains(string(b), want) {
			t.Errorf("%s without %s: %d %s %s; want 400 ValidationException %q", tc.url, tc.member, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), b, want)
		}
	}
}
