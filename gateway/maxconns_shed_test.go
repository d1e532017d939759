package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/edge"
)

// TestNewClientTakesAnIdleKeepAlivesPlace is faults29 #2: at the public
// listeners' bound (Config.MaxConns), a new client was closed unanswered even
// when every connection at the bound was an idle keep-alive one, and then all
// of those (up to 64) were closed for it. As nginx at its worker_connections,
// the gateway now closes one idle keep-alive connection (one that served a
// request) and serves the new client; the other idle ones stay. nbio's idle
// connections are not known, so under nbio the new client is still refused,
// and nothing is shed.
func TestNewClientTakesAnIdleKeepAlivesPlace(t *testing.T) {
	const bound = 3
	for _, tc := range []struct {
		engine string
		sheds  bool
	}{{EngineH1, true}, {EngineNetHTTP, true}, {EngineNbio, false}} {
		t.Run(tc.engine, func(t *testing.T) {
			e := newTLSEnv(t, Config{MaxConns: bound, Engine: tc.engine}, edge.Config{})
			var idle []net.Conn
			for i := range bound {
				c, err := plainGet(t, e.srv.Addr())
				if err != nil {
					t.Fatalf("keep-alive connection %d: %v", i+1, err)
				}
				idle = append(idle, c)
			}
			if tc.sheds {
				// A server marks a connection idle after its response,
				// which a loaded machine may put after the client's read.
				for end := time.Now().Add(20 * time.Second); idleConns(e.srv) < bound; time.Sleep(time.Millisecond) {
					if time.Now().After(end) {
						t.Fatalf("%d connections idle, want %d", idleConns(e.srv), bound)
					}
				}
			}
			_, err := plainGet(t, e.srv.Addr())
			switch {
			case tc.sheds && err != nil:
				t.Fatalf("a new client at a bound held by idle keep-alive connections: %v; want it served", err)
			case !tc.sheds && err == nil:
				t.Fatal("a new client past the bound was served under nbio, whose idle connections are not known")
			}
			closed := 0
			for _, c := range idle {
				if !answers(c) {
					closed++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.sheds]; closed != want {
				t.Fatalf("%d of the %d idle keep-alive connections closed, want %d", closed, bound, want)
			}
			for end := time.Now().Add(20 * time.Second); e.srv.conns.Open() > bound; time.Sleep(time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("%d connections counted under a bound of %d", e.srv.conns.Open(), bound)
				}
			}
		})
	}
}

// idleConns returns how many of the plain listener's connections its server
// holds idle (h1: not active; net/http: in StateIdle).
func idleConns(s *Server) int {
	if s.h1 != nil {
		return s.h1.Open() - s.h1.Active()
	}
	n := 0
	for _, c := range s.std {
		c.mu.Lock()
		n += len(c.idle)
		c.mu.Unlock()
	}
	return n
}

// answers reports whether the keep-alive connection c still answers a
// request (false: the server closed it).
func answers(c net.Conn) bool {
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
