package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/testkit"
)

// received is what the recording backend saw of one request.
type received struct {
	Method, RequestURI, Host string
	ContentLength            int64
	TransferEncoding         []string
	Header                   http.Header
	Body                     string
	Trailer                  http.Header
}

// recordingBackend answers by path and records every request it gets.
type recordingBackend struct {
	*httptest.Server
	mu   sync.Mutex
	last received
	n    int
}

func (b *recordingBackend) take(t *testing.T) (received, int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	got, n := b.last, b.n
	b.last, b.n = received{}, 0
	return got, n
}

func newRecordingBackend(t *testing.T) *recordingBackend { return newRecordingBackendOver(t, false) }

// newRecordingBackendOver is newRecordingBackend, over TLS (HTTP/1.1) when
// secure.
func newRecordingBackendOver(t *testing.T, secure bool) *recordingBackend {
	t.Helper()
	large := strings.Repeat("0123456789abcdef", 1<<17) // 2 MB
	b := &recordingBackend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		b.mu.Lock()
		b.last = received{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, ContentLength: r.ContentLength,
			TransferEncoding: r.TransferEncoding, Header: r.Header.Clone(), Body: string(body), Trailer: r.Trailer}
		b.n++
		b.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		h.Set("X-Echo-Method", r.Method)
		h.Add("X-Multi", "1")
		h.Add("X-Multi", "2")
		switch {
		case strings.HasPrefix(r.URL.Path, "/status/"):
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
			if code == http.StatusNotModified {
				h.Set("ETag", `"v1"`)
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, "status body")
		case r.URL.Path == "/close":
			h.Set("Connection", "close")
			_, _ = io.WriteString(w, "closing")
		case r.URL.Path == "/hop":
			h.Set("Connection", "X-Secret")
			h.Set("X-Secret", "hidden")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Authenticate", "Basic")
			h.Set("Upgrade", "h2c")
			_, _ = io.WriteString(w, "hop")
		case r.URL.Path == "/stream":
			h.Set("Trailer", "X-Sum")
			for i := range 3 {
				_, _ = fmt.Fprintf(w, "part %d\n", i)
				w.(http.Flusher).Flush()
			}
			h.Set("X-Sum", "3")
			h.Set(http.TrailerPrefix+"X-Late", "late")
		case r.URL.Path == "/large":
			_, _ = io.WriteString(w, large)
		default:
			w.WriteHeader(201)
			_, _ = fmt.Fprintf(w, "%s %s %d bytes", r.Method, r.URL.RequestURI(), len(body))
		}
	}))
	if secure {
		b.StartTLS()
	} else {
		b.Start()
	}
	t.Cleanup(b.Close)
	return b
}

// trustBackend makes both gateways of p trust b's certificate.
func (p *proxyPair) trustBackend(b *httptest.Server) {
	pool := x509.NewCertPool()
	pool.AddCert(b.Certificate())
	p.fast.trustBackends(&tls.Config{RootCAs: pool})
	p.stock.transport.TLSClientConfig = &tls.Config{RootCAs: pool}
}

// proxyPair is one deployed API served by two gateways: one with the fast path,
// one that sends everything through httputil.ReverseProxy.
type proxyPair struct {
	fast, stock *Gateway
	fastURL     string
	stockURL    string
}

func newProxyPair(t testing.TB, backend, down string) *proxyPair {
	t.Helper()
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	proxy := func(uri string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: uri}
	}
	a, err := svc.Create(ctx, &apis.API{Name: "conf", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/items/{id}", Integration: proxy("${stageVariables.backend}/v2/items/{id}?fixed=1")},
		{Method: "GET", Path: "/override", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST",
			URI: "${stageVariables.backend}/override"}},
		{Method: "GET", Path: "/slow", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "${stageVariables.backend}/slow", TimeoutInMillis: 100}},
		{Method: "ANY", Path: "/down/{proxy+}", Integration: proxy(down + "/{proxy}")},
		{Method: "ANY", Path: "/{proxy+}", Integration: proxy("${stageVariables.backend}/{proxy}")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev", Variables: map[string]string{"backend": backend}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	p := &proxyPair{fast: New(Config{}, svc, nil, nil, log), stock: New(Config{}, svc, nil, nil, log)}
	p.stock.fast = nil
	fs, ss := httptest.NewServer(p.fast), httptest.NewServer(p.stock)
	t.Cleanup(fs.Close)
	t.Cleanup(ss.Close)
	p.fastURL, p.stockURL = fs.URL+"/"+a.ID+"/dev", ss.URL+"/"+a.ID+"/dev"
	return p
}

// answer is what the client saw, without the per-request ids and Date.
type answer struct {
	Status        int
	Header        http.Header
	Body          string
	ContentLength int64
	Trailer       http.Header
}

// proxyCase is one request of the conformance table.
type proxyCase struct {
	name   string
	method string
	path   string
	body   func() io.Reader
	header [][2]string
	// fallback: the request must take the ReverseProxy path.
	fallback bool
}

func sendCase(t *testing.T, client *http.Client, base string, c proxyCase) answer {
	t.Helper()
	var body io.Reader
	if c.body != nil {
		body = c.body()
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range c.header {
		req.Header.Add(kv[0], kv[1])
	}
	req.Host = "gateway.test" // the same for both gateways, so X-Forwarded-Host compares
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: body: %v", c.name, err)
	}
	h := resp.Header.Clone()
	for _, k := range []string{"Date", hdrRequestID, hdrAPIGWRequestID} {
		h.Del(k)
	}
	return answer{Status: resp.StatusCode, Header: h, Body: string(b), ContentLength: resp.ContentLength, Trailer: resp.Trailer}
}

// chunked hides a reader's length, so the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestFastProxyConformance sends each request through the fast path and through
// the stock ReverseProxy and requires the backend and the client to see the
// same, to an http: and to an https: backend.
func TestFastProxyConformance(t *testing.T) {
	t.Run("http", func(t *testing.T) { testFastProxyConformance(t, false) })
	t.Run("https", func(t *testing.T) { testFastProxyConformance(t, true) })
}

func testFastProxyConformance(t *testing.T, secure bool) {
	backend := newRecordingBackendOver(t, secure)
	p := newProxyPair(t, backend.URL, "http://127.0.0.1:1")
	if secure {
		p.trustBackend(backend.Server)
	}
	big := strings.Repeat("b", 3<<20/2) // 1.5 MB
	text := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	cases := []proxyCase{
		{name: "GET with path parameter and query", method: "GET", path: "/items/42?x=1&y=a%20b&y=c"},
		{name: "GET escaped greedy path", method: "GET", path: "/a/b%3Bc/d%20e"},
		{name: "POST known length", method: "POST", path: "/items/7", body: text(`{"name":"rex"}`),
			header: [][2]string{{"Content-Type", "application/json"}}},
		{name: "PUT", method: "PUT", path: "/items/7", body: text("replace")},
		{name: "DELETE without body", method: "DELETE", path: "/items/7"},
		{name: "PATCH empty body", method: "PATCH", path: "/items/7", body: text("")},
		{name: "POST chunked", method: "POST", path: "/upload", body: func() io.Reader { return chunked{strings.NewReader(big[:70000])} }},
		{name: "POST large known length", method: "POST", path: "/upload", body: text(big)},
		{name: "POST large chunked", method: "POST", path: "/upload", body: func() io.Reader { return chunked{strings.NewReader(big)} }},
		{name: "GET large response", method: "GET", path: "/large"},
		{name: "HEAD", method: "HEAD", path: "/large"},
		{name: "204", method: "GET", path: "/status/204"},
		{name: "304", method: "GET", path: "/status/304", header: [][2]string{{"If-None-Match", `"v1"`}}},
		{name: "404 from backend", method: "GET", path: "/status/404"},
		{name: "method override adds Content-Length 0", method: "GET", path: "/override"},
		{name: "X-Forwarded-* from the client", method: "GET", path: "/xff", header: [][2]string{
			{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}, {"X-Forwarded-Host", "evil"}, {"X-Forwarded-Proto", "https"}, {"Forwarded", "for=1.2.3.4"}}},
		{name: "hop-by-hop request headers", method: "GET", path: "/hop-req", header: [][2]string{
			{"Connection", "keep-alive, X-Drop"}, {"X-Drop", "1"}, {"Keep-Alive", "300"}, {"Proxy-Authorization", "Basic eA=="},
			{"Proxy-Connection", "keep-alive"}, {"Te", "trailers, deflate"}, {"X-Keep", "kept"}}},
		{name: "Connection names User-Agent", method: "GET", path: "/ua", header: [][2]string{{"Connection", "User-Agent"}}},
		{name: "no User-Agent", method: "GET", path: "/ua", header: [][2]string{{"User-Agent", ""}}},
		{name: "repeated headers", method: "GET", path: "/multi", header: [][2]string{{"X-Rep", "a"}, {"X-Rep", "b"}, {"Cookie", "a=1"}, {"Cookie", "b=2"}}},
		{name: "hop-by-hop response headers", method: "GET", path: "/hop"},
		{name: "Connection: close response", method: "GET", path: "/close"},
		{name: "after Connection: close", method: "GET", path: "/items/1"},
		{name: "streamed response with trailers", method: "GET", path: "/stream"},
		{name: "Expect: 100-continue falls back", method: "PUT", path: "/items/9", body: text("later"),
			header: [][2]string{{"Expect", "100-continue"}}, fallback: true},
		{name: "Upgrade is not passed on", method: "GET", path: "/items/9", header: [][2]string{{"Connection", "Upgrade, HTTP2-Settings"}, {"Upgrade", "h2c"}, {"Http2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"}}},
		{name: "chunked GET falls back", method: "GET", path: "/items/9", body: func() io.Reader { return chunked{strings.NewReader("odd")} }, fallback: true},
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := p.fast.fast.Served()
			fastAns := sendCase(t, client, p.fastURL, c)
			fastGot, fastN := backend.take(t)
			if took := p.fast.fast.Served() - before; (took == 1) == c.fallback {
				t.Errorf("fast path took %d requests, fallback %v", took, c.fallback)
			}
			stockAns := sendCase(t, client, p.stockURL, c)
			stockGot, stockN := backend.take(t)
			if fastN != 1 || stockN != 1 {
				t.Fatalf("backend got %d (fast) and %d (stock) requests", fastN, stockN)
			}
			// Each request has its own trace id, and each gateway its own
			// port: both are there, then compared as the rest is not.
			for _, got := range []received{fastGot, stockGot} {
				if got.Header == nil {
					continue
				}
				if tr := got.Header.Values("X-Amzn-Trace-Id"); len(tr) != 1 || !strings.HasPrefix(tr[0], "Root=1-") || len(got.Header.Values("X-Forwarded-Port")) != 1 {
					t.Errorf("backend saw X-Amzn-Trace-Id %q, X-Forwarded-Port %q", tr, got.Header.Values("X-Forwarded-Port"))
				}
				got.Header.Del("X-Amzn-Trace-Id")
				got.Header.Del("X-Forwarded-Port")
			}
			if !reflect.DeepEqual(fastGot, stockGot) {
				t.Errorf("backend saw\nfast:  %+v\nstock: %+v", fastGot, stockGot)
			}
			if !reflect.DeepEqual(fastAns, stockAns) {
				t.Errorf("client saw\nfast:  %+v\nstock: %+v", fastAns, stockAns)
			}
			if testing.Verbose() {
				t.Logf("backend: %+v\nclient: %d %v %q", fastGot, fastAns.Status, fastAns.Header, truncate(fastAns.Body))
			}
		})
	}

	// What both paths do with the headers a client sends: the client's address
	// is appended to its X-Forwarded-For, the proxy's own X-Forwarded-Host and
	// -Proto replace the client's, hop-by-hop ones go.
	sendCase(t, client, p.fastURL, cases[15])
	got, _ := backend.take(t)
	if xff := got.Header.Get("X-Forwarded-For"); xff != "10.0.0.1, 10.0.0.2, 127.0.0.1" || got.Header.Get("X-Forwarded-Host") != "gateway.test" ||
		got.Header.Get("X-Forwarded-Proto") != "http" || got.Header.Get("Forwarded") != "" {
		t.Errorf("forwarding headers: %v", got.Header)
	}
	sendCase(t, client, p.fastURL, cases[16])
	got, _ = backend.take(t)
	for _, k := range []string{"Connection", "X-Drop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection"} {
		if v, ok := got.Header[k]; ok {
			t.Errorf("hop-by-hop %s: %v reached the backend", k, v)
		}
	}
	if got.Header.Get("Te") != "trailers" || got.Header.Get("X-Keep") != "kept" || got.Host != backend.Listener.Addr().String() {
		t.Errorf("backend saw %v (host %s)", got.Header, got.Host)
	}
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// TestFastProxyErrors checks the error paths against the stock proxy: a backend
// past the integration timeout is a 504, a backend that is down a 500, and so
// is an https: backend whose certificate is not trusted.
func TestFastProxyErrors(t *testing.T) {
	t.Run("http", func(t *testing.T) { testFastProxyErrors(t, false) })
	t.Run("https", func(t *testing.T) { testFastProxyErrors(t, true) })
}

func testFastProxyErrors(t *testing.T, secure bool) {
	backend := newRecordingBackendOver(t, secure)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	_ = ln.Close()
	if secure {
		// A certificate neither gateway trusts.
		untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
		untrusted.TLS = &tls.Config{Certificates: []tls.Certificate{testkit.SelfSigned(t)}}
		untrusted.StartTLS()
		t.Cleanup(untrusted.Close)
		down = "https://localhost:" + strings.TrimPrefix(untrusted.URL, "https://127.0.0.1:") // the certificate's name
	}
	p := newProxyPair(t, backend.URL, down)
	if secure {
		pool := x509.NewCertPool()
		pool.AddCert(backend.Certificate())
		p.fast.trustBackends(&tls.Config{RootCAs: pool})
		p.stock.transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for _, c := range []struct {
		name, path   string
		status       int
		typ, message string
	}{
		{"slow backend", "/slow", 504, "IntegrationTimeoutException", "Endpoint request timed out"},
		{map[bool]string{false: "backend down", true: "certificate not trusted"}[secure], "/down/x", 500, "InternalServerErrorException", "Internal Server Error"}, // an HTTP API's
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []struct{ name, base string }{{"fast", p.fastURL}, {"stock", p.stockURL}} {
				t.Run(path.name, func(t *testing.T) {
					a := sendCase(t, client, path.base, proxyCase{name: c.name, method: "GET", path: c.path})
					response{a.Status, a.Header, a.Body}.expectError(t, c.status, c.typ, c.message)
				})
			}
		})
	}
	if p.fast.fast.Served() != 2 {
		t.Errorf("fast path served %d, want 2", p.fast.fast.Served())
	}
	if secure {
		// The log says what to do about the certificate.
		u, _ := url.Parse(down)
		hp := p.fast.fast.Route(u, "GET", httptest.NewRequest("GET", "/", nil))
		err := p.fast.fast.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), hp, u, "GET", 10*time.Second)
		if msg := p.fast.backendError(context.Background(), u, err).Error(); !strings.Contains(msg, "SSL_CERT_FILE") || !strings.Contains(msg, "x509") {
			t.Errorf("an untrusted backend's error: %s", msg)
		}
	}
}

// TestFastProxyStaleConnection has the backend (http: and https:) close its idle connections between
// requests: a GET is retried once on a fresh connection, a POST (which cannot be
// retried) finds the pooled connection dead before using it.
func TestFastProxyStaleConnection(t *testing.T) {
	t.Run("http", func(t *testing.T) { testFastProxyStaleConnection(t, false) })
	t.Run("https", func(t *testing.T) { testFastProxyStaleConnection(t, true) })
}

func testFastProxyStaleConnection(t *testing.T, secure bool) {
	backend := newRecordingBackendOver(t, secure)
	p := newProxyPair(t, backend.URL, "http://127.0.0.1:1")
	if secure {
		p.trustBackend(backend.Server)
	}
	client := &http.Client{}
	defer client.CloseIdleConnections()
	origin, _ := url.Parse(backend.URL)
	for i, c := range []proxyCase{
		{name: "GET", method: "GET", path: "/items/1"},
		{name: "POST", method: "POST", path: "/items/2", body: func() io.Reader { return strings.NewReader("once") }},
		{name: "HEAD", method: "HEAD", path: "/items/3"},
		{name: "DELETE", method: "DELETE", path: "/items/4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if i == 0 {
				sendCase(t, client, p.fastURL, proxyCase{name: "warm", method: "GET", path: "/items/0"})
				backend.take(t)
			}
			if idle, _ := p.fast.fast.Idle(origin); idle == 0 {
				t.Fatal("no pooled connection to go stale")
			}
			backend.CloseClientConnections()
			waitClosedByPeer(t, p.fast, origin)
			a := sendCase(t, client, p.fastURL, c)
			got, n := backend.take(t)
			if a.Status != 201 || n != 1 || got.Method != c.method {
				t.Fatalf("after the backend closed the pool: %d, backend got %d requests (%+v)", a.Status, n, got)
			}
		})
	}
}

// waitClosedByPeer waits until the backend's close of every pooled connection
// has arrived (a non-blocking peek sees EOF), without taking them from the pool.
func waitClosedByPeer(t *testing.T, g *Gateway, origin *url.URL) {
	t.Helper()
	if runtime.GOOS != "linux" { // the proxy cannot peek there
		time.Sleep(50 * time.Millisecond)
		return
	}
	// A generous bound: on a loaded machine the FINs can take a while to land.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if idle, closed := g.fast.Idle(origin); closed == idle {
			return
		}
	}
	t.Fatal("the backend's close did not arrive")
}

// TestFastProxyConcurrent runs many clients through the fast path at once (run it
// with -race): every answer matches its request.
func TestFastProxyConcurrent(t *testing.T) {
	backend := newRecordingBackend(t)
	p := newProxyPair(t, backend.URL, "http://127.0.0.1:1")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				body := bytes.Repeat([]byte{'a' + byte(w%26)}, w*100+i)
				var r io.Reader = bytes.NewReader(body)
				if i%3 == 0 {
					r = chunked{r}
				}
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/items/%d-%d?w=%d", p.fastURL, w, i, w), r)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				want := fmt.Sprintf("POST /v2/items/%d-%d?fixed=1&w=%d %d bytes", w, i, w, len(body))
				if resp.StatusCode != 201 || string(got) != want {
					errs <- fmt.Errorf("got %d %q, want %q", resp.StatusCode, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := p.fast.fast.Served(); n != 32*40 {
		t.Errorf("fast path served %d of %d", n, 32*40)
	}
}

// TestFastProxy1xxKeepsGatewayHeaders: a backend's 103 Early Hints stays at
// the gateway (API Gateway sends only the final answer), and the final
// response carries the headers the gateway set (x-amzn-RequestId,
// apigw-requestid) but not the hints' own.
func TestFastProxy1xxKeepsGatewayHeaders(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "final")
	}))
	defer backend.Close()
	p := newProxyPair(t, backend.URL, "http://127.0.0.1:1")
	var hints []http.Header
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, http.Header(h).Clone())
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", p.fastURL+"/hints", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "final" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if len(hints) != 0 {
		t.Errorf("1xx responses seen: %v; want none", hints)
	}
	for _, k := range []string{hdrRequestID, hdrAPIGWRequestID} {
		if resp.Header.Get(k) == "" {
			t.Errorf("final response lost %s after the 1xx: %v", k, resp.Header)
		}
	}
	if resp.Header.Get("Link") != "" {
		t.Errorf("the 1xx's Link header leaked into the final response")
	}
	if p.fast.fast.Served() != 1 {
		t.Errorf("fast path served %d, want 1", p.fast.fast.Served())
	}
}

// TestFastProxyStopClosesIdle: stopping the gateway's server closes the fast
// proxy's idle backend connections.
func TestFastProxyStopClosesIdle(t *testing.T) {
	var closed atomic.Int32
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	backend.Start()
	defer backend.Close()
	p := newProxyPair(t, backend.URL, "http://127.0.0.1:1")
	client := &http.Client{}
	defer client.CloseIdleConnections()
	sendCase(t, client, p.fastURL, proxyCase{name: "warm", method: "GET", path: "/items/1"})
	origin, _ := url.Parse(backend.URL)
	if idle, _ := p.fast.fast.Idle(origin); idle != 1 {
		t.Fatalf("%d idle backend connections after a request, want 1", idle)
	}
	if err := NewServer(p.fast, slog.New(slog.DiscardHandler), listener.Limits{}).Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if idle, _ := p.fast.fast.Idle(origin); idle != 0 {
		t.Errorf("%d idle backend connections after Stop", idle)
	}
	// The backend learns of the close asynchronously: wait for it, within a
	// bound generous enough for a loaded machine.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if closed.Load() == 1 {
			return
		}
	}
	t.Errorf("the backend saw %d connections closed, want 1", closed.Load())
}

// TestFastProxyResumesTLSSessions checks that a new connection to an https
// backend resumes the session of the last one (the proxy's session cache)
// rather than making a full handshake: the backend sees DidResume.
func TestFastProxyResumesTLSSessions(t *testing.T) {
	resumed := make(chan bool, 4)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resumed <- r.TLS.DidResume
		_, _ = io.WriteString(w, "ok")
	}))
	backend.StartTLS()
	defer backend.Close()
	p := newProxyPair(t, backend.URL, "http://127.0.0.1:1")
	p.trustBackend(backend)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for i, want := range []bool{false, true} {
		if a := sendCase(t, client, p.fastURL, proxyCase{name: "call", method: "GET", path: "/items/1"}); a.Status != 200 {
			t.Fatalf("call %d: %d %s", i, a.Status, a.Body)
		}
		if got := <-resumed; got != want {
			t.Fatalf("call %d on a new connection: resumed %v, want %v", i, got, want)
		}
		p.fast.fast.CloseIdle() // the next call dials anew
	}
	if p.fast.fast.Served() != 2 {
		t.Errorf("fast path served %d, want 2", p.fast.fast.Served())
	}
}
