package gateway

import (
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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/latency"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/invoker"
)

// benchConcurrency is the number of concurrent clients of the throughput
// benchmarks (wrk -c style, on loopback).
const benchConcurrency = 32

// BenchClient returns a client whose idle pool fits the concurrency.
func BenchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
}

// Load sends b.N GETs to u from conc workers, records each latency and reports
// throughput and percentiles.
func Load(b *testing.B, c *http.Client, u string, conc int, prefix string) {
	b.Helper()
	var rec latency.Recorder
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				resp, err := c.Get(u)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				rec.Add(time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), prefix+"req/s")
	rec.Report(b, prefix)
}

// benchGateway serves one deployed API on a real loopback listener.
func benchGateway(b *testing.B, a *apis.API, vars map[string]string) (base string) {
	b.Helper()
	gw, stagePath := benchDeploy(b, "127.0.0.1:0", a, vars)
	srv := httptest.NewServer(gw)
	b.Cleanup(srv.Close)
	return srv.URL + stagePath
}

// benchDeploy deploys a on stage "bench" of a new gateway listening (when served
// by its Server) on listen; it returns the gateway and the stage's path.
func benchDeploy(b testing.TB, listen string, a *apis.API, vars map[string]string) (*Gateway, string) {
	b.Helper()
	svc, stagePath := benchCreate(b, a, vars)
	return New(Config{Listen: listen}, svc, nil, nil, nil), stagePath
}

// benchCreate creates a in a new store and deploys it on stage "bench"; it
// returns the service and the stage's path.
func benchCreate(b testing.TB, a *apis.API, vars map[string]string) (*apis.Service, string) {
	b.Helper()
	_, svc := gwtest.APIs(b)
	created := gwtest.Deploy(b, svc, a, apis.DeployInput{StageName: "bench", Variables: vars})
	return svc, "/" + created.ID + "/bench"
}

// mockAPI is the API of the MOCK benchmarks.
func mockAPI() *apis.API {
	return &apis.API{Name: "bench", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}}}}},
	}}}
}

// BenchmarkMock measures the gateway alone: a MOCK integration at 32 concurrent
// clients (throughput, p50, p99).
func BenchmarkMock(b *testing.B) {
	base := benchGateway(b, mockAPI(), nil)
	Load(b, BenchClient(), base+"/mock", benchConcurrency, "")
}

// BenchmarkMockServer is BenchmarkMock through the gateway's own Server, whose
// connections record the client's header spellings ("recorded"), beside a plain
// http.Server with the same handler and settings on a bare listener ("plain"):
// the difference is what the recording costs.
func BenchmarkMockServer(b *testing.B) {
	for _, recorded := range []bool{false, true} {
		name := "plain"
		if recorded {
			name = "recorded"
		}
		b.Run(name, func(b *testing.B) {
			gw, stagePath := benchDeploy(b, "127.0.0.1:0", mockAPI(), nil)
			s := NewServer(gw, nil, listener.Limits{})
			var base string
			if recorded {
				if err := s.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = s.Stop(context.Background()) })
				base = s.URL()
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
				go func() { _ = srv.Serve(ln) }()
				b.Cleanup(func() { _ = srv.Close() })
				base = "http://" + ln.Addr().String()
			}
			Load(b, BenchClient(), base+stagePath+"/mock", benchConcurrency, "")
		})
	}
}

// StartNginx runs nginx with one proxy_pass location in front of backend and
// returns its URL; it skips the benchmark when nginx is not installed. It is
// exported (in tests only) for the benchmarks of package gateway_test.
func StartNginx(b *testing.B, backend string) string {
	b.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		b.Skip("nginx is not installed: apt-get install nginx-light (or nginx) to compare with proxy_pass")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	dir := b.TempDir()
	conf := fmt.Sprintf(`worker_processes 2;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream backend { server %[2]s; keepalive 256; }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`, dir, strings.TrimPrefix(backend, "http://"), addr)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath, "-p", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Skipf("nginx does not start: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return "http://" + addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Skip("nginx did not start listening")
	return ""
}

// benchServe serves req with h into a new recorder each iteration, with
// allocations reported; every answer must be a 200.
func benchServe(b *testing.B, h http.Handler, req *http.Request) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkMockHandler measures the gateway's own cost per request, without a
// network: a MOCK route served by Gateway.ServeHTTP into a recorder, with
// allocations (-benchmem). Run it beside a change of the request path.
func BenchmarkMockHandler(b *testing.B) {
	gw, stagePath := benchDeploy(b, "127.0.0.1:0", mockAPI(), nil)
	req := httptest.NewRequest(http.MethodGet, stagePath+"/mock", nil)
	benchServe(b, gw, req)
}

// BenchmarkHTTPProxyHandler measures the gateway's own cost per HTTP_PROXY
// request on the fast proxy path, without the client's network: Gateway.ServeHTTP
// into a recorder, to a loopback backend, with allocations (-benchmem; the
// backend's own allocations are counted too).
func BenchmarkHTTPProxyHandler(b *testing.B) {
	body := []byte(strings.Repeat("x", 63) + "\n")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	b.Cleanup(backend.Close)
	a := &apis.API{Name: "bench", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/{proxy}"}},
	}}}
	gw, stagePath := benchDeploy(b, "127.0.0.1:0", a, nil)
	req := httptest.NewRequest(http.MethodGet, stagePath+"/pets/1", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	benchServe(b, gw, req)
}

// BenchmarkFunctionProxyHandler measures the gateway's own cost per AWS_PROXY
// request (payload 1.0 on a REST API, 2.0 on an HTTP API) with an in-process
// function that answers a fixed proxy result: Gateway.ServeHTTP into a recorder,
// with allocations (-benchmem).
func BenchmarkFunctionProxyHandler(b *testing.B) {
	result, _ := json.Marshal(events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"ok":true}`, Headers: map[string]string{"Content-Type": "application/json"}})
	for _, tc := range []struct {
		name, protocol, format string
	}{{"rest-1.0", apis.ProtocolREST, ""}, {"http-2.0", apis.ProtocolHTTP, "2.0"}} {
		b.Run(tc.name, func(b *testing.B) {
			a := &apis.API{Name: "bench", Protocol: tc.protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "GET", Path: "/pets/{id}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: tc.format}},
			}}}
			svc, stagePath := benchCreate(b, a, nil)
			inv := &fakeInvoker{handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{Payload: result, ExecutedVersion: "$LATEST"}, nil
			}}
			gw := New(Config{}, svc, &fakeResolver{}, inv, nil)
			req := httptest.NewRequest(http.MethodGet, stagePath+"/pets/7?q=1", nil)
			req.Header.Set("User-Agent", "bench")
			req.RemoteAddr = "127.0.0.1:40000"
			b.ReportAllocs()
			for b.Loop() {
				inv.calls = inv.calls[:0]
				rec := httptest.NewRecorder()
				gw.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkMappingHandler measures a REST route whose templates read the
// request: a MOCK whose response template reads $context only ("context":
// the request's headers are never built) or a header too ("header"), served
// by Gateway.ServeHTTP into a recorder, with allocations (-benchmem).
func BenchmarkMappingHandler(b *testing.B) {
	for _, tc := range []struct{ name, tmpl string }{
		{"context", `{"id":"$context.requestId"}`},
		{"header", `{"id":"$context.requestId","ua":"$input.params('User-Agent')"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a := &apis.API{Name: "bench", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "GET", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
					RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
					Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
						ResponseTemplates: map[string]string{"application/json": tc.tmpl}}}}},
			}}}
			gw, stagePath := benchDeploy(b, "127.0.0.1:0", a, nil)
			req := httptest.NewRequest(http.MethodGet, stagePath+"/mock", nil)
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept", "application/json")
			req.RemoteAddr = "127.0.0.1:40000"
			benchServe(b, gw, req)
		})
	}
}
