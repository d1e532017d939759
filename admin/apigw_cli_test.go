package admin_test

import (
	"errors"
	"github.com/portico-dev/portico/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// cliScript builds a REST API with the AWS CLI, resource by resource, deploys
// it and exports it; its last line of output is the API id.
const cliScript = `set -euo pipefail
ag() { aws apigateway --endpoint-url "$EP" --output text "$@"; }
api=$(ag create-rest-api --name cli-pets --endpoint-configuration types=REGIONAL --query id)
root=$(ag get-resources --rest-api-id "$api" --query "items[?path=='/'].id")
res=$(ag create-resource --rest-api-id "$api" --parent-id "$root" --path-part hello --query id)
ag put-method --rest-api-id "$api" --resource-id "$res" --http-method GET --authorization-type NONE \
  --request-parameters method.request.querystring.who=false >/dev/null
ag put-integration --rest-api-id "$api" --resource-id "$res" --http-method GET --type MOCK \
  --request-templates '{"application/json":"{\"statusCode\": 200}"}' >/dev/null
ag put-method-response --rest-api-id "$api" --resource-id "$res" --http-method GET --status-code 200 >/dev/null
ag put-integration-response --rest-api-id "$api" --resource-id "$res" --http-method GET --status-code 200 \
  --response-templates '{"application/json":"{\"hello\":\"$stageVariables.who\"}"}' >/dev/null
ag create-deployment --rest-api-id "$api" --stage-name dev --variables who=cli >/dev/null
ag tag-resource --resource-arn "arn:aws:apigateway:us-east-1::/restapis/$api" --tags team=cli
ag get-export --rest-api-id "$api" --stage-name dev --export-type oas30 --accepts application/yaml \
  --parameters extensions=integrations "$OUT/export.yaml" >/dev/null
if ag get-resource --rest-api-id "$api" --resource-id nosuch 2> "$OUT/err"; then exit 1; fi
echo "$api"
`

// TestRestAPIWithAWSCLI drives the AWS CLI (aws apigateway ... --endpoint-url)
// through a short script against the server, then calls the API it built.
// It skips, with the reason, where the CLI is not installed or does not run.
func TestRestAPIWithAWSCLI(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per call")
	}
	testkit.AWSCLI(t)
	c := startControlPlane(t)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "bash", "-c", cliScript)
	// The caller's AWS settings stay out: dummy credentials, no profile.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"EP="+c.env.AdminURL, "OUT="+dir,
		"AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY="+cpToken,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("the CLI script failed: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	api := lines[len(lines)-1]

	status, body, _ := get(t, c.env.GatewayURL+"/"+api+"/dev/hello")
	if status != 200 || strings.TrimSpace(body) != `{"hello":"cli"}` {
		t.Errorf("GET /dev/hello = %d %s", status, body)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if y := read("export.yaml"); !strings.Contains(y, "openapi: 3.0.1") || !strings.Contains(y, "/hello:") || !strings.Contains(y, "x-amazon-apigateway-integration:") {
		t.Errorf("exported YAML:\n%s", y)
	}
	tags := must[*apigateway.GetTagsOutput](t, "GetTags")(c.ag.GetTags(t.Context(), &apigateway.GetTagsInput{
		ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/" + api)}))
	if tags.Tags["team"] != "cli" {
		t.Errorf("tags after tag-resource = %v", tags.Tags)
	}
	if e := read("err"); !strings.Contains(e, "NotFoundException") || !strings.Contains(e, "Invalid Resource identifier specified") {
		t.Errorf("get-resource of an unknown id printed %q", e)
	}
}
