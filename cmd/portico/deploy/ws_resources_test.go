package deploy

import (
	"encoding/json"
	"strings"
	"testing"
)

// wsParts is a WebSocket API with a Lambda REQUEST authorizer on $connect,
// a MOCK integration with an integration response, and a two-way route
// with its route response.
const wsParts = `  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Ws
      Name: tokens
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Arn}/invocations
      IdentitySource: [route.request.querystring.token]
  Mock:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{"statusCode": 200}'
  MockResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Ws
      IntegrationId: !Ref Mock
      IntegrationResponseKey: $default
      ResponseTemplates:
        $default: pong
  Connect:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      Target: !Join ["/", ["integrations", !Ref Mock]]
  Ping:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: ping
      RouteResponseSelectionExpression: $default
      Target: !Join ["/", ["integrations", !Ref Mock]]
  PingResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Ws
      RouteId: !Ref Ping
      RouteResponseKey: $default
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
`

// TestWebSocketPartsReachTheModel: the authorizer, the CUSTOM $connect, the
// MOCK's template and integration response and the route response reach the
// API the deploy sends, as the gateway's model has them.
func TestWebSocketPartsReachTheModel(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions+wsParts, nil); err != nil {
		t.Fatal(err)
	}
	var ws *API
	for _, a := range f.apis {
		if a.def.LogicalID == "Ws" {
			ws = a.def
		}
	}
	if ws == nil {
		t.Fatal("no WebSocket API deployed")
	}
	m := wsModel(ws)
	var sch struct {
		Authorizer struct{ Type, AuthorizerURI, IdentitySource string } `json:"x-amazon-apigateway-authorizer"`
	}
	if err := json.Unmarshal(m.Authorizers["tokens"], &sch); err != nil || sch.Authorizer.Type != "request" ||
		sch.Authorizer.IdentitySource != "route.request.querystring.token" || !strings.HasSuffix(sch.Authorizer.AuthorizerURI, ":function:s-Hello/invocations") {
		t.Fatalf("authorizer tokens = %s (%v)", m.Authorizers["tokens"], err)
	}
	for _, rt := range m.Routes {
		switch rt.RouteKey {
		case "$connect":
			if len(rt.Security) != 1 || rt.Security[0]["tokens"] == nil {
				t.Errorf("$connect security %v, want tokens", rt.Security)
			}
		case "ping":
			if rt.RouteResponseSelectionExpression != "$default" || len(rt.Responses) != 1 {
				t.Errorf("ping: %q, responses %v; want two-way with its $default route response", rt.RouteResponseSelectionExpression, rt.Responses)
			}
			if got := rt.Integration.Responses["default"].ResponseTemplates["$default"]; got != "pong" || rt.Integration.RequestTemplates["$default"] == "" {
				t.Errorf("ping's integration %+v: want its template and the pong integration response", rt.Integration)
			}
		}
	}
	if err := m.Validate(); err != nil {
		t.Errorf("the model is refused: %v", err)
	}
}

// TestWebSocketPartsRefused: what the gateway would not apply fails the
// deploy before any call, naming the logical id and the property.
func TestWebSocketPartsRefused(t *testing.T) {
	dir := fixture(t)
	add := func(after, props string) string {
		return strings.Replace(twoFunctions+wsParts, after, after+props, 1)
	}
	connect := "      RouteKey: $connect\n"
	ping := "      RouteKey: ping\n"
	auth := "      Name: tokens\n"
	mock := "      IntegrationType: MOCK\n"
	mockResp := "      IntegrationResponseKey: $default\n"
	pingResp := "      RouteId: !Ref Ping\n"
	for _, c := range []struct{ name, text, want string }{
		{"route property unknown", add(connect, "      Frobnicate: 1\n"), "Connect (AWS::ApiGatewayV2::Route): property Frobnicate is refused"},
		{"request models", add(ping, "      RequestModels: {$default: M}\n"), "Ping (AWS::ApiGatewayV2::Route): property RequestModels is refused"},
		{"model selection", add(ping, "      ModelSelectionExpression: $request.body.action\n"), "Ping (AWS::ApiGatewayV2::Route): property ModelSelectionExpression is refused"},
		{"scopes", add(connect, "      AuthorizationScopes: [a]\n"), "Connect (AWS::ApiGatewayV2::Route): property AuthorizationScopes is refused"},
		{"api key off $connect", add(ping, "      ApiKeyRequired: true\n"), "Ping (AWS::ApiGatewayV2::Route): ApiKeyRequired is refused on route ping"},
		{"custom off $connect", add(ping, "      AuthorizationType: CUSTOM\n      AuthorizerId: !Ref Auth\n"), "Ping (AWS::ApiGatewayV2::Route): AuthorizationType CUSTOM is refused on route ping"},
		{"iam off $connect", add(ping, "      AuthorizationType: AWS_IAM\n"), "Ping (AWS::ApiGatewayV2::Route): AuthorizationType AWS_IAM is refused on route ping"},
		{"jwt", strings.Replace(twoFunctions+wsParts, "AuthorizationType: CUSTOM\n      AuthorizerId: !Ref Auth\n", "AuthorizationType: JWT\n", 1), "Connect (AWS::ApiGatewayV2::Route): AuthorizationType JWT is refused"},
		{"custom without authorizer", strings.Replace(twoFunctions+wsParts, "      AuthorizerId: !Ref Auth\n", "", 1), "Connect (AWS::ApiGatewayV2::Route): AuthorizationType CUSTOM needs AuthorizerId"},
		{"authorizer id without custom", strings.Replace(twoFunctions+wsParts, "AuthorizationType: CUSTOM\n", "AuthorizationType: NONE\n", 1), "Connect (AWS::ApiGatewayV2::Route): AuthorizerId needs AuthorizationType CUSTOM"},
		{"authorizer credentials", add(auth, "      AuthorizerCredentialsArn: arn:aws:iam::1:role/r\n"), "Auth (AWS::ApiGatewayV2::Authorizer): property AuthorizerCredentialsArn is refused"},
		{"authorizer ttl", add(auth, "      AuthorizerResultTtlInSeconds: 300\n"), "Auth (AWS::ApiGatewayV2::Authorizer): property AuthorizerResultTtlInSeconds is refused"},
		{"authorizer validation", add(auth, "      IdentityValidationExpression: x\n"), "Auth (AWS::ApiGatewayV2::Authorizer): property IdentityValidationExpression is refused"},
		{"authorizer jwt", strings.Replace(twoFunctions+wsParts, "AuthorizerType: REQUEST", "AuthorizerType: JWT", 1), `Auth (AWS::ApiGatewayV2::Authorizer): AuthorizerType "JWT" is refused`},
		{"authorizer without name", strings.Replace(twoFunctions+wsParts, auth, "", 1), "Auth (AWS::ApiGatewayV2::Authorizer): Name is required"},
		{"authorizer bad source", strings.Replace(twoFunctions+wsParts, "route.request.querystring.token", "method.request.header.token", 1), "method.request.header.token"},
		{"integration content handling", add(mock, "      ContentHandlingStrategy: CONVERT_TO_TEXT\n"), "Mock (AWS::ApiGatewayV2::Integration): property ContentHandlingStrategy is refused"},
		{"integration subtype", add(mock, "      IntegrationSubtype: SQS-SendMessage\n"), "Mock (AWS::ApiGatewayV2::Integration): property IntegrationSubtype is refused"},
		{"integration response parameters", add(mock, "      ResponseParameters: {'200': {overwrite:statuscode: '204'}}\n"), "Mock (AWS::ApiGatewayV2::Integration): property ResponseParameters is refused"},
		{"integration tls", add(mock, "      TlsConfig: {ServerNameToVerify: x}\n"), "Mock (AWS::ApiGatewayV2::Integration): property TlsConfig is refused"},
		{"integration payload 2.0", add(mock, "      PayloadFormatVersion: '2.0'\n"), "Mock (AWS::ApiGatewayV2::Integration): property PayloadFormatVersion is refused"},
		{"integration timeout", add(mock, "      TimeoutInMillis: 40000\n"), "Mock (AWS::ApiGatewayV2::Integration): TimeoutInMillis must be a whole number from 50 to 29000"},
		{"integration unknown", add(mock, "      Frobnicate: 1\n"), "Mock (AWS::ApiGatewayV2::Integration): property Frobnicate is refused"},
		{"integration response content", add(mockResp, "      ContentHandlingStrategy: CONVERT_TO_TEXT\n"), "MockResponse (AWS::ApiGatewayV2::IntegrationResponse): property ContentHandlingStrategy is refused"},
		{"integration response params", add(mockResp, "      ResponseParameters: {a: b}\n"), "MockResponse (AWS::ApiGatewayV2::IntegrationResponse): property ResponseParameters is refused"},
		{"integration response key", strings.Replace(twoFunctions+wsParts, mockResp, "      IntegrationResponseKey: '200'\n", 1), `MockResponse (AWS::ApiGatewayV2::IntegrationResponse): IntegrationResponseKey "200" must be $default or a status pattern`},
		{"integration response of a proxy", strings.Replace(twoFunctions+wsParts, mock, "      IntegrationType: AWS_PROXY\n      IntegrationUri: !GetAtt Hello.Arn\n", 1), "MockResponse (AWS::ApiGatewayV2::IntegrationResponse): integration Mock is AWS_PROXY"},
		{"route response key", strings.Replace(twoFunctions+wsParts, "      RouteResponseKey: $default\n", "      RouteResponseKey: other\n", 1), `PingResponse (AWS::ApiGatewayV2::RouteResponse): RouteResponseKey "other" is refused`},
		{"route response models", add(pingResp, "      ResponseModels: {$default: M}\n"), "PingResponse (AWS::ApiGatewayV2::RouteResponse): property ResponseModels is refused"},
		{"route response selection", strings.Replace(twoFunctions+wsParts, "      RouteResponseSelectionExpression: $default\n", "      RouteResponseSelectionExpression: $request.body.x\n", 1), `Ping (AWS::ApiGatewayV2::Route): RouteResponseSelectionExpression "$request.body.x" is refused`},
		{"route response of a one-way route", strings.Replace(twoFunctions+wsParts, "      RouteResponseSelectionExpression: $default\n", "", 1), "Ping (AWS::ApiGatewayV2::Route): it has a route response but no RouteResponseSelectionExpression"},
		{"model", twoFunctions + wsParts + "  M:\n    Type: AWS::ApiGatewayV2::Model\n    Properties:\n      ApiId: !Ref Ws\n      Name: M\n      Schema: {}\n", "M (AWS::ApiGatewayV2::Model): models are refused"},
		{"required parameter off $connect", add(ping, "      RequestParameters:\n        route.request.header.X-Room: {Required: true}\n"), "X-Room"},
		{"bad route parameter", add(connect, "      RequestParameters:\n        route.request.body.x: {Required: true}\n"), `Connect (AWS::ApiGatewayV2::Route): RequestParameters "route.request.body.x" must be route.request.header.NAME or route.request.querystring.NAME`},
		// Errors of the gateway's model name the route's and its
		// integration's logical ids; an integration of another API names
		// the integration's ApiId.
		{"integration response pattern", strings.Replace(twoFunctions+wsParts, mockResp, "      IntegrationResponseKey: /[/\n", 1), `route "$connect" is Connect (AWS::ApiGatewayV2::Route), its integration Mock (AWS::ApiGatewayV2::Integration)`},
		{"integration of another api", strings.Replace(twoFunctions+wsParts, "      ApiId: !Ref Ws\n"+mock, "      ApiId: !Ref Ws2\n"+mock, 1) + "  Ws2:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      ProtocolType: WEBSOCKET\n", "Ping (AWS::ApiGatewayV2::Route): integration Mock (AWS::ApiGatewayV2::Integration): its ApiId names another API than the route's"},
		{"route parameter option", add(connect, "      RequestParameters:\n        route.request.header.X-Room: {Required: true, Caching: true}\n"), "RequestParameters route.request.header.X-Room: Caching is refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, dir, "s", c.text, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}

// TestWebSocketRouteFingerprintUnchanged: a route of the kinds earlier
// deploys made (AWS_PROXY, HTTP_PROXY with RequestParameters) digests as
// they recorded it (legacyDefinitionFingerprint), so that upgrading portico
// does not redeploy every WebSocket API.
func TestWebSocketRouteFingerprintUnchanged(t *testing.T) {
	r := WSRoute{Key: "$default", URI: "function:f", Type: "AWS_PROXY", TwoWay: true, RequestParameters: map[string]string{"a": "b"}}
	got, _ := json.Marshal(r)
	if want := `{"routeKey":"$default","uri":"function:f","type":"AWS_PROXY","twoWay":true,"requestParameters":{"a":"b"}}`; string(got) != want {
		t.Errorf("route = %s, want %s", got, want)
	}
	a := &API{Name: "n", Protocol: "WEBSOCKET", RouteSelection: "$request.body.action", Routes: []WSRoute{r}}
	old := digest(struct {
		Name, Protocol, Sel string
		Doc                 map[string]any
		Routes              []WSRoute
	}{a.Name, a.Protocol, a.RouteSelection, a.Document, a.Routes})
	// Recorded so, it plans no change (this build's DefinitionFingerprint
	// digests the URI as reported; the record's is accepted beside it).
	if a.legacyDefinitionFingerprint() != old || !a.unchangedDefinition(old) {
		t.Error("the fingerprint of an API without authorizers changed")
	}
	// The route's function named by its invocation ARN is no change.
	b := *a
	b.Routes = []WSRoute{r}
	b.Routes[0].URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations"
	if b.DefinitionFingerprint() != a.DefinitionFingerprint() {
		t.Error("naming the route's function by its invocation ARN changed the fingerprint")
	}
}
