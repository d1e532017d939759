package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestWSRouteSetKeepsRouteAuthorization: `portico ws route set API $connect
// --function FN` on an existing route replaced it with {routeKey,
// integration} alone, so its AWS_IAM or CUSTOM authorization, authorizer, API
// key requirement and required request parameters were gone without a word,
// and on an auto-deploy stage the unprotected $connect was live at once (an
// unsigned client got 101). The route now keeps them, as update-route
// --target does, only its integration changes; and the command says the
// change is live on the auto-deploy stage rather than "deploy to apply".
func TestWSRouteSetKeepsRouteAuthorization(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	do := func(method, path string, body, out any) {
		t.Helper()
		resp, err := c.Do(ctx, method, path, nil, body, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if out != nil {
			if err := json.Unmarshal(resp.Body, out); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
	}
	type v2Route struct {
		RouteID           string                     `json:"routeId"`
		AuthorizationType string                     `json:"authorizationType"`
		AuthorizerID      string                     `json:"authorizerId"`
		APIKeyRequired    bool                       `json:"apiKeyRequired"`
		RequestParameters map[string]map[string]bool `json:"requestParameters"`
	}
	for _, auth := range []string{"AWS_IAM", "CUSTOM"} {
		id := strings.TrimSpace(cliCombined(t, env, "ws", "create", "keep-"+strings.ToLower(auth)))
		v2 := "/v2/apis/" + id
		var integ struct {
			IntegrationID string `json:"integrationId"`
		}
		do("POST", v2+"/integrations", map[string]any{"integrationType": "AWS_PROXY",
			"integrationUri": "arn:aws:lambda:us-east-1:000000000000:function:probe"}, &integ)
		route := map[string]any{"routeKey": "$connect", "authorizationType": auth, "apiKeyRequired": true,
			"target":            "integrations/" + integ.IntegrationID,
			"requestParameters": map[string]any{"route.request.querystring.room": map[string]any{"required": true}}}
		if auth == "CUSTOM" {
			var a struct {
				AuthorizerID string `json:"authorizerId"`
			}
			do("POST", v2+"/authorizers", map[string]any{"name": "gate", "authorizerType": "REQUEST",
				"authorizerUri":  "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authz/invocations",
				"identitySource": []string{"route.request.querystring.token"}}, &a)
			route["authorizerId"] = a.AuthorizerID
		}
		var before v2Route
		do("POST", v2+"/routes", route, &before)
		do("POST", v2+"/stages", map[string]any{"stageName": "live", "autoDeploy": true}, nil)

		out := cliCombined(t, env, "ws", "route", "set", id, "$connect", "--function", "other")
		if !strings.Contains(out, "live now on auto-deploy stage(s) live") {
			t.Errorf("%s: ws route set printed %q, want it to say the change is live on the auto-deploy stage", auth, out)
		}
		var after v2Route
		do("GET", v2+"/routes/"+before.RouteID, nil, &after)
		if after.AuthorizationType != auth || after.AuthorizerID != before.AuthorizerID || !after.APIKeyRequired ||
			!after.RequestParameters["route.request.querystring.room"]["required"] {
			t.Errorf("%s: after ws route set the route is %+v, want its authorization, API key and parameters kept as %+v", auth, after, before)
		}
		var rt struct {
			Integration struct {
				URI string `json:"uri"`
			} `json:"integration"`
		}
		do("GET", "/portico/v1/apis/"+id+"/routes/"+before.RouteID, nil, &rt)
		if rt.Integration.URI != "function:other" {
			t.Errorf("%s: route integration %q after ws route set, want function:other", auth, rt.Integration.URI)
		}
		// A client with no credentials, key or token is still refused.
		url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + id + "/live?room=r"
		conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
		if err == nil {
			conn.Close()
		}
		if resp == nil || resp.StatusCode/100 != 4 {
			t.Errorf("%s: a client without credentials got %v, %v after ws route set, want a 4xx refusal", auth, resp, err)
		}
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
	}
}

// TestWSRouteSetRefusesNonWebSocketAPI: `portico ws route set` on a REST or
// HTTP API answered with the admin API's route validation ("method "" must be
// one of GET, ..."). It now says the API is not a WebSocket API, and changes
// nothing.
func TestWSRouteSetRefusesNonWebSocketAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	for _, protocol := range []string{"REST", "HTTP"} {
		var api struct {
			ID string `json:"id"`
		}
		resp, err := env.Client().Do(context.Background(), http.MethodPost, "/portico/v1/apis", nil,
			map[string]any{"name": "not-ws", "protocol": protocol}, nil)
		if err != nil || json.Unmarshal(resp.Body, &api) != nil {
			t.Fatalf("create %s api: %v", protocol, err)
		}
		for _, key := range []string{"foo", "$default"} {
			out, err := cliErr(env, "ws", "route", "set", api.ID, key, "--function", "probe")
			want := "api " + api.ID + " is a " + protocol + " API: ws route set takes WebSocket APIs"
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "portico api list") {
				t.Errorf("ws route set on a %s API, key %s: %v\n%s\nwant %q", protocol, key, err, out, want)
			}
		}
		resp, err = env.Client().Do(context.Background(), http.MethodGet, "/portico/v1/apis/"+api.ID+"/routes", nil, nil, nil)
		if err != nil || strings.Contains(string(resp.Body), "probe") {
			t.Errorf("routes of the %s API after the refusals: %s, %v", protocol, resp.Body, err)
		}
	}
}
