package fastproxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/rawio"
)

// internal/rawio's tests hold its reads and errors to net.Conn's, from either
// end of a connection; the proxy classifies those errors as net.Conn's (a
// deadline is a timeout to extend or a 504, a reused connection's failure a
// stale one).

// TestRawReaderInThePool: a plain backend connection is read raw; exchanges
// with bodies small and over rawio.Max go on past their soft deadline (here at
// once) and leave the connection for the next request.
func TestRawReaderInThePool(t *testing.T) {
	be := echoBackend(t)
	p := New(8)
	p.softWait = time.Nanosecond
	u, err := url.Parse(be.URL + "/echo")
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"first", strings.Repeat("x", 3*rawio.Max), ""} {
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
