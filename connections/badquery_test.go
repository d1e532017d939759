package connections

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"
)

// TestConnectBadQueryEscapeRefused: a handshake whose query string holds a
// bad percent-escape (`?a=%zz`, a lone `%`) is refused 400 BadRequestException
// {"message":"Bad Request"} before $connect runs, as the gateway refuses the
// same query on REST and HTTP APIs; the pair used to be dropped quietly from
// the $connect event (and the authorizer's identity sources), the rest let
// through. A well-formed escape (`%25zz`) is decoded as before.
func TestConnectBadQueryEscapeRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	var connects atomic.Int32
	var got atomic.Value
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventConnect {
			connects.Add(1)
			got.Store(ev.QueryStringParameters["a"])
		}
		return &Response{StatusCode: 200}, nil
	}
	for _, q := range []string{"?a=%zz&name=me", "?name=me&a=%", "?name=me;b=%zz", "?%zz=1"} {
		c, resp, err := websocket.DefaultDialer.Dial(ts.ws+q, nil)
		if err == nil {
			_ = c.Close()
			t.Errorf("%s: the handshake was accepted", q)
			continue
		}
		if resp == nil {
			t.Fatalf("%s: %v", q, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-amzn-ErrorType") != "BadRequestException" ||
			!strings.Contains(string(body), `"Bad Request"`) {
			t.Errorf("%s: %d %q %s, want 400 BadRequestException", q, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
		}
	}
	if n := connects.Load(); n != 0 {
		t.Errorf("$connect ran %d times for refused handshakes", n)
	}
	if ts.m.Len() != 0 {
		t.Errorf("a refused handshake was registered")
	}
	c, resp, err := websocket.DefaultDialer.Dial(ts.ws+"?a=%25zz", nil)
	if err != nil {
		t.Fatalf("a well-formed escape: %v", err)
	}
	_ = resp.Body.Close()
	_ = c.Close()
	if v, _ := got.Load().(string); v != "%zz" {
		t.Errorf("$connect got a=%q, want %%zz", v)
	}
}
