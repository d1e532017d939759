package main

import (
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
	"github.com/portico-dev/portico/internal/wstest"
)

// wsTemplate is a WebSocket API whose $connect is guarded by a Lambda
// REQUEST authorizer (the query string's token) and requires an X-Room
// header, answers ping from a MOCK integration through its integration
// response, and sends echo to an HTTP backend (BACKEND) with a request
// template, the authorizer's user mapped into a header, and an integration
// response shaping the backend's answer.
const wsTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  WsAuth:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: wsauthz
      Runtime: provided.al2023
      Handler: bootstrap
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Ws
      Name: tokens
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${WsAuth.Arn}/invocations
      IdentitySource:
        - route.request.querystring.token
  ConnectInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: MOCK
      TemplateSelectionExpression: \$default
      RequestTemplates:
        $default: '{"statusCode": 200}'
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !GetAtt Auth.AuthorizerId
      RequestParameters:
        route.request.header.X-Room:
          Required: true
      Target: !Join ["/", ["integrations", !Ref ConnectInteg]]
  PingInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{"statusCode": 200}'
  PingIntegResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Ws
      IntegrationId: !Ref PingInteg
      IntegrationResponseKey: $default
      ResponseTemplates:
        $default: pong
  PingRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: ping
      RouteResponseSelectionExpression: $default
      Target: !Sub integrations/${PingInteg}
  PingRouteResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Ws
      RouteId: !Ref PingRoute
      RouteResponseKey: $default
  EchoInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: HTTP
      IntegrationMethod: PUT
      IntegrationUri: BACKEND/echo
      TimeoutInMillis: 5000
      PassthroughBehavior: NEVER
      TemplateSelectionExpression: \$default
      RequestTemplates:
        $default: 'said $input.path(''$.data'')'
      RequestParameters:
        integration.request.header.X-User: context.authorizer.user
  EchoIntegResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Ws
      IntegrationId: !GetAtt EchoInteg.IntegrationId
      IntegrationResponseKey: /2\d{2}/
      ResponseTemplates:
        $default: 'backend: $input.body'
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: echo
      RouteResponseSelectionExpression: $default
      Target: !Join ["/", ["integrations", !Ref EchoInteg]]
  EchoRouteResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Ws
      RouteId: !GetAtt EchoRoute.RouteId
      RouteResponseKey: $default
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
`

// wsStack writes text, with BACKEND replaced by backend, as a template beside
// the wsauthz authorizer's code, and returns its path.
func wsStack(t *testing.T, text, backend string) string {
	t.Helper()
	dir := t.TempDir()
	boot, err := os.ReadFile(filepath.Join(apptest.Program(t, "./cmd/portico/testdata/wsauthz"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "wsauthz", "bootstrap"), boot, 0o755)
	path := filepath.Join(dir, "template.yaml")
	writeFile(t, path, []byte(strings.ReplaceAll(text, "BACKEND", backend)), 0o600)
	return path
}

// echoBackend serves an HTTP backend on an ephemeral port that answers each
// request with its method, X-User header and body, and returns its URL.
func echoBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.Header.Get("X-User")+" "+string(body))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestDeployWebSocketAuthorizerAndMappings deploys a WebSocket API of
// AWS::ApiGatewayV2 resources beyond AWS_PROXY with `portico deploy` and uses
// it with real WebSocket clients: the Lambda REQUEST authorizer guards
// $connect (no token or a wrong one: 401; the right one connects), the
// route's required header is checked (400 without it), a MOCK route answers
// through its integration response, and an HTTP route sends its request
// template to the backend with its method and the authorizer's user mapped
// into a header, and answers through its integration response. Before,
// deploy refused the authorizer and CUSTOM routes and ignored the
// integration's templates (MOCK and HTTP were taken without them).
// Redeploys then make $connect AWS_IAM (unsigned clients are refused) and
// drop the authorizer resource (it leaves the API), then make the echo route
// a non-proxy AWS integration (the function gets the rendered template; its
// result and its error answer through the integration responses); a
// template the gateway would refuse changes nothing.
func TestDeployWebSocketAuthorizerAndMappings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	backend := echoBackend(t)
	path := wsStack(t, wsTemplate, backend)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ws")
	api := stackRecord(t, env, "ws").Resources["Ws"].PhysicalID
	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api + "/dev"
	room := http.Header{"X-Room": {"lobby"}}

	for _, tc := range []struct {
		name, query string
		header      http.Header
		want        int
	}{
		{"no token", "", room, http.StatusUnauthorized},
		{"wrong token", "?token=nope", room, http.StatusUnauthorized},
		{"no room", "?token=letmein", nil, http.StatusBadRequest},
	} {
		c, status, err := wstest.Dial(websocket.DefaultDialer, url+tc.query, tc.header)
		if err == nil {
			c.Close()
		}
		if status != tc.want {
			t.Errorf("%s: handshake %d (%v), want %d", tc.name, status, err, tc.want)
		}
	}
	conn, status, err := wstest.Dial(websocket.DefaultDialer, url+"?token=letmein", room)
	if err != nil {
		t.Fatalf("connect with the token: %d %v", status, err)
	}
	defer conn.Close()
	exchange := func(msg string) string {
		t.Helper()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		return wstest.ReadText(t, conn)
	}
	if got := exchange(`{"action":"ping"}`); got != "pong" {
		t.Errorf("ping answered %q, want pong (the MOCK's integration response)", got)
	}
	if got, want := exchange(`{"action":"echo","data":"hi"}`), "backend: PUT alice said hi"; got != want {
		t.Errorf("echo answered %q, want %q", got, want)
	}

	var a apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &a)
	for _, rt := range a.Routes {
		if rt.RouteKey == "echo" && (rt.Integration.TimeoutInMillis != 5000 || rt.Integration.PassthroughBehavior != "NEVER") {
			t.Errorf("echo's integration %+v: want timeout 5000 and passthrough NEVER", rt.Integration)
		}
	}

	// AWS_IAM on $connect: an unsigned client is refused.
	iam := strings.Replace(wsTemplate, "      AuthorizationType: CUSTOM\n      AuthorizerId: !GetAtt Auth.AuthorizerId\n", "      AuthorizationType: AWS_IAM\n", 1)
	writeFile(t, path, []byte(strings.ReplaceAll(iam, "BACKEND", backend)), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ws")
	if c, status, err := wstest.Dial(websocket.DefaultDialer, url+"?token=letmein", room); err == nil || status != http.StatusForbidden {
		if c != nil {
			c.Close()
		}
		t.Errorf("unsigned handshake on the AWS_IAM $connect: %d %v, want 403", status, err)
	}
	key := sigv4test.NewUser(t, env.AdminURL, "", "ws", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+api+`/*/$connect"}]}`)
	req, _ := http.NewRequest(http.MethodGet, env.GatewayURL+"/"+api+"/dev", nil)
	sigv4test.Sign(t, req, key.Credentials(), sigv4test.EmptyHash, "execute-api", sigv4test.Region, time.Now())
	req.Header.Del("Host")
	req.Header.Set("X-Room", "lobby")
	signed, status, err := wstest.Dial(websocket.DefaultDialer, url, req.Header)
	if err != nil {
		t.Errorf("signed handshake on the AWS_IAM $connect: %d %v, want it admitted", status, err)
	} else {
		signed.Close()
	}

	// The authorizer resource dropped: it leaves the API.
	writeFile(t, path, []byte(strings.ReplaceAll(dropResources(iam, "Auth"), "BACKEND", backend)), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ws")
	var dropped apis.API // a fresh one: decoding into a would merge its maps
	adminJSON(t, env, "/portico/v1/apis/"+api, &dropped)
	if _, ok := dropped.Authorizers["tokens"]; ok || len(dropped.Authorizers) != 1 {
		t.Errorf("authorizers %v: want sigv4 only, tokens gone with its resource", slices.Collect(maps.Keys(dropped.Authorizers)))
	}

	// A non-proxy AWS integration: the function gets the rendered request
	// template as its event, and its result or error goes through the
	// integration responses (a function error selects by its errorMessage).
	// The authorizer program answers a policy for token letmein and fails
	// with "Unauthorized" for any other.
	aws := strings.Replace(dropResources(iam, "Auth"), "      IntegrationType: HTTP\n      IntegrationMethod: PUT\n      IntegrationUri: BACKEND/echo\n",
		"      IntegrationType: AWS\n      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${WsAuth.Arn}/invocations\n", 1)
	aws = strings.Replace(aws, "      PassthroughBehavior: NEVER\n", "      PassthroughBehavior: WHEN_NO_MATCH\n", 1)
	aws = strings.Replace(aws, `        $default: 'said $input.path(''$.data'')'`,
		`        $default: '{"methodArn": "arn:x", "queryStringParameters": {"token": "$input.path(''$.data'')"}}'`, 1)
	awsOK := strings.Replace(aws, "      RequestParameters:\n        integration.request.header.X-User: context.authorizer.user\n", "", 1)
	awsOK = strings.Replace(awsOK, "      IntegrationResponseKey: /2\\d{2}/\n      ResponseTemplates:\n        $default: 'backend: $input.body'\n",
		"      IntegrationResponseKey: $default\n      ResponseTemplates:\n        $default: 'principal $input.path(''$.principalId'')'\n"+
			"  EchoIntegRefused:\n    Type: AWS::ApiGatewayV2::IntegrationResponse\n    Properties:\n      ApiId: !Ref Ws\n      IntegrationId: !Ref EchoInteg\n"+
			"      IntegrationResponseKey: /Unauth.*/\n      ResponseTemplates:\n        $default: 'refused: $input.path(''$.errorMessage'')'\n", 1)
	if awsOK == aws {
		t.Fatal("the AWS template edit matched nothing")
	}
	writeFile(t, path, []byte(awsOK), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ws")
	signedAgain, status, err := wstest.Dial(websocket.DefaultDialer, url, req.Header)
	if err != nil {
		t.Fatalf("signed handshake after the AWS deploy: %d %v", status, err)
	}
	defer signedAgain.Close()
	if got := wstest.Exchange(t, signedAgain, `{"action":"echo","data":"letmein"}`); got != "principal alice" {
		t.Errorf("AWS echo with the token answered %q, want %q (the $default integration response over the function's result)", got, "principal alice")
	}
	if got := wstest.Exchange(t, signedAgain, `{"action":"echo","data":"nope"}`); got != "refused: Unauthorized" {
		t.Errorf("AWS echo without the token answered %q, want %q (the /Unauth.*/ integration response over the function's error)", got, "refused: Unauthorized")
	}

	// The same with a header mapping, which an AWS integration does not
	// apply: the deploy fails with the gateway's refusal, before anything
	// changes.
	var current apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &current)
	before, _ := json.Marshal(current)
	writeFile(t, path, []byte(aws), 0o600)
	out, err := cliErr(env, "deploy", "--template", path, "--stack", "ws")
	if err == nil || !strings.Contains(out+err.Error(), "requestParameters are not applied") {
		t.Errorf("AWS integration with requestParameters: %v\n%s\nwant the gateway's refusal", err, out)
	}
	var after apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &after)
	if now, _ := json.Marshal(after); string(now) != string(before) {
		t.Errorf("a refused deploy changed the API:\n%s\nwas\n%s", now, before)
	}
}
