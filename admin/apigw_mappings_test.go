package admin_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/internal/testkit"
)

// TestInvalidMappingExpressionsRefusedAWSCLI: a REST integration's request
// parameter or integration response parameter whose source or target is none
// of API Gateway's mapping expressions is refused where it is declared
// (put-integration, update-integration, put-integration-response,
// update-integration-response) with API Gateway's BadRequestException, and
// nothing is stored; the documented sources (the body and its JSONPath,
// multi-value headers, stage and context variables on the response side) are
// taken. It used to store them and drop them silently at request time.
func TestInvalidMappingExpressionsRefusedAWSCLI(t *testing.T) {
	t.Parallel()
	bin := testkit.AWSCLI(t)
	c := startControlPlane(t)
	cli := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"--endpoint-url", c.env.AdminURL, "--output", "text", "apigateway"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY="+cpToken, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	ok := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("aws apigateway %v: %v\n%s", args, err, out)
		}
		return out
	}
	refused := func(what, detail string, args ...string) {
		t.Helper()
		out, err := cli(args...)
		want := "Invalid mapping expression specified: Validation Result: warnings : [], errors : [" + detail + "]"
		if err == nil || !strings.Contains(out, "(BadRequestException)") || !strings.Contains(out, want) {
			t.Errorf("%s: err %v, output %q; want BadRequestException: %s", what, err, out, want)
		}
	}
	api := ok("create-rest-api", "--name", "mappings", "--query", "id")
	root := ok("get-resources", "--rest-api-id", api, "--query", "items[?path=='/'].id")
	m := []string{"--rest-api-id", api, "--resource-id", root, "--http-method", "POST"}
	ok(append([]string{"put-method", "--authorization-type", "NONE", "--request-parameters",
		"method.request.header.X-Multi=false"}, m...)...)
	ok(append([]string{"put-integration", "--type", "HTTP", "--integration-http-method", "POST", "--uri", "http://127.0.0.1:1/",
		"--request-parameters", `{"integration.request.header.X-Body":"method.request.body","integration.request.header.X-A":"method.request.body.a.b[0]",` +
			`"integration.request.querystring.m":"method.request.multivalueheader.X-Multi"}`}, m...)...)

	refused("update-integration to a garbage source", "Invalid mapping expression specified: total garbage $$",
		append([]string{"update-integration", "--patch-operations",
			`[{"op":"add","path":"/requestParameters/integration.request.header.X-G","value":"total garbage $$"}]`}, m...)...)
	refused("put-integration from a garbage source", "Invalid mapping expression specified: nonsense",
		append([]string{"put-integration", "--type", "HTTP", "--integration-http-method", "POST", "--uri", "http://127.0.0.1:1/",
			"--request-parameters", `{"integration.request.header.X-G":"nonsense"}`}, m...)...)
	refused("put-integration to a garbage target", "Invalid mapping expression parameter specified: foo.bar",
		append([]string{"put-integration", "--type", "HTTP", "--integration-http-method", "POST", "--uri", "http://127.0.0.1:1/",
			"--request-parameters", `{"foo.bar":"'x'"}`}, m...)...)
	refused("put-integration from a body JSONPath that does not parse", "Invalid mapping expression specified: method.request.body.a[",
		append([]string{"put-integration", "--type", "HTTP", "--integration-http-method", "POST", "--uri", "http://127.0.0.1:1/",
			"--request-parameters", `{"integration.request.header.X":"method.request.body.a["}`}, m...)...)
	if got := ok(append([]string{"get-integration", "--output", "json", "--query", "requestParameters"}, m...)...); strings.Contains(got, "X-G") ||
		strings.Contains(got, "foo.bar") || !strings.Contains(got, "method.request.body.a.b[0]") {
		t.Errorf("requestParameters after the refusals = %s", got)
	}

	ok(append([]string{"put-method-response", "--status-code", "200", "--response-parameters",
		"method.response.header.X-Mock=false,method.response.header.X-Stage=false,method.response.header.X-Id=false"}, m...)...)
	ok(append([]string{"put-integration-response", "--status-code", "200", "--selection-pattern", "", "--response-parameters",
		`{"method.response.header.X-Stage":"stageVariables.v","method.response.header.X-Id":"context.requestId"}`}, m...)...)
	refused("update-integration-response to a garbage source", "Invalid mapping expression specified: garbage",
		append([]string{"update-integration-response", "--status-code", "200", "--patch-operations",
			`[{"op":"add","path":"/responseParameters/method.response.header.X-Mock","value":"garbage"}]`}, m...)...)
	refused("put-integration-response from a method request source", "Invalid mapping expression specified: method.request.header.X-Multi",
		append([]string{"put-integration-response", "--status-code", "200", "--response-parameters",
			`{"method.response.header.X-Mock":"method.request.header.X-Multi"}`}, m...)...)
	ok(append([]string{"update-integration-response", "--status-code", "200", "--patch-operations",
		`[{"op":"add","path":"/responseParameters/method.response.header.X-Mock","value":"integration.response.multivalueheader.X-B"}]`}, m...)...)
	if got := ok(append([]string{"get-integration-response", "--status-code", "200", "--output", "json", "--query", "responseParameters"}, m...)...); strings.Contains(got, "garbage") ||
		!strings.Contains(got, "stageVariables.v") || !strings.Contains(got, "integration.response.multivalueheader.X-B") {
		t.Errorf("responseParameters after the refusals = %s", got)
	}
}

// TestImportRefusesInvalidMappingExpressions: an OpenAPI document whose
// x-amazon-apigateway-integration maps a request or response parameter from
// a garbage expression is refused by import-rest-api and put-rest-api, as
// put-integration refuses it, instead of being stored and ignored.
func TestImportRefusesInvalidMappingExpressions(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	doc := func(requestParams, responseParams string) []byte {
		return []byte(`{"openapi":"3.0.1","info":{"title":"m","version":"1"},"paths":{"/p":{"get":{
  "responses":{"200":{"description":"ok","headers":{"X-Mock":{"schema":{"type":"string"}}}}},
  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},
    "requestParameters":{` + requestParams + `},
    "responses":{"default":{"statusCode":"200","responseParameters":{` + responseParams + `}}}}}}}}`)
	}
	for name, body := range map[string][]byte{
		"request source":  doc(`"integration.request.header.X-G":"nonsense"`, ``),
		"request target":  doc(`"foo.bar":"'x'"`, ``),
		"response source": doc(``, `"method.response.header.X-Mock":"garbage"`),
	} {
		_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: body})
		var br *agtypes.BadRequestException
		if !errors.As(err, &br) || !strings.Contains(aws.ToString(br.Message), "Invalid mapping expression") {
			t.Errorf("import with a garbage %s = %v, want BadRequestException: Invalid mapping expression ...", name, err)
		}
	}
	good := doc(`"integration.request.header.X-B":"method.request.body.a"`, `"method.response.header.X-Mock":"context.stage"`)
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: good}))
	_, err := c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: imp.Id, Mode: agtypes.PutModeOverwrite,
		Body: doc(``, `"method.response.header.X-Mock":"integration.response.nope"`)})
	var br *agtypes.BadRequestException
	if !errors.As(err, &br) || !strings.Contains(aws.ToString(br.Message), "Invalid mapping expression specified: integration.response.nope") {
		t.Errorf("put-rest-api with a garbage response source = %v, want BadRequestException", err)
	}
}
