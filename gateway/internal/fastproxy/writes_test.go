package fastproxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingConn counts the writes made to a backend connection: its own, and
// those the proxy makes through its RawConn (a send with the wait for the
// answer, see sender).
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c countingConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	return countingRaw{raw, c.writes}, err
}

// countingRaw counts as a write each raw read whose function asks to wait,
// which it does once it has sent the request.
type countingRaw struct {
	syscall.RawConn
	writes *atomic.Int64
}

func (r countingRaw) Read(f func(uintptr) bool) error {
	return r.RawConn.Read(func(fd uintptr) bool {
		if f(fd) {
			return true
		}
		r.writes.Add(1)
		return false
	})
}

// proxyWithCounter returns a Proxy whose backend connections count their writes
// into n, and the pool of backend.
func proxyWithCounter(t testing.TB, backend string, n *atomic.Int64) (*Proxy, *Pool, *url.URL) {
	p := New(8)
	p.wrapConn = func(c net.Conn) net.Conn { return countingConn{Conn: c, writes: n} }
	u, err := url.Parse(backend + "/echo")
	if err != nil {
		t.Fatal(err)
	}
	hp := p.Route(u, http.MethodPost, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if hp == nil {
		t.Fatal("the fast path declined a plain POST")
	}
	return p, hp, u
}

func echoBackend(t testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestSmallBodyOneWrite: a request whose head and body fit the connection's
// buffer reaches the backend in one write; a large body still streams.
func TestSmallBodyOneWrite(t *testing.T) {
	be := echoBackend(t)
	var writes atomic.Int64
	p, hp, u := proxyWithCounter(t, be.URL, &writes)
	for _, tc := range []struct {
		name      string
		body      string
		maxWrites int64
		minWrites int64
	}{
		{"empty", "", 1, 1},
		{"small", strings.Repeat("s", 512), 1, 1},
		{"large", strings.Repeat("L", 200<<10), 1 << 20, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writes.Store(0)
			r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(tc.body))
			w := httptest.NewRecorder()
			if err := p.Serve(w, r, hp, u, http.MethodPost, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if w.Body.String() != tc.body {
				t.Fatalf("echoed %d bytes, want %d", w.Body.Len(), len(tc.body))
			}
			if n := writes.Load(); n > tc.maxWrites || n < tc.minWrites {
				t.Errorf("%d writes to the backend, want %d..%d", n, tc.minWrites, tc.maxWrites)
			}
		})
	}
}

// BenchmarkServeSmallPost proxies a POST with a 256-byte body and reports the
// writes made to the backend per request.
func BenchmarkServeSmallPost(b *testing.B) {
	be := echoBackend(b)
	var writes atomic.Int64
	p, hp, u := proxyWithCounter(b, be.URL, &writes)
	body := strings.Repeat("b", 256)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(body))
		w := httptest.NewRecorder()
		if err := p.Serve(w, r, hp, u, http.MethodPost, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(writes.Load())/float64(b.N), "writes/op")
}
