package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestGlobalOptionsAnsweredAsTheGateway: `OPTIONS * HTTP/1.1` was answered
// 200 with Content-Length 0 and nothing else (net/http's answer), without the
// x-amzn-RequestId every gateway answer carries. It is the gateway's answer
// for a target no API serves, as over HTTP/2, on the plain listener and the
// TLS listener's HTTP/1.1 alike, and under the other listener engines.
func TestGlobalOptionsAnsweredAsTheGateway(t *testing.T) {
	_, s, pool, tlsPort := startStopTest(t, listener.Limits{})
	conn, fr := rawH2Dial(t, "localhost:"+tlsPort, pool)
	defer func() { _ = conn.Close() }()
	rawH2Headers(t, fr, "localhost:"+tlsPort, "OPTIONS", "*", true)
	want := rawH2Answer(t, fr, false)
	wantBody, _ := io.ReadAll(want.Body)
	_ = want.Body.Close()
	if want.StatusCode < 400 || want.Header.Get("X-Amzn-Requestid") == "" || want.Header.Get("X-Amzn-Errortype") == "" {
		t.Fatalf("HTTP/2 OPTIONS *: %d %q %v, want the gateway's refusal", want.StatusCode, wantBody, want.Header)
	}
	_, svc := gwtest.APIs(t)
	addrs := map[string]string{"h1": s.Addr(), "h1/tls": "localhost:" + tlsPort}
	for _, engine := range []string{EngineNetHTTP, EngineNbio} {
		es := NewServer(New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil), nil, listener.Limits{})
		if err := es.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = es.Stop(context.Background()) })
		addrs[engine] = es.Addr()
	}
	for name, addr := range addrs {
		var c net.Conn
		if name == "h1/tls" {
			tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			c = tc
		} else {
			c = listenertest.Dial(t, addr)
		}
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		_ = c.Close()
		if res.StatusCode != want.StatusCode || string(b) != string(wantBody) || res.Header.Get("X-Amzn-Requestid") == "" ||
			res.Header.Get("X-Amzn-Errortype") != want.Header.Get("X-Amzn-Errortype") || res.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
			t.Errorf("OPTIONS * (%s): %d %q %v, want HTTP/2's %d %q %v", name, res.StatusCode, b, res.Header, want.StatusCode, wantBody, want.Header)
		}
	}
}
