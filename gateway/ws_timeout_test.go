package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketIntegrationTimeout: an integration that outlasts its
// timeoutInMillis answers as it does on REST and HTTP APIs: a $connect is
// refused with 504 {"message":"Endpoint request timed out"}, and a message
// gets the error frame {"message": "Endpoint request timed out", ...}, not
// 500 "Internal server error".
func TestWebSocketIntegrationTimeout(t *testing.T) {
	const token = "ws-timeout-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	var slowConnect atomic.Bool
	stop := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/connect" && !slowConnect.Load() {
			return
		}
		select { // past the integration's timeout
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(backend.Close)
	t.Cleanup(func() { close(stop) })
	var api struct {
		ID string `json:"id"`
	}
	proxy := func(path string) map[string]any {
		return map[string]any{"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend.URL + path, "timeoutInMillis": 50}
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wstimeout", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": proxy("/connect")},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": proxy("/message")},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	u := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api.ID + "/dev"

	ws, _, err := wstest.Dial(websocket.DefaultDialer, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"slow"}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); !strings.HasPrefix(got, `{"message": "Endpoint request timed out", "connectionId":`) {
		t.Errorf("message past its integration's timeout: frame %s", got)
	}

	slowConnect.Store(true)
	_, status, err := wstest.Dial(websocket.DefaultDialer, u, nil)
	if err == nil || status != http.StatusGatewayTimeout {
		t.Errorf("$connect past its integration's timeout: %v, status %d, want 504", err, status)
	}
}
