package gateway_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestDeletedStageClosesItsConnections: deleting a WebSocket stage, or its
// API, closes the stage's open connections (1001, "Stage no longer exists"),
// which before stayed open, listed and reachable through @connections until
// their client's next message. The other stage's connections stay.
func TestDeletedStageClosesItsConnections(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsgone", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]string{"$default": `pong $context.stage`}}}}},
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
	dev, prod := dial("dev"), dial("prod")
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID+"/stages/dev", nil, nil, nil)
	closed(dev, "dev after its stage was deleted")
	if err := prod.WriteMessage(websocket.TextMessage, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, prod); got != "pong prod" {
		t.Fatalf("prod after dev was deleted answered %q", got)
	}
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID, nil, nil, nil)
	closed(prod, "prod after its API was deleted")
}
