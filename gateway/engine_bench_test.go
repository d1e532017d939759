package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/portico-dev/portico/internal/listener"
)

// BenchmarkListenerMOCK serves the MOCK route through the gateway's Server on
// each listener engine, in one run: the tuned net/http server and nbhttp.
func BenchmarkListenerMOCK(b *testing.B) {
	for _, engine := range []string{EngineNetHTTP, EngineNbio} {
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

// idleClientEnv makes the test binary a WebSocket client process for
// BenchmarkIdleWebSocketEngines.
const idleClientEnv = "PORTICO_IDLE_WS_CLIENT"

// TestIdleWebSocketClientProcess is not a test: run in a child process by
// BenchmarkIdleWebSocketEngines and TestWebSocketHold20k, it opens N WebSocket
// connections to URL, says "open", and on each line "ping" read from stdin sends
// one message on every connection and waits for every answer ("pong N" with the
// count that answered), until stdin closes; then it closes them all cleanly
// ("closed N").
func TestIdleWebSocketClientProcess(t *testing.T) {
	spec := os.Getenv(idleClientEnv)
	if spec == "" {
		t.Skip("run by BenchmarkIdleWebSocketEngines and TestWebSocketHold20k")
	}
	url, nStr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nStr)
	if err := raiseNoFile(uint64(n) + 64); err != nil {
		fmt.Println("error", err)
		return
	}
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: time.Minute}
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				c, resp, err := d.Dial(url, nil)
				if err != nil {
					failed.Store(fmt.Sprintf("connection %d: %v", i, err))
					return
				}
				_ = resp.Body.Close()
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		fmt.Println("error", f)
		return
	}
	fmt.Println("open", n)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var answered atomic.Int64
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i, c := range conns {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				msg := "ping-" + strconv.Itoa(i)
				_ = c.SetReadDeadline(time.Now().Add(time.Minute))
				if c.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
					return
				}
				if _, got, err := c.ReadMessage(); err == nil && strings.Contains(string(got), msg) {
					answered.Add(1)
				}
			}()
		}
		wg.Wait()
		fmt.Println("pong", answered.Load())
	}
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Minute)) == nil {
			// The server answers the close; the read sees it.
			if _, _, err := c.ReadMessage(); websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				closed++
			}
		}
		_ = c.Close()
	}
	fmt.Println("closed", closed)
}

// raiseNoFile raises the soft open-file limit to need, within the hard limit.
func raiseNoFile(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Max < need {
		return fmt.Errorf("the hard open-file limit is %d: %d are needed", lim.Max, need)
	}
	if lim.Cur < need {
		lim.Cur = need
		return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return nil
}

// wsClients runs the client process against url with n connections.
type wsClients struct {
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	out   *bufio.Scanner
	close func()
}

func startWSClients(tb testing.TB, url string, n int) (*wsClients, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleWebSocketClientProcess$")
	cmd.Env = append(os.Environ(), idleClientEnv+"="+url+" "+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &wsClients{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	c.close = func() { _ = stdin.Close() }
	tb.Cleanup(func() { c.close(); _ = cmd.Wait() })
	return c, nil
}

// expect reads lines until one starting with word, and returns its number.
func (c *wsClients) expect(word string) (int, error) {
	for c.out.Scan() {
		line := c.out.Text()
		if v, ok := strings.CutPrefix(line, word+" "); ok {
			return strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "error "); ok {
			return 0, fmt.Errorf("client process: %s", v)
		}
	}
	return 0, fmt.Errorf("client process ended before %q", word)
}

func rss() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
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
	if err := raiseNoFile(uint64(n) + 64); err != nil {
		b.Skip(err)
	}
	for _, engine := range []string{EngineNetHTTP, EngineNbio} {
		b.Run(strings.ReplaceAll(engine, "/", "-"), func(b *testing.B) {
			var live atomic.Int64
			addr, stop := startEchoServer(b, engine, &live)
			defer stop()
			runtime.GC()
			debug.FreeOSMemory()
			before := rss()
			c, err := startWSClients(b, "ws://"+addr+"/", n)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.expect("open"); err != nil {
				b.Fatal(err)
			}
			for live.Load() < int64(n) {
				time.Sleep(10 * time.Millisecond)
			}
			runtime.GC()
			debug.FreeOSMemory()
			after := rss()
			for range b.N {
			}
			b.ReportMetric(float64(after-before)/float64(n), "B/conn")
			c.close()
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
