package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestSourceIPUnmapsIPv4MappedForwardedFor: a trusted proxy's
// X-Forwarded-For naming the client as an IPv4-mapped IPv6 address
// (::ffff:198.51.100.7) gives its IPv4 form as the source IP, as API Gateway
// reports it, in REST payload 1.0 and HTTP payload 2.0 events and in a
// WebSocket $connect event and connection (the audit's authz11 3: they kept
// the mapped form).
func TestSourceIPUnmapsIPv4MappedForwardedFor(t *testing.T) {
	const want = "198.51.100.7"
	mapped := http.Header{"X-Forwarded-For": {"::ffff:" + want}}
	e := newEnv(t)
	m := connections.New(connections.Config{}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	gw := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	seen := make(chan string, 8)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev struct {
			RequestContext struct {
				Identity struct {
					SourceIP string `json:"sourceIp"`
				} `json:"identity"`
				HTTP struct {
					SourceIP string `json:"sourceIp"`
				} `json:"http"`
			} `json:"requestContext"`
		}
		_ = json.Unmarshal(req.Payload, &ev)
		seen <- ev.RequestContext.Identity.SourceIP + ev.RequestContext.HTTP.SourceIP
		return &invoker.Result{Payload: []byte(`{"statusCode":200}`)}, nil
	}
	next := func(what string) string {
		t.Helper()
		select {
		case s := <-seen:
			return s
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no event", what)
		}
		return ""
	}
	fn := &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}
	rest := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/e", Integration: fn}}}}, "dev", nil)
	httpAPI := e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/e", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: "2.0"}},
	}}}, "dev", nil)
	for _, api := range []string{rest, httpAPI} {
		req, _ := http.NewRequest("GET", srv.URL+"/"+api+"/dev/e", nil)
		req.Header = mapped.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if got := next(api); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("api %s: %d, sourceIp %q, want %q", api, resp.StatusCode, got, want)
		}
	}

	ws := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{
		RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
			{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}},
	}}, "dev", nil)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/"+ws+"/dev", mapped.Clone())
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := next("$connect"); got != want {
		t.Errorf("$connect: sourceIp %q, want %q", got, want)
	}
	if list := m.List(ws, "dev"); len(list) != 1 || list[0].SourceIP != want {
		t.Errorf("connections %+v, want one from %s", list, want)
	}
}
