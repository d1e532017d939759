package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2IAMRouteReadsBackAndUpdates: an HTTP API route made AWS_IAM by
// x-amazon-apigateway-auth, and one made so by a sigv4 security scheme, read
// back AWS_IAM in get-route and get-routes, as the gateway enforces them
// (an unsigned request gets 403 Missing Authentication Token); update-route
// --authorization-type NONE takes IAM off both (they read back NONE, an
// unsigned request reaches the backend, the export has no IAM left), and
// update-route AWS_IAM puts it back.
func TestV2IAMRouteReadsBackAndUpdates(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	be := newBackend(t)
	integ := `"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "` + be.srv.URL + `/be", "payloadFormatVersion": "1.0"}`
	doc := `{"openapi": "3.0.1", "info": {"title": "hiam", "version": "1"},
  "components": {"securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}}},
  "paths": {
    "/ext": {"get": {"x-amazon-apigateway-auth": {"type": "AWS_IAM"}, ` + integ + `}},
    "/scheme": {"get": {"security": [{"sigv4": []}], ` + integ + `}}}}`
	imp := must[*apigatewayv2.ImportApiOutput](t, "ImportApi")(e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)}))
	id := imp.ApiId
	must[*apigatewayv2.CreateStageOutput](t, "CreateStage")(e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id,
		StageName: aws.String("dev"), AutoDeploy: aws.Bool(true)}))
	routes := func() map[string]v2types.Route {
		out := map[string]v2types.Route{}
		for _, r := range must[*apigatewayv2.GetRoutesOutput](t, "GetRoutes")(e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id})).Items {
			out[aws.ToString(r.RouteKey)] = r
		}
		return out
	}
	export := func() string {
		out := must[*apigatewayv2.ExportApiOutput](t, "ExportApi")(e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: id,
			OutputType: aws.String("JSON"), Specification: aws.String("OAS30")}))
		return string(out.Body)
	}
	check := func(when, key, wantType string, wantStatus int) {
		t.Helper()
		rt := routes()[key]
		if rt.AuthorizationType != v2types.AuthorizationType(wantType) {
			t.Errorf("%s: get-routes %s = %s, want %s", when, key, rt.AuthorizationType, wantType)
		}
		one := must[*apigatewayv2.GetRouteOutput](t, "GetRoute")(e.ag.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: id, RouteId: rt.RouteId}))
		if one.AuthorizationType != v2types.AuthorizationType(wantType) {
			t.Errorf("%s: get-route %s = %s, want %s", when, key, one.AuthorizationType, wantType)
		}
		path := "/" + aws.ToString(id) + "/dev" + strings.TrimPrefix(key, "GET ")
		if status, body := e.get(t, http.MethodGet, path); status != wantStatus {
			t.Errorf("%s: unsigned GET %s = %d %s, want %d", when, path, status, body, wantStatus)
		}
	}
	for _, key := range []string{"GET /ext", "GET /scheme"} {
		check("imported", key, "AWS_IAM", http.StatusForbidden)
	}
	for _, key := range []string{"GET /ext", "GET /scheme"} {
		up := must[*apigatewayv2.UpdateRouteOutput](t, "UpdateRoute")(e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id,
			RouteId: routes()[key].RouteId, AuthorizationType: v2types.AuthorizationTypeNone}))
		if up.AuthorizationType != v2types.AuthorizationTypeNone {
			t.Errorf("update-route %s NONE answered %s", key, up.AuthorizationType)
		}
		check("after update-route NONE", key, "NONE", http.StatusOK)
	}
	// Nor its sigv4 scheme, which no route names any more: AWS's export
	// writes one only for the routes that are AWS_IAM (it kept it).
	if x := export(); strings.Contains(x, `"x-amazon-apigateway-auth":`) || strings.Contains(x, `"security":`) || strings.Contains(x, "awsSigv4") {
		t.Errorf("the export after update-route NONE still has IAM:\n%s", x)
	}
	for _, key := range []string{"GET /ext", "GET /scheme"} {
		must[*apigatewayv2.UpdateRouteOutput](t, "UpdateRoute")(e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id,
			RouteId: routes()[key].RouteId, AuthorizationType: v2types.AuthorizationTypeAwsIam}))
		check("after update-route AWS_IAM", key, "AWS_IAM", http.StatusForbidden)
	}
	if x := export(); !strings.Contains(x, `"sigv4"`) || !strings.Contains(x, "awsSigv4") {
		t.Errorf("the export after update-route AWS_IAM has no sigv4 scheme:\n%s", x)
	}
	// Deleting the routes that name it takes it too.
	for _, key := range []string{"GET /ext", "GET /scheme"} {
		must[*apigatewayv2.DeleteRouteOutput](t, "DeleteRoute")(e.ag.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: id, RouteId: routes()[key].RouteId}))
	}
	if x := export(); strings.Contains(x, "awsSigv4") {
		t.Errorf("the export after delete-route of every AWS_IAM route still has its sigv4 scheme:\n%s", x)
	}
}

// TestV2UnusedSchemeImportedKept: a security scheme the import kept though no
// route named it stays in the export (the API's own document says it), as
// long as no route change took its last use.
func TestV2UnusedSchemeImportedKept(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	doc := `{"openapi": "3.0.1", "info": {"title": "keep", "version": "1"},
  "components": {"securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}}},
  "paths": {"/m": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "http://127.0.0.1:1/m", "payloadFormatVersion": "1.0"}}}}}`
	imp := must[*apigatewayv2.ImportApiOutput](t, "ImportApi")(e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)}))
	before := string(must[*apigatewayv2.ExportApiOutput](t, "ExportApi")(e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: imp.ApiId,
		OutputType: aws.String("JSON"), Specification: aws.String("OAS30")})).Body)
	rt := must[*apigatewayv2.GetRoutesOutput](t, "GetRoutes")(e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})).Items[0]
	must[*apigatewayv2.UpdateRouteOutput](t, "UpdateRoute")(e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: imp.ApiId,
		RouteId: rt.RouteId, AuthorizationType: v2types.AuthorizationTypeNone}))
	after := string(must[*apigatewayv2.ExportApiOutput](t, "ExportApi")(e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: imp.ApiId,
		OutputType: aws.String("JSON"), Specification: aws.String("OAS30")})).Body)
	if strings.Contains(before, "awsSigv4") != strings.Contains(after, "awsSigv4") {
		t.Errorf("an update-route that took no IAM off changed the export's schemes:\nbefore %s\nafter %s", before, after)
	}
}
