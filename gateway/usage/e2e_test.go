package usage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

// keyedDoc is an OpenAPI document whose GET /pets requires an API key (an
// apiKey scheme named x-api-key in the header) and whose GET /open does not;
// both are MOCK integrations.
const keyedDoc = `openapi: 3.0.1
info: {title: keyed, version: "1"}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
paths:
  /pets:
    get:
      security: [{api_key: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"pets":[]}'}}}
  /open:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"open":true}'}}}
`

// importKeyed imports keyedDoc and deploys it to stages (the first created by
// the deployment, the others from the same deployment); it returns the API id.
func importKeyed(t *testing.T, c *client.Client, stages ...string) string {
	t.Helper()
	ctx := context.Background()
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis/import", url.Values{"name": {"keyed"}}, []byte(keyedDoc), nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &imp); err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil, map[string]any{"stageName": st}, nil); err != nil {
			t.Fatalf("deploy %s: %v", st, err)
		}
	}
	return imp.API.ID
}

// call GETs url with the key (when set) and returns the status, the
// x-amzn-ErrorType and the body.
func call(t *testing.T, u, key string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), strings.TrimSpace(string(b))
}

// TestKeyRequiredMethodRefusesRequestWithoutKey is the defect of issue 8: a
// method whose OpenAPI security names an api_key scheme answered 200 to a
// request with no key.
func TestKeyRequiredMethodRefusesRequestWithoutKey(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	id := importKeyed(t, env.Client(), "dev")
	base := env.GatewayURL + "/" + id + "/dev"
	status, typ, body := call(t, base+"/pets", "")
	if status != http.StatusForbidden || typ != "ForbiddenException" || body != `{"message":"Forbidden"}` {
		t.Fatalf("GET /pets without a key: %d %s %s; want 403 ForbiddenException {\"message\":\"Forbidden\"}", status, typ, body)
	}
	if status, _, body := call(t, base+"/open", ""); status != http.StatusOK {
		t.Fatalf("GET /open: %d %s", status, body)
	}
}
