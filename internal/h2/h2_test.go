package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// testServer serves h over TLS with HTTP/2 on a loopback port, with a client
// that trusts it.
type testServer struct {
	srv    *Server
	addr   string
	client *http.Client
	cert   tls.Certificate
}

func startServer(t testing.TB, h http.Handler, opts Options) *testServer {
	t.Helper()
	s, addr, cert, _ := serveTLS(t, h, opts)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &testServer{srv: s, addr: addr, client: &http.Client{Transport: tr}, cert: cert}
}

func (ts *testServer) url(path string) string { return "https://" + ts.addr + path }

func TestRequestsAndResponses(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Header().Set("X-Echo", r.Header.Get("X-In"))
			_, _ = io.WriteString(w, "hello "+r.Method+" "+r.Proto+" "+r.Host+" "+r.URL.RawQuery)
		case "/echo":
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("X-Length", fmt.Sprint(r.ContentLength))
			_, _ = w.Write(b)
		case "/large":
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 1024)
			for range 200 {
				_, _ = w.Write(chunk)
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
			w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
		case "/flush":
			_, _ = io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, " second")
		case "/reqtrailer":
			// The declared keys are there before the body is read (the
			// reader fills in values meanwhile: -race checks that the two
			// maps are not the same), their values after.
			declared := len(r.Trailer)
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = fmt.Fprintf(w, "%d %s", declared, r.Trailer.Get("X-Check"))
		}
	}), Options{})

	res, err := ts.client.Get(ts.url("/small?a=b"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || string(b) != "hello GET HTTP/2.0 "+ts.addr+" a=b" {
		t.Fatalf("small: %s %q", res.Proto, b)
	}
	if res.ContentLength != int64(len(b)) || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" || res.Header.Get("Date") == "" {
		t.Fatalf("small: length %d, type %q, date %q", res.ContentLength, res.Header.Get("Content-Type"), res.Header.Get("Date"))
	}

	body := strings.Repeat("x", 3<<20) // more than the stream's receive window
	res, err = ts.client.Post(ts.url("/echo"), "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != body || res.Header.Get("X-Length") != fmt.Sprint(len(body)) {
		t.Fatalf("echo: %d bytes back of %d, length %q", len(b), len(body), res.Header.Get("X-Length"))
	}

	res, err = ts.client.Get(ts.url("/large"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if len(b) != 200*16*1024 || !bytes.HasPrefix(b, []byte("0123456789abcdef0123")) {
		t.Fatalf("large: %d bytes", len(b))
	}

	res, err = ts.client.Get(ts.url("/empty"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("empty: %d", res.StatusCode)
	}

	res, err = ts.client.Get(ts.url("/trailers"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "body" || res.Trailer.Get("X-Sum") != "42" || res.Trailer.Get("X-Late") != "yes" {
		t.Fatalf("trailers: %q %v", b, res.Trailer)
	}

	res, err = ts.client.Get(ts.url("/flush"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "first second" || res.ContentLength != -1 {
		t.Fatalf("flush: %q, length %d", b, res.ContentLength)
	}

	req, _ := http.NewRequest(http.MethodPost, ts.url("/reqtrailer"), io.MultiReader(strings.NewReader("abc")))
	req.Trailer = http.Header{"X-Check": nil}
	req.Trailer.Set("X-Check", "ok")
	res, err = ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "1 ok" {
		t.Fatalf("request trailer: %q", b)
	}

	res, err = ts.client.Head(ts.url("/small"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if len(b) != 0 || res.ContentLength != int64(len("hello HEAD HTTP/2.0 "+ts.addr+" ")) {
		t.Fatalf("head: %q, length %d", b, res.ContentLength)
	}
}

func TestConcurrentStreams(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Query().Get("n"))
	}), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 400 {
		wg.Go(func() {
			res, err := ts.client.Get(ts.url(fmt.Sprintf("/?n=%d", i)))
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) != fmt.Sprint(i) {
				errs <- fmt.Errorf("request %d answered %q", i, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// dial opens a raw HTTP/2 connection: preface, and the client's SETTINGS.
func (ts *testServer) dial(t *testing.T) (*tls.Conn, *http2.Framer) {
	t.Helper()
	c, err := tls.Dial("tcp", ts.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c, fr
}

func TestHandlerContextEndsWithReset(t *testing.T) {
	started := make(chan struct{})
	ended := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		ended <- r.Context().Err()
	}), Options{})
	c, fr := ts.dial(t)
	_ = c
	var hb bytes.Buffer
	enc := newEncoder(&hb)
	enc(":method", "GET")
	enc(":scheme", "https")
	enc(":authority", "localhost")
	enc(":path", "/")
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler's context: %v", err)
	}
}

func TestShutdownLetsStreamsFinish(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	}), Options{})
	got := make(chan string, 1)
	go func() {
		res, err := ts.client.Get(ts.url("/"))
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	close(release)
	if s := <-got; s != "done" {
		t.Fatalf("in-flight request: %q", s)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Fatal("listener still accepts after Shutdown")
	}
}

func newEncoder(w io.Writer) func(name, value string) {
	enc := hpack.NewEncoder(w)
	return func(name, value string) { _ = enc.WriteField(hpack.HeaderField{Name: name, Value: value}) }
}

// TestConnectionCloseSendsGoAway: a handler's "Connection: close", which
// HTTP/2 cannot carry, is not sent as a field; the connection gets GOAWAY
// after the response, as net/http's HTTP/2 server does, so that the client's
// next request opens a new connection.
func TestConnectionCloseSendsGoAway(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		_, _ = io.WriteString(w, "ok")
	}), Options{})
	c, fr := ts.dial(t)
	_ = c
	request := func(id uint32, path string) {
		var hb bytes.Buffer
		enc := newEncoder(&hb)
		enc(":method", "GET")
		enc(":scheme", "https")
		enc(":authority", "localhost")
		enc(":path", path)
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	// frames reads frames until the stream ends, answering its status and
	// whether a GOAWAY came.
	dec := hpack.NewDecoder(4096, nil)
	frames := func(id uint32) (status string, goAway bool) {
		t.Helper()
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("stream %d: %v", id, err)
			}
			switch f := f.(type) {
			case *http2.HeadersFrame:
				fields, err := dec.DecodeFull(f.HeaderBlockFragment())
				if err != nil {
					t.Fatal(err)
				}
				for _, hf := range fields {
					if hf.Name == ":status" {
						status = hf.Value
					}
					if hf.Name == "connection" {
						t.Errorf("stream %d: a connection field was sent", id)
					}
				}
				if f.StreamEnded() {
					return status, goAway
				}
			case *http2.DataFrame:
				if f.StreamEnded() {
					return status, goAway
				}
			case *http2.GoAwayFrame:
				if f.ErrCode != http2.ErrCodeNo {
					t.Fatalf("GOAWAY %v", f.ErrCode)
				}
				goAway = true
				if status != "" {
					return status, goAway
				}
			}
		}
	}
	request(1, "/")
	if st, goAway := frames(1); st != "200" || goAway {
		t.Fatalf("a plain response: %s, GOAWAY %v", st, goAway)
	}
	request(3, "/close")
	st, goAway := frames(3)
	if st != "200" {
		t.Fatalf("Connection: close: %s", st)
	}
	for !goAway {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY after a response with Connection: close: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			goAway = true
			if g.LastStreamID != 3 {
				t.Errorf("GOAWAY last stream %d, want 3", g.LastStreamID)
			}
		}
	}
}
