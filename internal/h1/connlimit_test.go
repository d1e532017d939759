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
// connections together. One past it takes the place of an idle keep-alive
// connection, which its server closes (its own first, then the others'), and
// is served; with none left to close, one past it is closed unanswered. A
// server without the limit (the admin API's) is unaffected.
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
	// A third connection to b takes the place of b's own idle one; a
	// fourth, to a, that of a's.
	c3, br3, err := get(b)
	if err != nil {
		t.Fatalf("a third connection, with idle ones to close for it: %v", err)
	}
	if _, err := idle2.ReadByte(); err == nil {
		t.Fatal("b's idle keep-alive connection was not closed to make room")
	}
	waitActive := func(n int) {
		for end := time.Now().Add(20 * time.Second); sa.Active()+sb.Active() != n; time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%d connections active, want %d", sa.Active()+sb.Active(), n)
			}
		}
	}
	waitActive(0)
	c4, br4, err := get(a)
	if err != nil {
		t.Fatalf("a fourth connection, with an idle one to close for it: %v", err)
	}
	if _, err := idle1.ReadByte(); err == nil {
		t.Fatal("a's idle keep-alive connection was not closed to make room")
	}
	for end := time.Now().Add(20 * time.Second); lim.Open() > 2; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the closed idle connections still count")
		}
	}
	// Both connections busy (a request begun on each): none to close, so a
	// new one is closed unanswered, and the busy ones are answered.
	for _, c := range []net.Conn{c3, c4} {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitActive(2)
	if _, _, err := get(a); err == nil {
		t.Fatal("a connection past the limit was served with no idle one to close for it")
	}
	for i, c := range []net.Conn{c3, c4} {
		if _, err := io.WriteString(c, "Host: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse([]*bufio.Reader{br3, br4}[i], nil)
		if err != nil {
			t.Fatalf("busy connection %d closed for a new one: %v", i+3, err)
		}
		_ = resp.Body.Close()
	}
}
