package gateway_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketStopRefusesConnectInProgress: a $connect still running when a
// graceful stop begins is refused with 503, as a new handshake is from the
// moment the stop begins (docs/websockets.md), and its $disconnect runs.
// Before, the listeners' graceful stop let the request finish and the
// connections' stop hook came after it: the client got a 101 and then a 1001
// close at once.
func TestWebSocketStopRefusesConnectInProgress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	arrived, release := make(chan struct{}), make(chan struct{})
	disconnects := make(chan string, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/connect":
			close(arrived)
			<-release
		case "/disconnect":
			disconnects <- r.Header.Get("connectionId")
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(backend.Close)
	integ := func(path string) map[string]any {
		return map[string]any{"type": "HTTP", "httpMethod": "POST", "uri": backend.URL + path}
	}
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsstop", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": integ("/connect")},
			map[string]any{"routeKey": "$disconnect", "integration": integ("/disconnect")},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)

	type dialed struct {
		status int
		err    error
	}
	done := make(chan dialed, 1)
	go func() {
		ws, status, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
		if err == nil {
			_ = ws.Close()
		}
		done <- dialed{status, err}
	}()
	<-arrived
	stopped := make(chan struct{})
	go func() { defer close(stopped); env.Stop() }()
	// The gateway's listener closes once its stop hook runs, after the one
	// that begins the connections' stop: from then on the stop has begun.
	addr := strings.TrimPrefix(env.GatewayURL, "http://")
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		_ = conn.Close()
		select {
		case <-stopped:
			t.Fatal("the stop ended with the $connect still running")
		case <-time.After(10 * time.Millisecond): // polling the listener, not timing the test
		}
	}
	close(release)
	got := <-done
	<-stopped
	if got.err == nil || got.status != http.StatusServiceUnavailable {
		t.Fatalf("$connect in progress when the stop began: status %d, err %v; want 503", got.status, got.err)
	}
	select {
	case <-disconnects:
	default:
		t.Fatal("no $disconnect for the refused connection, whose $connect ran")
	}
}
