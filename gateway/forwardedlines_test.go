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

// TestForwardedForKeepsEveryLine: X-Forwarded-For sent as two header lines
// reaches the integration as one chain holding both, the peer appended, as
// the HTTP_PROXY path already sent it: in REST payload 1.0 and HTTP payload
// 2.0 events, to an HTTP_PROXY backend through a parameter mapping, and in a
// WebSocket $connect event. The event used to keep the first line only, so
// that the source IP (taken from the last line) and the chain disagreed.
func TestForwardedForKeepsEveryLine(t *testing.T) {
	const want = "10.1.0.5, 10.0.0.5, 127.0.0.1"
	lines := http.Header{"X-Forwarded-For": {"10.1.0.5", "10.0.0.5"}}
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
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			RequestContext    struct {
				EventType string `json:"eventType"`
				Identity  struct {
					SourceIP string `json:"sourceIp"`
				} `json:"identity"`
				HTTP struct {
					SourceIP string `json:"sourceIp"`
				} `json:"http"`
			} `json:"requestContext"`
		}
		_ = json.Unmarshal(req.Payload, &ev)
		xff := ev.Headers["X-Forwarded-For"]
		if v, ok := ev.Headers["x-forwarded-for"]; ok {
			xff = v
		}
		if mv := ev.MultiValueHeaders["X-Forwarded-For"]; mv != nil && (len(mv) != 1 || mv[0] != xff) {
			xff += " (multiValueHeaders " + strings.Join(mv, " | ") + ")"
		}
		seen <- xff + " from " + ev.RequestContext.Identity.SourceIP + ev.RequestContext.HTTP.SourceIP
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
	backend, backendSaw := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	fn := &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}
	rest := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/e", Integration: fn}}}}, "dev", nil)
	httpAPI := e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/e", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: "2.0"}},
		{Method: "GET", Path: "/mapped", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: backend.URL + "/b",
			RequestParameters: map[string]string{"overwrite:header.x-m": "1"}}},
	}}}, "dev", nil)
	get := func(path string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header = lines.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	get("/" + rest + "/dev/e")
	if got := next("REST 1.0"); got != want+" from 10.0.0.5" {
		t.Errorf("REST payload 1.0: X-Forwarded-For %q, want %q from 10.0.0.5", got, want)
	}
	get("/" + httpAPI + "/dev/e")
	if got := next("HTTP 2.0"); got != want+" from 10.0.0.5" {
		t.Errorf("HTTP payload 2.0: X-Forwarded-For %q, want %q from 10.0.0.5", got, want)
	}
	get("/" + httpAPI + "/dev/mapped")
	if got := backendSaw().header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != want {
		t.Errorf("HTTP_PROXY with a mapping: X-Forwarded-For %q, want %q", got, want)
	}

	ws := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{
		RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
			{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}},
	}}, "dev", nil)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/"+ws+"/dev", lines.Clone())
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := next("$connect"); got != want+" from 10.0.0.5" {
		t.Errorf("WebSocket $connect: X-Forwarded-For %q, want %q from 10.0.0.5", got, want)
	}
}
