package gateway

import (
	"context"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/wsload"
)

// BenchmarkListenerMOCK serves the MOCK route through the gateway's Server on
// each listener engine, in one run: the tuned net/http server, internal/h1 and
// nbhttp.
func BenchmarkListenerMOCK(b *testing.B) {
	for _, engine := range []string{EngineNetHTTP, EngineH1, EngineNbio} {
		b.Run(strings.ReplaceAll(engine, "/", "-"), func(b *testing.B) {
			svc, stagePath := benchCreate(b, mockAPI(), nil)
			gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil)
			s := NewServer(gw, nil, listener.Limits{})
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Stop(context.Background()) })
			b.ReportAllocs()
			Load(b, BenchClient(), s.URL()+stagePath+"/mock", benchConcurrency, "")
		})
	}
}

// TestWSLoadClient is not a test: it is the client process of
// BenchmarkIdleWebSocketEngines (internal/wsload).
func TestWSLoadClient(t *testing.T) {
	if !wsload.ServeClient() {
		t.Skip("the client process of BenchmarkIdleWebSocketEngines")
	}
}

// BenchmarkIdleWebSocketEngines measures the server memory an idle WebSocket
// costs on each engine with a bare echo handler: gorilla/websocket on net/http
// (what the connections package builds on) and nbio's websocket on nbhttp. The
// clients run in a child process. PORTICO_IDLE_WS sets the count (10,000).
func BenchmarkIdleWebSocketEngines(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PORTICO_IDLE_WS")); err == nil && v > 0 {
		n = v
	}
	if err := wsload.RaiseNoFile(uint64(n) + 64); err != nil {
		b.Skip(err)
	}
	for _, engine := range []string{EngineNetHTTP, EngineNbio} {
		b.Run(strings.ReplaceAll(engine, "/", "-"), func(b *testing.B) {
			var live atomic.Int64
			addr, stop := startEchoServer(b, engine, &live)
			defer stop()
			runtime.GC()
			debug.FreeOSMemory()
			before := wsload.RSS()
			c, err := wsload.Start(b, "TestWSLoadClient", "ws://"+addr+"/", n)
			if err != nil {
				b.Fatal(err)
			}
			for live.Load() < int64(n) {
				time.Sleep(10 * time.Millisecond)
			}
			runtime.GC()
			debug.FreeOSMemory()
			after := wsload.RSS()
			for range b.N {
			}
			b.ReportMetric(float64(after-before)/float64(n), "B/conn")
			if answered, err := c.Ping(); err != nil || answered != n {
				b.Fatalf("%d of %d connections answered: %v", answered, n, err)
			}
			if _, err := c.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// startEchoServer serves a WebSocket echo on a loopback port with engine and
// counts the live connections in live.
func startEchoServer(tb testing.TB, engine string, live *atomic.Int64) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if engine == EngineNbio {
		up := nbws.NewUpgrader()
		up.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) { _ = c.WriteMessage(mt, data) })
		up.OnClose(func(*nbws.Conn, error) { live.Add(-1) })
		eng := nbhttp.NewEngine(nbhttp.Config{Network: "tcp", Addrs: []string{ln.Addr().String()},
			Listen: func(string, string) (net.Listener, error) { return ln, nil },
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := up.Upgrade(w, r, nil); err == nil {
					live.Add(1)
				}
			})})
		if err := eng.Start(); err != nil {
			tb.Fatal(err)
		}
		return ln.Addr().String(), eng.Stop
	}
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		live.Add(1)
		defer live.Add(-1)
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				_ = c.Close()
				return
			}
			_ = c.WriteMessage(mt, data)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }
}
