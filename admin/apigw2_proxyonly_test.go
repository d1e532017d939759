package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/portico-dev/portico/gateway/apis"
)

// wantProxyOnly fails t unless err is API Gateway's refusal of a non-proxy
// integration on an HTTP API: a BadRequestException with its message.
func wantProxyOnly(t *testing.T, what string, err error) {
	t.Helper()
	var bad *v2types.BadRequestException
	if !errors.As(err, &bad) || !strings.Contains(aws.ToString(bad.Message), apis.HTTPProxyOnly) {
		t.Errorf("%s: got %v, want BadRequestException %q", what, err, apis.HTTPProxyOnly)
	}
}

// TestV2HTTPAPIRefusesNonProxyIntegrations: API Gateway gives an HTTP API
// AWS_PROXY and HTTP_PROXY integrations only ("Currently, an API with a
// protocol type of HTTP may only be associated with proxy integrations");
// create-integration, update-integration's integrationType, import-api and
// reimport-api refuse MOCK, HTTP and AWS as it does, instead of serving an
// empty 200 or a function's raw result.
func TestV2HTTPAPIRefusesNonProxyIntegrations(t *testing.T) {
	t.Parallel()
	e, h := startV2WithHTTPAPI(t, "proxyonly")
	ctx := t.Context()
	for _, in := range []apigatewayv2.CreateIntegrationInput{
		{IntegrationType: v2types.IntegrationTypeMock},
		{IntegrationType: "mock"},
		{IntegrationType: v2types.IntegrationTypeHttp, IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String("http://127.0.0.1:1/h")},
		{IntegrationType: v2types.IntegrationTypeAws, IntegrationUri: aws.String("function:echo")},
	} {
		in.ApiId = h.ApiId
		_, err := e.ag.CreateIntegration(ctx, &in)
		wantProxyOnly(t, "CreateIntegration "+string(in.IntegrationType), err)
	}
	be := newBackend(t)
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String(be.srv.URL + "/be"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: h.ApiId, IntegrationId: integ.IntegrationId,
		IntegrationType: v2types.IntegrationTypeMock})
	wantProxyOnly(t, "UpdateIntegration to MOCK", err)
	got, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: h.ApiId, IntegrationId: integ.IntegrationId})
	if err != nil || got.IntegrationType != v2types.IntegrationTypeHttpProxy {
		t.Fatalf("GetIntegration after the refused update: %+v %v, want HTTP_PROXY", got, err)
	}
	list, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: h.ApiId})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("GetIntegrations: %+v %v, want only the HTTP_PROXY one", list, err)
	}

	for _, typ := range []string{"mock", "http", "aws"} {
		doc := `{"openapi": "3.0.1", "info": {"title": "imp", "version": "1"}, "x-amazon-apigateway-importexport-version": "1.0",
			"paths": {"/x": {"get": {"responses": {"default": {"description": "ok"}},
				"x-amazon-apigateway-integration": {"type": "` + typ + `", "httpMethod": "POST", "uri": "` +
			map[string]string{"mock": "", "http": "http://127.0.0.1:1/h", "aws": "function:echo"}[typ] + `", "payloadFormatVersion": "1.0"}}}}}`
		_, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
		wantProxyOnly(t, "ImportApi "+typ, err)
		_, err = e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: h.ApiId, Body: aws.String(doc)})
		wantProxyOnly(t, "ReimportApi "+typ, err)
	}
	list, err = e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: h.ApiId})
	if err != nil || len(list.Items) != 1 || list.Items[0].IntegrationType != v2types.IntegrationTypeHttpProxy {
		t.Fatalf("GetIntegrations after the refused reimports: %+v %v, want the HTTP_PROXY one unchanged", list, err)
	}
}

// TestV2StoredHTTPAPIMockKeepsServing: an HTTP API that has a MOCK
// integration already (stored before apigatewayv2 refused them, or made
// through the native admin API, which still takes them) reads back and
// serves as before, and stays editable: only an integrationType given is
// checked.
func TestV2StoredHTTPAPIMockKeepsServing(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := context.Background()
	c := e.env.Client()
	resp, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis", nil, map[string]any{"name": "stored", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/m", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &api); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: aws.String(api.ID), StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := get(t, e.env.GatewayURL+"/"+api.ID+"/m"); status != http.StatusOK {
		t.Fatalf("GET /m: %d %s, want the MOCK's 200", status, body)
	}
	list, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(api.ID)})
	if err != nil || len(list.Items) != 1 || list.Items[0].IntegrationType != v2types.IntegrationTypeMock {
		t.Fatalf("GetIntegrations: %+v %v, want the stored MOCK", list, err)
	}
	id := list.Items[0].IntegrationId
	if _, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: aws.String(api.ID), IntegrationId: id,
		Description: aws.String("kept")}); err != nil {
		t.Fatalf("UpdateIntegration of the description: %v", err)
	}
	got, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(api.ID), IntegrationId: id})
	if err != nil || got.IntegrationType != v2types.IntegrationTypeMock || aws.ToString(got.Description) != "kept" {
		t.Fatalf("GetIntegration: %+v %v", got, err)
	}
	if status, body, _ := get(t, e.env.GatewayURL+"/"+api.ID+"/m"); status != http.StatusOK {
		t.Fatalf("GET /m after the update: %d %s, want the MOCK's 200", status, body)
	}
}

// TestV2HTTPAPILambdaProxyMethodIsPOST: API Gateway refuses an HTTP API's
// AWS_PROXY integration with another integrationMethod than POST ("HttpMethod
// must be POST for AWS_PROXY IntegrationType"); create-integration,
// update-integration setting the method or the type, and import-api refuse
// it as it does, instead of storing and exporting a method that is not
// applied. An update that sets neither leaves a stored one editable.
func TestV2HTTPAPILambdaProxyMethodIsPOST(t *testing.T) {
	t.Parallel()
	e, h := startV2WithHTTPAPI(t, "lambdapost")
	ctx := t.Context()
	want := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: accepted, want %q", what, apis.LambdaProxyPOST)
		}
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", apis.LambdaProxyPOST)
	}
	lambda := func(method string) *apigatewayv2.CreateIntegrationInput {
		in := &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy,
			IntegrationUri: aws.String("function:echo"), PayloadFormatVersion: aws.String("2.0")}
		if method != "" {
			in.IntegrationMethod = aws.String(method)
		}
		return in
	}
	for _, m := range []string{"GET", "ANY", "put"} {
		_, err := e.ag.CreateIntegration(ctx, lambda(m))
		want("CreateIntegration "+m, err)
	}
	for _, m := range []string{"", "POST", "post"} {
		out, err := e.ag.CreateIntegration(ctx, lambda(m))
		if err != nil || aws.ToString(out.IntegrationMethod) != "POST" {
			t.Fatalf("CreateIntegration %q: %+v %v, want POST", m, out, err)
		}
		if m == "" {
			_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: h.ApiId, IntegrationId: out.IntegrationId,
				IntegrationMethod: aws.String("PUT")})
			want("UpdateIntegration PUT", err)
			got, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: h.ApiId, IntegrationId: out.IntegrationId,
				Description: aws.String("d")})
			if err != nil || aws.ToString(got.IntegrationMethod) != "POST" {
				t.Fatalf("UpdateIntegration description: %+v %v, want POST kept", got, err)
			}
		}
	}
	hp, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String("http://127.0.0.1:1/h"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: h.ApiId, IntegrationId: hp.IntegrationId,
		IntegrationType: v2types.IntegrationTypeAwsProxy, IntegrationUri: aws.String("function:echo"), PayloadFormatVersion: aws.String("2.0")})
	want("UpdateIntegration HTTP_PROXY GET to AWS_PROXY", err)
	doc := `{"openapi": "3.0.1", "info": {"title": "g", "version": "1"}, "paths": {"/x": {"get": {"x-amazon-apigateway-integration":
		{"type": "aws_proxy", "httpMethod": "GET", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}}}`
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	want("ImportApi", err)
	_, err = e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: h.ApiId, Body: aws.String(doc)})
	want("ReimportApi", err)
}
