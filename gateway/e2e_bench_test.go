package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/latency"
	"github.com/portico-dev/portico/internal/wstest"
	"github.com/portico-dev/portico/store"
)

// BenchmarkFunctionProxy measures a warm function call through the gateway (GET on
// a stage URL: routing, the payload 1.0 event, alias resolution, the invoker, the
// proxy result) beside a direct invoke of the same alias with the same event
// through the Lambda Invoke API, one call at a time. The difference of the p50s is
// what the gateway adds to a function call.
func BenchmarkFunctionProxy(b *testing.B) {
	env := apptest.Start(b, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	createHello(b, c)
	v, _, err := c.PublishVersion(ctx, "hello", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.SetAlias(ctx, "hello", "live", v.Version, nil); err != nil {
		b.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "samples", "hello", "api.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis/import", nil, doc, nil)
	if err != nil {
		b.Fatal(err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	_ = json.Unmarshal(resp.Body, &imp)
	if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil,
		map[string]any{"stageName": "dev", "variables": map[string]string{"alias": "live"}}, nil); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	stageURL := env.GatewayURL + "/" + imp.API.ID + "/dev/hello"
	event, _ := json.Marshal(events.APIGatewayProxyRequest{Resource: "/hello", Path: "/hello", HTTPMethod: "GET",
		RequestContext: events.APIGatewayProxyRequestContext{Stage: "dev", APIID: imp.API.ID}})
	invokeURL := env.AdminURL + client.FunctionPath("hello:live", "/invocations")

	call := func(b *testing.B, req func() (*http.Response, error)) {
		b.Helper()
		resp, err := req()
		mustOK(b, resp, err)
	}
	gatewayCall := func() (*http.Response, error) { return hc.Get(stageURL) }
	directCall := func() (*http.Response, error) {
		return hc.Post(invokeURL, "application/json", bytes.NewReader(event))
	}
	for range 20 { // warm both paths and the sandbox
		call(b, gatewayCall)
		call(b, directCall)
	}
	var gw, direct latency.Recorder
	b.ResetTimer()
	for range b.N {
		direct.Time(func() { call(b, directCall) })
		gw.Time(func() { call(b, gatewayCall) })
	}
	b.StopTimer()
	direct.Report(b, "direct-")
	gw.Report(b, "gateway-")
	b.ReportMetric(float64((gw.Percentile(50)-direct.Percentile(50)).Nanoseconds())/1e3, "added-p50-µs")
}

// createHello creates the hello sample as the function "hello".
func createHello(b *testing.B, c *client.Client) {
	b.Helper()
	zip := apptest.ZipSample(b, "hello")
	if _, _, err := c.CreateFunction(context.Background(), map[string]any{"FunctionName": "hello", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": zip}}); err != nil {
		b.Fatal(err)
	}
}

// mustOK reads resp to its end and fails b unless the call gave a 200.
func mustOK(b *testing.B, resp *http.Response, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkWebSocketFunction measures a warm function call behind a two-way
// WebSocket route (a message in, the function's result back as a frame) beside
// the same function behind an HTTP route, one call at a time, each from a
// client that writes and reads on one goroutine (gorilla/websocket; a raw
// keep-alive HTTP/1.1 connection). ws-over-http is the difference of the p50s.
func BenchmarkWebSocketFunction(b *testing.B) {
	env := apptest.Start(b, apptest.Options{Settings: func(s *app.Settings) {
		s.WebSocket.MessageRate, s.WebSocket.MessageBurst = 1e6, 1e6 // the default 100/s would throttle the benchmark
	}})
	c := env.Client()
	ctx := context.Background()
	createHello(b, c)
	deploy := func(create map[string]any) string {
		b.Helper()
		resp, err := c.Do(ctx, "POST", "/portico/v1/apis", nil, create, nil)
		if err != nil {
			b.Fatal(err)
		}
		var api struct{ ID string }
		_ = json.Unmarshal(resp.Body, &api)
		if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
			b.Fatal(err)
		}
		return api.ID
	}
	fn := map[string]any{"type": "AWS_PROXY", "uri": "function:hello"}
	wsID := deploy(map[string]any{"name": "wsbench", "protocol": "WEBSOCKET", "routes": []any{
		map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": fn}}})
	httpID := deploy(map[string]any{"name": "httpbench", "protocol": "HTTP", "routes": []any{
		map[string]any{"method": "GET", "path": "/hello", "integration": fn}}})

	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+wsID+"/dev", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	msg := []byte(`{"name":"bench"}`)
	wsCall := func() {
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		if _, reply, err := ws.ReadMessage(); err != nil || !bytes.Contains(reply, []byte("hello")) {
			b.Fatalf("reply %.200s: %v", reply, err)
		}
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.GatewayURL, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	req := []byte("GET /" + httpID + "/dev/hello HTTP/1.1\r\nHost: bench\r\n\r\n")
	httpCall := func() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		mustOK(b, resp, err)
	}
	for range 20 { // warm both paths and the sandbox
		wsCall()
		httpCall()
	}
	var wsr, httpr latency.Recorder
	b.ResetTimer()
	for range b.N {
		wsr.Time(wsCall)
		httpr.Time(httpCall)
	}
	b.StopTimer()
	wsr.Report(b, "ws-")
	httpr.Report(b, "http-")
	b.ReportMetric(float64((wsr.Percentile(50)-httpr.Percentile(50)).Nanoseconds())/1e3, "ws-over-http-p50-µs")
}

// benchGatewayEnv names the backend URL when the test binary runs as the gateway
// process of BenchmarkHTTPProxy.
const benchGatewayEnv = "PORTICO_BENCH_GATEWAY_BACKEND"

// runBenchGateway serves an HTTP API whose $default route proxies to backend, on a
// loopback port it prints as "ADDR APIID", until stdin closes. The benchmark runs
// it as a separate process, as nginx is one.
func runBenchGateway(backend string) int {
	dir, err := os.MkdirTemp("", "portico-bench-gw-")
	if err != nil {
		return 1
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(dir)
	if err != nil {
		return 1
	}
	defer st.Close()
	svc := apis.NewService(st, nil)
	ctx := context.Background()
	a, err := svc.Create(ctx, &apis.API{Name: "bench", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "${stageVariables.backend}/{proxy}"}},
	}}})
	if err != nil {
		return 1
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "bench", Variables: map[string]string{"backend": backend}}); err != nil {
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	srv := &http.Server{Handler: gateway.New(gateway.Config{}, svc, nil, nil, nil)}
	go func() { _ = srv.Serve(ln) }()
	if prof := os.Getenv("PORTICO_BENCH_GATEWAY_CPUPROFILE"); prof != "" {
		if f, err := os.Create(prof); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	fmt.Printf("%s %s\n", ln.Addr(), a.ID)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	return 0
}

// startGatewayProcess runs this test binary as the gateway process in front of
// backend and returns its stage URL.
func startGatewayProcess(b *testing.B, backend string) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchGatewayEnv+"="+backend)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	var addr, id string
	if _, err := fmt.Fscan(out, &addr, &id); err != nil {
		b.Fatalf("gateway process: %v", err)
	}
	return "http://" + addr + "/" + id + "/bench"
}

// BenchmarkHTTPProxy compares, at the same concurrency (32 clients on loopback), a
// small backend called directly, through the gateway's HTTP_PROXY integration
// (the gateway in its own process) and through nginx proxy_pass (its own
// processes; skipped without nginx).
func BenchmarkHTTPProxy(b *testing.B) {
	body := []byte(strings.Repeat("x", 63) + "\n")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	defer backend.Close()
	const conc = 32
	b.Run("direct", func(b *testing.B) {
		gateway.Load(b, gateway.BenchClient(), backend.URL+"/pets/1", conc, "")
	})
	b.Run("gateway", func(b *testing.B) {
		u := startGatewayProcess(b, backend.URL)
		gateway.Load(b, gateway.BenchClient(), u+"/pets/1", conc, "")
	})
	b.Run("nginx", func(b *testing.B) {
		u := gateway.StartNginx(b, backend.URL)
		gateway.Load(b, gateway.BenchClient(), u+"/pets/1", conc, "")
	})
}
