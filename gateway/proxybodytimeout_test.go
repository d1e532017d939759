package gateway

import (
	"bufio"
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
)

// TestProxyBodyTimeoutShorterThanIntegration: on an HTTP_PROXY route whose
// integration timeout (REST's default, 29 s) is longer than the listener's
// body-timeout, a body the client stops sending is answered 408 at the
// body-timeout, as on the other route types, over HTTP/1.1 (plain and TLS) and
// HTTP/2. The fast proxy used to replace the listener's read deadline with the
// integration's, so the stalled upload held the request (and a backend
// exchange) for the whole integration timeout; the client here waits less than
// that (listenertest.Bound, a safety net).
func TestProxyBodyTimeoutShorterThanIntegration(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "backend")
	}))
	t.Cleanup(backend.Close)
	_, svc := gwtest.APIs(t)
	created := gwtest.Deploy(t, svc, &apis.API{Name: "slow", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/x"}},
	}}}, apis.DeployInput{StageName: "s"})
	gw := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{BodyTimeout: time.Second})
	cert := testkit.SelfSigned(t)
	s.SetTLS(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(leaf)
	_, tlsPort, _ := net.SplitHostPort(s.TLSAddr())
	path := "/" + created.ID + "/s/proxy"
	head := "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"a\":"
	for name, dial := range map[string]func(t *testing.T) net.Conn{
		"plain": func(t *testing.T) net.Conn { return listenertest.Dial(t, s.Addr()) },
		"tls": func(t *testing.T) net.Conn {
			c, err := tls.Dial("tcp", "localhost:"+tlsPort, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t)
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			got := listenertest.WaitClosed(t, c)
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
			if err != nil {
				t.Fatalf("answer %q: %v", got, err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("X-Amzn-Errortype") != "RequestTimeoutException" {
				t.Fatalf("answer %q, want 408 RequestTimeoutException", got)
			}
		})
	}
	t.Run("h2", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
		defer c.CloseIdleConnections()
		pr, pw := io.Pipe()
		defer func() { _ = pw.Close() }()
		go func() { _, _ = io.WriteString(pw, `{"a":`) }()
		ctx, cancel := context.WithTimeout(context.Background(), listenertest.Bound) // a safety net
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://localhost:"+tlsPort+path, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 5000
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("no answer before the integration timeout: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.ProtoMajor != 2 || res.StatusCode != http.StatusRequestTimeout || res.Header.Get("X-Amzn-Errortype") != "RequestTimeoutException" {
			t.Fatalf("%s %d %q, want HTTP/2 408", res.Proto, res.StatusCode, body)
		}
	})
}
