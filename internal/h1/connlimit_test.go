package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestConnLimitShared: servers sharing a ConnLimit hold at most its number of
// connections together. One past it is closed unanswered, and its server
// closes idle keep-alive connections (its own, then the others'), so that a
// client that connects again is served; a server without the limit (the admin
// API's) is unaffected.
func TestConnLimitShared(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	lim := NewConnLimit(2)
	sa, a := startH1Server(t, ok, Options{Conns: lim})
	sb, b := startH1Server(t, ok, Options{Conns: lim})
	other := startH1(t, ok, Options{})

	// get sends one request on a new connection and returns it, idle
	// (keep-alive), with its reader.
	get := func(addr string) (net.Conn, *bufio.Reader, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return c, nil, err
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return c, br, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return c, br, nil
	}
	_, idle1, err := get(a)
	if err != nil {
		t.Fatal(err)
	}
	_, idle2, err := get(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(other); err != nil {
		t.Fatalf("a server without the limit: %v", err)
	}
	// Only idle connections are shed: wait until a's and b's have gone
	// idle (a server stores that after the response, which a loaded
	// machine may delay past the client's read of it).
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		idle := true
		for _, c := range append(sa.set.Snapshot(nil), sb.set.Snapshot(nil)...) {
			if st := c.state.Load(); st != stateIdle && st != stateDormant {
				idle = false
			}
		}
		if idle {
			break
		}
		if time.Now().After(end) {
			t.Fatal("a's or b's connection never went idle")
		}
	}
	if _, _, err := get(a); err == nil {
		t.Fatal("a third connection under a limit of two was served")
	}
	// The refusal closed a's idle connection, and b's: a server sheds its
	// own first, then those of the others sharing the limit.
	if _, err := idle1.ReadByte(); err == nil {
		t.Fatal("a's idle keep-alive connection was not closed to make room")
	}
	if _, err := idle2.ReadByte(); err == nil {
		t.Fatal("b's idle keep-alive connection was not closed to make room")
	}
	for end := time.Now().Add(20 * time.Second); lim.Open() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the closed idle connection still counts")
		}
	}
	if _, _, err := get(a); err != nil {
		t.Fatalf("a connection after the idle one was closed: %v", err)
	}
	if lim.Open() != 1 {
		t.Fatalf("open %d, want 1", lim.Open())
	}
}
