package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestConnectionsURLsAreWebSocketAPIsOnly: @connections belongs to WebSocket
// APIs, found as every request finds its API. A REST or HTTP API's routes
// answer /{x}/@connections/{y} (API Gateway gives them no @connections),
// whether the API is named by the host, the path or a custom domain; a
// WebSocket API on a custom domain has @connections under its base path
// (https://{domain}/{basePath}/@connections/{id}) and nowhere else on that
// domain; host names match whatever their case.
func TestConnectionsURLsAreWebSocketAPIsOnly(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	cfg := connections.DefaultConfig()
	cfg.AdminToken = "tok"
	m := connections.New(cfg, nil)
	e.gw.EnableWebSockets(m)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	ctx := context.Background()

	rest := e.deploy(proxyAPI(apis.ProtocolREST), "dev")
	quick := e.deploy(httpAPI(), apis.RouteDefault)
	ws := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{
			{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}},
			{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}},
		}}}, "prod")
	for _, d := range []string{"api.shop.test", "chat.example.test"} {
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: d}); err != nil {
			t.Fatalf("create %s: %v", d, err)
		}
	}
	for _, mp := range []edge.Mapping{
		{Domain: "api.shop.test", Key: "(none)", APIID: rest, Stage: "dev"},
		{Domain: "chat.example.test", Key: "room", APIID: ws, Stage: "prod"},
	} {
		if _, err := e.edge.CreateMapping(ctx, mp); err != nil {
			t.Fatalf("map %+v: %v", mp, err)
		}
	}

	// One WebSocket client, to be reached through @connections.
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
	https := e.client(false)
	plain := http.DefaultClient
	// do sends a POST with the admin token, to the plain listener with host
	// as the Host header, or over TLS to a custom domain (host "").
	do := func(u, host, body string) (int, string) {
		t.Helper()
		c := https
		if strings.HasPrefix(u, "http:") {
			c = plain
		}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s (Host %s): %v", u, host, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := "http://" + e.srv.Addr()

	// REST and HTTP APIs: the route answers (the fake function's 200), and the
	// function sees the whole path.
	for _, tc := range []struct{ name, url, host, api, proxy string }{
		{"REST on a custom domain", "https://api.shop.test/users/@connections/42", "", rest, "users/@connections/42"},
		{"REST, host-based", base + "/dev/@connections/abc", rest + ".execute-api.localhost", rest, "@connections/abc"},
		{"REST, host-based in upper case", base + "/dev/@connections/abc", strings.ToUpper(rest) + ".EXECUTE-API.localhost", rest, "@connections/abc"},
		{"REST, path-based", base + "/" + rest + "/dev/@connections/abc", "", rest, "@connections/abc"},
		{"HTTP API $default, host-based", base + "/orders/@connections/5", quick + ".execute-api.localhost", quick, "orders/@connections/5"},
		{"HTTP API $default, path-based", base + "/" + quick + "/orders/@connections/5", "", quick, "orders/@connections/5"},
		// Runs of slashes are merged before the API and the route are found.
		{"REST, path-based, doubled slashes", base + "//" + rest + "//dev//@connections//abc", "", rest, "@connections/abc"},
		{"HTTP API $default, host-based, doubled slashes", base + "//orders//@connections/5", quick + ".execute-api.localhost", quick, "orders/@connections/5"},
	} {
		st, body := do(tc.url, tc.host, "x")
		if st != http.StatusOK {
			t.Errorf("%s: %s: %d %s, want the route's 200", tc.name, tc.url, st, body)
			continue
		}
		ev := e.lastEvent()
		if got := str2(ev, "requestContext", "apiId"); got != tc.api {
			t.Errorf("%s: the event's api %q, want %q", tc.name, got, tc.api)
		}
		if got := str2(ev, "pathParameters", "proxy"); got != tc.proxy {
			t.Errorf("%s: proxy %q, want %q", tc.name, got, tc.proxy)
		}
	}

	// The WebSocket API's @connections, at each of its URLs.
	sent := 0
	for _, tc := range []struct{ name, url, host string }{
		{"path-based", base + "/" + ws + "/prod/@connections/" + connID, ""},
		{"host-based", base + "/prod/@connections/" + connID, ws + ".execute-api.localhost"},
		{"host-based in upper case", base + "/prod/@connections/" + connID, strings.ToUpper(ws) + ".EXECUTE-API.LOCALHOST"},
		{"the gateway's own address (an event's domainName)", base + "/prod/@connections/" + connID, ""},
		{"custom domain, base path", "https://chat.example.test/room/@connections/" + connID, ""},
		// URL-encoded, as AWS's documentation writes the command.
		{"path-based, encoded", base + "/" + ws + "/prod/%40connections/" + connID, ""},
		{"host-based, encoded", base + "/prod/%40connections/" + connID, ws + ".execute-api.localhost"},
		{"the gateway's own address, encoded", base + "/prod/%40connections/" + connID, ""},
		{"custom domain, base path, encoded", "https://chat.example.test/room/%40connections/" + connID, ""},
		// Runs of slashes merged, as every path is.
		{"path-based, doubled slashes", base + "//" + ws + "//prod//@connections//" + connID, ""},
		{"host-based, doubled slashes", base + "/prod//@connections/" + connID, ws + ".execute-api.localhost"},
		{"the gateway's own address, doubled slashes", base + "//prod/@connections//" + connID, ""},
		{"custom domain, base path, doubled slashes", "https://chat.example.test//room//@connections//" + connID, ""},
	} {
		if st, body := do(tc.url, tc.host, tc.name); st != http.StatusOK {
			t.Errorf("%s: %s: %d %s", tc.name, tc.url, st, body)
			continue
		}
		sent++
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a timing assertion
		if _, b, err := c.ReadMessage(); err != nil || string(b) != tc.name {
			t.Fatalf("%s: the client read %q, %v", tc.name, b, err)
		}
	}
	// Not where the domain maps nothing: the stage comes from the mapping.
	if st, body := do("https://chat.example.test/prod/@connections/"+connID, "", "x"); st != http.StatusForbidden {
		t.Errorf("custom domain, unmapped base path: %d %s, want 403", st, body)
	}
	// Nor at a stage the connection is not on.
	if st, body := do(base+"/"+ws+"/dev/@connections/"+connID, "", "x"); st == http.StatusOK {
		t.Errorf("another stage: %d %s", st, body)
	}

	// A signed PostToConnection through the SDK, at the custom domain's
	// base path, as AWS's endpoint https://{domain}/{basePath}.
	mc := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("https://chat.example.test/room"), Region: "us-east-1", HTTPClient: https,
		Credentials: credentials.NewStaticCredentialsProvider("portico", "tok", ""),
	})
	if _, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: []byte("signed")}); err != nil {
		t.Fatalf("PostToConnection at the base path: %v", err)
	}
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "signed" {
		t.Fatalf("the client read %q, %v", b, err)
	}
	if _, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("nope")}); !errors.As(err, new(*types.GoneException)) {
		t.Errorf("GetConnection of an unknown id at the base path: %v, want GoneException", err)
	}
	other := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("https://chat.example.test/dev"), Region: "us-east-1", HTTPClient: https,
		Credentials: credentials.NewStaticCredentialsProvider("portico", "tok", ""),
	})
	if _, err := other.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: []byte("x")}); err == nil {
		t.Error("PostToConnection at a base path the domain does not map succeeded")
	}
	t.Logf("%d @connections URLs reached the client", sent)
}
