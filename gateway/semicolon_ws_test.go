package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/invoker"
)

// TestWebSocketConnectSemicolonSplitsQuery: a WebSocket $connect reads the
// upgrade's query string as REST and HTTP APIs read theirs (a raw ';'
// separates parameters as '&' does, TestSemicolonSplitsQuery), in its
// authorizer's identity source as in the $connect event. The event dropped
// the pairs a ';' joined, and the authorizer found no query at all.
func TestWebSocketConnectSemicolonSplitsQuery(t *testing.T) {
	e := newEnv(t)
	az := auth.New(e.res, e.inv, nil)
	e.gw.Use(az)
	e.gw.SetConnectAuthorizer(az)
	m := connections.New(connections.Config{}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	e.gw.EnableWebSockets(m)
	type query struct {
		Single map[string]string   `json:"queryStringParameters"`
		Multi  map[string][]string `json:"multiValueQueryStringParameters"`
	}
	var mu sync.Mutex
	var authQ, connectQ *query
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev struct {
			Type string `json:"type"`
			query
		}
		_ = json.Unmarshal(req.Payload, &ev)
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == "REQUEST" {
			authQ = &ev.query
			return &invoker.Result{Payload: []byte(`{"principalId":"u","policyDocument":{"Version":"2012-10-17",` +
				`"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`)}, nil
		}
		connectQ = &ev.query
		return &invoker.Result{Payload: []byte(`{"statusCode": 200}`)}, nil
	}
	ws := e.deploy(&apis.API{Name: "wssemi", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Authorizers: map[string]json.RawMessage{"conn": json.RawMessage(`{"type":"apiKey","name":"token","in":"query",
			"x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz",
			"identitySource":"route.request.querystring.token"}}`)},
		Routes: []apis.Route{{RouteKey: "$connect", Security: []map[string][]string{{"conn": {}}},
			Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}}}}}, "dev", nil)

	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/"+ws+"/dev?a=1;token=good&flag&c=x%3By;a=2", nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)\n%s", err, status, e.logs.String())
	}
	_ = c.Close()
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{"a": "2", "token": "good", "flag": "", "c": "x;y"}
	for name, q := range map[string]*query{"authorizer": authQ, "$connect": connectQ} {
		if q == nil {
			t.Errorf("the %s event was not sent", name)
			continue
		}
		if !sameStrings(q.Single, want) || strings.Join(q.Multi["a"], ",") != "1,2" {
			t.Errorf("%s event query %v %v, want %v and a=[1 2]", name, q.Single, q.Multi, want)
		}
	}
}
