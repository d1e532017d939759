package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/wstest"
)

// wsPostEnv is a server with a WebSocket API (stage dev) whose messages a
// MOCK answers "pong" and whose $disconnect handler (an HTTP_PROXY backend)
// posts to its own connection through @connections, as a function that says
// goodbye would, and reports what @connections answered it.
type wsPostEnv struct {
	gateway, token, api string
	disconnects         chan answer // what the $disconnect handler's POST was answered
	c                   *client.Client
}

func startWSPostEnv(t *testing.T, settings func(*app.Settings)) *wsPostEnv {
	t.Helper()
	e := &wsPostEnv{token: "ws-post-token", disconnects: make(chan answer, 8)}
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) {
		s.AdminToken = e.token
		if settings != nil {
			settings(s)
		}
	}})
	e.gateway = env.GatewayURL
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The handler's own POST may never hang: the hang guard is the
		// request's context, not a timing the test relies on.
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.connURL(r.Header.Get("connectionId")), strings.NewReader("goodbye"))
		if err != nil {
			e.disconnects <- answer{status: -1, body: err.Error()}
			return
		}
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.disconnects <- answer{status: -1, body: err.Error()}
			return
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		_ = resp.Body.Close()
		e.disconnects <- answer{resp.StatusCode, resp.Header, b.String()}
	}))
	t.Cleanup(backend.Close)
	var api struct {
		ID string `json:"id"`
	}
	c := env.Client()
	e.c = c
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wspost", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]string{"$default": `pong`}}}}},
			map[string]any{"routeKey": "$disconnect", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend.URL + "/gone"}},
		}}, &api)
	e.api = api.ID
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	return e
}

func (e *wsPostEnv) connURL(id string) string {
	return e.gateway + "/" + e.api + "/dev/@connections/" + id
}

// dial connects a client, checks it is answered, and returns its
// connection id, the stage's one connection's.
func (e *wsPostEnv) dial(t *testing.T) (*websocket.Conn, string) {
	t.Helper()
	ws, status, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(e.gateway, "http")+"/"+e.api+"/dev", nil)
	if err != nil {
		t.Fatalf("dial: %v (%d)", err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	if got := wstest.Exchange(t, ws, `{}`); got != "pong" {
		t.Fatalf("answered %q", got)
	}
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	admin(t, e.c, "GET", "/portico/v1/apis/"+e.api+"/stages/dev/connections", nil, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("the stage's connections: %+v, want the one just made", list)
	}
	return ws, list.Items[0].ConnectionID
}

// goodbye waits for the $disconnect handler's POST to its own connection and
// checks it was answered 410 GoneException, as API Gateway answers a post to
// a connection that is closing.
func (e *wsPostEnv) goodbye(t *testing.T, what string) {
	t.Helper()
	select {
	case a := <-e.disconnects:
		if a.status != http.StatusGone || a.header.Get("x-amzn-ErrorType") != "GoneException" {
			t.Fatalf("%s: $disconnect's POST to its own connection: %d %s, want 410 GoneException", what, a.status, a.body)
		}
	case <-time.After(20 * time.Second): // a hang guard, not a timing
		t.Fatalf("%s: $disconnect's POST to its own connection never answered", what)
	}
}

// TestWebSocketPostsToAClientThatDoesNotRead: the edge15 leftover. A client
// that reads nothing while @connections posts to it many messages (a
// function broadcasting): its send queue overflows (send-queue-messages 4,
// send-queue-bytes 256 KB here), the connection is closed with 1008 "Send
// queue overflow: ..." and that POST and every later one is answered 410
// GoneException; what the server took before is bounded by the queue and
// the sockets' buffers, not by what was posted. The connection's
// $disconnect, posting to it, gets 410 too. The client, reading late, gets
// whole messages and then the connection's end.
func TestWebSocketPostsToAClientThatDoesNotRead(t *testing.T) {
	t.Parallel()
	e := startWSPostEnv(t, func(s *app.Settings) {
		s.WebSocket.SendQueueMessages = 4
		s.WebSocket.SendQueueBytes = 256 << 10
	})
	ws, id := e.dial(t)
	msg := strings.Repeat("x", 100<<10)
	const posts = 2000 // 200 MB: far more than any socket buffer holds
	taken := 0
	var last answer
	for range posts {
		last = get(t, "POST", e.connURL(id), msg, "Authorization", "Bearer "+e.token)
		if last.status != http.StatusOK {
			break
		}
		taken++
	}
	if last.status != http.StatusGone || last.header.Get("x-amzn-ErrorType") != "GoneException" {
		t.Fatalf("after %d posts taken: %d %s, want 410 GoneException", taken, last.status, last.body)
	}
	if taken*len(msg) > 64<<20 {
		t.Errorf("%d posts (%d MB) taken for a client that reads nothing: the queue is not bounded", taken, taken*len(msg)>>20)
	}
	for _, method := range []string{"POST", "GET"} {
		if a := get(t, method, e.connURL(id), "x", "Authorization", "Bearer "+e.token); a.status != http.StatusGone || a.header.Get("x-amzn-ErrorType") != "GoneException" {
			t.Errorf("%s after the overflow: %d %s, want 410 GoneException", method, a.status, a.body)
		}
	}
	e.goodbye(t, "after the overflow")
	// The client, reading at last, gets whole messages, those that reached
	// its socket, then the end: the close frame 1008 when it read in time
	// for it (the close frame waits behind the frame being written, within
	// the close grace), else the stream's end (1006), the connection gone.
	_ = ws.SetReadDeadline(time.Now().Add(wstest.Bound)) // a hang guard, not a timing
	read := 0
	for {
		_, b, err := ws.ReadMessage()
		if err == nil {
			if string(b) != msg {
				t.Fatalf("message %d: %d bytes, not one that was posted", read, len(b))
			}
			read++
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || (ce.Code != websocket.CloseAbnormalClosure &&
			(ce.Code != websocket.ClosePolicyViolation || ce.Text != "Send queue overflow: the client is not reading its messages")) {
			t.Fatalf("after %d messages: %v; want close 1008 \"Send queue overflow: ...\" or the stream's end (1006)", read, err)
		}
		break
	}
	if read > taken {
		t.Errorf("read %d messages, more than the %d posts taken", read, taken)
	}
}

// TestWebSocketDisconnectPostsToItsOwnConnection: a $disconnect handler that
// posts to the connection that is closing (the client closed it, or a DELETE
// of @connections did) is answered 410 GoneException, as API Gateway answers
// it, neither hanging nor failing otherwise.
func TestWebSocketDisconnectPostsToItsOwnConnection(t *testing.T) {
	t.Parallel()
	e := startWSPostEnv(t, nil)
	ws, _ := e.dial(t)
	if err := ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")); err != nil {
		t.Fatal(err)
	}
	e.goodbye(t, "closed by its client")
	_, id := e.dial(t)
	if a := get(t, "DELETE", e.connURL(id), "", "Authorization", "Bearer "+e.token); a.status != http.StatusNoContent {
		t.Fatalf("DELETE @connections: %d %s", a.status, a.body)
	}
	e.goodbye(t, "closed by DELETE @connections")
}
