package connections

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/gorilla/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/routeselect"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
	"github.com/portico-dev/portico/internal/wsload"
)

// staticDispatcher answers every route at once with a 200 and records
// nothing; with echo, the answer's body is the message itself.
type staticDispatcher struct {
	routes *Routes
	echo   bool
}

func (d staticDispatcher) Routes(context.Context, string, string) (*Routes, error) {
	return d.routes, nil
}
func (d staticDispatcher) Dispatch(_ context.Context, ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
	if d.echo {
		return &Response{StatusCode: 200, Body: []byte(ev.Body)}, nil
	}
	return &Response{StatusCode: 200}, nil
}

// newBenchServer serves upgrades and the @connections API of a Manager on a
// loopback port with internal/h1, the listener that serves both in Portico (the
// gateway's plain listener and the sandbox-facing callback endpoint). It
// returns the manager, the server's http:// base URL and the stage's ws:// URL.
func newBenchServer(tb testing.TB, cfg Config) (*Manager, string, string) {
	tb.Helper()
	sel, _ := routeselect.Parse("")
	d := staticDispatcher{routes: &Routes{Selector: sel, Keys: map[string]bool{"$connect": false, "$disconnect": false, "$default": false}}}
	m := New(cfg, nil)
	m.SetIntegrations(fakeIntegrations{testAPI + "/" + testStage + "/bench": true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := h1.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(parts) == 4 && parts[2] == "@connections" {
			m.ServeManagement(w, r, parts[0], parts[1], parts[3])
			return
		}
		m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}, d)
	}), h1.Options{})
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = m.Shutdown(ctx)
		_ = srv.Close()
	})
	base := "http://" + ln.Addr().String()
	return m, base, "ws://" + ln.Addr().String() + "/" + testAPI + "/" + testStage
}

// raiseFDLimit raises the soft open-file limit to need, or skips.
func raiseFDLimit(tb testing.TB, need uint64) {
	if err := wsload.RaiseNoFile(need); err != nil {
		tb.Skip(err)
	}
}

// benchClientEnv makes the test binary a client process for BenchmarkIdleConnections.
const benchClientEnv = "PORTICO_WS_BENCH_CLIENT"

// TestBenchClientProcess is not a test: run by BenchmarkIdleConnections in a
// child process (so that the clients' memory is not counted as the server's), it
// opens N connections, prints how long that took, and holds them until stdin
// closes.
func TestBenchClientProcess(t *testing.T) {
	spec := os.Getenv(benchClientEnv)
	if spec == "" {
		t.Skip("run by BenchmarkIdleConnections")
	}
	url, nStr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nStr)
	raiseFDLimit(t, uint64(n)+100)
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	var failed atomic.Value
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256}
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, _, err := wsDial(&d, url, nil)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		fmt.Printf("error %s\n", f)
		return
	}
	fmt.Printf("open %d\n", time.Since(start).Nanoseconds())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		_ = c.Close()
	}
}

type idleResult struct {
	perConn float64 // bytes of server RSS per connection
	open    time.Duration
	err     error
}

var (
	idleOnce     sync.Once
	idleMeasured idleResult
)

// BenchmarkIdleConnections opens 10,000 WebSocket connections from a child
// process and reports the server's RSS growth per connection and the time to
// open them, with the journal of live connections as Portico runs. It
// measures once per process, whatever b.N is.
func BenchmarkIdleConnections(b *testing.B) {
	const n = 10000
	idleOnce.Do(func() { idleMeasured = measureIdle(b, n) })
	r := idleMeasured
	if r.err != nil {
		b.Skip(r.err)
	}
	for range b.N {
	}
	b.ReportMetric(r.perConn, "B/conn")
	b.ReportMetric(float64(r.open.Milliseconds()), "ms/10k-open")
	b.ReportMetric(float64(r.open.Nanoseconds())/n, "ns/op")
}

func measureIdle(b *testing.B, n int) idleResult {
	raiseFDLimit(b, uint64(n)+200)
	// With the journal of live connections, as Portico runs (journal.go).
	m, _, url := newBenchServer(b, Config{Journal: filepath.Join(b.TempDir(), "connections.journal")})
	// Warm up the server's paths (and pools) with a few connections.
	for range 10 {
		c, _, err := wsDial(websocket.DefaultDialer, url, nil)
		if err != nil {
			return idleResult{err: err}
		}
		_ = c.Close()
	}
	for m.Len() != 0 {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := wsload.RSS()

	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchClientProcess$", "-test.v")
	cmd.Env = append(os.Environ(), benchClientEnv+"="+url+" "+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return idleResult{err: err}
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	var open time.Duration
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "open "); ok {
			ns, _ := strconv.ParseInt(v, 10, 64)
			open = time.Duration(ns)
			break
		}
		if v, ok := strings.CutPrefix(line, "error "); ok {
			return idleResult{err: fmt.Errorf("client process: %s", v)}
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for m.Len() < n {
		if time.Now().After(deadline) {
			return idleResult{err: fmt.Errorf("only %d of %d connections registered", m.Len(), n)}
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	debug.FreeOSMemory()
	after := wsload.RSS()
	return idleResult{perConn: float64(after-before) / float64(n), open: open}
}

// BenchmarkConnectionsPost measures SigV4-signed @connections POSTs to one live
// connection, end to end over loopback, and reports p50 and p99.
func BenchmarkConnectionsPost(b *testing.B) {
	m, srv, url := newBenchServer(b, Config{})
	ws, _, err := wsDial(websocket.DefaultDialer, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for m.Len() != 1 {
		time.Sleep(time.Millisecond)
	}
	id := m.List("", "")[0].ConnectionID
	cr := m.Issue("bench")
	creds := aws.Credentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}
	body := []byte(`{"message":"hello from a function","n":12345}`)
	hash := sigv4.HashHex(body)
	target := srv + "/" + testAPI + "/" + testStage + "/@connections/" + id
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		sigv4test.Sign(b, req, creds, hash, SigningService, sigv4test.Region, time.Now())
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST = %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkFanout sends one message to 1,000 connections and waits until every
// client has it (the clients run in this process); it reports deliveries per
// second and the time of one fan-out. One op is one delivery.
func BenchmarkFanout(b *testing.B) {
	const n = 1000
	raiseFDLimit(b, 2*n+200)
	m, _, url := newBenchServer(b, Config{})
	var received atomic.Int64
	clients := make([]*websocket.Conn, n)
	for i := range clients {
		c, _, err := wsDial(websocket.DefaultDialer, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = c
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				received.Add(1)
			}
		}()
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	for m.Len() != n {
		time.Sleep(time.Millisecond)
	}
	ids := make([]string, 0, n)
	for _, in := range m.List("", "") {
		ids = append(ids, in.ConnectionID)
	}
	msg := []byte(`{"from":"bench","data":"one message to a thousand connections"}`)
	// One op is one delivery: b.N deliveries are ceil(b.N/1000) fan-outs.
	rounds := (b.N + n - 1) / n
	b.ResetTimer()
	start := time.Now()
	for i := range rounds {
		for _, id := range ids {
			if err := m.Send(testAPI, testStage, id, msg); err != nil {
				b.Fatal(err)
			}
		}
		want := int64(i+1) * n
		for received.Load() < want {
			runtime.Gosched()
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(rounds*n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Microseconds())/1e3/float64(rounds), "ms/fanout")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(rounds*n), "ns/op")
}

// BenchmarkBroadcast10k holds 10,000 idle connections (PORTICO_WS_BROADCAST
// sets another count; the clients run in a child process) and times one
// broadcast until every client has the message. "sdk" sends it as a function
// does: a PostToConnection per connection through the AWS SDK, 16 at a time (as
// the chat sample's sendmessage), each SigV4-signed with issued credentials.
// "send" calls Manager.Send per connection in process: the delivery path alone,
// without HTTP and signatures. One op is one broadcast; it reports the median
// and worst broadcast and, for "sdk", when the last POST was answered.
//
// The clients read with wsload's epoll mode (one loop for all of them, no
// goroutine woken per message): real clients run elsewhere, and a goroutine
// per client made the client process cost as much CPU as the server on the
// same cores. PORTICO_WS_BROADCAST_CLIENT=goroutines runs the default client
// (a goroutine per connection) instead.
func BenchmarkBroadcast10k(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PORTICO_WS_BROADCAST")); err == nil && v > 0 {
		n = v
	}
	raiseFDLimit(b, uint64(n)+200)
	m, srv, url := newBenchServer(b, Config{})
	start := wsload.StartEpoll
	if os.Getenv("PORTICO_WS_BROADCAST_CLIENT") == "goroutines" {
		start = wsload.Start
	}
	clients, err := start(b, "TestWSLoadClient", url, n)
	if err != nil {
		b.Fatal(err)
	}
	if got := waitLen(m, n); got != n {
		b.Fatalf("the manager holds %d connections, want %d", got, n)
	}
	ids := make([]string, 0, n)
	for _, in := range m.List("", "") {
		ids = append(ids, in.ConnectionID)
	}
	cr := m.Issue("bench")
	// The SDK's default client keeps 10 idle connections per host: with 16
	// calls at a time it would open and close TCP connections all along. A
	// function that broadcasts should keep as many as it runs calls at once.
	cl := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(srv + "/" + testAPI + "/" + testStage),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 16
		}),
	})
	ctx := context.Background()
	seq := 0
	broadcast := func(b *testing.B, send func(id string, msg []byte) error) {
		var all, posted []time.Duration
		var serverCPU, clientCPU time.Duration
		for range b.N {
			seq++
			msg := `{"from":"bench","broadcast":` + strconv.Itoa(seq) + `}`
			received, err := clients.Await(msg)
			if err != nil {
				b.Fatal(err)
			}
			cpu0, ccpu0 := wsload.CPUOf(os.Getpid()), clients.CPU()
			start := time.Now()
			data := []byte(msg)
			// 16 senders at a time, as the chat sample's sendmessage. The
			// label marks the broadcast's goroutines (and those they start)
			// in a -cpuprofile: pprof -tagfocus phase=broadcast.
			var g errgroup.Group
			var next atomic.Int64
			pprof.Do(ctx, pprof.Labels("phase", "broadcast"), func(context.Context) {
				for range 16 {
					g.Go(func() error {
						for i := next.Add(1) - 1; i < int64(len(ids)); i = next.Add(1) - 1 {
							if err := send(ids[i], data); err != nil {
								return err
							}
						}
						return nil
					})
				}
			})
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			posted = append(posted, time.Since(start))
			got, err := received()
			all = append(all, time.Since(start))
			// The client process has read every message by now; its CPU
			// time also counts its answer ("got") but that is one line.
			serverCPU += wsload.CPUOf(os.Getpid()) - cpu0
			clientCPU += clients.CPU() - ccpu0
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("broadcast %d reached %d of %d clients", seq, got, n)
			}
		}
		slices.Sort(all)
		slices.Sort(posted)
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1e3, "ms/broadcast")
		b.ReportMetric(float64(all[len(all)-1].Microseconds())/1e3, "max-ms")
		b.ReportMetric(float64(posted[len(posted)/2].Microseconds())/1e3, "ms-sent")
		// CPU time of each process per broadcast: they share the machine's
		// cores, so the clients' reading is part of the wall time.
		b.ReportMetric(float64(serverCPU.Microseconds())/1e3/float64(b.N), "server-cpu-ms")
		b.ReportMetric(float64(clientCPU.Microseconds())/1e3/float64(b.N), "client-cpu-ms")
	}
	b.Run("sdk", func(b *testing.B) {
		broadcast(b, func(id string, msg []byte) error {
			_, err := cl.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: msg})
			return err
		})
	})
	b.Run("send", func(b *testing.B) {
		broadcast(b, func(id string, msg []byte) error { return m.Send(testAPI, testStage, id, msg) })
	})
}
