package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// wsEndpointTemplate is a WebSocket API whose $connect is a MOCK, with
// DisableExecuteApiEndpoint OFF.
const wsEndpointTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
      DisableExecuteApiEndpoint: OFF
  ConnectInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{"statusCode": 200}'
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: $connect
      Target: !Sub integrations/${ConnectInteg}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
`

// TestDeployWebSocketDisableExecuteAPIEndpoint: DisableExecuteApiEndpoint on
// a WebSocket AWS::ApiGatewayV2::Api was ignored with a warning, and the
// stage URL kept taking connections. It is applied as on an HTTP API (the
// apigatewayv2 API's disableExecuteApiEndpoint): the handshake at the stage
// URL is refused 403; a redeploy turning it off opens the URL again.
func TestDeployWebSocketDisableExecuteAPIEndpoint(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := filepath.Join(t.TempDir(), "template.yaml")
	deployWith := func(off string) string {
		writeFile(t, path, []byte(strings.Replace(wsEndpointTemplate, "OFF", off, 1)), 0o600)
		return cliCombined(t, env, "deploy", "--template", path, "--stack", "wsoff")
	}
	if out := deployWith("true"); strings.Contains(out, "DisableExecuteApiEndpoint") {
		t.Errorf("the deploy warned about DisableExecuteApiEndpoint:\n%s", out)
	}
	api := stackRecord(t, env, "wsoff").Resources["Ws"].PhysicalID
	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api + "/dev"
	c, status, err := wstest.Dial(websocket.DefaultDialer, url, nil)
	if err == nil {
		c.Close()
	}
	if status != http.StatusForbidden {
		t.Fatalf("handshake at the stage URL of an API that disables it: %d (%v), want 403", status, err)
	}
	deployWith("false")
	c, status, err = wstest.Dial(websocket.DefaultDialer, url, nil)
	if err != nil {
		t.Fatalf("handshake after the redeploy turning DisableExecuteApiEndpoint off: %d %v", status, err)
	}
	c.Close()
}

// TestDeployWebSocketSubresourceOutputs: Outputs naming an
// AWS::ApiGatewayV2 Authorizer, Route or Integration were left out with a
// warning that Portico does not make them; they resolve, as in
// CloudFormation, to the ids apigatewayv2's GetAuthorizers and GetRoutes
// report.
func TestDeployWebSocketSubresourceOutputs(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := wsStack(t, wsTemplate+`Outputs:
  AuthId: {Value: !Ref Auth}
  AuthAttr: {Value: !GetAtt Auth.AuthorizerId}
  PingId: {Value: !GetAtt PingRoute.RouteId}
  PingRef: {Value: !Ref PingRoute}
  PingInteg: {Value: !Ref PingInteg}
  EchoInteg: {Value: !GetAtt EchoInteg.IntegrationId}
`, "http://127.0.0.1:1")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "wsout")
	if strings.Contains(out, "left out") {
		t.Errorf("outputs left out:\n%s", out)
	}
	api := stackRecord(t, env, "wsout").Resources["Ws"].PhysicalID
	var routes struct {
		Items []struct{ RouteID, RouteKey, Target string }
	}
	adminJSON(t, env, "/v2/apis/"+api+"/routes", &routes)
	var auths struct {
		Items []struct{ AuthorizerID, Name string }
	}
	adminJSON(t, env, "/v2/apis/"+api+"/authorizers", &auths)
	want := map[string]string{}
	for _, r := range routes.Items {
		integ := strings.TrimPrefix(r.Target, "integrations/")
		switch r.RouteKey {
		case "ping":
			want["PingId"], want["PingRef"], want["PingInteg"] = r.RouteID, r.RouteID, integ
		case "echo":
			want["EchoInteg"] = integ
		}
	}
	for _, a := range auths.Items {
		if a.Name == "tokens" {
			want["AuthId"], want["AuthAttr"] = a.AuthorizerID, a.AuthorizerID
		}
	}
	if len(want) != 6 {
		t.Fatalf("ids from the server %v, routes %+v, authorizers %+v", want, routes, auths)
	}
	for k, v := range want {
		if v == "" || !strings.Contains(out, "  "+k+": "+v+"\n") {
			t.Errorf("output %s, want %q:\n%s", k, v, out)
		}
	}
}
