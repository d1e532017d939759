package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
)

// TestIntegrationLoopEnds: an HTTP or HTTP_PROXY integration whose URI leads
// back to the gateway's own route (directly or through a stage variable, with
// or without parameter mappings, on REST and HTTP APIs) ends after maxHops
// nested requests with 508 Loop Detected, where before each request made
// another until the process ran out of file descriptors. A mapping that tries
// to reset the hop count does not.
func TestIntegrationLoopEnds(t *testing.T) {
	e := newEnv(t)
	// The loop goes through a second listener of the same gateway, which
	// counts the requests that reach it and, so that a gateway without the
	// hop limit fails this test rather than the machine, stops the loop
	// itself past a bound.
	var arrived atomic.Int64
	const guard = 4 * maxHops
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) > guard {
			w.WriteHeader(599)
			return
		}
		e.gw.ServeHTTP(w, r)
	}))
	t.Cleanup(loop.Close)
	self := strings.TrimPrefix(loop.URL, "http://")
	proxy := func(uri string, params map[string]string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: uri, RequestParameters: params}
	}
	httpID := e.deploy(&apis.API{Name: "loops", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/loop", Integration: proxy("http://${stageVariables.self}/${stageVariables.id}/dev/loop", nil)},
		{Method: "GET", Path: "/mapped", Integration: proxy("http://${stageVariables.self}/${stageVariables.id}/dev/mapped",
			map[string]string{"overwrite:header.X-Portico-Hops": "0"})},
	}}}, "dev", map[string]string{"self": self})
	restID := e.deploy(&apis.API{Name: "loopr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/proxy", Integration: proxy("http://${stageVariables.self}/${stageVariables.id}/dev/proxy",
			map[string]string{"integration.request.header.X-Portico-Hops": "'0'"})},
		{Method: "GET", Path: "/http", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET",
			URI: "http://${stageVariables.self}/${stageVariables.id}/dev/http"}},
		{Method: "GET", Path: "/connection", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET",
			URI:               "http://${stageVariables.self}/${stageVariables.id}/dev/connection",
			RequestParameters: map[string]string{"integration.request.header.Connection": "'X-Portico-Hops'"}}},
	}}}, "dev", map[string]string{"self": self})
	ctx := context.Background()
	for _, id := range []string{httpID, restID} {
		if _, err := e.svc.UpdateStage(ctx, id, "dev", apis.StagePatch{SetVariables: map[string]string{"id": id}}); err != nil {
			t.Fatal(err)
		}
	}
	e.gw.Invalidate()
	for _, c := range []struct{ name, path string }{
		{"HTTP API, HTTP_PROXY", "/" + httpID + "/dev/loop"},
		{"HTTP API, HTTP_PROXY with a mapping", "/" + httpID + "/dev/mapped"},
		{"REST API, HTTP_PROXY with a mapping", "/" + restID + "/dev/proxy"},
		{"REST API, HTTP", "/" + restID + "/dev/http"},
		{"REST API, HTTP mapping Connection", "/" + restID + "/dev/connection"},
	} {
		arrived.Store(0)
		got := e.do("GET", c.path, nil)
		if n := arrived.Load(); n != maxHops || got.status != http.StatusLoopDetected {
			t.Errorf("%s: %d requests came back to the gateway, the client got %d %s; want %d and 508", c.name, n, got.status, got.body, maxHops)
		}
	}
}

// TestIntegrationHopHeader: an HTTP integration request carries the count of
// integrations its request passed through plus one, as one field whatever the
// client sent; a client that claims maxHops already gets 508 and the backend
// nothing. A WebSocket API's HTTP integration counts the $connect request's.
func TestIntegrationHopHeader(t *testing.T) {
	var calls atomic.Int64
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t)
	m := connections.New(connections.Config{}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	e.gw.EnableWebSockets(m)
	id := e.deploy(&apis.API{Name: "hops", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/fast", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: backend.URL + "/b"}},
	}}}, "dev", nil)
	ws := e.deploy(&apis.API{Name: "wshops", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + "/c"}}}}}, "dev", nil)
	for _, c := range []struct {
		name string
		hdr  []string
		want string
	}{
		{"none", nil, "1"},
		{"the client's 3", []string{"X-Portico-Hops", "3"}, "4"},
		{"the client's two", []string{"X-Portico-Hops", "2", "X-Portico-Hops", "5, "}, "6"},
	} {
		got := e.do("GET", "/"+id+"/dev/fast", nil, c.hdr...)
		if v := seen().header.Values(hopHeader); got.status != 200 || len(v) != 1 || v[0] != c.want {
			t.Errorf("%s: %d, the backend saw %s %q; want 200 and %q", c.name, got.status, hopHeader, v, c.want)
		}
	}
	// A value that is not a count (one that overflows, a negative or hex
	// number, a word) is refused as the limit is: read as 0 it lowered the
	// count.
	for _, v := range []string{strconv.Itoa(maxHops), "99999999999999999999999", "0x9", "-5", "junk", "5, x"} {
		before := calls.Load()
		got := e.do("GET", "/"+id+"/dev/fast", nil, "X-Portico-Hops", v)
		if got.status != http.StatusLoopDetected || calls.Load() != before {
			t.Errorf("a request with %s %q: %d %s, backend called %d times; want 508 and none", hopHeader, v, got.status, got.body, calls.Load()-before)
		}
	}

	dial := func(hops string) (*websocket.Conn, int, error) {
		h := http.Header{}
		if hops != "" {
			h.Set(hopHeader, hops)
		}
		c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/"+ws+"/dev", h)
		status := 0
		if resp != nil {
			status = resp.StatusCode
			_ = resp.Body.Close()
		}
		return c, status, err
	}
	c, _, err := dial("4")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if v := seen().header.Values(hopHeader); len(v) != 1 || v[0] != "5" {
		t.Errorf("WebSocket $connect at 4 hops: the backend saw %s %q; want \"5\"", hopHeader, v)
	}
	before := calls.Load()
	if c, status, err := dial(strconv.Itoa(maxHops)); err == nil || status != http.StatusLoopDetected || calls.Load() != before {
		if c != nil {
			_ = c.Close()
		}
		t.Errorf("WebSocket $connect at %d hops: %d %v, backend called %d times; want 508 and none", maxHops, status, err, calls.Load()-before)
	}
}

// TestClientHopHeaderIgnored: the hop count of a request from a client that
// is neither this host (the gateway calling itself) nor a trusted proxy is
// not believed: X-Portico-Hops 99 failed an HTTP request and a WebSocket
// handshake of the ws8 tester with a 500; now their integrations count from
// 1. A trusted proxy's count still counts.
func TestClientHopHeaderIgnored(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := newEnv(t)
	m := connections.New(connections.Config{}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	e.gw.EnableWebSockets(m)
	id := e.deploy(&apis.API{Name: "hops", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/fast", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: backend.URL + "/b"}},
	}}}, "dev", nil)
	ws := e.deploy(&apis.API{Name: "wshops", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + "/c"}}}}}, "dev", nil)
	// Requests that arrive from an address of another host.
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "203.0.113.9:4321"
		e.gw.ServeHTTP(w, r)
	}))
	t.Cleanup(remote.Close)
	req, _ := http.NewRequest("GET", remote.URL+"/"+id+"/dev/fast", nil)
	req.Header.Set(hopHeader, "99")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if v := seen().header.Values(hopHeader); resp.StatusCode != 200 || len(v) != 1 || v[0] != "1" {
		t.Errorf("HTTP at a client's 99 hops: %d, the backend saw %s %q; want 200 and \"1\"", resp.StatusCode, hopHeader, v)
	}
	c, r, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(remote.URL, "http")+"/"+ws+"/dev", http.Header{hopHeader: {"99"}})
	if r != nil {
		_ = r.Body.Close()
	}
	if err != nil {
		t.Fatalf("WebSocket at a client's 99 hops: %v", err)
	}
	_ = c.Close()
	if v := seen().header.Values(hopHeader); len(v) != 1 || v[0] != "1" {
		t.Errorf("WebSocket $connect at a client's 99 hops: the backend saw %s %q; want \"1\"", hopHeader, v)
	}

	e.gw.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	req, _ = http.NewRequest("GET", remote.URL+"/"+id+"/dev/fast", nil)
	req.Header.Set(hopHeader, "3")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if v := seen().header.Values(hopHeader); resp.StatusCode != 200 || len(v) != 1 || v[0] != "4" {
		t.Errorf("HTTP at a trusted proxy's 3 hops: %d, the backend saw %s %q; want 200 and \"4\"", resp.StatusCode, hopHeader, v)
	}
}

// TestWebSocketMessageHopCount: a WebSocket message's or $disconnect's HTTP
// integration counts the hops of the upgrade request that opened the
// connection, as $connect's and every REST or HTTP integration count their
// inbound request's; it started at 1 whatever the upgrade carried, so a loop
// through a message route went round maxHops more times.
func TestWebSocketMessageHopCount(t *testing.T) {
	seen := make(chan [2]string, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- [2]string{r.URL.Path, strings.Join(r.Header.Values(hopHeader), "|")}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	e := newEnv(t)
	m := connections.New(connections.Config{}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	e.gw.EnableWebSockets(m)
	proxy := func(path string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + path}
	}
	ws := e.deploy(&apis.API{Name: "wsmsghops", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{
			{RouteKey: "$default", RouteResponseSelectionExpression: "$default", Integration: proxy("/m")},
			{RouteKey: "$disconnect", Integration: proxy("/d")},
		}}}, "dev", nil)
	for _, c := range []struct{ client, want string }{{"", "1"}, {"4", "5"}} {
		h := http.Header{}
		if c.client != "" {
			h.Set(hopHeader, c.client)
		}
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/"+ws+"/dev", h)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "ok" {
			t.Fatalf("upgrade at %q hops: the reply %q %v, want ok", c.client, msg, err)
		}
		_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_ = conn.Close()
		for _, path := range []string{"/m", "/d"} {
			if got := <-seen; got != [2]string{path, c.want} {
				t.Errorf("upgrade at %q hops: the backend saw %s with %s %q; want %s with %q", c.client, got[0], hopHeader, got[1], path, c.want)
			}
		}
	}

	// A connection opened at maxHops: its message is not sent on.
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/"+ws+"/dev", http.Header{hopHeader: {strconv.Itoa(maxHops)}})
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || !strings.Contains(string(msg), `"message": "Internal server error"`) {
		t.Fatalf("a message at %d hops: %q %v, want the error frame", maxHops, msg, err)
	}
	select {
	case got := <-seen:
		t.Errorf("a message at %d hops reached the backend: %q", maxHops, got)
	default:
	}
}
