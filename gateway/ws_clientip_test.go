package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestWebSocketConnectSourceIPTrustsProxies: with --trusted-proxies naming
// the peer, a gorilla client's upgrade through it reports the X-Forwarded-For
// client as $connect's identity.sourceIp, in later events and in
// @connections' GET, as REST and HTTP requests do; a peer that is not
// trusted is reported itself, whatever X-Forwarded-For says.
func TestWebSocketConnectSourceIPTrustsProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		want    string
	}{
		{"trusted peer", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "203.0.113.7"},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			m := connections.New(connections.Config{}, nil)
			t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
			gw := New(Config{TrustedProxies: tc.proxies}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
			gw.EnableWebSockets(m)
			srv := httptest.NewServer(gw)
			t.Cleanup(srv.Close)
			ips := make(chan string, 4)
			e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
				var ev events.APIGatewayWebsocketProxyRequest
				_ = json.Unmarshal(req.Payload, &ev)
				ips <- ev.RequestContext.EventType + " " + ev.RequestContext.Identity.SourceIP
				return &invoker.Result{Payload: []byte(`{"statusCode":200}`)}, nil
			}
			id := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{
				RouteSelectionExpression: "$request.body.action",
				Routes: []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
					{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}},
			}}, "dev", nil)
			c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/"+id+"/dev",
				http.Header{"X-Forwarded-For": {"198.51.100.1, 203.0.113.7"}})
			if resp != nil {
				_ = resp.Body.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"CONNECT " + tc.want, "MESSAGE " + tc.want} {
				select {
				case got := <-ips:
					if got != want {
						t.Errorf("event %q, want %q", got, want)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("no event, want %q", want)
				}
			}
			if list := m.List(id, "dev"); len(list) != 1 || list[0].SourceIP != tc.want {
				t.Errorf("connections %+v, want one from %s", list, tc.want)
			}
		})
	}
}
