package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/invoker"
)

// TestWebSocketsCountAgainstMaxConns: an upgraded WebSocket connection stays
// under the public listeners' bounds, in total (Config.MaxConns) and per
// client address (Config.MaxConnsPerIP), under every engine: a flood of
// upgrades cannot use up the descriptors the bound keeps for the admin API
// and the rest, nor one client hold more WebSockets than it may hold
// connections. The bound's n connections may all be WebSockets (the
// connection a handshake upgrades is not counted twice); one past it is
// refused; a connection that closes gives its count back and the next
// handshake is taken. (WebSocket connections left the counts when they were
// hijacked, and one client could open them until the process had no
// descriptor left.)
func TestWebSocketsCountAgainstMaxConns(t *testing.T) {
	bounds := []struct {
		name    string
		cfg     Config
		refusal string
	}{
		{"gateway-max-conns", Config{MaxConns: 3}, "connection refused: the public listeners hold as many connections as they may"},
		{"gateway-max-conns-per-ip", Config{MaxConns: -1, MaxConnsPerIP: 3}, "connection refused: the client holds as many connections as it may"},
	}
	for _, b := range bounds {
		for _, engine := range []string{EngineH1, EngineNetHTTP} {
			t.Run(b.name+"/"+engine, func(t *testing.T) {
				testWebSocketsCountAgainst(t, b.cfg, engine, b.refusal)
			})
		}
	}
}

func testWebSocketsCountAgainst(t *testing.T, cfg Config, engine, refusal string) {
	_, svc := gwtest.APIs(t)
	logs := &syncBuilder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	cfg.Listen, cfg.TLSListen, cfg.Engine = "127.0.0.1:0", ListenOff, engine
	srv := startWSServer(t, cfg, svc, &fakeInvoker{}, log)
	ctx := context.Background()
	created, err := svc.Create(ctx, &apis.API{Name: "wsbound", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	url := "ws://" + srv.Addr() + "/" + created.ID + "/dev"
	dial := func() (*websocket.Conn, int, error) {
		d := websocket.Dialer{HandshakeTimeout: 20 * time.Second} // a guard against hanging
		c, resp, err := d.Dial(url, nil)
		status := 0
		if resp != nil {
			status = resp.StatusCode
			_ = resp.Body.Close()
		}
		if c != nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, status, err
	}
	// Under a bound of three, three WebSockets are open (the
	// handshake's own connection does not count twice), and a fourth
	// connection is past the bound: closed at once, unanswered, as
	// any connection past it is.
	var open []*websocket.Conn
	for range 3 {
		c, status, err := dial()
		if err != nil {
			t.Fatalf("WebSocket %d under a bound of three: %v (status %d)\n%s", len(open)+1, err, status, logs.String())
		}
		open = append(open, c)
	}
	if _, status, err := dial(); err == nil {
		t.Fatalf("a fourth WebSocket under a bound of three was taken (status %d)", status)
	}
	// The listener logs the refusal after closing the connection: the
	// client may see the close first.
	for end := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), refusal); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the refused connection is not logged\n%s", logs.String())
		}
	}
	// A WebSocket that closes gives its count back: a client that
	// tries again is taken.
	_ = open[0].Close()
	refused := 0
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, _, err := dial(); err == nil {
			break
		}
		refused++
		if time.Now().After(end) {
			t.Fatalf("no WebSocket was taken after %d more refusals: the closed one still counts\n%s", refused, logs.String())
		}
	}
}

// TestWebSocketHandshakesAtOnceFitTheBound: handshakes under way together
// (each waiting on its $connect) count once each against the bounds, so n of
// them at once from one client fit a bound of n. (wsapi28: each counted
// twice until its $connect returned, its HTTP connection and the WebSocket
// it became, and with a bound of 8 two to four of eight got in; a browser
// opening its sockets together, or every client reconnecting after a
// restart, was refused below the bound.)
func TestWebSocketHandshakesAtOnceFitTheBound(t *testing.T) {
	bounds := []struct {
		name string
		cfg  Config
	}{
		{"gateway-max-conns", Config{MaxConns: 3}},
		{"gateway-max-conns-per-ip", Config{MaxConns: -1, MaxConnsPerIP: 3}},
	}
	for _, b := range bounds {
		for _, engine := range []string{EngineH1, EngineNetHTTP} {
			t.Run(b.name+"/"+engine, func(t *testing.T) {
				testHandshakesAtOnce(t, b.cfg, engine)
			})
		}
	}
}

func testHandshakesAtOnce(t *testing.T, cfg Config, engine string) {
	const n = 3
	_, svc := gwtest.APIs(t)
	logs := &syncBuilder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	cfg.Listen, cfg.TLSListen, cfg.Engine = "127.0.0.1:0", ListenOff, engine
	// $connect returns once all n handshakes are in it, or once one of
	// them failed (the test has failed then; nothing waits for the rest).
	var mu sync.Mutex
	arrived := 0
	all, failed := make(chan struct{}), make(chan struct{})
	var failOnce sync.Once
	inv := &fakeInvoker{handle: func(req invoker.Request) (*invoker.Result, error) {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-failed:
		}
		out, _ := json.Marshal(events.APIGatewayProxyResponse{StatusCode: 200})
		return &invoker.Result{Payload: out}, nil
	}}
	srv := startWSServer(t, cfg, svc, inv, log)
	ctx := context.Background()
	proxy := func() *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}
	}
	created, err := svc.Create(ctx, &apis.API{Name: "wsatonce", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$connect", Integration: proxy()}, {RouteKey: "$default", Integration: proxy()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	url := "ws://" + srv.Addr() + "/" + created.ID + "/dev"
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			d := websocket.Dialer{HandshakeTimeout: 20 * time.Second} // a guard against hanging
			c, resp, err := d.Dial(url, nil)
			if resp != nil {
				_ = resp.Body.Close()
			}
			if err != nil {
				status := 0
				if resp != nil {
					status = resp.StatusCode
				}
				errs <- fmt.Sprintf("handshake %d of %d at once under a bound of %d: %v (status %d)", i+1, n, n, err, status)
				failOnce.Do(func() { close(failed) })
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.Log(logs.String())
	}
}

// startWSServer starts a gateway Server with WebSockets over svc's APIs,
// calling inv, stopped when the test ends.
func startWSServer(t *testing.T, cfg Config, svc *apis.Service, inv *fakeInvoker, log *slog.Logger) *Server {
	t.Helper()
	gw := New(cfg, svc, &fakeResolver{aliases: map[string]string{}}, inv, log)
	m := connections.New(connections.Config{}, log)
	gw.EnableWebSockets(m)
	srv := NewServer(gw, log, listener.Limits{})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
		_ = m.Shutdown(ctx)
	})
	return srv
}
