//go:build linux

package gateway

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/testkit"
)

// sweeper is what TestDormantConnectionsServed drives of h1's and h2's
// servers.
type sweeper interface {
	Sweep(now time.Time)
	Dormant() int
}

// TestDormantConnectionsServed: through the gateway as wired, an idle
// keep-alive connection over plain HTTP/1.1, HTTPS/1.1 and HTTP/2 goes dormant
// when its server's sweep finds it idle twice (the sweep's clock is the
// test's), and its next request, to a MOCK route, is answered on the same
// connection, which is then awake.
func TestDormantConnectionsServed(t *testing.T) {
	gw, stagePath := benchDeploy(t, "127.0.0.1:0", mockAPI(), nil)
	gw.cfg.TLSListen = "127.0.0.1:0"
	s := NewServer(gw, nil, listener.Limits{})
	s.SetTLS(&tls.Config{Certificates: []tls.Certificate{testkit.SelfSigned(t)}, NextProtos: []string{"h2", "http/1.1"}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	for _, tc := range []struct {
		name     string
		addr     string
		proto    string // ALPN; "" for plain
		srv      sweeper
		listener string // in Connections
	}{
		{"http", s.Addr(), "", s.h1, ListenerHTTP},
		{"https", s.TLSAddr(), "http/1.1", s.tlsH1, ListenerHTTPS},
		{"h2", s.TLSAddr(), "h2", s.tlsH2, ListenerHTTPS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *tls.Config
			if tc.proto != "" {
				cfg = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{tc.proto}} //nolint:gosec // the test's own certificate
			}
			req := "GET " + stagePath + "/mock HTTP/1.1\r\nHost: " + tc.addr + "\r\n\r\n"
			if tc.proto == "h2" {
				req = "https://" + tc.addr + stagePath + "/mock"
			}
			c, err := dialIdle(tc.addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for round := range 2 {
				if err := c.get(req); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if n := tc.srv.Dormant(); n != 0 {
					t.Fatalf("round %d: %d dormant connections right after a request", round, n)
				}
				for i := 0; tc.srv.Dormant() != 1; i++ {
					if i == 5000 {
						t.Fatalf("round %d: the idle connection did not go dormant", round)
					}
					tc.srv.Sweep(time.Now())
					time.Sleep(2 * time.Millisecond)
				}
				// What the admin API's stats report: the dormant
				// connection, on its listener.
				lc := listenerConns(t, s, tc.listener)
				if lc.Dormant < 1 || lc.Open < lc.Dormant || lc.Addr != tc.addr {
					t.Fatalf("round %d: Connections reports %+v for the dormant connection", round, lc)
				}
			}
			if err := c.get(req); err != nil {
				t.Fatalf("after dormancy: %v", err)
			}
			if n := tc.srv.Dormant(); n != 0 {
				t.Fatalf("%d dormant connections after the connection's request was answered", n)
			}
		})
	}
}

// listenerConns returns what s.Connections reports for the named listener.
func listenerConns(t *testing.T, s *Server, name string) ListenerConns {
	t.Helper()
	for _, lc := range s.Connections() {
		if lc.Listener == name {
			return lc
		}
	}
	t.Fatalf("Connections lists no %q listener: %+v", name, s.Connections())
	return ListenerConns{}
}
