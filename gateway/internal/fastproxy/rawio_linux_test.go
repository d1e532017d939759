package fastproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection: the dialled one
// (the proxy's) and the accepted one (the backend's).
func tcpPair(t *testing.T) (proxy, backend net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	proxy, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	backend, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close(); _ = backend.Close() })
	return proxy, backend
}

// TestRawReaderReads reads what the backend sends, in reads of every size up
// to twice rawMax (the poller's wait exercised: the backend writes later),
// and ends with the backend's close read as io.EOF.
func TestRawReaderReads(t *testing.T) {
	proxy, backend := tcpPair(t)
	x := newRawReader(proxy)
	if x == nil {
		t.Fatal("no raw reader for a TCP connection")
	}
	var want bytes.Buffer
	for _, size := range []int{1, 100, 4096, 60000, rawMax, rawMax + 1, 2 * rawMax} {
		want.Write(bytes.Repeat([]byte{byte('a' + size%26)}, size))
	}
	done := make(chan error, 1)
	go func() {
		_, err := backend.Write(want.Bytes())
		if err == nil {
			err = backend.(*net.TCPConn).CloseWrite()
		}
		done <- err
	}()
	var got bytes.Buffer
	sizes := []int{1, 7, 4096, rawMax, rawMax + 1, 2 * rawMax}
	for i := 0; ; i++ {
		buf := make([]byte, sizes[i%len(sizes)])
		n, err := x.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF { //nolint:errorlint // net.Conn's io.EOF is unwrapped
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("a read of nothing without an error")
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("read %d bytes, want %d the same", got.Len(), want.Len())
	}
}

// TestRawReaderErrorsAsNetConn checks that rawReader's errors look like
// net.Conn's, which the proxy classifies (a deadline is a timeout to extend
// or a 504, a reused connection's failure a stale one): a passed deadline,
// the abort's deadline, a closed connection, a reset backend.
func TestRawReaderErrorsAsNetConn(t *testing.T) {
	type shape struct {
		op, net, inner   string
		timeout, closed  bool
		errno, addresses bool
	}
	shapeOf := func(err error, c net.Conn) shape {
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Fatalf("%v (%T) is not a *net.OpError", err, err)
		}
		var se *os.SyscallError
		return shape{op: oe.Op, net: oe.Net, inner: oe.Err.Error(), timeout: oe.Timeout() && isTimeout(err), closed: errors.Is(err, net.ErrClosed),
			errno: errors.As(err, &se), addresses: oe.Source.String() == c.LocalAddr().String() && oe.Addr.String() == c.RemoteAddr().String()}
	}
	for _, tc := range []struct {
		name string
		run  func(c net.Conn, r io.Reader, backend net.Conn) error
	}{
		{"deadline", func(c net.Conn, r io.Reader, _ net.Conn) error {
			_ = c.SetDeadline(time.Now().Add(-time.Second))
			_, err := r.Read(make([]byte, 8))
			return err
		}},
		{"abort", func(c net.Conn, r io.Reader, _ net.Conn) error {
			_ = c.SetDeadline(time.Unix(1, 0)) // as backendConn.abort does
			_, err := r.Read(make([]byte, 8))
			return err
		}},
		{"closed", func(c net.Conn, r io.Reader, _ net.Conn) error {
			_ = c.Close()
			_, err := r.Read(make([]byte, 8))
			return err
		}},
		{"reset", func(_ net.Conn, r io.Reader, backend net.Conn) error {
			_ = backend.(*net.TCPConn).SetLinger(0)
			_ = backend.Close()
			for {
				if _, err := r.Read(make([]byte, 8)); err != nil {
					return err
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy, backend := tcpPair(t)
			want := shapeOf(tc.run(proxy, proxy, backend), proxy)
			proxy, backend = tcpPair(t)
			got := shapeOf(tc.run(proxy, newRawReader(proxy), backend), proxy)
			if got != want || !got.addresses {
				t.Fatalf("rawReader's error: %+v\nnet.Conn's: %+v", got, want)
			}
		})
	}
}

// TestRawReaderInThePool: a plain backend connection is read raw; exchanges
// with bodies small and over rawMax go on past their soft deadline (here at
// once) and leave the connection for the next request.
func TestRawReaderInThePool(t *testing.T) {
	be := echoBackend(t)
	p := New(8)
	p.softWait = time.Nanosecond
	u, err := url.Parse(be.URL + "/echo")
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"first", strings.Repeat("x", 3*rawMax), ""} {
		method := http.MethodPost
		if body == "" {
			method = http.MethodGet
		}
		r := httptest.NewRequest(method, "/echo", strings.NewReader(body))
		hp := p.Route(u, method, r)
		if hp == nil {
			t.Fatalf("request %d: the fast path declined it", i)
		}
		w := httptest.NewRecorder()
		if err := p.Serve(w, r, hp, u, method, 30*time.Second); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if w.Code != http.StatusOK || w.Body.String() != body {
			t.Fatalf("request %d: %d, %d bytes", i, w.Code, w.Body.Len())
		}
		hp.mu.Lock()
		raw := len(hp.idle) == 1 && hp.idle[0].cr.raw != nil
		hp.mu.Unlock()
		if !raw {
			t.Fatalf("request %d: the pool does not hold one raw-read connection", i)
		}
	}
	if n := p.extends.Load(); n < 3 {
		t.Errorf("%d exchanges went past their soft deadline, want 3", n)
	}
}
