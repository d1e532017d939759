package usage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// echoKeyDoc is a REST API whose GET /k requires an API key and answers, from
// a MOCK integration, the key the gateway admitted and the x-api-key the
// integration sees.
const echoKeyDoc = `openapi: 3.0.1
info: {title: echokey, version: "1"}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
paths:
  /k:
    get:
      security: [{api_key: []}]
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"apiKey":"$context.identity.apiKey","header":"$input.params(''x-api-key'')"}'}}}
`

// TestRepeatedAPIKeyHeader: an x-api-key sent more than once is checked on the
// value the integration sees (the last, as the proxy event's headers and
// $input.params have it), never on another one sent beside it.
func TestRepeatedAPIKeyHeader(t *testing.T) {
	env, _, gw, _ := startKeyed(t)
	ctx := context.Background()
	resp, err := env.Client().Do(ctx, "POST", "/portico/v1/apis/import", url.Values{"name": {"echokey"}}, []byte(echoKeyDoc), nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &imp); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client().Do(ctx, "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	good := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("good"), Enabled: true})
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("basic"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(imp.API.ID), Stage: aws.String("dev")}}}, *good.Id)
	u := env.GatewayURL + "/" + imp.API.ID + "/dev/k"
	wrong := strings.Repeat("w", 40)

	send := func(keys ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for _, k := range keys {
			req.Header.Add("x-api-key", k)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := send(*good.Value, wrong); status != http.StatusForbidden {
		t.Errorf("x-api-key good then wrong: %d %s, want 403 (the integration would see the wrong key)", status, body)
	}
	status, body := send(wrong, *good.Value)
	want := `{"apiKey":"` + *good.Value + `","header":"` + *good.Value + `"}`
	if status != http.StatusOK || body != want {
		t.Errorf("x-api-key wrong then good: %d %s, want 200 %s", status, body, want)
	}
	if status, body := send(*good.Value, ""); status != http.StatusForbidden {
		t.Errorf("x-api-key good then empty: %d %s, want 403", status, body)
	}
}
