package fastproxy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRequestLineFollowsEachRequest sends requests that differ in method
// (common or not), path (short or long), escaping and query over one pooled
// connection, which keeps a short last request line for the next: each
// reaches the backend with its own line and the Host of the integration URL.
func TestRequestLineFollowsEachRequest(t *testing.T) {
	var dials atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Method + " " + r.RequestURI + " " + r.Host))
	}))
	t.Cleanup(be.Close)
	p := New(1)
	p.wrapConn = func(c net.Conn) net.Conn { dials.Add(1); return c }
	t.Cleanup(p.CloseIdle)
	host := be.Listener.Addr().String()
	mk := func(path, rawPath, rawQuery string, force bool) *url.URL {
		return &url.URL{Scheme: "http", Host: host, Path: path, RawPath: rawPath, RawQuery: rawQuery, ForceQuery: force}
	}
	shared := mk("/a", "", "", false)
	long := "/" + strings.Repeat("l", 5000) // past the kept line's bound and the write buffer
	for i, tc := range []struct {
		u             *url.URL
		method, query string
		want          string
	}{
		{shared, "GET", "", "GET /a"},
		{shared, "GET", "", "GET /a"},
		{shared, "GET", "x=1", "GET /a?x=1"},
		{shared, "GET", "x=2", "GET /a?x=2"},
		{shared, "DELETE", "x=2", "DELETE /a?x=2"},
		{mk("/a", "", "", false), "GET", "", "GET /a"},
		{mk("/b", "", "", false), "GET", "", "GET /b"},
		{mk("/b", "", "k=v", false), "GET", "", "GET /b?k=v"},
		{mk("/b", "", "k=v", false), "GET", "x=1", "GET /b?k=v&x=1"},
		{mk("/b", "", "", true), "GET", "", "GET /b?"},
		{mk("/a b", "", "", false), "GET", "", "GET /a%20b"},
		{mk("/a/b", "/a%2Fb", "", false), "GET", "", "GET /a%2Fb"},
		{mk("", "", "", false), "GET", "", "GET /"},
		{shared, "GET", "", "GET /a"},
		{shared, "PURGE", "", "PURGE /a"},
		{shared, "GET", "", "GET /a"},
		{mk(long, "", "", false), "GET", "", "GET " + long},
		{mk(long, "", "", false), "GET", "x=1", "GET " + long + "?x=1"},
		{mk(long, "", "", false), "GET", "", "GET " + long},
		{shared, "GET", "", "GET /a"},
	} {
		r := httptest.NewRequest(tc.method, "http://gateway/", nil)
		hp := p.Route(tc.u, tc.method, r)
		if hp == nil {
			t.Fatalf("%d: the fast path declined %s %s", i, tc.method, tc.u)
		}
		w := httptest.NewRecorder()
		if err := p.ServeQuery(w, r, hp, tc.u, tc.query, tc.method, 5*time.Second); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got := w.Body.String(); got != tc.want+" "+host {
			t.Errorf("%d: the backend saw %q, want %q", i, got, tc.want+" "+host)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections dialled, want 1 (the requests should share one)", n)
	}
}
