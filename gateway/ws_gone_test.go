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
	t.Parallel()
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
				// The connectionId header is the one Portico sends WebSocket
				// HTTP integrations that map no header of that name.
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend.URL + "/gone"}},
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

// TestDeletedStageRunsDisconnectAndAnswersGone: the connections of a deleted
// stage get their $disconnect, as the stage's last deployment has it (a
// redeploy that no message has used since included), and @connections for
// them answers 410 GoneException at every URL form: the API's stage by path
// and by host, the stage-only form, and, once the whole API is deleted, the
// API's URLs too. Paths that are not @connections calls stay 404, and so do
// @connections URLs under an API id that never existed.
func TestDeletedStageRunsDisconnectAndAnswersGone(t *testing.T) {
	t.Parallel()
	const token = "ws-gone-token"
	disconnects := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		disconnects <- r.URL.Query().Get("v") + " " + r.Header.Get("connectionId")
	}))
	t.Cleanup(hook.Close)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	var api struct {
		ID     string `json:"id"`
		Routes []struct {
			ID       string `json:"id"`
			RouteKey string `json:"routeKey"`
		} `json:"routes"`
	}
	disconnect := func(v string) map[string]any {
		return map[string]any{"type": "HTTP", "httpMethod": "POST", "uri": hook.URL + "/gone?v=" + v}
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsgone", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$disconnect", "integration": disconnect("1")},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]string{"$default": `pong $context.stage`}}}}},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "tmp"}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "keep"}, nil)
	dial := func(stage string) (*websocket.Conn, string) {
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
		// The connection's id, from @connections' listing on the admin API.
		var list struct {
			Items []struct {
				ConnectionID string `json:"connectionId"`
			} `json:"items"`
		}
		admin(t, c, "GET", "/portico/v1/apis/"+api.ID+"/stages/"+stage+"/connections", nil, nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("connections of %s: %+v", stage, list)
		}
		return ws, list.Items[0].ConnectionID
	}
	closed := func(ws *websocket.Conn, what string) {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang guard, not a timing
		_, msg, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != "Stage no longer exists" {
			t.Fatalf("%s: read %q, %v; want close 1001 \"Stage no longer exists\"", what, msg, err)
		}
	}
	disconnected := func(want, what string) {
		t.Helper()
		select {
		case got := <-disconnects:
			if got != want {
				t.Fatalf("%s: $disconnect ran as %q, want %q (deployment, connection)", what, got, want)
			}
		case <-time.After(30 * time.Second): // a hang guard, not a timing
			t.Fatalf("%s: $disconnect did not run", what)
		}
	}
	post := func(u, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("hi"))
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
	}
	gone := func(id, what string, urls ...[2]string) {
		t.Helper()
		for _, u := range urls {
			if st, typ := post(u[0], u[1]); st != http.StatusGone || typ != "GoneException" {
				t.Errorf("%s: POST %s (Host %q): %d %s, want 410 GoneException", what, u[0], u[1], st, typ)
			}
		}
	}

	tmp, tmpID := dial("tmp")
	// The $disconnect integration changes and tmp is redeployed; no message
	// uses the new deployment before the stage goes.
	for _, r := range api.Routes {
		if r.RouteKey == "$disconnect" {
			admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/routes/"+r.ID+"/integration", nil, disconnect("2"), nil)
		}
	}
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "tmp"}, nil)
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID+"/stages/tmp", nil, nil, nil)
	closed(tmp, "tmp after its stage was deleted")
	disconnected("2 "+tmpID, "tmp's connection")
	host := api.ID + ".execute-api.localhost"
	gone(tmpID, "the deleted stage",
		[2]string{env.GatewayURL + "/" + api.ID + "/tmp/@connections/" + tmpID, ""},
		[2]string{env.GatewayURL + "/" + api.ID + "/tmp/%40connections/" + tmpID, ""},
		[2]string{env.GatewayURL + "/tmp/@connections/" + tmpID, host},
		[2]string{env.GatewayURL + "/tmp/@connections/" + tmpID, ""},
	)
	for _, u := range []string{env.GatewayURL + "/" + api.ID + "/tmp/other", env.GatewayURL + "/" + api.ID + "/tmp/@connections/" + tmpID + "/x"} {
		if st, _ := post(u, ""); st != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404 (not an @connections call)", u, st)
		}
	}

	keep, keepID := dial("keep")
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID, nil, nil, nil)
	closed(keep, "keep after its API was deleted")
	disconnected("1 "+keepID, "keep's connection")
	gone(keepID, "the deleted API",
		[2]string{env.GatewayURL + "/" + api.ID + "/keep/@connections/" + keepID, ""},
		[2]string{env.GatewayURL + "/keep/@connections/" + keepID, host},
		[2]string{env.GatewayURL + "/keep/@connections/" + keepID, ""},
	)
	if st, _ := post(env.GatewayURL+"/"+api.ID+"/keep/other", ""); st != http.StatusNotFound {
		t.Errorf("a path of the deleted API that is not an @connections call: %d, want 404", st)
	}
	if st, _ := post(env.GatewayURL+"/abcdefghij/keep/@connections/"+keepID, ""); st != http.StatusNotFound {
		t.Errorf("@connections under an API id that never existed: %d, want 404", st)
	}
}
