package deploy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// httpV2Parts is an HTTP API of AWS::ApiGatewayV2 resources: a JWT
// authorizer with a scope on GET /pets/{id}, a Lambda REQUEST authorizer on
// POST /pets, an HTTP_PROXY ANY /{proxy+} with parameter mappings, CORS, and
// a named stage with route settings and an access log.
const httpV2Parts = `  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: pets
      ProtocolType: HTTP
      Description: the pets API
      DisableExecuteApiEndpoint: false
      Tags: {team: pets}
      CorsConfiguration:
        AllowOrigins: [https://example.com]
        AllowMethods: [GET, POST]
        AllowHeaders: [authorization]
        MaxAge: 600
  Jwt:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      Name: jwt
      AuthorizerType: JWT
      IdentitySource: [$request.header.Authorization]
      JwtConfiguration:
        Issuer: https://issuer.example
        Audience: [pets]
  Lambda:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      Name: lambda
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Arn}/invocations
      AuthorizerPayloadFormatVersion: '2.0'
      EnableSimpleResponses: true
      AuthorizerResultTtlInSeconds: 0
      IdentitySource: [$request.header.X-Token]
  Fn:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Arn}/invocations
      PayloadFormatVersion: '2.0'
      TimeoutInMillis: 30000
  Proxy:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: HTTP_PROXY
      IntegrationMethod: ANY
      IntegrationUri: http://127.0.0.1:9/{proxy}
      RequestParameters:
        append:header.X-From: $request.header.Host
      ResponseParameters:
        "200":
          ResponseParameters:
            - Destination: overwrite:header.X-Served
              Source: portico
  GetPet:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /pets/{id}
      AuthorizationType: JWT
      AuthorizerId: !Ref Jwt
      AuthorizationScopes: [read]
      Target: !Join ["/", ["integrations", !Ref Fn]]
  PostPet:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: POST /pets
      AuthorizationType: CUSTOM
      AuthorizerId: !GetAtt Lambda.AuthorizerId
      Target: !Sub integrations/${Fn}
  Any:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: ANY /{proxy+}
      Target: !Sub integrations/${Proxy}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Http
      StageName: v1
      AutoDeploy: true
      StageVariables: {color: blue}
      DefaultRouteSettings: {ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5}
      RouteSettings:
        GET /pets/{id}: {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 1}
      AccessLogSettings: {DestinationArn: stdout, Format: '$context.requestId'}
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    Properties:
      ApiId: !Ref Http
`

// deployedAPI returns the API of logical id the fake holds.
func deployedAPI(t *testing.T, f *fakeTarget, id string) *API {
	t.Helper()
	for _, a := range f.apis {
		if a.def.LogicalID == id {
			return a.def
		}
	}
	t.Fatalf("no API %s deployed", id)
	return nil
}

// TestHTTPV2PartsReachTheModel: an HTTP API of AWS::ApiGatewayV2 resources
// deploys (before, ProtocolType HTTP was refused), and its authorizers,
// scopes, integrations, CORS and stage reach what the deploy sends, as the
// gateway's model has them.
func TestHTTPV2PartsReachTheModel(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions+httpV2Parts, nil); err != nil {
		t.Fatal(err)
	}
	a := deployedAPI(t, f, "Http")
	m := wsModel(a)
	if err := m.Validate(); err != nil {
		t.Fatalf("the model is refused: %v", err)
	}
	if a.Protocol != apis.ProtocolHTTP || a.Name != "pets" || m.Description != "the pets API" || a.V2.Tags["team"] != "pets" {
		t.Errorf("api %s %s %q tags %v", a.Protocol, a.Name, m.Description, a.V2.Tags)
	}
	if c := m.CORS; c == nil || strings.Join(c.AllowOrigins, ",") != "https://example.com" || c.MaxAge == nil || *c.MaxAge != 600 {
		t.Errorf("CORS %+v", m.CORS)
	}
	var jwt struct {
		Type       string
		Authorizer struct {
			Type, IdentitySource string
			JWTConfiguration     struct {
				Issuer   string
				Audience []string
			} `json:"jwtConfiguration"`
		} `json:"x-amazon-apigateway-authorizer"`
	}
	if err := json.Unmarshal(m.Authorizers["jwt"], &jwt); err != nil || jwt.Type != "oauth2" || jwt.Authorizer.Type != "jwt" ||
		jwt.Authorizer.JWTConfiguration.Issuer != "https://issuer.example" || jwt.Authorizer.IdentitySource != "$request.header.Authorization" {
		t.Errorf("jwt authorizer %s (%v)", m.Authorizers["jwt"], err)
	}
	var lambda struct {
		Authorizer struct {
			Type, AuthorizerURI, AuthorizerPayloadFormatVersion, IdentitySource string
			EnableSimpleResponses                                               bool
		} `json:"x-amazon-apigateway-authorizer"`
	}
	if err := json.Unmarshal(m.Authorizers["lambda"], &lambda); err != nil || lambda.Authorizer.Type != "request" ||
		lambda.Authorizer.AuthorizerPayloadFormatVersion != "2.0" || !lambda.Authorizer.EnableSimpleResponses ||
		!strings.HasSuffix(lambda.Authorizer.AuthorizerURI, ":function:s-Hello/invocations") {
		t.Errorf("lambda authorizer %s (%v)", m.Authorizers["lambda"], err)
	}
	routes := map[string]apis.Route{}
	for _, rt := range m.Routes {
		routes[rt.RouteKey] = rt
	}
	if rt := routes["GET /pets/{id}"]; rt.Method != "GET" || rt.Path != "/pets/{id}" || len(rt.Security) != 1 ||
		strings.Join(rt.Security[0]["jwt"], ",") != "read" || rt.Integration.PayloadFormatVersion != "2.0" || rt.Integration.TimeoutInMillis != 30000 {
		t.Errorf("GET /pets/{id}: %+v", rt)
	}
	if rt := routes["POST /pets"]; len(rt.Security) != 1 || rt.Security[0]["lambda"] == nil {
		t.Errorf("POST /pets security %v", rt.Security)
	}
	if rt := routes["ANY /{proxy+}"]; rt.Integration == nil || rt.Integration.Type != apis.IntegrationHTTPProxy || rt.Integration.HTTPMethod != "ANY" ||
		rt.Integration.RequestParameters["append:header.X-From"] != "$request.header.Host" ||
		rt.Integration.ResponseParameters["200"]["overwrite:header.X-Served"] != "portico" || len(rt.Security) != 0 {
		t.Errorf("ANY /{proxy+}: %+v %+v", rt, rt.Integration)
	}
	if a.Stage != "v1" || a.Variables["color"] != "blue" || a.HTTPStage == nil || a.HTTPStage.AccessLogSettings == nil ||
		*a.HTTPStage.RouteSettings["GET /pets/{id}"].ThrottlingBurstLimit != 2 {
		t.Errorf("stage %s %v %+v", a.Stage, a.Variables, a.HTTPStage)
	}
}

// TestHTTPV2QuickCreate: an Api with Target makes a $default route to the
// function on a $default stage, as API Gateway's quick create does.
func TestHTTPV2QuickCreate(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	quick := "  Quick:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      ProtocolType: HTTP\n      Target: !GetAtt Hello.Arn\n      DisableExecuteApiEndpoint: true\n"
	if _, err := deployText(t, f, dir, "s", twoFunctions+quick, nil); err != nil {
		t.Fatal(err)
	}
	a := deployedAPI(t, f, "Quick")
	m := wsModel(a)
	if err := m.Validate(); err != nil {
		t.Fatalf("the model is refused: %v", err)
	}
	if a.Stage != "$default" || len(m.Routes) != 1 || m.Routes[0].RouteKey != "$default" || m.Routes[0].Integration.PayloadFormatVersion != "2.0" {
		t.Errorf("quick create: stage %q routes %+v", a.Stage, m.Routes)
	}
	if string(m.Extensions[extEndpointConfig]) != `{"disableExecuteApiEndpoint":true}` {
		t.Errorf("DisableExecuteApiEndpoint: extensions %s", m.Extensions)
	}
}

// TestHTTPV2PartsRefused: what Portico would not apply on an HTTP API's
// resources fails the deploy before any call, naming the logical id and the
// property.
func TestHTTPV2PartsRefused(t *testing.T) {
	dir := fixture(t)
	base := twoFunctions + httpV2Parts
	add := func(after, props string) string {
		if !strings.Contains(base, after) {
			t.Fatalf("%q is not in the template", after)
		}
		return strings.Replace(base, after, after+props, 1)
	}
	getPet := "      RouteKey: GET /pets/{id}\n"
	anyRoute := "      RouteKey: ANY /{proxy+}\n"
	jwt := "      AuthorizerType: JWT\n"
	lambda := "      AuthorizerType: REQUEST\n"
	fn := "      IntegrationType: AWS_PROXY\n"
	api := "      ProtocolType: HTTP\n"
	stage := "      StageName: v1\n"
	for _, c := range []struct{ name, text, want string }{
		{"api unknown", add(api, "      Frobnicate: 1\n"), "Http (AWS::ApiGatewayV2::Api): property Frobnicate is refused on an HTTP API"},
		{"api body", add(api, "      Body: {openapi: 3.0.1}\n"), "Http (AWS::ApiGatewayV2::Api): property Body is refused on an HTTP API"},
		{"api credentials", add(api, "      Target: !GetAtt Hello.Arn\n      CredentialsArn: arn:aws:iam::1:role/r\n"), "Http (AWS::ApiGatewayV2::Api): property CredentialsArn is refused"},
		{"api key selection", add(api, "      ApiKeySelectionExpression: $request.header.x-api-key\n"), "property ApiKeySelectionExpression is refused"},
		{"route api key", add(getPet, "      ApiKeyRequired: true\n"), "GetPet (AWS::ApiGatewayV2::Route): property ApiKeyRequired is refused on an HTTP API"},
		{"route parameters", add(anyRoute, "      RequestParameters: {route.request.header.X: {Required: true}}\n"), "Any (AWS::ApiGatewayV2::Route): property RequestParameters is refused"},
		{"route unknown", add(anyRoute, "      Frobnicate: 1\n"), "Any (AWS::ApiGatewayV2::Route): property Frobnicate is refused"},
		{"scopes without jwt", add(anyRoute, "      AuthorizationScopes: [read]\n"), "Any (AWS::ApiGatewayV2::Route): AuthorizationScopes need AuthorizationType JWT"},
		{"jwt without authorizer", strings.Replace(base, "      AuthorizerId: !Ref Jwt\n", "", 1), "GetPet (AWS::ApiGatewayV2::Route): AuthorizationType JWT needs AuthorizerId"},
		{"jwt naming the lambda", strings.Replace(base, "      AuthorizerId: !Ref Jwt\n", "      AuthorizerId: !Ref Lambda\n", 1), "GetPet (AWS::ApiGatewayV2::Route): AuthorizationType JWT names authorizer lambda, which is CUSTOM"},
		{"bad route key", strings.Replace(base, "RouteKey: POST /pets\n", "RouteKey: pets\n", 1), `PostPet (AWS::ApiGatewayV2::Route): RouteKey "pets" must be $default or METHOD /path`},
		{"jwt without config", strings.Replace(base, "      JwtConfiguration:\n        Issuer: https://issuer.example\n        Audience: [pets]\n", "", 1), "Jwt (AWS::ApiGatewayV2::Authorizer): a JWT authorizer needs JwtConfiguration"},
		{"jwt config unknown", add("        Audience: [pets]\n", "        Frobnicate: 1\n"), "Jwt (AWS::ApiGatewayV2::Authorizer): JwtConfiguration.Frobnicate is refused"},
		{"jwt with uri", add(jwt, "      AuthorizerUri: x\n"), "Jwt (AWS::ApiGatewayV2::Authorizer): property AuthorizerUri is refused"},
		{"authorizer credentials", add(lambda, "      AuthorizerCredentialsArn: arn:aws:iam::1:role/r\n"), "Lambda (AWS::ApiGatewayV2::Authorizer): property AuthorizerCredentialsArn is refused on an HTTP API"},
		{"authorizer validation", add(lambda, "      IdentityValidationExpression: x\n"), "Lambda (AWS::ApiGatewayV2::Authorizer): property IdentityValidationExpression is refused"},
		{"authorizer without payload", strings.Replace(base, "      AuthorizerPayloadFormatVersion: '2.0'\n", "", 1), `Lambda (AWS::ApiGatewayV2::Authorizer): AuthorizerPayloadFormatVersion ""`},
		{"simple responses on 1.0", strings.Replace(base, "      AuthorizerPayloadFormatVersion: '2.0'\n", "      AuthorizerPayloadFormatVersion: '1.0'\n", 1), "EnableSimpleResponses needs AuthorizerPayloadFormatVersion 2.0"},
		{"authorizer ttl", strings.Replace(base, "AuthorizerResultTtlInSeconds: 0", "AuthorizerResultTtlInSeconds: 4000", 1), "AuthorizerResultTtlInSeconds must be a whole number from 0 to 3600"},
		{"integration mock", strings.Replace(base, fn, "      IntegrationType: MOCK\n", 1), `Fn (AWS::ApiGatewayV2::Integration): IntegrationType "MOCK" is refused`},
		{"integration credentials", add(fn, "      CredentialsArn: arn:aws:iam::1:role/r\n"), "Fn (AWS::ApiGatewayV2::Integration): property CredentialsArn is refused"},
		{"integration templates", add(fn, "      RequestTemplates: {a: b}\n"), "Fn (AWS::ApiGatewayV2::Integration): property RequestTemplates is refused"},
		{"integration without payload", strings.Replace(base, "      PayloadFormatVersion: '2.0'\n", "", 1), `Fn (AWS::ApiGatewayV2::Integration): PayloadFormatVersion "": an HTTP API's AWS_PROXY integration needs 1.0 or 2.0`},
		{"integration timeout", strings.Replace(base, "TimeoutInMillis: 30000", "TimeoutInMillis: 30001", 1), "Fn (AWS::ApiGatewayV2::Integration): TimeoutInMillis must be a whole number from 50 to 30000"},
		{"integration vpc link", add(fn, "      ConnectionType: VPC_LINK\n"), "Fn (AWS::ApiGatewayV2::Integration): ConnectionType VPC_LINK is refused"},
		{"integration response", base + "  R:\n    Type: AWS::ApiGatewayV2::IntegrationResponse\n    Properties:\n      ApiId: !Ref Http\n      IntegrationId: !Ref Fn\n      IntegrationResponseKey: $default\n",
			"R (AWS::ApiGatewayV2::IntegrationResponse): HTTP APIs have no IntegrationResponse resources"},
		{"stage client certificate", add(stage, "      ClientCertificateId: abc\n"), "Stage (AWS::ApiGatewayV2::Stage): property ClientCertificateId is refused on an HTTP API"},
		{"stage route settings of no route", strings.Replace(base, "        GET /pets/{id}: {", "        GET /cats: {", 1), `RouteSettings names route "GET /cats"`},
		{"response parameters not a list", strings.Replace(base, "          ResponseParameters:\n            - Destination: overwrite:header.X-Served\n              Source: portico\n", "          ResponseParameters: {Destination: overwrite:header.X-Served}\n", 1),
			`Proxy (AWS::ApiGatewayV2::Integration): ResponseParameters 200: ResponseParameters must be a list`},
		{"bad mapping", strings.Replace(base, "append:header.X-From", "append:body.x", 1), "body.x"},
		{"no stage", base[:strings.Index(base, "  Stage:\n")], "Http: an HTTP API needs an AWS::ApiGatewayV2::Stage naming it"},
		{"stage serving nothing", strings.Replace(base, "      AutoDeploy: true\n", "", 1),
			"Stage (AWS::ApiGatewayV2::Stage): stage v1 has no AutoDeploy and no AWS::ApiGatewayV2::Deployment, so on API Gateway it would serve nothing: set AutoDeploy: true"},
		{"stage of two deployments", strings.Replace(base, "      AutoDeploy: true\n", "      DeploymentId: !Ref Deployment\n", 1) +
			"  Second:\n    Type: AWS::ApiGatewayV2::Deployment\n    Properties:\n      ApiId: !Ref Http\n      StageName: v1\n",
			"Stage (AWS::ApiGatewayV2::Stage): Deployments Deployment, Second all name stage v1"},
		{"stage deployment of nothing", strings.Replace(base, "      AutoDeploy: true\n", "      DeploymentId: !Ref Jwt\n", 1),
			"Stage (AWS::ApiGatewayV2::Stage): DeploymentId must be !Ref to an AWS::ApiGatewayV2::Deployment of API Http"},
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

// TestHTTPV2FailedDeployLeavesNothing: a deploy that fails after it made an
// HTTP API of AWS::ApiGatewayV2 resources deletes the API; one that fails
// after it replaced an existing one's definition puts the definition back
// (the route's scope stays read).
func TestHTTPV2FailedDeployLeavesNothing(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.failAt = "SetHTTPStage"
	if _, err := deployText(t, f, dir, "s", twoFunctions+httpV2Parts, nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	for id, a := range f.apis {
		if a.def.LogicalID == "Http" {
			t.Fatalf("API %s, made by the failed deploy, is still there", id)
		}
	}
	if _, err := deployText(t, f, dir, "s", twoFunctions+httpV2Parts, nil); err != nil {
		t.Fatal(err)
	}
	f.failAt = "SetHTTPStage"
	changed := strings.Replace(twoFunctions+httpV2Parts, "AuthorizationScopes: [read]", "AuthorizationScopes: [write]", 1)
	changed = strings.Replace(changed, "ThrottlingBurstLimit: 2,", "ThrottlingBurstLimit: 3,", 1)
	if _, err := deployText(t, f, dir, "s", changed, nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	for _, rt := range wsModel(deployedAPI(t, f, "Http")).Routes {
		if rt.RouteKey == "GET /pets/{id}" && strings.Join(rt.Security[0]["jwt"], ",") != "read" {
			t.Errorf("after the failed redeploy GET /pets/{id} needs %v, want read (the definition put back)", rt.Security)
		}
	}
}
