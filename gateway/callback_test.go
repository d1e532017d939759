package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/runtimes"
)

// TestCallbackEndpointIsSandboxFacing checks the address handed to sandboxes as
// domainName: with the public listener on 127.0.0.1 and sandboxes on another
// host address (127.0.0.2 stands in for a container bridge's gateway), events
// name the sandbox-facing endpoint, which serves @connections there, and only
// @connections.
func TestCallbackEndpointIsSandboxFacing(t *testing.T) {
	e := newEnv(t)
	m := connections.New(connections.Config{AdminToken: "tok"}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.2:0"}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	srv := NewServer(gw, nil, listener.Limits{})
	if err := srv.Start(context.Background()); err != nil {
		t.Skipf("cannot bind 127.0.0.2 here: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })

	domains := make(chan string, 4)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(req.Payload, &ev)
		domains <- ev.RequestContext.DomainName
		return &invoker.Result{Payload: []byte(`{"statusCode":200}`)}, nil
	}
	id := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{
		RouteSelectionExpression: "$request.body.action",
		Routes:                   []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}},
	}}, "dev", nil)
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/"+id+"/dev", nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var domain string
	select {
	case domain = <-domains:
	case <-time.After(20 * time.Second):
		t.Fatal("no $connect event")
	}
	host, port, _ := net.SplitHostPort(domain)
	_, publicPort, _ := net.SplitHostPort(srv.Addr())
	if host != "127.0.0.2" || port == publicPort {
		t.Fatalf("domainName %q, want the sandbox-facing endpoint on 127.0.0.2 (public listener %s)", domain, srv.Addr())
	}
	conn := m.List("", "")[0].ConnectionID
	// post sends data to the connection at path on domainName, as a
	// sandbox's callback client does, and reads it at the WebSocket client.
	post := func(path, data string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+domain+path, strings.NewReader(data))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s at domainName: %d", path, resp.StatusCode)
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, b, err := c.ReadMessage(); err != nil || string(b) != data {
			t.Fatalf("after POST %s the client got %q %v, want %q", path, b, err, data)
		}
	}
	post("/dev/@connections/"+conn, "hi")
	// The command URL-encoded, as AWS's documentation writes it.
	post("/dev/%40connections/"+url.PathEscape(conn), "encoded")
	// Runs of slashes are merged, as at the stage URLs (mergeSlashes).
	post("//dev//@connections//"+conn, "doubled")
	// Only @connections is served there.
	resp, err = http.Get("http://" + domain + "/" + id + "/dev")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stage URL on the sandbox-facing endpoint: %d, want 404", resp.StatusCode)
	}
}

// TestCallbackEndpointBoundsConnectionsPerSandbox checks that one address (a
// sandbox) holds at most CallbackMaxConnsPerIP connections on the
// sandbox-facing endpoint: one past it is closed unanswered, so code in a
// container cannot use up Portico's file descriptors through it; with HTTPS on
// too (the first byte sniffed), as without.
func TestCallbackEndpointBoundsConnectionsPerSandbox(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain only", true: "with HTTPS"}[withTLS], func(t *testing.T) {
			testCallbackBoundsConns(t, withTLS)
		})
	}
}

// startCallbackBound starts a gateway whose sandbox-facing endpoint (on
// loopback) holds at most 2 connections per address, with HTTPS on or not and
// the given handshake timeout, and returns the endpoint's address.
func startCallbackBound(t *testing.T, withTLS bool, handshake time.Duration) string {
	t.Helper()
	e := newEnv(t)
	m := connections.New(connections.Config{AdminToken: "tok"}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	cfg := Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0", CallbackMaxConnsPerIP: 2, TLSHandshakeTimeout: handshake}
	gw := New(cfg, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	if withTLS {
		ca, err := edge.OpenSandboxCA(t.TempDir(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		gw.SetCallbackTLS(ca)
	}
	srv := NewServer(gw, nil, listener.Limits{})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv.cb.ln.Addr().String()
}

func testCallbackBoundsConns(t *testing.T, withTLS bool) {
	addr := startCallbackBound(t, withTLS, 0)
	// served sends a request on a new connection and reports whether it was
	// answered (404: no such connection), keeping the connection open.
	served := func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write([]byte("GET /dev/@connections/nope HTTP/1.1\r\nHost: cb\r\nAuthorization: Bearer tok\r\n\r\n")); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return true
	}
	for i := range 2 {
		if !served() {
			t.Fatalf("connection %d of 2 was not served", i+1)
		}
	}
	if served() {
		t.Fatal("a third connection from the same address was served; want it closed")
	}
}

// TestCallbackEndpointBoundsSilentConnectionsPerSandbox is r-runtimes19 #3:
// with HTTPS on, connections that send nothing wait in the handshake
// listener, whose per-source bound let a burst through for its grace (3 s),
// up to the listener's total (1024): one sandbox held 400 open for the
// handshake timeout. The sandbox-facing endpoint now bounds them by
// CallbackMaxConnsPerIP at once: the source's oldest silent one is closed.
// The handshake timeout is an hour, so that only the bound can close it.
func TestCallbackEndpointBoundsSilentConnectionsPerSandbox(t *testing.T) {
	addr := startCallbackBound(t, true, time.Hour)
	first := listenertest.Dial(t, addr)
	for range 2 {
		listenertest.Dial(t, addr)
	}
	listenertest.WaitClosed(t, first)
}

func TestCallbackMaxConnsDefaults(t *testing.T) {
	bridge := &net.TCPAddr{IP: net.IPv4(172, 18, 0, 1)}
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	for _, c := range []struct {
		name       string
		configured int
		addr       net.Addr
		want       int
	}{
		{"bridge default", 0, bridge, DefaultCallbackMaxConnsPerIP},
		{"loopback default", 0, loopback, 0},
		{"configured", 7, loopback, 7},
		{"off", -1, bridge, 0},
	} {
		if got := callbackMaxConns(c.configured, c.addr); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// TestCallbackEndpointServesTLS checks that the sandbox-facing endpoint answers
// HTTPS and plain HTTP on the same port: a client that trusts the sandbox CA
// (through the bundle sandboxes get) posts to https:// + domainName, as AWS's
// samples build the endpoint; a plain one to http:// + domainName; and a TLS
// client that does not trust the CA is refused.
func TestCallbackEndpointServesTLS(t *testing.T) {
	e := newEnv(t)
	m := connections.New(connections.Config{AdminToken: "tok"}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	ca, err := edge.OpenSandboxCA(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0"}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	gw.SetCallbackTLS(ca)
	srv := NewServer(gw, nil, listener.Limits{})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })

	domains := make(chan string, 4)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(req.Payload, &ev)
		domains <- ev.RequestContext.DomainName
		return &invoker.Result{Payload: []byte(`{"statusCode":200}`)}, nil
	}
	id := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{
		RouteSelectionExpression: "$request.body.action",
		Routes:                   []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}},
	}}, "dev", nil)
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/"+id+"/dev", nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var domain string
	select {
	case domain = <-domains:
	case <-time.After(20 * time.Second):
		t.Fatal("no $connect event")
	}
	conn := m.List("", "")[0].ConnectionID

	bundle, err := os.ReadFile(filepath.Join(ca.SandboxTrust().Dir, runtimes.TrustBundleFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		t.Fatal("the trust bundle holds no certificate")
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(trusting.CloseIdleConnections)
	post := func(client *http.Client, url, body string) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, c2 := range []struct {
		name, scheme string
		client       *http.Client
	}{
		{"https", "https", trusting},
		{"http", "http", http.DefaultClient},
		// A second request on the kept TLS connection.
		{"https again", "https", trusting},
	} {
		status, err := post(c2.client, c2.scheme+"://"+domain+"/dev/@connections/"+conn, c2.name)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: POST @connections at %s://%s: %d %v", c2.name, c2.scheme, domain, status, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, b, err := c.ReadMessage(); err != nil || string(b) != c2.name {
			t.Fatalf("%s: client got %q %v", c2.name, b, err)
		}
	}
	// A TLS client that does not trust the sandbox CA (the system's roots) is
	// refused: its handshake fails on the certificate.
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	t.Cleanup(untrusting.CloseIdleConnections)
	var unknown x509.UnknownAuthorityError
	if _, err := post(untrusting, "https://"+domain+"/dev/@connections/"+conn, "x"); !errors.As(err, &unknown) {
		t.Fatalf("a client that does not trust the sandbox CA: %v, want x509.UnknownAuthorityError", err)
	}
}

// echoService is a SandboxService that claims POST / and answers 200 "served".
type echoService struct{}

func (echoService) EndpointVariable() string { return "AWS_ENDPOINT_URL_ECHO" }
func (echoService) Claims(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/"
}
func (echoService) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte("served"))
}

// TestCallbackEndpointServesSandboxServices: the sandbox-facing endpoint
// routes the calls a SandboxService claims to it, and SandboxEndpoints names
// the endpoint for its variable (https:// as the endpoint answers HTTPS), under
// every listener engine (nbio's started no sandbox-facing endpoint); nothing
// before it listens.
func TestCallbackEndpointServesSandboxServices(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP, EngineNbio} {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t)
			m := connections.New(connections.Config{AdminToken: "tok"}, nil)
			t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
			ca, err := edge.OpenSandboxCA(t.TempDir(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0", Engine: engine}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
			gw.EnableWebSockets(m)
			gw.SetCallbackTLS(ca)
			gw.AddSandboxService(echoService{})
			if got := gw.SandboxEndpoints(); got != nil {
				t.Errorf("before the endpoint listens: %v", got)
			}
			srv := NewServer(gw, nil, listener.Limits{})
			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Stop(context.Background()) })
			url := gw.SandboxEndpoints()["AWS_ENDPOINT_URL_ECHO"]
			host, ok := strings.CutPrefix(url, "https://")
			if !ok || !strings.HasPrefix(host, "127.0.0.1:") {
				t.Fatalf("SandboxEndpoints = %v, want https://127.0.0.1:PORT", gw.SandboxEndpoints())
			}
			for _, tc := range []struct {
				method, path string
				status       int
				body         string
			}{
				{http.MethodPost, "/", 200, "served"},
				{http.MethodGet, "/", 404, `{"message":"Not Found"}`},
				{http.MethodPost, "/dev/@connections/nosuch", 403, ""},
			} {
				req, _ := http.NewRequest(tc.method, "http://"+host+tc.path, strings.NewReader("{}"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != tc.status || (tc.body != "" && string(body) != tc.body) {
					t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
				}
			}
		})
	}
}
