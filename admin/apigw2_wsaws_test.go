package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestV2WebSocketLambdaNonProxy: create-integration --integration-type AWS
// with a Lambda invocation URI (arn:aws:apigateway:REGION:lambda:path/
// 2015-03-31/functions/ARN/invocations) on a WebSocket API is taken and read
// back as API Gateway reports it (integrationMethod POST,
// integrationResponseSelectionExpression
// ${integration.response.body.errorMessage}); its request template is the
// function's event and its integration responses, $default for a result and
// /probe failed.*/ for a function error's errorMessage, shape the reply of a
// two-way route. Before, the type was refused. What it cannot apply
// (integrationMethod GET, requestParameters) is refused.
func TestV2WebSocketLambdaNonProxy(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	fn, err := e.fn.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("probe"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), PackageType: ltypes.PackageTypeZip,
		Code: &ltypes.FunctionCode{ZipFile: apptest.ZipProgram(t, "./gateway/testdata/probe")}, Timeout: aws.Int32(10),
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsaws"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	uri := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + aws.ToString(fn.FunctionArn) + "/invocations"
	for _, c := range []struct {
		name, want string
		mod        func(*apigatewayv2.CreateIntegrationInput)
	}{
		{"GET", "invoked with POST", func(in *apigatewayv2.CreateIntegrationInput) { in.IntegrationMethod = aws.String("GET") }},
		{"requestParameters", "requestParameters are not applied on WebSocket AWS", func(in *apigatewayv2.CreateIntegrationInput) {
			in.RequestParameters = map[string]string{"integration.request.header.X-Amz-Invocation-Type": "'Event'"}
		}},
	} {
		in := &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeAws, IntegrationUri: aws.String(uri)}
		c.mod(in)
		_, err := e.ag.CreateIntegration(ctx, in)
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", c.want)
	}
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeAws,
		IntegrationUri: aws.String(uri), TemplateSelectionExpression: aws.String(`\$default`),
		RequestTemplates: map[string]string{"$default": `{"queryStringParameters": {"fail": "$input.path('$.fail')"}, "said": "$input.path('$.say')", "conn": "$context.connectionId"}`}})
	if err != nil {
		t.Fatalf("CreateIntegration AWS: %v", err)
	}
	iid := integ.IntegrationId
	got, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: iid})
	if err != nil {
		t.Fatal(err)
	}
	if got.IntegrationType != v2types.IntegrationTypeAws || aws.ToString(got.IntegrationUri) != uri || aws.ToString(got.IntegrationMethod) != "POST" ||
		aws.ToString(got.IntegrationResponseSelectionExpression) != "${integration.response.body.errorMessage}" || len(got.RequestTemplates) != 1 {
		t.Fatalf("GetIntegration: type %s uri %s method %s selection %s templates %v", got.IntegrationType, aws.ToString(got.IntegrationUri),
			aws.ToString(got.IntegrationMethod), aws.ToString(got.IntegrationResponseSelectionExpression), got.RequestTemplates)
	}
	for key, tpl := range map[string]string{
		"$default":         `said $util.parseJson($input.path('$.body')).said`,
		`/probe failed.*/`: `error: $input.path('$.errorMessage')`,
	} {
		if _, err := e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: iid,
			IntegrationResponseKey: aws.String(key), ResponseTemplates: map[string]string{"$default": tpl}}); err != nil {
			t.Fatalf("CreateIntegrationResponse %s: %v", key, err)
		}
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$default"),
		Target: aws.String("integrations/" + aws.ToString(iid)), RouteResponseSelectionExpression: aws.String("$default")}); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	c, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(e.env.GatewayURL, "http")+"/"+aws.ToString(id)+"/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, tc := range []struct{ msg, want string }{
		{`{"say":"hi"}`, `said hi`},
		{`{"say":"hi","fail":"1"}`, `error: probe failed on request`},
	} {
		if got := wstest.Exchange(t, c, tc.msg); got != tc.want {
			t.Errorf("%s: answered %q, want %q", tc.msg, got, tc.want)
		}
	}
}
