package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestH2UnfinishedHeaderBlockEnds: the TLS listener's HTTP/2 has a bound on
// a header block as HTTP/1.1 has on a head: a client that opens a stream with
// HEADERS and never ends the block (CONTINUATION frames of a byte each that
// keep coming) has its connection ended, under every engine that serves
// HTTP/2 (h1's: internal/h2, by listener: header-timeout; net/http's, by its
// idle-timeout, as docs/operations.md says), not held open for as long as the
// client trickles.
func TestH2UnfinishedHeaderBlockEnds(t *testing.T) {
	t.Parallel()
	_, svc := gwtest.APIs(t)
	cert := testkit.SelfSigned(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			// A second each: time for a handshake under -race on a loaded machine.
			s := NewServer(New(Config{Listen: ListenOff, TLSListen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil), nil,
				listener.Limits{HeaderTimeout: time.Second, IdleTimeout: time.Second})
			s.SetTLS(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Stop(context.Background()) })
			_, port, _ := net.SplitHostPort(s.TLSAddr())
			addr := "localhost:" + port
			conn, fr := rawH2Dial(t, addr, pool)
			defer func() { _ = conn.Close() }()
			_ = conn.SetDeadline(time.Now().Add(2 * time.Minute)) // a safety net: the server must end it first
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", addr}, {":path", "/"}} {
				_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: bytes.Clone(block.Bytes()), EndStream: true}); err != nil {
				t.Fatal(err)
			}
			// Then a field sent a byte at a time, never the block's end (it
			// would take minutes to send whole).
			block.Reset()
			_ = enc.WriteField(hpack.HeaderField{Name: "x-slow", Value: strings.Repeat("v", 10000)})
			field := bytes.Clone(block.Bytes())
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for _, b := range field {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if fr.WriteContinuation(1, false, []byte{b}) != nil {
						return
					}
				}
			}()
			for {
				f, err := fr.ReadFrame()
				if ga, ok := f.(*http2.GoAwayFrame); ok && ga.ErrCode != http2.ErrCodeNo {
					t.Fatalf("GOAWAY %v: the block was refused as malformed, not ended for its time", ga.ErrCode)
				}
				if err == nil {
					continue // SETTINGS, its acknowledgement, GOAWAY NO_ERROR: the close is what counts
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("the connection was still open after the safety net's two minutes: %v", err)
				}
				return // closed by the server
			}
		})
	}
}
