package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketRequiredConnectParametersEnforced: a $connect route defined
// through /portico/v1 with a required query parameter refuses a handshake
// without it (400, REST's "Missing required request parameters" body) before
// its MOCK integration runs, and accepts one with it. Before, the API took
// the required parameter and the gateway never checked it: every client
// connected.
func TestWebSocketRequiredConnectParametersEnforced(t *testing.T) {
	t.Parallel()
	const token = "ws-required-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsrequired", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": mock,
				"parameters": []any{map[string]any{"name": "token", "in": "query", "required": true}}},
			map[string]any{"routeKey": "$default", "integration": mock},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api.ID + "/dev"
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil {
		_ = conn.Close()
		t.Fatal("connected without the required token")
	}
	if resp == nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || string(body) != `{"message":"Missing required request parameters: [token]"}` {
		t.Errorf("without the token: %d %s", resp.StatusCode, body)
	}
	conn, _, err = wstest.Dial(websocket.DefaultDialer, url+"?token=t", nil)
	if err != nil {
		t.Fatalf("with the token: %v", err)
	}
	_ = conn.Close()
}
