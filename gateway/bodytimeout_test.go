package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestBodyCutOff sends request bodies that never arrive whole to the gateway's
// HTTP/1.1 listeners (plain and TLS), on a MOCK route and an HTTP_PROXY route
// (and HTTP/2 on the TLS listener, which answers the same):
// a body the client stops sending is answered 408 in API Gateway's error shape
// once the body timeout passes, with Connection: close, and the connection
// closes; a body cut short by the client ending its side of the connection is
// not answered at all. Never a 200, and the backend never receives a whole
// request. The plain listener is tried under each engine that reads bodies
// itself (h1, the default, and net/http, whose server answered both with an
// empty 200: it cancels the request's context on the failed read, and answers
// 200 for a handler that wrote nothing).
func TestBodyCutOff(t *testing.T) {
	var whole atomic.Int32 // requests the backend read to their end
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err == nil {
			whole.Add(1)
		}
		_, _ = io.WriteString(w, "backend")
	}))
	t.Cleanup(backend.Close)
	_, svc := gwtest.APIs(t)
	created := gwtest.Deploy(t, svc, &apis.API{Name: "slow", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}}}}},
		{Method: "POST", Path: "/proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/x",
			// The proxy bounds the client's body by the integration timeout (it
			// streams the body to the backend): one as short as the body timeout.
			TimeoutInMillis: 1000}},
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
	std := NewServer(New(Config{Listen: "127.0.0.1:0", TLSListen: "off", Engine: EngineNetHTTP}, svc, nil, nil, nil), nil, listener.Limits{BodyTimeout: time.Second})
	if err := std.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = std.Stop(context.Background()) })
	dial := map[string]func(t *testing.T) net.Conn{
		"plain":         func(t *testing.T) net.Conn { return listenertest.Dial(t, s.Addr()) },
		"plain-nethttp": func(t *testing.T) net.Conn { return listenertest.Dial(t, std.Addr()) },
		"tls": func(t *testing.T) net.Conn {
			c, err := tls.Dial("tcp", "localhost:"+tlsPort, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		},
	}
	for _, listenerName := range []string{"plain", "plain-nethttp", "tls"} {
		for _, route := range []string{"mock", "proxy"} {
			head := "POST /" + created.ID + "/s/" + route + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"a\":"
			t.Run(listenerName+"/"+route+"/stalled", func(t *testing.T) {
				c := dial[listenerName](t)
				if _, err := io.WriteString(c, head); err != nil {
					t.Fatal(err)
				}
				got := listenertest.WaitClosed(t, c)
				res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
				if err != nil {
					t.Fatalf("answer %q: %v", got, err)
				}
				body, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				var msg struct{ Message string }
				if res.StatusCode != http.StatusRequestTimeout || !res.Close || json.Unmarshal(body, &msg) != nil || msg.Message == "" ||
					res.Header.Get("X-Amzn-Errortype") != "RequestTimeoutException" {
					t.Fatalf("answer %q, want 408 {\"message\": ...} with Connection: close", got)
				}
			})
			t.Run(listenerName+"/"+route+"/half-closed", func(t *testing.T) {
				c := dial[listenerName](t)
				if _, err := io.WriteString(c, head); err != nil {
					t.Fatal(err)
				}
				if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if got := listenertest.WaitClosed(t, c); got != "" {
					t.Fatalf("answered %q to a client that stopped sending, want nothing", got)
				}
			})
		}
	}
	t.Run("h2/mock/stalled", func(t *testing.T) {
		// HTTP/2 answers on the stream (the connection stays).
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
		defer c.CloseIdleConnections()
		pr, pw := io.Pipe()
		defer func() { _ = pw.Close() }()
		go func() { _, _ = io.WriteString(pw, `{"a":`) }()
		req, err := http.NewRequest(http.MethodPost, "https://localhost:"+tlsPort+"/"+created.ID+"/s/mock", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 5000
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.ProtoMajor != 2 || res.StatusCode != http.StatusRequestTimeout || res.Header.Get("X-Amzn-Errortype") != "RequestTimeoutException" {
			t.Fatalf("%s %d %q, want HTTP/2 408", res.Proto, res.StatusCode, body)
		}
	})
	if n := whole.Load(); n != 0 {
		t.Fatalf("the backend read %d requests whole", n)
	}
}
