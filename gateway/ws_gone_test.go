package gateway_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestDeletedStageClosesItsConnections: deleting a WebSocket stage, or its
// API, closes the stage's open connections (1001, "Stage no longer exists"),
// which before stayed open, listed and reachable through @connections until
// their client's next message. The other stage's connections stay.
//
// Each closed connection's $disconnect runs (on the deployment that served it),
// and @connections answers 410 GoneException for it at the stage's URLs.
func TestDeletedStageClosesItsConnections(t *testing.T) {
	const token = "ws-gone-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	// $disconnect goes to an HTTP_PROXY backend that records it.
	disconnects := make(chan string, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		disconnects <- r.Header.Get("connectionId") + " " + r.URL.Path
	}))
	t.Cleanup(backend.Close)
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsgone", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]string{"$default": `pong $context.stage`}}}}},
			map[string]any{"routeKey": "$disconnect", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend.URL + "/gone",
				"requestParameters": map[string]string{"integration.request.header.connectionId": "context.connectionId"}}},
		}}, &api)
	var dep struct {
		Deployment struct {
			ID string `json:"id"`
		} `json:"deployment"`
	}
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, &dep)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/stages", nil, map[string]any{"name": "prod", "deploymentId": dep.Deployment.ID}, nil)
	dial := func(stage string) *websocket.Conn {
		t.Helper()
		ws, resp, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/"+stage, nil)
		if err != nil {
			t.Fatalf("dial %s: %v (%v)", stage, err, resp)
		}
		t.Cleanup(func() { _ = ws.Close() })
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if got := wstest.ReadText(t, ws); got != "pong "+stage {
			t.Fatalf("%s answered %q", stage, got)
		}
		return ws
	}
	// closed reads ws until its close frame, which must be the stage's going.
	closed := func(ws *websocket.Conn, what string) {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang guard, not a timing
		_, msg, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != "Stage no longer exists" {
			t.Fatalf("%s: read %q, %v; want close 1001 \"Stage no longer exists\"", what, msg, err)
		}
	}
	connID := func(stage string) string {
		t.Helper()
		var list struct {
			Items []struct {
				ConnectionID string `json:"connectionId"`
			} `json:"items"`
		}
		admin(t, c, "GET", "/portico/v1/apis/"+api.ID+"/stages/"+stage+"/connections", nil, nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("%s's connections: %+v", stage, list)
		}
		return list.Items[0].ConnectionID
	}
	// disconnected waits for id's $disconnect at the backend.
	disconnected := func(id, what string) {
		t.Helper()
		select {
		case got := <-disconnects:
			if got != id+" /gone" {
				t.Fatalf("%s: $disconnect %q, want %q", what, got, id+" /gone")
			}
		case <-time.After(20 * time.Second): // a hang guard, not a timing
			t.Fatalf("%s: no $disconnect", what)
		}
	}
	// gone checks @connections on id at the stage's URLs: 410 once the stage
	// is gone, as for any connection that is.
	gone := func(stage, id, what string) {
		t.Helper()
		for _, u := range []string{env.GatewayURL + "/" + api.ID + "/" + stage + "/@connections/" + id, env.GatewayURL + "/" + stage + "/%40connections/" + id} {
			for _, method := range []string{"GET", "POST", "DELETE"} {
				if a := get(t, method, u, "x", "Authorization", "Bearer "+token); a.status != http.StatusGone || a.header.Get("x-amzn-ErrorType") != "GoneException" {
					t.Errorf("%s: %s %s: %d %s", what, method, u, a.status, a.body)
				}
			}
		}
	}
	dev, prod := dial("dev"), dial("prod")
	devID, prodID := connID("dev"), connID("prod")
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID+"/stages/dev", nil, nil, nil)
	closed(dev, "dev after its stage was deleted")
	disconnected(devID, "dev after its stage was deleted")
	gone("dev", devID, "dev after its stage was deleted")
	if err := prod.WriteMessage(websocket.TextMessage, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, prod); got != "pong prod" {
		t.Fatalf("prod after dev was deleted answered %q", got)
	}
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID, nil, nil, nil)
	closed(prod, "prod after its API was deleted")
	disconnected(prodID, "prod after its API was deleted")
	gone("prod", prodID, "prod after its API was deleted")
}
