package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/listener"
)

// TestConnectionsCommandURLEncoded: the @connections command URL-encoded
// (/%40connections/{id}, as AWS's documentation has backends send it) reaches
// the connection at every URL the plain command does, the public listener's
// and the sandbox-facing endpoint's, and the connection id's own escapes are
// still decoded.
func TestConnectionsCommandURLEncoded(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	cfg := connections.DefaultConfig()
	cfg.AdminToken = "tok"
	m := connections.New(cfg, nil)
	e.gw.EnableWebSockets(m)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	// The sandbox-facing endpoint, as Server.Start starts it when WebSockets
	// are on (they were enabled after the test server started).
	cs, err := e.gw.startCallback("127.0.0.1:0", "", listener.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.srv.Close() })
	ctx := context.Background()
	ws := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}}}}}, "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "chat.example.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "chat.example.test", Key: "room", APIID: ws, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+e.srv.Addr()+"/"+ws+"/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	defer c.Close()
	conns := m.List(ws, "prod")
	if len(conns) != 1 {
		t.Fatalf("connections after the dial: %+v", conns)
	}
	connID := conns[0].ConnectionID
	// The id with its first character percent-encoded, as a client that
	// encodes the whole id might send it.
	encID := fmt.Sprintf("%%%02X", connID[0]) + connID[1:]
	callback := &cs.domain
	do := func(u, host, body string) (int, string) {
		t.Helper()
		cl := http.DefaultClient
		if strings.HasPrefix(u, "https:") {
			cl = e.client(false)
		}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("POST %s (Host %s): %v", u, host, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := "http://" + e.srv.Addr()
	for _, tc := range []struct{ name, url, host string }{
		{"path-based", base + "/" + ws + "/prod/%40connections/" + connID, ""},
		{"path-based, id encoded", base + "/" + ws + "/prod/%40connections/" + encID, ""},
		{"host-based", base + "/prod/%40connections/" + connID, ws + ".execute-api.localhost"},
		{"stage only", base + "/prod/%40connections/" + encID, ""},
		{"custom domain", "https://chat.example.test/room/%40connections/" + connID, ""},
		{"sandbox-facing, stage only", "http://" + *callback + "/prod/%40connections/" + encID, ""},
		{"sandbox-facing, path-based", "http://" + *callback + "/" + ws + "/prod/%40connections/" + connID, ""},
		{"sandbox-facing, lower-case escape", "http://" + *callback + "/prod/%40c%6Fnnections/" + connID, ""},
	} {
		if st, body := do(tc.url, tc.host, tc.name); st != http.StatusOK {
			t.Errorf("%s: %s: %d %s", tc.name, tc.url, st, body)
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a timing assertion
		if _, b, err := c.ReadMessage(); err != nil || string(b) != tc.name {
			t.Fatalf("%s: the client read %q, %v", tc.name, b, err)
		}
	}
	// An id that names no connection (AWS's example, with %3D) is gone, at
	// every form: the command was understood and the id decoded.
	for _, u := range []string{
		base + "/" + ws + "/prod/%40connections/R0oXAdfD0kwCH6w%3D",
		base + "/prod/%40connections/R0oXAdfD0kwCH6w%3D",
		"http://" + *callback + "/prod/%40connections/R0oXAdfD0kwCH6w%3D",
	} {
		if st, body := do(u, "", "x"); st != http.StatusGone || !strings.Contains(body, "R0oXAdfD0kwCH6w=") {
			t.Errorf("%s: %d %s, want 410 naming connection R0oXAdfD0kwCH6w=", u, st, body)
		}
	}
}

// TestDisabledDefaultEndpointCoversConnectionsStageOnlyForm: a WebSocket API
// that turns its default endpoints off (disableExecuteApiEndpoint) refuses
// @connections at every default endpoint, the public listener's stage-only
// form (/{stage}/@connections/{id}, plain or URL-encoded) included, with 403
// ForbiddenException; its custom domain and the sandbox-facing endpoint that
// functions call still reach the connection.
func TestDisabledDefaultEndpointCoversConnectionsStageOnlyForm(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	cfg := connections.DefaultConfig()
	cfg.AdminToken = "tok"
	m := connections.New(cfg, nil)
	e.gw.EnableWebSockets(m)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	cs, err := e.gw.startCallback("127.0.0.1:0", "", listener.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.srv.Close() })
	ctx := context.Background()
	a := &apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}}}}}
	a.Extensions = map[string]json.RawMessage{edge.EndpointConfigurationExtension: json.RawMessage(`{"disableExecuteApiEndpoint": true}`)}
	ws := e.deploy(a, "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "chat.example.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "chat.example.test", Key: "room", APIID: ws, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	tlsAddr := e.srv.TLSAddr()
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: e.pool},
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, network, tlsAddr)
		}}
	c, resp, err := d.Dial("wss://chat.example.test/room", nil)
	if err != nil {
		t.Fatalf("wss dial at the custom domain: %v", err)
	}
	_ = resp.Body.Close()
	defer c.Close()
	conns := m.List(ws, "prod")
	if len(conns) != 1 {
		t.Fatalf("connections after the dial: %+v", conns)
	}
	connID := conns[0].ConnectionID
	post := func(u, host, body string) (int, string) {
		t.Helper()
		cl := http.DefaultClient
		if strings.HasPrefix(u, "https:") {
			cl = e.client(false)
		}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType") + " " + string(b)
	}
	base := "http://" + e.srv.Addr()
	for _, tc := range []struct{ name, url, host string }{
		{"path-based", base + "/" + ws + "/prod/@connections/" + connID, ""},
		{"host-based", base + "/prod/@connections/" + connID, ws + ".execute-api.localhost"},
		{"stage only", base + "/prod/@connections/" + connID, ""},
		{"stage only, URL-encoded", base + "/prod/%40connections/" + connID, ""},
	} {
		if st, body := post(tc.url, tc.host, "x"); st != http.StatusForbidden || body != `ForbiddenException {"message":"Forbidden"}` {
			t.Errorf("%s: %s: %d %s, want 403 ForbiddenException", tc.name, tc.url, st, body)
		}
	}
	for _, tc := range []struct{ name, url string }{
		{"custom domain", "https://chat.example.test/room/@connections/" + connID},
		{"sandbox-facing, stage only", "http://" + cs.domain + "/prod/@connections/" + connID},
		{"sandbox-facing, path-based", "http://" + cs.domain + "/" + ws + "/prod/@connections/" + connID},
	} {
		if st, body := post(tc.url, "", tc.name); st != http.StatusOK {
			t.Errorf("%s: %s: %d %s", tc.name, tc.url, st, body)
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a timing assertion
		if _, b, err := c.ReadMessage(); err != nil || string(b) != tc.name {
			t.Fatalf("%s: the client read %q, %v", tc.name, b, err)
		}
	}
}
