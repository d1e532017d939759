package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
)

// TestPublicListenersShareAConnectionBound: the plain and TLS listeners'
// servers share one bound (Config.MaxConns), by default below the file
// descriptor limit with room to spare for the admin API and the rest.
func TestPublicListenersShareAConnectionBound(t *testing.T) {
	_, svc := gwtest.APIs(t)
	s := NewServer(New(Config{MaxConns: 7, MaxConnsPerIP: 3}, svc, nil, nil, nil), nil, listener.Limits{})
	if o := s.h1Options(); o.Conns == nil || o.Conns.Max() != 7 || o.PerIP.Max() != 3 || s.h2Options().PerIP != o.PerIP {
		t.Fatalf("h1 options: %+v", o)
	}
	if off := NewServer(New(Config{MaxConns: -1}, svc, nil, nil, nil), nil, listener.Limits{}); off.h1Options().Conns != nil {
		t.Fatal("MaxConns -1 still bounds")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		t.Skip("no file descriptor limit to compare with")
	}
	if d := DefaultMaxConns(); d <= 0 || uint64(d) >= rl.Cur || rl.Cur-uint64(d) < min(1024, rl.Cur/2) {
		t.Fatalf("default bound %d with RLIMIT_NOFILE %d: want one below it with a reserve", d, rl.Cur)
	}
}

// TestConnBoundCoversEveryListenerAndEngine: the public listeners' bound
// (Config.MaxConns) counts every connection of every listener under every
// engine: the TLS listener's HTTP/2 connections (h2's under h1, net/http's
// under net/http) and HTTP/1.1 ones, and the plain listener's (h1, net/http
// or nbio). One past it takes the place of an idle keep-alive connection,
// shed across the listeners, and is served. (net/http's HTTP/2 connections
// are counted but not shed, nor are nbio's, whose idle ones are not known:
// each case with shedding holds one connection that can be shed; under nbio
// one past the bound is closed unanswered, and served once a connection
// closes.)
func TestConnBoundCoversEveryListenerAndEngine(t *testing.T) {
	for _, tc := range []struct {
		name, engine string
		tls, h2      bool // the first connection is the TLS listener's, negotiating HTTP/2
	}{
		{"h1 engine, TLS HTTP/2 (h2) and plain h1", EngineH1, true, true},
		{"h1 engine, TLS HTTP/1.1 and plain h1", EngineH1, true, false},
		{"net/http engine, TLS HTTP/2 and plain", EngineNetHTTP, true, true},
		{"net/http engine, TLS HTTP/1.1 and plain", EngineNetHTTP, true, false},
		{"nbio engine (no TLS listener), plain", EngineNbio, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTLSEnv(t, Config{MaxConns: 2, Engine: tc.engine}, edge.Config{})
			lim := e.srv.conns
			// Two idle connections: the TLS listener's (where there is one)
			// and the plain one's.
			var first net.Conn
			if tc.tls {
				a := e.get(e.client(tc.h2), "https://localhost/healthz")
				if want := map[bool]int{true: 2, false: 1}[tc.h2]; a.status != 200 || a.proto != want {
					t.Fatalf("TLS GET /healthz: %d HTTP/%d %s, want 200 over HTTP/%d", a.status, a.proto, a.body, want)
				}
			} else {
				c, err := plainGet(t, e.srv.Addr())
				if err != nil {
					t.Fatalf("plain GET /healthz: %v", err)
				}
				first = c
			}
			if _, err := plainGet(t, e.srv.Addr()); err != nil {
				t.Fatalf("plain GET /healthz: %v", err)
			}
			if n := lim.Open(); n != 2 {
				t.Fatalf("%d connections counted, want 2", n)
			}
			if tc.engine != EngineNbio {
				// A server marks a connection idle after its response,
				// which a loaded machine may put after the client's read.
				for end := time.Now().Add(20 * time.Second); idleConns(e.srv) < 1; time.Sleep(time.Millisecond) {
					if time.Now().After(end) {
						t.Fatal("the plain connection never went idle")
					}
				}
				if _, err := plainGet(t, e.srv.Addr()); err != nil {
					t.Fatalf("a third connection, with an idle one to shed for it: %v", err)
				}
				for end := time.Now().Add(20 * time.Second); lim.Open() > 2; time.Sleep(time.Millisecond) {
					if time.Now().After(end) {
						t.Fatalf("%d connections counted under a bound of two", lim.Open())
					}
				}
				return
			}
			if _, err := plainGet(t, e.srv.Addr()); err == nil {
				t.Fatal("a third connection under a bound of two was served under nbio, whose idle connections are not known")
			}
			if first != nil {
				// nbio's idle connections are not shed: one that its
				// client closes gives its count back.
				_ = first.Close()
			}
			// Refused until an idle connection was shed (or closed) to
			// make room, then served.
			refused := 0
			for end := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
				if _, err := plainGet(t, e.srv.Addr()); err == nil {
					break
				}
				refused++
				if time.Now().After(end) {
					t.Fatalf("no connection was served after %d more refusals: nothing idle was shed", refused)
				}
			}
			if n := lim.Open(); n > 2 {
				t.Fatalf("%d connections counted under a bound of two", n)
			}
		})
	}
}

// TestNewConnectionsAreNotShed: at the public listeners' bound, the idle
// connections shed to make room are keep-alive ones, which served a request;
// connections that have sent nothing yet are new ones whose requests are on
// their way, and are served. (verify28b: with a bound of 4, a burst of five
// connections got 2 to 4 answers, often none: the fifth's refusal shed the
// four new ones the h1 engine counted as idle.)
func TestNewConnectionsAreNotShed(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(engine, func(t *testing.T) {
			e := newTLSEnv(t, Config{MaxConns: 2, Engine: engine}, edge.Config{})
			var fresh []net.Conn
			for range 2 {
				c, err := net.Dial("tcp", e.srv.Addr())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				fresh = append(fresh, c)
			}
			for end := time.Now().Add(20 * time.Second); e.srv.conns.Open() < 2; time.Sleep(time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("%d connections counted, want the 2 new ones", e.srv.conns.Open())
				}
			}
			if _, err := plainGet(t, e.srv.Addr()); err == nil {
				t.Fatal("a third connection under a bound of two was served")
			}
			for i, c := range fresh {
				_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a guard against hanging, not a timing assertion
				if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
					t.Fatalf("new connection %d: %v", i+1, err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("new connection %d was closed unanswered at the bound (shed as idle): %v", i+1, err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("new connection %d: status %d", i+1, resp.StatusCode)
				}
			}
		})
	}
}

// plainGet sends GET /healthz on a new connection to addr and leaves the
// connection open (keep-alive) until the test ends; an error when the
// connection was closed unanswered.
func plainGet(t *testing.T, addr string) (net.Conn, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a guard against hanging, not a timing assertion
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return c, nil
}

// TestConnsPerIPCoverEveryListenerAndEngine: Config.MaxConnsPerIP bounds one
// client address's connections across the public listeners, under every
// engine: the TLS listener's HTTP/2 connections (h2's under h1, net/http's
// under net/http) and HTTP/1.1 ones, and the plain listener's (h1, net/http or
// nbio) count together. One past the bound is closed unanswered, whichever
// listener it came to; a connection that closes gives its count back.
func TestConnsPerIPCoverEveryListenerAndEngine(t *testing.T) {
	for _, tc := range []struct {
		name, engine string
		tls, h2      bool // the first connection is the TLS listener's, negotiating HTTP/2
	}{
		{"h1 engine, TLS HTTP/2 (h2) and plain h1", EngineH1, true, true},
		{"h1 engine, TLS HTTP/1.1 and plain h1", EngineH1, true, false},
		{"net/http engine, TLS HTTP/2 and plain", EngineNetHTTP, true, true},
		{"net/http engine, TLS HTTP/1.1 and plain", EngineNetHTTP, true, false},
		{"nbio engine (no TLS listener), plain", EngineNbio, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTLSEnv(t, Config{MaxConns: -1, MaxConnsPerIP: 2, Engine: tc.engine}, edge.Config{})
			var first *http.Client
			var firstPlain net.Conn
			if tc.tls {
				first = e.client(tc.h2)
				a := e.get(first, "https://localhost/healthz")
				if want := map[bool]int{true: 2, false: 1}[tc.h2]; a.status != 200 || a.proto != want {
					t.Fatalf("TLS GET /healthz: %d HTTP/%d %s, want 200 over HTTP/%d", a.status, a.proto, a.body, want)
				}
			} else {
				c, err := plainGet(t, e.srv.Addr())
				if err != nil {
					t.Fatalf("plain GET /healthz: %v", err)
				}
				firstPlain = c
			}
			if _, err := plainGet(t, e.srv.Addr()); err != nil {
				t.Fatalf("plain GET /healthz: %v", err)
			}
			if _, err := plainGet(t, e.srv.Addr()); err == nil {
				t.Fatal("a third plain connection from one address under a bound of two was served")
			}
			if tc.tls {
				// A new TLS connection, HTTP/2 or not, is refused too.
				if resp, err := e.client(tc.h2).Get("https://localhost/healthz"); err == nil {
					_ = resp.Body.Close()
					t.Fatal("a third (TLS) connection from one address under a bound of two was served")
				}
				first.Transport.(*http.Transport).CloseIdleConnections()
			} else {
				_ = firstPlain.Close()
			}
			// The closed connection's count comes back once the server has
			// seen it close: a client that tries again is served.
			refused := 0
			for end := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
				if _, err := plainGet(t, e.srv.Addr()); err == nil {
					break
				}
				refused++
				if time.Now().After(end) {
					t.Fatalf("no connection was served after %d more refusals: the closed one still counts", refused)
				}
			}
		})
	}
}

// TestPublicListenersShareAnUnreadBudget: the plain and TLS listeners' h1
// servers share one bound on the response bytes held for clients that do
// not read (Config.MaxUnreadBytes: 512 MiB by default, -1 for none).
func TestPublicListenersShareAnUnreadBudget(t *testing.T) {
	_, svc := gwtest.APIs(t)
	for _, c := range []struct {
		configured, want int64
	}{{0, DefaultMaxUnreadBytes}, {1 << 20, 1 << 20}, {-1, 0}} {
		s := NewServer(New(Config{MaxUnreadBytes: c.configured}, svc, nil, nil, nil), nil, listener.Limits{})
		o := s.h1Options()
		switch {
		case c.want == 0 && o.Unread != nil:
			t.Errorf("MaxUnreadBytes %d: still bounded", c.configured)
		case c.want != 0 && (o.Unread == nil || o.Unread.Limit() != c.want || o.Unread != s.unread):
			t.Errorf("MaxUnreadBytes %d: budget %+v, want %d shared", c.configured, o.Unread, c.want)
		}
	}
}

// TestUnreadCutLogNamesTheBudgetInEffect is faults25 #3's log: the stop
// summary of slow readers cut off said gatewayMaxUnreadBytes=0 (the key
// unset) where the budget was 512 MiB.
func TestUnreadCutLogNamesTheBudgetInEffect(t *testing.T) {
	_, svc := gwtest.APIs(t)
	for _, c := range []struct{ configured, want int64 }{{0, DefaultMaxUnreadBytes}, {1 << 20, 1 << 20}} {
		s := NewServer(New(Config{MaxUnreadBytes: c.configured}, svc, nil, nil, nil), nil, listener.Limits{})
		attrs := s.unreadCutAttrs()
		if got := attrs[len(attrs)-1]; got != c.want {
			t.Errorf("MaxUnreadBytes %d: the stop summary says gatewayMaxUnreadBytes=%v, want %d", c.configured, got, c.want)
		}
	}
}
