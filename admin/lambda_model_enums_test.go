package admin_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestLambdaModelEnumsArePatternsAreValidationException: a value outside an
// enum, a pattern or a range of Lambda's API model (Runtime bogus,
// PackageType Jar, Architectures [sparc], TracingConfig Mode Bogus, an
// AddPermission StatementId with a space) is refused as Lambda refuses it,
// ValidationException in the model's words, not as a Portico limitation; a
// value valid in Lambda that Portico does not run (nodejs22.x, Active)
// stays InvalidParameterValueException "Portico does not support".
func TestLambdaModelEnumsArePatternsAreValidationException(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	createIdle(t, ctx, c, "en", "hi")
	zip := base64.StdEncoding.EncodeToString(testkit.IdleZip(t))
	const role = `"Role":"arn:aws:iam::000000000000:role/x"`
	create := func(name, extra string) string {
		return `{"FunctionName":"` + name + `",` + role + `,"Code":{"ZipFile":"` + zip + `"}` + extra + `}`
	}
	const fns = "/2015-03-31/functions"
	for _, tc := range []struct {
		name, method, path, body string
		errType, says            string
	}{
		{"Runtime outside the enum", "POST", fns, create("d1", `,"Runtime":"bogus","Handler":"x"`), "ValidationException",
			"Value 'bogus' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs, "},
		{"Runtime Portico does not run", "POST", fns, create("d1", `,"Runtime":"nodejs22.x","Handler":"x"`), "InvalidParameterValueException",
			"Runtime nodejs22.x is not supported"},
		{"PackageType", "POST", fns, create("d2", `,"PackageType":"Jar"`), "ValidationException",
			"Value 'Jar' at 'packageType' failed to satisfy constraint: Member must satisfy enum value set: [Zip, Image]"},
		{"Architectures sparc", "POST", fns, create("d3", `,"Architectures":["sparc"]`), "ValidationException",
			"Value '[sparc]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"},
		{"two Architectures", "POST", fns, create("d3", `,"Architectures":["x86_64","x86_64"]`), "ValidationException",
			"Value '[x86_64, x86_64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"UpdateFunctionCode Architectures", "PUT", fns + "/en/code", `{"ZipFile":"` + zip + `","Architectures":["sparc"]}`, "ValidationException",
			"at 'architectures'"},
		{"TracingConfig Mode", "PUT", fns + "/en/configuration", `{"TracingConfig":{"Mode":"Bogus"}}`, "ValidationException",
			"Value 'Bogus' at 'tracingConfig.mode' failed to satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]"},
		{"TracingConfig Active", "PUT", fns + "/en/configuration", `{"TracingConfig":{"Mode":"Active"}}`, "InvalidParameterValueException",
			"Portico does not support TracingConfig Mode Active"},
		{"LogFormat", "PUT", fns + "/en/configuration", `{"LoggingConfig":{"LogFormat":"XML"}}`, "ValidationException",
			"Value 'XML' at 'loggingConfig.logFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]"},
		{"LogFormat and TracingConfig at once", "PUT", fns + "/en/configuration", `{"LoggingConfig":{"LogFormat":"XML"},"TracingConfig":{"Mode":"x"}}`, "ValidationException",
			"2 validation errors detected: Value 'x' at 'tracingConfig.mode'"},
		{"EphemeralStorage", "PUT", fns + "/en/configuration", `{"EphemeralStorage":{"Size":100}}`, "ValidationException",
			"Value '100' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{"StatementId", "POST", fns + "/en/policy", `{"StatementId":"bad sid","Action":"lambda:InvokeFunction","Principal":"apigateway.amazonaws.com"}`, "ValidationException",
			"Value 'bad sid' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)"},
		{"long StatementId", "POST", fns + "/en/policy", `{"StatementId":"` + strings.Repeat("s", 101) + `","Action":"lambda:InvokeFunction","Principal":"apigateway.amazonaws.com"}`, "ValidationException",
			"at 'statementId' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"Action", "POST", fns + "/en/policy", `{"StatementId":"x","Action":"s3:GetObject","Principal":"apigateway.amazonaws.com"}`, "ValidationException",
			"Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"},
		{"Principal", "POST", fns + "/en/policy", `{"StatementId":"y","Action":"lambda:InvokeFunction","Principal":"has space"}`, "ValidationException",
			`Value 'has space' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
		{"RemovePermission StatementId", "DELETE", fns + "/en/policy/bad%20sid", ``, "ValidationException",
			"Value 'bad sid' at 'statementId'"},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, env.AdminURL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		body := strings.ReplaceAll(string(raw), `\\`, `\`)
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != tc.errType || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s %s\nwant 400 %s saying %s", tc.name, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), raw, tc.errType, tc.says)
		}
	}
}
