package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/internal/testkit/h2conform"
)

// TestServerListenerLimits runs slow and oversized clients against the gateway's
// own Server, built with short listener limits: a client that stops halfway
// through its header and one whose body trickles are disconnected, an
// oversized header gets 431, and a well-behaved call still works.
func TestServerListenerLimits(t *testing.T) {
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	created := gwtest.Deploy(t, svc, mockAPI(), apis.DeployInput{StageName: "s"})
	gw := New(Config{Listen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second, BodyTimeout: 2 * time.Second, IdleTimeout: time.Minute})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })

	path := "/" + created.ID + "/s/mock"
	t.Run("half a header", func(t *testing.T) {
		if got := listenertest.SendAndWaitClosed(t, s.Addr(), "GET "+path+" HTTP/1.1\r\nHost: x\r\nX-Slo"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("a body that never comes", func(t *testing.T) {
		if got := listenertest.SendAndWaitClosed(t, s.Addr(), "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"a\":"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("oversized header", func(t *testing.T) {
		if got := listenertest.HeaderStatus(t, s.URL()+path, 64<<10); got != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KB header: %d, want 431", got)
		}
	})
	t.Run("a normal call", func(t *testing.T) {
		res, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}

// TestTLSListenerLimits runs the same clients over the TLS listener, whose
// HTTP/1.1 connections h1 serves: the header and body timeouts close them,
// an oversized header gets 431, and a well-behaved call works (HTTP/1.1 and
// HTTP/2).
func TestTLSListenerLimits(t *testing.T) {
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	created := gwtest.Deploy(t, svc, mockAPI(), apis.DeployInput{StageName: "s"})
	gw := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second, BodyTimeout: 2 * time.Second, IdleTimeout: time.Minute})
	cert := testkit.SelfSigned(t)
	s.SetTLS(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(leaf)
	_, port, _ := net.SplitHostPort(s.TLSAddr())
	base := "https://localhost:" + port + "/" + created.ID + "/s/mock"
	sendAndWaitClosed := func(raw string) string {
		t.Helper()
		c, err := tls.Dial("tcp", "localhost:"+port, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		return listenertest.WaitClosed(t, c)
	}
	path := "/" + created.ID + "/s/mock"
	t.Run("half a header", func(t *testing.T) {
		if got := sendAndWaitClosed("GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Slo"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("a body that never comes", func(t *testing.T) {
		if got := sendAndWaitClosed("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"a\":"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	h1Client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}}
	h2Client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	defer h1Client.CloseIdleConnections()
	defer h2Client.CloseIdleConnections()
	t.Run("oversized header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, base, nil)
		req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
		res, err := h1Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KB header: %d, want 431", res.StatusCode)
		}
	})
	for _, c := range []struct {
		name   string
		client *http.Client
		major  int
	}{{"a normal call over HTTP/1.1", h1Client, 1}, {"a normal call over HTTP/2", h2Client, 2}} {
		t.Run(c.name, func(t *testing.T) {
			res, err := c.client.Get(base)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK || res.ProtoMajor != c.major {
				t.Fatalf("status %d over %s", res.StatusCode, res.Proto)
			}
		})
	}
}

// TestTLSListenerHTTP2Conformance runs h2spec against the TLS listener as the
// gateway wires it (the default engine: internal/h2 behind the handshake
// listener, the listener limits) on an HTTP_PROXY route whose backend reads
// the request body: every case must pass. (A route that answers without
// reading the body, MOCK, may answer before a malformed body arrives; the
// stream is then over, and h2spec's content-length cases see no error.)
func TestTLSListenerHTTP2Conformance(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok, h2spec\n") // 5 bytes or more: no case skips
	}))
	t.Cleanup(backend.Close)
	_, svc := gwtest.APIs(t)
	created := gwtest.Deploy(t, svc, &apis.API{Name: "p", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/{proxy}"}},
	}}}, apis.DeployInput{StageName: "s"})
	gw := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{})
	s.SetTLS(&tls.Config{Certificates: []tls.Certificate{testkit.SelfSigned(t)}, NextProtos: []string{"h2", "http/1.1"}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	h2conform.Run(t, s.TLSAddr(), "/"+created.ID+"/s/x")
}
