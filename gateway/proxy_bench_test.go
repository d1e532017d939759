package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/metrics"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/testkit"
)

// rawBackend listens on loopback and answers every request head it reads with
// the 20-byte JSON answer of the side-by-side script's floor server, without
// allocating per request, so that a benchmark's allocations are the gateway's.
// It serves GETs without bodies only.
func rawBackend(tb testing.TB) string { return rawBackendOver(tb, nil) }

// rawBackendOver is rawBackend over TLS with cfg (an https:// URL), or plain
// when cfg is nil.
func rawBackendOver(tb testing.TB, cfg *tls.Config) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	scheme := "http://"
	if cfg != nil {
		ln, scheme = tls.NewListener(ln, cfg), "https://"
	}
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\nDate: Mon, 30 Nov 2026 23:54:02 GMT\r\n\r\n{\"ok\":true,\"n\":1234}")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = c.Close() }()
				buf := make([]byte, 16<<10)
				out := make([]byte, 0, 16*len(answer))
				state := 0 // bytes of "\r\n\r\n" matched so far
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					out = out[:0]
					for _, ch := range buf[:n] {
						switch ch {
						case "\r\n\r\n"[state]:
							state++
						case '\r':
							state = 1
						default:
							state = 0
						}
						if state == 4 {
							out = append(out, answer...)
							state = 0
						}
					}
					if len(out) > 0 {
						if _, err := c.Write(out); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return scheme + ln.Addr().String()
}

// proxyBenchGateway deploys an HTTP_PROXY route GET /proxy to backend on a
// gateway with the controls the side-by-side script runs with (the account
// throttle, high enough never to refuse, and the metrics stage).
func proxyBenchGateway(tb testing.TB, backend string) (*Gateway, string) {
	tb.Helper()
	a := &apis.API{Name: "bench", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend + "/"}},
	}}}
	gw, stagePath := benchDeploy(tb, "127.0.0.1:0", a, nil)
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	gw.Use(throttle.New(throttle.Config{RateLimit: 1e9, BurstLimit: 1e9}, nil), m)
	return gw, stagePath + "/proxy"
}

// discardWriter is a ResponseWriter that keeps nothing but the status, and
// whose header map is reused.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// BenchmarkProxyRoute measures an HTTP_PROXY route with the side-by-side
// script's controls on (account throttle, metrics) to a backend that does not
// allocate:
//
//   - handler: Gateway.ServeHTTP into a writer that allocates nothing, so
//     allocs/op is the gateway's own per request (the benchmark adds two: the
//     request's cancellable context and its copy, as a server makes them);
//   - server: the gateway's Server on loopback driven by 32 keep-alive clients
//     that write raw requests and read raw answers (allocs/op is the whole
//     process's per request: the server, the gateway and its backend client).
//
// Profile either with -cpuprofile.
func BenchmarkProxyRoute(b *testing.B) {
	backend := rawBackend(b)
	b.Run("handler", func(b *testing.B) {
		gw, path := proxyBenchGateway(b, backend)
		handlerLoad(b, gw, path, 20)
	})
	b.Run("server", func(b *testing.B) {
		gw, path := proxyBenchGateway(b, backend)
		serverLoad(b, gw, path)
	})
	// An https backend: net/http's transport and crypto/tls, not the fast
	// proxy.
	cert := testkit.SelfSigned(b)
	tlsBackend := rawBackendOver(b, &tls.Config{Certificates: []tls.Certificate{cert}})
	b.Run("server-https-backend", func(b *testing.B) {
		gw, path := proxyBenchGateway(b, tlsBackend)
		gw.trustBackends(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the benchmark's own certificate
		serverLoad(b, gw, path)
	})
	// The same one request at a time: the path's wake-ups, which a loaded
	// server hides.
	b.Run("server-https-backend-seq", func(b *testing.B) {
		gw, path := proxyBenchGateway(b, tlsBackend)
		gw.trustBackends(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the benchmark's own certificate
		srv := NewServer(gw, nil, listener.Limits{})
		if err := srv.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = srv.Stop(context.Background()) })
		rawLoad(b, srv.Addr(), path, 1)
	})
}

// handlerLoad serves GET path with gw.ServeHTTP b.N times into a writer that
// allocates nothing, each request with a cancellable context as a server gives
// it, and fails on any answer but a 200 of wantBytes.
func handlerLoad(b *testing.B, gw *Gateway, path string, wantBytes int) {
	b.Helper()
	base := httptest.NewRequest(http.MethodGet, path, nil)
	base.RemoteAddr = "127.0.0.1:40000"
	base.Header.Set("User-Agent", "wrk")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		r := base.WithContext(ctx)
		clear(w.h)
		w.status, w.n = 0, 0
		gw.ServeHTTP(w, r)
		cancel()
		if w.status != http.StatusOK || w.n != wantBytes {
			b.Fatalf("status %d, %d bytes", w.status, w.n)
		}
	}
}

// serverLoad runs gw's Server on loopback under rawLoad.
func serverLoad(b *testing.B, gw *Gateway, path string) {
	b.Helper()
	srv := NewServer(gw, nil, listener.Limits{})
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Stop(context.Background()) })
	rawLoad(b, srv.Addr(), path, benchConcurrency)
}

// rawLoad sends b.N keep-alive GETs of path to addr from conc connections,
// each request written raw and its answer read by Content-Length, and fails on
// any answer but 200. It reports the process's CPU time per request.
func rawLoad(b *testing.B, addr, path string, conc int) {
	b.Helper()
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: wrk\r\n\r\n")
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, conc)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		b.Cleanup(func() { _ = c.Close() })
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(c, 8<<10)
			body := make([]byte, 4<<10)
			for next.Add(1) <= int64(b.N) {
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write(req); err != nil {
					failed.Add(1)
					return
				}
				status, length := 0, -1
				for first := true; ; first = false {
					line, err := br.ReadSlice('\n')
					if err != nil {
						failed.Add(1)
						return
					}
					line = bytes.TrimRight(line, "\r\n")
					if len(line) == 0 {
						break
					}
					if first && len(line) >= 12 {
						status, _ = strconv.Atoi(string(line[9:12]))
					} else if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
						length, _ = strconv.Atoi(string(v))
					}
				}
				if status != http.StatusOK || length < 0 || length > len(body) {
					failed.Add(1)
					return
				}
				if _, err := io.ReadFull(br, body[:length]); err != nil {
					failed.Add(1)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d connections failed", n)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMockRoute is BenchmarkProxyRoute's MOCK twin: the side-by-side
// script's MOCK route (GET /mock, a static JSON answer) with the same controls
// on (account throttle, metrics), as "handler" (Gateway.ServeHTTP into a writer
// that allocates nothing: allocs/op is the gateway's own, plus the benchmark's
// two) and "server" (the gateway's Server under 32 raw keep-alive clients:
// allocs/op and cpu-ns/op are the whole process's per request).
func BenchmarkMockRoute(b *testing.B) {
	setup := func(b *testing.B) (*Gateway, string) {
		gw, stagePath := benchDeploy(b, "127.0.0.1:0", mockAPI(), nil)
		m, err := metrics.New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		gw.Use(throttle.New(throttle.Config{RateLimit: 1e9, BurstLimit: 1e9}, nil), m)
		return gw, stagePath + "/mock"
	}
	b.Run("handler", func(b *testing.B) {
		gw, path := setup(b)
		handlerLoad(b, gw, path, len(`{"ok":true}`))
	})
	b.Run("server", func(b *testing.B) {
		gw, path := setup(b)
		serverLoad(b, gw, path)
	})
}
