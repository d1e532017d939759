package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/listener"
)

// BenchmarkEdge measures a MOCK route through the gateway's Server over plain
// HTTP and over its TLS listener: with keep-alive (HTTP/1.1 and HTTP/2), and one
// new connection per request, with TLS session resumption and with full
// handshakes. The newconn figures are connections per second.
func BenchmarkEdge(b *testing.B) {
	dir := b.TempDir()
	files, err := edge.InitDevCA(filepath.Join(dir, "tls"), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ca, err := edge.LoadDevCA(files.Dir, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	ed, err := edge.New(context.Background(), edge.Config{CertFile: files.Cert, KeyFile: files.Key}, nil, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	gw, stagePath := benchDeploy(b, "127.0.0.1:0", mockAPI(), nil)
	gw.cfg.TLSListen = "127.0.0.1:0"
	s := NewServer(gw, nil, listener.Limits{})
	s.SetTLS(ed.TLSConfig())
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	_, port, _ := net.SplitHostPort(s.TLSAddr())
	plainURL := s.URL() + stagePath + "/mock"
	tlsURL := "https://localhost:" + port + stagePath + "/mock"

	type tlsClient struct {
		h2, keepAlive, resume bool
	}
	var resumed, handshakes atomic.Int64
	newClient := func(o tlsClient) *http.Client {
		cfg := &tls.Config{RootCAs: pool}
		if o.resume {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(512)
		}
		tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
			DisableKeepAlives: !o.keepAlive, ForceAttemptHTTP2: o.h2, TLSClientConfig: cfg}
		if !o.h2 {
			cfg.NextProtos = []string{"http/1.1"}
			tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				d := tls.Dialer{Config: cfg}
				c, err := d.DialContext(ctx, network, addr)
				if err == nil {
					handshakes.Add(1)
					if c.(*tls.Conn).ConnectionState().DidResume {
						resumed.Add(1)
					}
				}
				return c, err
			}
		}
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	b.Run("http-keepalive", func(b *testing.B) { Load(b, BenchClient(), plainURL, benchConcurrency, "") })
	b.Run("https-h1-keepalive", func(b *testing.B) {
		Load(b, newClient(tlsClient{keepAlive: true, resume: true}), tlsURL, benchConcurrency, "")
	})
	b.Run("https-h2", func(b *testing.B) {
		Load(b, newClient(tlsClient{h2: true, keepAlive: true}), tlsURL, benchConcurrency, "")
	})
	b.Run("http-newconn", func(b *testing.B) {
		Load(b, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, plainURL, benchConcurrency, "")
	})
	for _, resume := range []bool{true, false} {
		name := "https-newconn-resumed"
		if !resume {
			name = "https-newconn-full"
		}
		b.Run(name, func(b *testing.B) {
			resumed.Store(0)
			handshakes.Store(0)
			Load(b, newClient(tlsClient{resume: resume}), tlsURL, benchConcurrency, "")
			if n := handshakes.Load(); n > 0 {
				b.ReportMetric(100*float64(resumed.Load())/float64(n), "%resumed")
			}
		})
	}
}
