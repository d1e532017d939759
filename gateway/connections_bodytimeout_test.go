package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestConnectionsBodyCutOff sends @connections POSTs whose body never arrives
// whole to the gateway listener (the API's path-based URL and the stage-only
// form) and to the sandbox-facing endpoint, which takes the listener's
// body-timeout: a body the client stops sending is answered 408
// RequestTimeoutException with the documented message (no socket address in
// it) and the connection closed; a body cut short by the client ending its
// side of the connection is not answered at all, and logged as a client gone
// (499).
func TestConnectionsBodyCutOff(t *testing.T) {
	e := newEnv(t)
	logs := &syncBuilder{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := connections.New(connections.Config{AdminToken: "tok"}, log)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0"}, e.svc, e.res, e.inv, log)
	gw.EnableWebSockets(m)
	srv := NewServer(gw, nil, listener.Limits{BodyTimeout: 300 * time.Millisecond})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	id := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{
		RouteSelectionExpression: "$request.body.action",
		Routes:                   []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}},
	}}, "dev", nil)
	for _, tc := range []struct{ name, addr, path string }{
		{"gateway", srv.Addr(), "/" + id + "/dev/@connections/Kdd"},
		{"gateway-stage-only", srv.Addr(), "/dev/@connections/Kdd"},
		{"callback", srv.cb.ln.Addr().String(), "/" + id + "/dev/@connections/Kdd"},
	} {
		head := "POST " + tc.path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 100\r\n\r\nhello"
		t.Run(tc.name+"/stalled", func(t *testing.T) {
			c := listenertest.Dial(t, tc.addr)
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			got := listenertest.WaitClosed(t, c)
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
			if err != nil {
				t.Fatalf("answer %q: %v", got, err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			var msg struct{ Message string }
			if res.StatusCode != http.StatusRequestTimeout || !res.Close || json.Unmarshal(body, &msg) != nil ||
				msg.Message != "Request body not received in time: send the whole body without pausing" ||
				res.Header.Get("X-Amzn-Errortype") != "RequestTimeoutException" {
				t.Fatalf("answer %q, want 408 RequestTimeoutException with Connection: close", got)
			}
			if host, _, _ := net.SplitHostPort(c.LocalAddr().String()); strings.Contains(got, host) {
				t.Fatalf("answer %q names a socket address", got)
			}
		})
		t.Run(tc.name+"/half-closed", func(t *testing.T) {
			c := listenertest.Dial(t, tc.addr)
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := listenertest.WaitClosed(t, c); got != "" {
				t.Fatalf("answered %q to a client that stopped sending, want nothing", got)
			}
		})
	}
	if l := logs.String(); strings.Count(l, "client went away") < 2 || !strings.Contains(l, "status=499") {
		t.Errorf("the cut-off bodies were not logged as clients gone (499):\n%s", l)
	}
}
