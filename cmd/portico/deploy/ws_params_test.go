package deploy

import (
	"maps"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// wsMapped is a WebSocket API whose $connect goes to an HTTP_PROXY backend
// with a data mapping (RequestParameters), as API Gateway's
// websocket-data-mapping.yaml sample declares one.
const wsMapped = `  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
  WsInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: HTTP_PROXY
      IntegrationUri: http://backend.example/connect
      RequestParameters:
        integration.request.header.connectionId: context.connectionId
        integration.request.querystring.token: route.request.querystring.token
  WsRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: $connect
      Target: !Join ["/", ["integrations", !Ref WsInteg]]
  WsStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
`

// TestWebSocketIntegrationRequestParametersDeploy: a template's
// AWS::ApiGatewayV2::Integration RequestParameters reach the API Portico
// creates (they were ignored with a warning, and so never applied); one that
// is no WebSocket mapping fails the deploy naming its key, before any call.
func TestWebSocketIntegrationRequestParametersDeploy(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions+wsMapped, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"integration.request.header.connectionId": "context.connectionId",
		"integration.request.querystring.token": "route.request.querystring.token"}
	found := false
	for _, a := range f.apis {
		for _, r := range a.def.Routes {
			if r.Key == "$connect" {
				found = true
				if !maps.Equal(r.RequestParameters, want) {
					t.Errorf("$connect's integration maps %v, want %v", r.RequestParameters, want)
				}
				sent := wsBody(a.def, nil)["routes"].([]apis.Route)[0].Integration.RequestParameters
				if !maps.Equal(sent, want) {
					t.Errorf("the admin API is sent %v, want %v", sent, want)
				}
			}
		}
	}
	if !found {
		t.Fatal("no $connect route deployed")
	}

	f = newFake()
	bad := strings.Replace(wsMapped, "route.request.querystring.token", "method.request.querystring.token", 1)
	_, err := deployText(t, f, dir, "s", twoFunctions+bad, nil)
	if err == nil || !strings.Contains(err.Error(), `request parameter mapping "integration.request.querystring.token"`) {
		t.Fatalf("err = %v, want the bad mapping named", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("calls %v, want none", f.calls)
	}
}
