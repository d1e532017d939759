package admin_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2WebSocketIntegrationRefusals: what the ws8 tester found stored and
// never applied on WebSocket integrations is refused with 400
// BadRequestException at create-integration and update-integration: a
// literal header value with CR/LF (it failed every message with a 500), a
// templateSelectionExpression on a proxy, passthroughBehavior NEVER on one.
// The refusal names no id of an integration that was never created, lists
// the types a WebSocket API takes, and is said once.
func TestV2WebSocketIntegrationRefusals(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsref"), ProtocolType: "WEBSOCKET",
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	refused := func(name string, err error, want string) {
		t.Helper()
		var bad *types.BadRequestException
		if !errors.As(err, &bad) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want BadRequestException saying %q", name, err, want)
			return
		}
		if strings.Count(err.Error(), want) != 1 {
			t.Errorf("%s: said more than once: %v", name, err)
		}
	}
	proxy := func(typ types.IntegrationType, mod func(*apigatewayv2.CreateIntegrationInput)) error {
		in := &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: typ, IntegrationMethod: aws.String("POST"),
			IntegrationUri: aws.String("http://127.0.0.1:9/x")}
		if typ == types.IntegrationTypeAwsProxy {
			in.IntegrationMethod, in.IntegrationUri = nil, aws.String("arn:aws:lambda:us-east-1:000000000000:function:hello")
		}
		mod(in)
		_, err := e.ag.CreateIntegration(ctx, in)
		return err
	}
	noID := regexp.MustCompile(`integration [a-z0-9]{7}: `)
	for _, c := range []struct {
		name, want string
		typ        types.IntegrationType
		mod        func(*apigatewayv2.CreateIntegrationInput)
	}{
		{"CR/LF literal", `"integration.request.header.a": the literal`, types.IntegrationTypeHttpProxy, func(in *apigatewayv2.CreateIntegrationInput) {
			in.RequestParameters = map[string]string{"integration.request.header.a": "'a\r\nX-Injected: 1'"}
		}},
		{"AWS_PROXY templateSelectionExpression", "templateSelectionExpression", types.IntegrationTypeAwsProxy, func(in *apigatewayv2.CreateIntegrationInput) {
			in.TemplateSelectionExpression = aws.String("$request.body.kind")
		}},
		{"HTTP_PROXY templateSelectionExpression", "templateSelectionExpression", types.IntegrationTypeHttpProxy, func(in *apigatewayv2.CreateIntegrationInput) {
			in.TemplateSelectionExpression = aws.String("$request.body.kind")
		}},
		{"HTTP_PROXY NEVER", "passthroughBehavior NEVER", types.IntegrationTypeHttpProxy, func(in *apigatewayv2.CreateIntegrationInput) {
			in.PassthroughBehavior = types.PassthroughBehaviorNever
		}},
		{"AWS_PROXY requestParameters", "requestParameters are not taken", types.IntegrationTypeAwsProxy, func(in *apigatewayv2.CreateIntegrationInput) {
			in.RequestParameters = map[string]string{"integration.request.header.a": "'x'"}
		}},
		{"type FOO", "must be one of MOCK, HTTP, HTTP_PROXY, AWS, AWS_PROXY", "FOO", func(*apigatewayv2.CreateIntegrationInput) {}},
	} {
		err := proxy(c.typ, c.mod)
		refused(c.name, err, c.want)
		if err != nil && noID.MatchString(err.Error()) {
			t.Errorf("%s: names the id of an integration never created: %v", c.name, err)
		}
	}

	// An integration a route targets: a bad change is refused once, not
	// again as the route's.
	good, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("http://127.0.0.1:9/x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("$disconnect"),
		Target: aws.String("integrations/" + aws.ToString(good.IntegrationId))}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: good.IntegrationId,
		PassthroughBehavior: types.PassthroughBehaviorNever})
	refused("update to NEVER", err, "passthroughBehavior NEVER")
	if err != nil && strings.Contains(err.Error(), `route "$disconnect"`) {
		t.Errorf("update to NEVER: said again as the route's: %v", err)
	}
}
