package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/testkit"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// startStopTest deploys a REST API with a MOCK POST /mock to stage s and
// starts a gateway with a plain and a TLS listener under limits: the API's id,
// the server, the pool that trusts its certificate and the TLS port.
func startStopTest(t *testing.T, limits listener.Limits) (string, *Server, *x509.CertPool, string) {
	t.Helper()
	_, svc := gwtest.APIs(t)
	created := gwtest.Deploy(t, svc, &apis.API{Name: "stop", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}}}}},
	}}}, apis.DeployInput{StageName: "s"})
	s := NewServer(New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, svc, nil, nil, nil), nil, limits)
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
	return created.ID, s, pool, tlsPort
}

// TestStopAnswersRequestsStillComing: a graceful stop does not wait for
// requests whose head or body has not come in whole (clients stalled
// mid-header or mid-body on the plain and the TLS listener), which nothing
// has run for: each is answered 503 {"message": "Service Unavailable"} in the
// gateway's error shape at once, and the stop cuts nothing off. The stop's
// grace is long: only answering them at once ends it in time.
func TestStopAnswersRequestsStillComing(t *testing.T) {
	id, s, pool, tlsPort := startStopTest(t, listener.Limits{})
	body := "POST /" + id + "/s/mock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
	stalls := []struct {
		name string
		tls  bool
		raw  string
	}{
		{"plain/mid-body", false, body},
		{"plain/mid-header", false, "POST /" + id + "/s/mock HTTP/1.1\r\nHost: x\r\nContent-Le"},
		{"tls/mid-body", true, body},
	}
	conns := make([]net.Conn, len(stalls))
	for i, st := range stalls {
		var c net.Conn
		if st.tls {
			tc, err := tls.Dial("tcp", "localhost:"+tlsPort, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tc.Close() })
			c = tc
		} else {
			c = listenertest.Dial(t, s.Addr())
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, st.raw); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for s.h1.Active() < 2 || s.tlsH1.Active() < 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := shutdown.WithGrace(context.Background(), 10*time.Minute, time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(ctx) }()
	for i, st := range stalls {
		res, err := http.ReadResponse(bufio.NewReader(conns[i]), nil)
		if err != nil {
			t.Fatalf("%s: %v, want a 503", st.name, err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || string(b) != `{"message": "Service Unavailable"}` || !res.Close ||
			res.Header.Get("X-Amzn-Requestid") == "" || res.Header.Get("X-Amzn-Errortype") == "" {
			t.Errorf("%s: %d %q %v (close %v), want 503 {\"message\": \"Service Unavailable\"} with a request id and an error type, closed",
				st.name, res.StatusCode, b, res.Header, res.Close)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if cuts := shutdown.Cuts(ctx); len(cuts) != 0 {
		t.Fatalf("the stop cut off %v, want nothing (nothing was running)", cuts)
	}
}

// TestStopAnswersStalledH2Bodies: a graceful stop sends an HTTP/2
// connection GOAWAY, then answers a stream whose request body stalled 503
// {"message": "Service Unavailable"} after the stop's grace for a body (a
// second without a byte of it), as HTTP/1.1 ones are, rather than holding the
// stop until its deadline; the stop cuts nothing off. The stop's grace is
// long: only answering the stream ends it in time.
func TestStopAnswersStalledH2Bodies(t *testing.T) {
	id, s, pool, tlsPort := startStopTest(t, listener.Limits{})
	addr := "localhost:" + tlsPort
	conn, fr := rawH2Dial(t, addr, pool)
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
	rawH2Headers(t, fr, addr, "POST", "/"+id+"/s/mock", false, "content-type", "application/json", "content-length", "100")
	if err := fr.WriteData(1, false, []byte("{")); err != nil {
		t.Fatal(err)
	}
	// The PING's answer comes after the server read the stream's frames:
	// the stream is open.
	if err := fr.WritePing(false, [8]byte{1}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
			break
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = fr.WriteSettingsAck()
		}
	}
	ctx, cancel := shutdown.WithGrace(context.Background(), 10*time.Minute, time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(ctx) }()
	res := rawH2Answer(t, fr, true)
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || string(b) != `{"message": "Service Unavailable"}` ||
		res.Header.Get("X-Amzn-Requestid") == "" || res.Header.Get("X-Amzn-Errortype") == "" {
		t.Errorf("%d %q %v, want 503 {\"message\": \"Service Unavailable\"} with a request id and an error type", res.StatusCode, b, res.Header)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if cuts := shutdown.Cuts(ctx); len(cuts) != 0 {
		t.Fatalf("the stop cut off %v, want nothing (nothing was running)", cuts)
	}
}

// TestListenerRefusalsInGatewayShape: a header over the listener's
// max-header-bytes (431), a request line alone over it (414), a malformed
// head (400), an expectation other than 100-continue (417) and a head not
// finished within the header timeout (408) are answered
// in the gateway's error shape, {"message": ...} with x-amzn-ErrorType and
// x-amzn-RequestId, as its 413 and 408 are: on the plain listener, the TLS
// listener's HTTP/1.1 and its HTTP/2.
func TestListenerRefusalsInGatewayShape(t *testing.T) {
	id, s, pool, tlsPort := startStopTest(t, listener.Limits{MaxHeaderBytes: 4096})
	big := strings.Repeat("a", 70<<10)
	check := func(t *testing.T, res *http.Response, status int, typ string) {
		t.Helper()
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		want := `{"message":"` + http.StatusText(status) + `"}`
		if res.StatusCode != status || string(b) != want || res.Header.Get("Content-Type") != "application/json" ||
			res.Header.Get("X-Amzn-Errortype") != typ || res.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("%s %d %q %v, want %d %s with %s and a request id", res.Proto, res.StatusCode, b, res.Header, status, want, typ)
		}
	}
	h1Cases := []struct {
		name, raw string
		status    int
		typ       string
	}{
		{"431", "GET /" + id + "/s/mock HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLargeException"},
		{"414", "GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusRequestURITooLong, "RequestURITooLongException"},
		// A malformed head: 400 as the gateway's other 400s.
		{"400/content-length", "POST /" + id + "/s/mock HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", http.StatusBadRequest, "BadRequestException"},
		{"400/host", "GET /" + id + "/s/mock HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", http.StatusBadRequest, "BadRequestException"},
		{"400/request-line", "GARBAGE\r\n\r\n", http.StatusBadRequest, "BadRequestException"},
		{"417", "POST /" + id + "/s/mock HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", http.StatusExpectationFailed, "BadRequestException"},
	}
	for _, tc := range h1Cases {
		for _, useTLS := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/plain", true: "/tls"}[useTLS]
			t.Run(name, func(t *testing.T) {
				var c net.Conn
				if useTLS {
					tc, err := tls.Dial("tcp", "localhost:"+tlsPort, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = tc.Close() })
					c = tc
				} else {
					c = listenertest.Dial(t, s.Addr())
				}
				_ = c.SetDeadline(time.Now().Add(time.Minute))   // a safety net, not a timing assertion
				go func() { _, _ = io.WriteString(c, tc.raw) }() // answered before it is all read
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = res.Body.Close() }()
				check(t, res, tc.status, tc.typ)
			})
		}
	}
	t.Run("408", func(t *testing.T) {
		// A head begun but not finished within the header timeout: 408
		// RequestTimeoutException, as a body not received in time, not a
		// plain 400. The server's own deadline ends the wait.
		_, s, _, _ := startStopTest(t, listener.Limits{MaxHeaderBytes: 4096, HeaderTimeout: time.Second})
		c := listenertest.Dial(t, s.Addr())
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "GET /"+id+"/s/mock HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		check(t, res, http.StatusRequestTimeout, "RequestTimeoutException")
	})
	t.Run("empty line first", func(t *testing.T) {
		// RFC 9112 2.2: an empty line before the request line is ignored.
		c := listenertest.Dial(t, s.Addr())
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "\r\nPOST /"+id+"/s/mock HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || string(b) != `{"ok":true}` {
			t.Fatalf("%d %q, want the mock's 200", res.StatusCode, b)
		}
	})
	t.Run("431/h2", func(t *testing.T) {
		// Frames written by hand: Go's HTTP/2 clients refuse to send a
		// header list over the limit the server advertised, once its
		// SETTINGS have come, so whether they send it at all is a race.
		res := rawH2Get(t, "localhost:"+tlsPort, pool, "/"+id+"/s/mock", "x-big-a", big[:3000], "x-big-b", big[:3000],
			"x-big-c", big[:3000], "x-big-d", big[:3000])
		defer func() { _ = res.Body.Close() }()
		check(t, res, http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLargeException")
	})
}

// rawH2Get sends a GET of path with the header fields (name, value, ...)
// over HTTP/2 on TLS to addr as one HEADERS frame, whatever the server's
// SETTINGS advertise, and returns the answer of its stream.
func rawH2Get(t *testing.T, addr string, pool *x509.CertPool, path string, fields ...string) *http.Response {
	t.Helper()
	conn, fr := rawH2Dial(t, addr, pool)
	defer func() { _ = conn.Close() }()
	rawH2Headers(t, fr, addr, "GET", path, true, fields...)
	return rawH2Answer(t, fr, false)
}

// rawH2Dial opens an HTTP/2 connection on TLS to addr and sends the
// client's preface and SETTINGS: the connection and its framer.
func rawH2Dial(t *testing.T, addr string, pool *x509.CertPool) (net.Conn, *http2.Framer) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(64<<10, nil)
	fr.MaxHeaderListSize = 1 << 20
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return conn, fr
}

// rawH2Headers sends stream 1's request head, method path with the header
// fields (name, value, ...), as one HEADERS frame; end ends the stream.
func rawH2Headers(t *testing.T, fr *http2.Framer, addr, method, path string, end bool, fields ...string) {
	t.Helper()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields = append([]string{":method", method, ":scheme", "https", ":authority", addr, ":path", path}, fields...)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: end, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// rawH2Answer reads stream 1's answer: a GOAWAY before it fails the test
// unless goAwayFirst, which then requires one before it.
func rawH2Answer(t *testing.T, fr *http2.Framer, goAwayFirst bool) *http.Response {
	t.Helper()
	res := &http.Response{Header: http.Header{}}
	var body []byte
	goneAway := false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			if !goAwayFirst {
				t.Fatalf("GOAWAY %v before the answer", f.ErrCode)
			}
			goneAway = true
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v before the answer", f.ErrCode)
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			if goAwayFirst && !goneAway {
				t.Fatal("the answer before GOAWAY")
			}
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					res.StatusCode, _ = strconv.Atoi(hf.Value)
					continue
				}
				res.Header.Add(hf.Name, hf.Value)
			}
			if f.StreamEnded() {
				res.Body = io.NopCloser(bytes.NewReader(body))
				return res
			}
		case *http2.DataFrame:
			if f.StreamID != 1 {
				continue
			}
			body = append(body, f.Data()...)
			if f.StreamEnded() {
				res.Body = io.NopCloser(bytes.NewReader(body))
				return res
			}
		}
	}
}
