package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/net/http2"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestMutualTLSTurnedOnClosesConnectionsWithoutACertificate turns mutual TLS
// on for a domain that HTTP/1.1 and HTTP/2 clients without a certificate are
// connected to: their next request gets 403 and the connection closes
// (HTTP/2: GOAWAY), as when a truststore is replaced, so that the client's
// next connection goes through the handshake the domain now asks for; under
// every listener engine.
func TestMutualTLSTurnedOnClosesConnectionsWithoutACertificate(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(engine, func(t *testing.T) {
			e := newTLSEnv(t, Config{Engine: engine}, edge.Config{})
			ctx := context.Background()
			const name = "open.example.com"
			rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
			if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: rest, Stage: "prod"}); err != nil {
				t.Fatal(err)
			}
			get := func(c *http.Client) (status int, reused, closed bool, err error) {
				req, _ := http.NewRequest("GET", "https://"+name+"/pets", nil)
				req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
					GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
				}))
				resp, err := c.Do(req)
				if err != nil {
					return 0, reused, false, err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				return resp.StatusCode, reused, resp.Close, nil
			}
			h1c, h1closed := e.watchedClient(false)
			h2c, h2closed := e.watchedClient(true)
			for _, c := range []*http.Client{h1c, h2c} {
				if st, _, _, err := get(c); err != nil || st != 200 {
					t.Fatalf("before mutual TLS: %d %v", st, err)
				}
			}
			ca, err := edge.NewDevCA(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.edge.UpdateDomain(ctx, name, func(d *edge.Domain) error {
				d.TruststorePEM, d.TruststoreURI = ca.CertPEM, "file:///truststore.pem"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for i, c := range []*http.Client{h1c, h2c} {
				h2 := i == 1
				st, reused, closed, err := get(c)
				if err != nil || !reused || st != 403 {
					t.Fatalf("h2 %v: the open connection after mutual TLS was turned on: %d reused %v %v", h2, st, reused, err)
				}
				if !h2 && !closed {
					t.Errorf("HTTP/1.1: the 403 did not say Connection: close")
				}
				// The server closes the connection (HTTP/2: after a GOAWAY).
				select {
				case <-[]chan struct{}{h1closed, h2closed}[i]:
				case <-time.After(10 * time.Second):
					t.Fatalf("h2 %v: the connection without a certificate is still open", h2)
				}
			}
		})
	}
}

// watchedClient is client(h2) for a client that makes one connection; the
// channel closes when the connection is gone: the server closed it, or the
// client did, as a response with Connection: close asks.
func (e *tlsEnv) watchedClient(h2 bool) (*http.Client, chan struct{}) {
	c := e.client(h2)
	closed := make(chan struct{})
	tr := c.Transport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &watchedConn{Conn: nc, closed: closed}, nil
	}
	return c, closed
}

// watchedConn closes closed when a read fails (the peer closed the connection)
// or the client closes it (after a response with Connection: close).
type watchedConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() { close(c.closed) })
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestMutualTLSHostOverAnotherNamesConnectionIsMisdirected sends requests whose
// Host names a mutual TLS domain over TLS connections made for other names (a
// wildcard domain without mutual TLS whose certificate covers the name, the
// default certificate): 421 Misdirected Request (RFC 9110 section 15.5.20), so
// that a client sharing connections between names retries on one of the
// domain's own; over plain HTTP it stays 403.
func TestMutualTLSHostOverAnotherNamesConnectionIsMisdirected(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	for _, d := range []edge.Domain{
		{Name: "secure.example.com", TruststorePEM: clientCA.CertPEM, TruststoreURI: "file:///truststore.pem"},
		{Name: "*.example.com"},
	} {
		if _, err := e.edge.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: d.Name, APIID: rest, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	good := clientPair(t, clientCA, "alice")
	for _, h2 := range []bool{false, true} {
		c := e.client(h2, good)
		if a := e.get(c, "https://secure.example.com/pets"); a.status != 200 {
			t.Fatalf("h2 %v: the domain's own connection: %d %s", h2, a.status, a.body)
		}
		for _, u := range []string{"https://other.example.com/pets", "https://localhost/pets"} {
			req, _ := http.NewRequest("GET", u, nil)
			req.Host = "secure.example.com"
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest || string(b) != `{"message":"Misdirected Request"}` {
				t.Errorf("h2 %v: Host secure.example.com over a connection for %s: %d %s, want 421", h2, req.URL.Host, resp.StatusCode, b)
			}
		}
		// The connection made for the wildcard's name still serves it.
		if a := e.get(c, "https://other.example.com/pets"); a.status != 200 {
			t.Errorf("h2 %v: the wildcard's own request after a 421: %d %s", h2, a.status, a.body)
		}
	}
	req, _ := http.NewRequest("GET", "http://"+e.srv.Addr()+"/pets", nil)
	req.Host = "secure.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("Host of an mTLS domain over plain HTTP: %d, want 403", resp.StatusCode)
	}
}

// TestClientCertificateConnectionServesItsDomainOnly sends, over a connection
// whose client certificate a mutual TLS domain verified, requests whose Host
// names another custom domain (without mutual TLS), an API's host-style
// default endpoint or the gateway's own address (path-style): each is 421
// Misdirected Request and reaches no function, so that the certificate never
// appears as clientCert in an API the domain's truststore does not guard; the
// domain's own requests still carry it. Once the domain stops requiring
// mutual TLS, its own request over that connection is refused (403) and the
// connection closed; once the domain is gone, every host is 421.
func TestClientCertificateConnectionServesItsDomainOnly(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	const secure = "secure.example.com"
	for _, d := range []edge.Domain{
		{Name: secure, TruststorePEM: clientCA.CertPEM, TruststoreURI: "file:///truststore.pem"},
		{Name: "plain.example.com"},
	} {
		if _, err := e.edge.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: d.Name, APIID: rest, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	good := clientPair(t, clientCA, "alice")
	do := func(c *http.Client, host, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+secure+path, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	others := []struct{ host, path string }{
		{"plain.example.com", "/pets"},
		{"PLAIN.example.com.:443", "/pets"},
		{rest + ".execute-api.localhost", "/prod/pets"},
		{"localhost", "/" + rest + "/prod/pets"},
	}
	for _, h2 := range []bool{false, true} {
		c := e.client(h2, good)
		if st, b := do(c, secure, "/pets"); st != 200 {
			t.Fatalf("h2 %v: the domain's own request: %d %s", h2, st, b)
		}
		if got := str2(e.lastEvent(), "requestContext", "identity", "clientCert", "subjectDN"); !strings.HasSuffix(got, "CN=alice") {
			t.Errorf("h2 %v: the domain's own request: clientCert subjectDN %q, want CN=alice", h2, got)
		}
		for _, o := range others {
			n := e.inv.count()
			st, b := do(c, o.host, o.path)
			if st != http.StatusMisdirectedRequest || b != `{"message":"Misdirected Request"}` {
				t.Errorf("h2 %v: Host %s over the connection verified for %s: %d %s, want 421", h2, o.host, secure, st, b)
			}
			if e.inv.count() != n {
				t.Errorf("h2 %v: Host %s over the connection verified for %s reached the function", h2, o.host, secure)
			}
		}
		// The connection still serves its own domain after a 421.
		if st, b := do(c, secure, "/pets"); st != 200 {
			t.Errorf("h2 %v: the domain's own request after a 421: %d %s", h2, st, b)
		}
		// The other names are served over connections of their own.
		if a := e.get(e.client(h2), "https://plain.example.com/pets"); a.status != 200 || str2(e.lastEvent(), "requestContext", "identity", "clientCert", "subjectDN") != "" {
			t.Errorf("h2 %v: plain.example.com over its own connection: %d %s", h2, a.status, a.body)
		}
	}

	// Mutual TLS turned off: the connection made with a certificate is stale.
	c := e.client(false, good)
	if st, b := do(c, secure, "/pets"); st != 200 {
		t.Fatalf("before mutual TLS was turned off: %d %s", st, b)
	}
	if _, err := e.edge.UpdateDomain(ctx, secure, func(d *edge.Domain) error {
		d.TruststorePEM, d.TruststoreURI = nil, ""
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := e.inv.count()
	if st, b := do(c, secure, "/pets"); st != 403 || e.inv.count() != n {
		t.Errorf("the domain's own request after mutual TLS was turned off, over a connection with a certificate: %d %s, want 403", st, b)
	}

	// The domain gone: nothing is served over a connection it verified.
	if _, err := e.edge.UpdateDomain(ctx, secure, func(d *edge.Domain) error {
		d.TruststorePEM, d.TruststoreURI = clientCA.CertPEM, "file:///truststore.pem"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c = e.client(true, good)
	if st, b := do(c, secure, "/pets"); st != 200 {
		t.Fatalf("mutual TLS on again: %d %s", st, b)
	}
	if err := e.edge.DeleteDomain(ctx, secure); err != nil {
		t.Fatal(err)
	}
	if st, b := do(c, rest+".execute-api.localhost", "/prod/pets"); st != http.StatusMisdirectedRequest {
		t.Errorf("a default endpoint over a connection its deleted domain verified: %d %s, want 421", st, b)
	}
}

// TestForwardedPortIsTheListeners checks X-Forwarded-Port in REST and HTTP API
// events (HTTP/1.1 and HTTP/2) and in $connect events: the port of the
// listener the request came in on, as API Gateway reports the port it
// received the request on, whatever the Host header says (no port, or
// another one); under every listener engine.
func TestForwardedPortIsTheListeners(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP, EngineNbio} {
		t.Run(engine, func(t *testing.T) {
			e := newTLSEnv(t, Config{Engine: engine}, edge.Config{})
			rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
			httpID := e.deploy(httpAPI(), "prod")
			_, tlsPort, _ := net.SplitHostPort(e.srv.TLSAddr())
			_, plainPort, _ := net.SplitHostPort(e.srv.Addr())
			port := func(ev map[string]any) string {
				if p := str2(ev, "headers", "X-Forwarded-Port"); p != "" {
					return p
				}
				return str2(ev, "headers", "x-forwarded-port")
			}
			for _, h2 := range []bool{false, true} {
				if tlsPort == "" {
					break // no TLS listener under this engine
				}
				c := e.client(h2)
				for _, id := range []string{rest, httpID} {
					for _, host := range []string{"localhost", "localhost:1"} {
						req, _ := http.NewRequest("GET", "https://localhost/"+id+"/prod/pets", nil)
						req.Host = host
						resp, err := c.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						_ = resp.Body.Close()
						if resp.StatusCode != 200 {
							t.Fatalf("h2 %v: api %s Host %s: %d", h2, id, host, resp.StatusCode)
						}
						if got := port(e.lastEvent()); got != tlsPort {
							t.Errorf("h2 %v: api %s over TLS with Host %s: X-Forwarded-Port %q, want the TLS listener's %s", h2, id, host, got, tlsPort)
						}
					}
				}
			}
			for _, id := range []string{rest, httpID} {
				for _, host := range []string{"localhost", "localhost:1"} {
					req, _ := http.NewRequest("GET", e.srv.StageURL(id, "prod")+"pets", nil)
					req.Host = host
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					_ = resp.Body.Close()
					if got := port(e.lastEvent()); got != plainPort {
						t.Errorf("api %s over plain HTTP with Host %s: X-Forwarded-Port %q, want the plain listener's %s", id, host, got, plainPort)
					}
				}
			}
			if engine == EngineNbio {
				return // no WebSockets
			}
			m := connections.New(connections.DefaultConfig(), nil)
			e.gw.EnableWebSockets(m)
			t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
			ws := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
				Routes: []apis.Route{{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}}}}}, "prod")
			for _, tc := range []struct{ url, port string }{
				{"wss://" + e.srv.TLSAddr() + "/" + ws + "/prod", tlsPort},
				{"ws://" + e.srv.Addr() + "/" + ws + "/prod", plainPort},
			} {
				d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: e.pool, ServerName: "localhost"}}
				c, resp, err := d.Dial(tc.url, http.Header{"Host": {"localhost:1"}})
				if err != nil {
					t.Fatalf("%s: %v", tc.url, err)
				}
				_ = resp.Body.Close()
				_ = c.Close()
				if got := port(e.lastEvent()); got != tc.port {
					t.Errorf("$connect at %s with Host localhost:1: X-Forwarded-Port %q, want the listener's %s", tc.url, got, tc.port)
				}
			}
		})
	}
}

// TestCustomDomainMappingChosenOnTheNormalizedPath sends paths with dot
// segments to a custom domain that maps (none) and v2 to two APIs: the
// mapping is chosen on the path with its dot segments resolved, over TLS and
// over the plain listener, and a path that climbs above the domain's root is
// 400.
func TestCustomDomainMappingChosenOnTheNormalizedPath(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	restA := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	restB := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	const name = "api.example.com"
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []edge.Mapping{{Domain: name, Key: "(none)", APIID: restA, Stage: "prod"}, {Domain: name, Key: "v2", APIID: restB, Stage: "prod"}} {
		if _, err := e.edge.CreateMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ path, api, evPath, proxy string }{
		{"/x/../v2/pets", restB, "/v2/pets", "pets"},
		{"/./v2/pets", restB, "/v2/pets", "pets"},
		{"/%2e%2e/v2/pets", "", "", ""}, // above the root
		{"/v2/../pets", restA, "/pets", "pets"},
		{"/v2/./pets", restB, "/v2/pets", "pets"},
	}
	clients := map[string]*http.Client{"h1": e.client(false), "h2": e.client(true), "plain": http.DefaultClient}
	for cname, c := range clients {
		for _, tc := range cases {
			u := "https://" + name + tc.path
			if cname == "plain" {
				u = "http://" + e.srv.Addr() + tc.path
			}
			req, _ := http.NewRequest("GET", u, nil)
			req.Host = name
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if tc.api == "" {
				if resp.StatusCode != 400 {
					t.Errorf("%s %s: %d, want 400", cname, tc.path, resp.StatusCode)
				}
				continue
			}
			if resp.StatusCode != 200 {
				t.Errorf("%s %s: %d", cname, tc.path, resp.StatusCode)
				continue
			}
			ev := e.lastEvent()
			if got := str2(ev, "requestContext", "apiId"); got != tc.api {
				t.Errorf("%s %s: served by api %s, want %s", cname, tc.path, got, tc.api)
			}
			if got := str2(ev, "path"); got != tc.evPath {
				t.Errorf("%s %s: path %q, want %q", cname, tc.path, got, tc.evPath)
			}
			if got := str2(ev, "pathParameters", "proxy"); got != tc.proxy {
				t.Errorf("%s %s: proxy %q, want %q", cname, tc.path, got, tc.proxy)
			}
		}
	}
}

// newTestHandshakeListener is a handshakeListener on a loopback port with the
// development certificate of e's edge, limits and a handshake deadline far
// beyond any test, whose connections a goroutine accepts and keeps until the
// test ends. Unless limits has a clock, each connection comes a grace after
// the one before: a source's silent ones count against its bound at once.
func newTestHandshakeListener(t *testing.T, e *tlsEnv, limits handshakeLimits) *handshakeListener {
	t.Helper()
	if limits.now == nil {
		limits.now = steppingClock(silentHandshakeGrace)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl := newHandshakeListener(ln, e.edge.TLSConfig(), time.Hour, limits, false, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = hl.std.Close() })
	go func() {
		for {
			c, err := hl.std.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return hl
}

// steppingClock is a clock that each reading moves on by step.
func steppingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := time.Unix(0, 0)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

// silentConns opens n TCP connections from local address from (an IP) to addr
// that never send a byte.
func silentConns(t *testing.T, addr, from string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	out := make([]net.Conn, 0, n)
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		out = append(out, c)
	}
	return out
}

// handshakeFrom completes a TLS handshake with hl from local address from.
func handshakeFrom(t *testing.T, e *tlsEnv, hl *handshakeListener, from string) error {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 30 * time.Second}
	// The dial's deadline is a guard against hanging, not a timing
	// assertion: a listener that waits for room answers only at its
	// handshake deadline, an hour away.
	c, err := tls.DialWithDialer(d, "tcp", hl.Addr().String(), &tls.Config{ServerName: "localhost", RootCAs: e.pool})
	if err != nil {
		return err
	}
	return c.Close()
}

// assertClosed checks that the server closed each of cs (a read ends without
// data at once; the deadline is a guard against hanging, not a timing
// assertion).
func assertClosed(t *testing.T, what string, cs []net.Conn) {
	t.Helper()
	for i, c := range cs {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s %d: read data from a connection that sent no handshake", what, i)
		} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s %d: still open", what, i)
		}
	}
}

// TestSilentConnectionsDoNotStallOthersHandshakes fills the TLS listener's
// handshakes in flight with connections that never send a byte, from one
// source and from many: a new client's handshake still completes at once, the
// oldest silent connections being closed to make room (the source's own when
// it is at its bound), and the listener keeps no more than its bounds.
func TestSilentConnectionsDoNotStallOthersHandshakes(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})

	t.Run("one source", func(t *testing.T) {
		hl := newTestHandshakeListener(t, e, handshakeLimits{total: 8, perSource: 4})
		silent := silentConns(t, hl.Addr().String(), "127.0.0.1", 20)
		if err := handshakeFrom(t, e, hl, "127.0.0.1"); err != nil {
			t.Fatalf("a handshake from the flooding source: %v", err)
		}
		// 21 connections from one source with room for 4: the 17 oldest
		// were closed as the newer came.
		assertClosed(t, "silent connection", silent[:17])
		if err := handshakeFrom(t, e, hl, "127.0.0.2"); err != nil {
			t.Fatalf("a handshake from another source: %v", err)
		}
		hl.mu.Lock()
		n, sources := hl.pending.Len(), len(hl.bySource)
		flooding := 0
		if s := hl.bySource[netip.MustParseAddr("127.0.0.1")]; s != nil {
			flooding = s.silent.Len()
		}
		hl.mu.Unlock()
		if flooding > 4 {
			t.Errorf("%d silent handshakes in flight from the flooding source, want at most 4", flooding)
		}
		if n > 8 || sources > n {
			t.Errorf("%d handshakes in flight from %d sources, want at most 8 and no more sources", n, sources)
		}
	})
	t.Run("many sources", func(t *testing.T) {
		hl := newTestHandshakeListener(t, e, handshakeLimits{total: 8, perSource: 4})
		var silent []net.Conn
		for i := 2; i <= 6; i++ { // 20 connections from 5 sources: over the total
			silent = append(silent, silentConns(t, hl.Addr().String(), fmt.Sprintf("127.0.0.%d", i), 4)...)
		}
		if err := handshakeFrom(t, e, hl, "127.0.0.1"); err != nil {
			t.Fatalf("a handshake with the listener full: %v", err)
		}
		// Room was made at the sources with the most silent handshakes:
		// they keep as many each, give or take one.
		hl.mu.Lock()
		n := hl.pending.Len()
		inFlight := map[string]bool{}
		least, most := len(silent), 0
		for i := 2; i <= 6; i++ {
			k := 0
			if s := hl.bySource[netip.MustParseAddr(fmt.Sprintf("127.0.0.%d", i))]; s != nil {
				k = s.all.Len()
			}
			least, most = min(least, k), max(most, k)
		}
		for el := hl.pending.Front(); el != nil; el = el.Next() {
			inFlight[el.Value.(*pendingHandshake).c.RemoteAddr().String()] = true
		}
		hl.mu.Unlock()
		if n > 8 {
			t.Errorf("%d handshakes in flight, want at most 8", n)
		}
		if most-least > 1 {
			t.Errorf("sources keep %d to %d handshakes in flight, want as many give or take one", least, most)
		}
		var closed []net.Conn
		for _, c := range silent {
			if !inFlight[c.LocalAddr().String()] {
				closed = append(closed, c)
			}
		}
		if len(closed) < 13 {
			t.Errorf("%d silent connections closed, want at least 13", len(closed))
		}
		assertClosed(t, "silent connection", closed)
	})
}

// TestHTTP2PrefaceWithoutALPNIsRefused sends HTTP/2's connection preface where
// HTTP/1.1 is spoken (prior knowledge on the plain port, h2c; a TLS connection
// that negotiated no ALPN protocol): the client is answered in HTTP/2, SETTINGS
// and GOAWAY(HTTP_1_1_REQUIRED) with a reason that says how HTTP/2 is served,
// and the connection closes; under the h1 and net/http engines (nbio's parser
// refuses the request line and closes the connection without an answer).
func TestHTTP2PrefaceWithoutALPNIsRefused(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(engine, func(t *testing.T) {
			e := newTLSEnv(t, Config{Engine: engine}, edge.Config{})
			dials := map[string]func() (net.Conn, error){
				"plain": func() (net.Conn, error) { return net.Dial("tcp", e.srv.Addr()) },
				"TLS without ALPN": func() (net.Conn, error) {
					return tls.Dial("tcp", e.srv.TLSAddr(), &tls.Config{ServerName: "localhost", RootCAs: e.pool})
				},
			}
			for name, dial := range dials {
				c, err := dial()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging
				// As an HTTP/2 client: the preface, SETTINGS, a request.
				if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
					t.Fatal(err)
				}
				fr := http2.NewFramer(c, c)
				_ = fr.WriteSettings()
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82, 0x84, 0x86}, EndStream: true, EndHeaders: true})
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("%s: no HTTP/2 answer to the preface: %v", name, err)
				}
				if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
					t.Fatalf("%s: first frame %v, want SETTINGS", name, f.Header())
				}
				f, err = fr.ReadFrame()
				if err != nil {
					t.Fatalf("%s: no GOAWAY: %v", name, err)
				}
				ga, ok := f.(*http2.GoAwayFrame)
				if !ok || ga.ErrCode != http2.ErrCodeHTTP11Required || ga.LastStreamID != 0 || !strings.Contains(string(ga.DebugData()), "ALPN") {
					t.Fatalf("%s: second frame %v, want GOAWAY HTTP_1_1_REQUIRED with a reason", name, f.Header())
				}
				if _, err := io.ReadAll(c); err != nil {
					if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
						t.Errorf("%s: the connection stayed open after the GOAWAY", name)
					}
				}
			}
		})
	}
}

// TestHealthzDoesNotShadowAPIs: /healthz is the gateway's own only at its own
// address. A host that names an API (host-based stage URLs, custom domain
// names) routes it as any other path, as API Gateway would: to the API's
// route, or a refusal when no mapping or stage covers it.
func TestHealthzDoesNotShadowAPIs(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	httpID := e.deploy(httpAPI(), apis.RouteDefault)
	const whole, partial = "api.example.com", "v2.example.com"
	for _, d := range []string{whole, partial} {
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: d}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []edge.Mapping{{Domain: whole, Key: "(none)", APIID: rest, Stage: "prod"}, {Domain: partial, Key: "v2", APIID: rest, Stage: "prod"}} {
		if _, err := e.edge.CreateMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		host   string
		status int
		api    string // the API whose route served it; "" for the gateway's own answer or a refusal
	}{
		{"", 200, ""},                               // the gateway's own address
		{"localhost", 200, ""},                      // no API named
		{whole, 200, rest},                          // a mapping of the whole domain
		{partial, 403, ""},                          // no mapping covers /healthz
		{httpID + "." + DefaultDomain, 200, httpID}, // an HTTP API's $default stage
	}
	for _, tc := range cases {
		before := e.inv.count()
		req, _ := http.NewRequest("GET", "http://"+e.srv.Addr()+"/healthz", nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("host %q: %d %s, want %d", tc.host, resp.StatusCode, body, tc.status)
			continue
		}
		invoked := e.inv.count() > before
		switch {
		case tc.api == "" && invoked:
			t.Errorf("host %q: /healthz reached a function", tc.host)
		case tc.api == "" && tc.status == 200 && !strings.Contains(string(body), `"ok"`):
			t.Errorf("host %q: body %s, want the gateway's health answer", tc.host, body)
		case tc.api != "" && !invoked:
			t.Errorf("host %q: /healthz answered by the gateway (%s), want the API's route", tc.host, body)
		case tc.api != "":
			if got := str2(e.lastEvent(), "requestContext", "apiId"); got != tc.api {
				t.Errorf("host %q: served by api %s, want %s", tc.host, got, tc.api)
			}
		}
	}
}
