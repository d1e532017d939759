package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestSlowReaderIsBoundedEveryEngine: under each listener engine, an HTTP/1.1
// client that asks for an endless streamed answer (an HTTP_PROXY backend that
// writes until its request is cancelled) and never reads it holds the
// gateway's handler and its backend request no longer than the listener's
// idle timeout once its socket takes nothing more: the backend's request is
// cancelled and the server holds the connection no more.
func TestSlowReaderIsBoundedEveryEngine(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP, EngineNbio} {
		t.Run(strings.ReplaceAll(engine, "/", "-"), func(t *testing.T) {
			backendDone := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(backendDone)
				chunk := strings.Repeat("x", 64<<10)
				rc := http.NewResponseController(w)
				for r.Context().Err() == nil {
					if _, err := io.WriteString(w, chunk); err != nil {
						return
					}
					if rc.Flush() != nil {
						return
					}
					// At most 64 MB a second: a non-blocking engine
					// (nbio) takes all of it until it gives up.
					time.Sleep(time.Millisecond)
				}
			}))
			t.Cleanup(backend.Close)
			s, _ := slowReaderClient(t, Config{Listen: "127.0.0.1:0", Engine: engine, MaxBodyBytes: 1 << 40, MaxConns: 100}, backend.URL)
			// The client reads nothing.
			select {
			case <-backendDone:
			case <-time.After(listenertest.Bound):
				t.Fatal("the backend's request is still going on for a client that reads nothing")
			}
			// The server holds no connection (they all count against
			// MaxConns, whatever the engine).
			for deadline := time.Now().Add(listenertest.Bound); s.conns.Open() != 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the server still holds %d connections", s.conns.Open())
				}
			}
		})
	}
}

// slowReaderClient serves, with cfg and an idle timeout of 300ms, a REST API
// whose GET /big is an HTTP_PROXY to backend, and sends it a request for
// /big from a raw client with a small receive buffer, which reads nothing.
func slowReaderClient(t *testing.T, cfg Config, backend string) (*Server, net.Conn) {
	t.Helper()
	_, svc := gwtest.APIs(t)
	created := gwtest.Deploy(t, svc, &apis.API{Name: "big", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/big", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend + "/big"}},
	}}}, apis.DeployInput{StageName: "s"})
	gw := New(cfg, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{HeaderTimeout: 5 * time.Second, IdleTimeout: 300 * time.Millisecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(c, "GET /"+created.ID+"/s/big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return s, c
}
