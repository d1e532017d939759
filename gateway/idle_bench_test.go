package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/wsload"
)

// BenchmarkIdleKeepAlive measures what an idle keep-alive connection costs the
// h1 engine: N clients (PORTICO_IDLE_KA, default 2000) each send one request
// to a MOCK route over plain HTTP, HTTPS/1.1 or HTTP/2 and stay connected. Reported
// per connection: the Go heap and stacks in use after two collections (the
// in-process clients' share included, the same in both cases) and the
// server's goroutines; "awake" keeps every connection's goroutine (dormantAfter 0),
// "dormant" lets idle connections wait in the idle poller (h1.Options.DormantAfter).
// Every connection then answers a second request.
func BenchmarkIdleKeepAlive(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("PORTICO_IDLE_KA")); err == nil && v > 0 {
		n = v
	}
	if err := wsload.RaiseNoFile(uint64(2*n) + 64); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	files, err := edge.InitDevCA(filepath.Join(dir, "tls"), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ed, err := edge.New(context.Background(), edge.Config{CertFile: files.Cert, KeyFile: files.Key}, nil, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	saved := dormantAfter
	defer func() { dormantAfter = saved }()
	for _, proto := range []string{"http", "https", "h2"} {
		for _, mode := range []string{"awake", "dormant"} {
			b.Run(proto+"-"+mode, func(b *testing.B) {
				dormantAfter = 0
				if mode == "dormant" {
					dormantAfter = 20 * time.Millisecond
				}
				gw, stagePath := benchDeploy(b, "127.0.0.1:0", mockAPI(), nil)
				gw.cfg.TLSListen = "127.0.0.1:0"
				s := NewServer(gw, nil, listener.Limits{})
				s.SetTLS(ed.TLSConfig())
				if err := s.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer func() { _ = s.Stop(context.Background()) }()
				addr := s.Addr()
				var tlsCfg *tls.Config
				switch proto {
				case "https":
					addr = s.TLSAddr()
					tlsCfg = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}} //nolint:gosec // the benchmark's own CA
				case "h2":
					addr = s.TLSAddr()
					tlsCfg = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}} //nolint:gosec // the benchmark's own CA
				}
				req := "GET " + stagePath + "/mock HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
				if proto == "h2" {
					req = "https://" + addr + stagePath + "/mock"
				}
				heap0, stack0, g0 := idleMem()
				clients := make([]*idleClient, n)
				var wg sync.WaitGroup
				sem := make(chan struct{}, 32)
				errs := make(chan error, n)
				for i := range clients {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						c, err := dialIdle(addr, tlsCfg)
						if err == nil {
							err = c.get(req)
						}
						if err != nil {
							errs <- err
							return
						}
						clients[i] = c
					}()
				}
				wg.Wait()
				close(errs)
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
				defer func() {
					for _, c := range clients {
						_ = c.Close()
					}
				}()
				// An HTTP/2 client connection has a goroutine of its own.
				clientG := 0
				if proto == "h2" {
					clientG = n
				}
				if mode == "dormant" {
					// Each connection has a goroutine until a sweep finds it idle.
					for i := 0; runtime.NumGoroutine() > g0+clientG+n/10; i++ {
						if i == 1000 {
							b.Fatalf("%d goroutines for %d connections: they did not go dormant", runtime.NumGoroutine()-g0-clientG, n)
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
				heap1, stack1, g1 := idleMem()
				for range b.N {
				}
				b.ReportMetric(float64(heap1+stack1-heap0-stack0)/float64(n), "B/conn")
				b.ReportMetric(float64(stack1-stack0)/float64(n), "stack-B/conn")
				b.ReportMetric(float64(g1-g0-clientG)/float64(n), "goroutines/conn")
				for i, c := range clients {
					if err := c.get(req); err != nil {
						b.Fatalf("connection %d, second request: %v", i, err)
					}
				}
			})
		}
	}
}

// idleMem collects garbage twice (sync.Pool's caches go with the second) and
// returns the heap and stacks in use and the goroutines.
func idleMem() (heap, stack uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
}

// idleClient is one connection: HTTP/1.1 (req is the request's bytes) or
// HTTP/2 (cc; req is the URL).
type idleClient struct {
	c  net.Conn
	br *bufio.Reader
	cc *http.ClientConn
}

func dialIdle(addr string, cfg *tls.Config) (*idleClient, error) {
	if cfg != nil && cfg.NextProtos[0] == "h2" {
		var p http.Protocols
		p.SetHTTP2(true)
		tr := &http.Transport{TLSClientConfig: cfg, Protocols: &p}
		cc, err := tr.NewClientConn(context.Background(), "https", addr)
		if err != nil {
			return nil, err
		}
		return &idleClient{cc: cc}, nil
	}
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.Dial("tcp", addr, cfg)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return &idleClient{c: c, br: bufio.NewReaderSize(c, 512)}, nil
}

// Close closes the connection.
func (c *idleClient) Close() error {
	if c.cc != nil {
		return c.cc.Close()
	}
	return c.c.Close()
}

func (c *idleClient) get(req string) error {
	var resp *http.Response
	var err error
	if c.cc != nil {
		r, _ := http.NewRequest(http.MethodGet, req, nil)
		resp, err = c.cc.RoundTrip(r)
	} else {
		if _, err := io.WriteString(c.c, req); err != nil {
			return err
		}
		resp, err = http.ReadResponse(c.br, nil)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
