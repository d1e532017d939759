package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2HTTPRouteSelectionBraced: create-api and update-api take an HTTP
// API's route selection expression as API Gateway's reference spells it,
// "${request.method} ${request.path}", and read it back as
// "$request.method $request.path", as API Gateway does; it was a 400
// (r-httpapi25 finding 12). Another expression is still refused.
func TestV2HTTPRouteSelectionBraced(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	const braced, plain = "${request.method} ${request.path}", "$request.method $request.path"
	a, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("rse"), ProtocolType: v2types.ProtocolTypeHttp,
		RouteSelectionExpression: aws.String(braced)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(a.RouteSelectionExpression); got != plain {
		t.Errorf("create-api read back %q", got)
	}
	u, err := e.ag.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: a.ApiId, RouteSelectionExpression: aws.String(braced)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(u.RouteSelectionExpression); got != plain {
		t.Errorf("update-api read back %q", got)
	}
	_, err = e.ag.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: a.ApiId, RouteSelectionExpression: aws.String("${request.path}")})
	wantV2Error(t, err, 400, "BadRequestException", "routeSelectionExpression is $request.method $request.path")
}
