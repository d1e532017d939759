package auth_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/internal/restevent"
)

// TestWebSocketTraceIDsAreXRays is what the obs9 tester found: a WebSocket
// request id is 16 base64 characters, not a UUID, and the trace a function
// ran under had it as its Root ("Root=1-6b14aad5-ytyxig2U9ajeuNs=;..."),
// which X-Ray and its SDKs refuse, while a $connect authorizer ran in a
// trace of its own. A message's function and a $connect authorizer run
// under a Root of 24 hex digits made from their event's request id and
// time, as the $connect's function does, so the authorizer and that
// function are one trace.
func TestWebSocketTraceIDsAreXRays(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 5)
	createFunction(t, c, "echo", 5)
	wsID := createAPI(t, c, map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"authorizers": map[string]any{"conn": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "route.request.querystring.token"})},
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}},
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default",
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}},
		}})
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+wsID+"/dev?token=good", nil)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("$connect: %v", err)
	}
	defer conn.Close()
	ask := func(msg string) []byte {
		t.Helper()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, got, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	xray := regexp.MustCompile(`^(Root=1-[0-9a-f]{8}-[0-9a-f]{24});Parent=[0-9a-f]{16};Sampled=[01]$`)
	// check says whether trace is an X-Ray header whose Root is the one the
	// event of request id and time (epoch ms) names.
	check := func(who, trace, id string, epoch int64) {
		t.Helper()
		m := xray.FindStringSubmatch(trace)
		if m == nil {
			t.Errorf("%s ran under %q, not an X-Ray trace id", who, trace)
			return
		}
		if want := restevent.TraceID(time.UnixMilli(epoch), id); m[1] != want {
			t.Errorf("%s ran under %q, want the Root of its request id %q: %s", who, trace, id, want)
		}
	}

	var msg struct {
		Trace, RequestID string
		RequestTimeEpoch int64
	}
	if b := ask("trace"); json.Unmarshal(b, &msg) != nil || msg.RequestID == "" {
		t.Fatalf("message trace: %s", b)
	}
	check("a message's function", msg.Trace, msg.RequestID, msg.RequestTimeEpoch)

	var ev struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	b := ask(`{"action":"hello"}`)
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("message event %s: %v", b, err)
	}
	az := ev.RequestContext.Authorizer
	trace, _ := az["trace"].(string)
	id, _ := az["requestId"].(string)
	ms, _ := az["requestTimeEpoch"].(string) // numbers as strings
	epoch, _ := strconv.ParseInt(ms, 10, 64)
	check("the $connect authorizer", trace, id, epoch)
}
