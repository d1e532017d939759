package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2CORSMaxAgeZero: a corsConfiguration maxAge of 0 is a value (no
// preflight caching), not "not set": update-api and import keep it, get-api
// and export return it, and the deployed API's preflights carry
// Access-Control-Max-Age: 0. A configuration without maxAge sends no header.
func TestV2CORSMaxAgeZero(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	preflight := func(id string) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodOptions, e.env.GatewayURL+"/"+id+"/s/page", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "http://x.test")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	deploy := func(id *string) {
		t.Helper()
		must[*apigatewayv2.CreateStageOutput](t, "CreateStage")(e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id,
			StageName: aws.String("s"), AutoDeploy: aws.Bool(true)}))
	}
	exported := func(id *string) string {
		t.Helper()
		return string(must[*apigatewayv2.ExportApiOutput](t, "ExportApi")(e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: id,
			OutputType: aws.String("JSON"), Specification: aws.String("OAS30")})).Body)
	}
	wantMaxAge := func(what string, c *v2types.Cors) {
		t.Helper()
		if c == nil || c.MaxAge == nil || *c.MaxAge != 0 {
			t.Errorf("%s: corsConfiguration %+v, want maxAge 0", what, c)
		}
	}

	// update-api.
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("cors0"),
		ProtocolType: v2types.ProtocolTypeHttp}))
	up := must[*apigatewayv2.UpdateApiOutput](t, "UpdateApi")(e.ag.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: api.ApiId,
		CorsConfiguration: &v2types.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}, MaxAge: aws.Int32(0)}}))
	wantMaxAge("update-api", up.CorsConfiguration)
	integ := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: api.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("GET"),
		IntegrationUri: aws.String("http://127.0.0.1:1/page"), PayloadFormatVersion: aws.String("1.0")}))
	must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId,
		RouteKey: aws.String("GET /page"), Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))}))
	got := must[*apigatewayv2.GetApiOutput](t, "GetApi")(e.ag.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: api.ApiId}))
	wantMaxAge("get-api", got.CorsConfiguration)
	if ex := exported(api.ApiId); !strings.Contains(strings.Join(strings.Fields(ex), ""), `"maxAge":0`) {
		t.Errorf("export has no maxAge 0:\n%s", ex)
	}
	deploy(api.ApiId)
	if status, h := preflight(aws.ToString(api.ApiId)); status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
		len(h.Values("Access-Control-Max-Age")) != 1 || h.Get("Access-Control-Max-Age") != "0" {
		t.Errorf("preflight after update-api: %d %v, want Access-Control-Max-Age: 0", status, h)
	}

	// import (x-amazon-apigateway-cors).
	doc := `{"openapi": "3.0.1", "info": {"title": "cors0i", "version": "1"},
  "x-amazon-apigateway-cors": {"allowOrigins": ["*"], "allowMethods": ["GET"], "maxAge": 0},
  "paths": {"/page": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "http://127.0.0.1:1/page", "payloadFormatVersion": "1.0"}}}}}`
	imp := must[*apigatewayv2.ImportApiOutput](t, "ImportApi")(e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)}))
	wantMaxAge("import-api", imp.CorsConfiguration)
	got = must[*apigatewayv2.GetApiOutput](t, "GetApi")(e.ag.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: imp.ApiId}))
	wantMaxAge("get-api after import", got.CorsConfiguration)
	if ex := exported(imp.ApiId); !strings.Contains(strings.Join(strings.Fields(ex), ""), `"maxAge":0`) {
		t.Errorf("export of the import has no maxAge 0:\n%s", ex)
	}
	deploy(imp.ApiId)
	if status, h := preflight(aws.ToString(imp.ApiId)); status != http.StatusNoContent || h.Get("Access-Control-Max-Age") != "0" {
		t.Errorf("preflight after import: %d %v, want Access-Control-Max-Age: 0", status, h)
	}

	// Without maxAge: none stored, none sent.
	up = must[*apigatewayv2.UpdateApiOutput](t, "UpdateApi")(e.ag.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: imp.ApiId,
		CorsConfiguration: &v2types.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}}}))
	if up.CorsConfiguration == nil || up.CorsConfiguration.MaxAge != nil {
		t.Errorf("update-api without maxAge: %+v", up.CorsConfiguration)
	}
	if status, h := preflight(aws.ToString(imp.ApiId)); status != http.StatusNoContent || h.Values("Access-Control-Max-Age") != nil {
		t.Errorf("preflight without maxAge: %d %v, want no Access-Control-Max-Age", status, h)
	}
}
